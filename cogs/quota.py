"""/quota: a member's own allowance, privately."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.pipeline import utcnow
from bot.core.text import quota_report
from bot.store import Store
from bot.ui.entry import role_ids


class QuotaCog(commands.Cog):
    def __init__(self, store: Store) -> None:
        self.store = store

    @app_commands.command(name="quota", description="How many images you have left, and when that resets")
    @app_commands.guild_only()
    async def quota(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        user = interaction.user
        status = await self.store.status(interaction.guild_id, user.id, now=utcnow(), roles=role_ids(user))
        await interaction.response.send_message(quota_report(status), ephemeral=True)
