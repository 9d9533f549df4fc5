"""/history and /show: a member's own recent jobs, privately, and one of their results posted again
from where it was posted (no new upstream call, nothing charged), with its Vary and Redo buttons."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core import text
from bot.errors import PastResultRefused
from bot.store import Store
from bot.ui.entry import JobEntry, check_can_post


class HistoryCog(commands.Cog):
    def __init__(self, store: Store, entry: JobEntry) -> None:
        self.store = store
        self.entry = entry

    @app_commands.command(name="history", description="Your recent jobs here, with links to their results")
    @app_commands.guild_only()
    async def history(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        jobs = await self.store.history(interaction.guild_id, interaction.user.id)
        await interaction.response.send_message(
            text.history_report(jobs, interaction.guild_id),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
            suppress_embeds=True,
        )

    @app_commands.command(name="show", description="Post one of your past results again (free)")
    @app_commands.guild_only()
    @app_commands.describe(job="The job's number, as /history shows it")
    async def show(self, interaction: discord.Interaction, job: app_commands.Range[int, 1, 2**53]) -> None:
        guild = interaction.guild
        assert guild is not None
        found = await self.store.past_job(job)
        if found is None or found[0] != guild.id:
            raise PastResultRefused(PastResultRefused.NOT_FOUND, job)
        _, owner, past = found
        if owner != interaction.user.id:
            raise PastResultRefused(PastResultRefused.NOT_YOURS, job)
        if past.state != "committed" or not past.result_channel_id or not past.result_message_id:
            raise PastResultRefused(PastResultRefused.NO_RESULT, job)
        check_can_post(interaction.app_permissions)
        await interaction.response.defer(thinking=True)
        channel = guild.get_channel_or_thread(past.result_channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise PastResultRefused(PastResultRefused.GONE, job)
        try:
            message = await channel.fetch_message(past.result_message_id)
        except discord.NotFound:
            raise PastResultRefused(PastResultRefused.GONE, job) from None
        files = [await attachment.to_file() for attachment in message.attachments]
        if not files:
            raise PastResultRefused(PastResultRefused.GONE, job)
        await interaction.followup.send(
            content=text.shown_again(job),
            embeds=message.embeds[:1],
            files=files,
            view=self.entry.controls.under_result(job, 1, len(files), redo=True),
            allowed_mentions=discord.AllowedMentions.none(),
        )
