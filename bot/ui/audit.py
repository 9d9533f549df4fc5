"""The server's log channel (``/admin log channel``): every admin change, with who made it, and
every budget alert. Posting there is a courtesy to the server's admins: a channel that is gone or
closed to the bot never fails the change or the job that wanted to say something."""

from __future__ import annotations

import logging

import discord

from bot.core import text
from bot.store import BudgetAlert, Store

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def post(self, guild: discord.Guild | None, line: str) -> None:
        if guild is None:
            return
        channel_id = await self.store.log_channel(guild.id)
        if channel_id is not None:
            await self.post_to(guild, channel_id, line)

    async def post_to(self, guild: discord.Guild, channel_id: int, line: str) -> None:
        channel = guild.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return
        try:
            await channel.send(line, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            log.warning("could not post to server %s's log channel", guild.id, exc_info=True)

    async def change(self, interaction: discord.Interaction, change: str) -> None:
        """An admin's change, as one line naming them."""
        await self.post(interaction.guild, text.by(interaction.user.mention, change))

    async def budget_alert(self, guild: discord.Guild | None, alert: BudgetAlert) -> None:
        await self.post(guild, text.budget_alert(alert))
