"""/admin quota … and /admin models: server admins keep spending under control and see which
models the bot offers (and which are being retired).

``default_permissions`` only hides the commands by default (admins can change that in Server
Settings › Integrations), so the cog checks Manage Server in code for every command as well.
Every change is scoped to the server it was made in.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core import text
from bot.core.pipeline import utcnow
from bot.images import ModelRegistry
from bot.store import PERIODS, Store, validate_period

_PERIOD_CHOICES = [app_commands.Choice(name=p, value=p) for p in PERIODS]
_NO_PINGS = discord.AllowedMentions.none()


class AdminCog(commands.Cog):
    admin = app_commands.Group(
        name="admin",
        description="Image bot settings for this server (needs Manage Server)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    quota = app_commands.Group(name="quota", description="Image quotas for this server", parent=admin)

    def __init__(self, store: Store, models: ModelRegistry) -> None:
        self.store = store
        self.models = models

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @quota.command(name="set", description="Set a member's own image limit per period")
    @app_commands.describe(
        user="The member", limit="Images per period; leave empty to return them to the server default"
    )
    async def set_limit(
        self,
        interaction: discord.Interaction,
        user: discord.Member,
        limit: app_commands.Range[int, 0, 1_000_000] | None = None,
    ) -> None:
        guild_id = _guild(interaction)
        await self.store.set_user_limit(guild_id, user.id, limit)
        status = await self.store.status(guild_id, user.id, now=utcnow())
        await _answer(interaction, text.own_limit_set(user.mention, limit, status))

    @quota.command(name="reset", description="Clear a member's usage for the current period")
    @app_commands.describe(user="The member")
    async def reset(self, interaction: discord.Interaction, user: discord.Member) -> None:
        status = await self.store.reset_usage(_guild(interaction), user.id, now=utcnow())
        await _answer(interaction, text.usage_cleared(user.mention, status))

    @quota.command(name="grant", description="Give a member extra images for the current period")
    @app_commands.describe(
        user="The member", amount="Extra images, on top of their limit, until the period resets"
    )
    async def grant(
        self,
        interaction: discord.Interaction,
        user: discord.Member,
        amount: app_commands.Range[int, 1, 1_000_000],
    ) -> None:
        status = await self.store.grant(_guild(interaction), user.id, amount, now=utcnow())
        await _answer(interaction, text.extra_granted(user.mention, amount, status))

    @quota.command(name="default", description="Set this server's default image limit per member")
    @app_commands.describe(limit="Images per member per period", period="How often the quota resets (UTC)")
    @app_commands.choices(period=_PERIOD_CHOICES)
    async def default(
        self,
        interaction: discord.Interaction,
        limit: app_commands.Range[int, 0, 1_000_000],
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        policy = await self.store.set_server_policy(
            _guild(interaction), limit=limit, period=validate_period(period.value) if period else None
        )
        await _answer(interaction, text.server_default_set(policy.limit, policy.period))

    @quota.command(name="show", description="Show a member's quota, or the server's settings and top users")
    @app_commands.describe(user="The member (leave empty for the whole server)")
    async def show(self, interaction: discord.Interaction, user: discord.Member | None = None) -> None:
        guild_id = _guild(interaction)
        now = utcnow()
        if user is not None:
            status = await self.store.status(guild_id, user.id, now=now)
            await _answer(interaction, text.member_quota(text.echo(user.display_name), status))
            return
        policy, source = await self.store.server_policy(guild_id)
        overview = await self.store.guild_overview(guild_id, now=now)
        await _answer(
            interaction,
            text.server_overview(policy.limit, policy.period, set_here=source == "server", members=overview),
        )

    @admin.command(name="models", description="The image models this bot offers, and any being retired")
    async def models_command(self, interaction: discord.Interaction) -> None:
        embed = discord.Embed(
            description=text.models_report(self.models, today=utcnow().date()),
            colour=discord.Colour.blurple(),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=_NO_PINGS)


def _guild(interaction: discord.Interaction) -> int:
    assert interaction.guild_id is not None  # the group is guild-only
    return interaction.guild_id


async def _answer(interaction: discord.Interaction, answer: str) -> None:
    await interaction.response.send_message(answer, ephemeral=True, allowed_mentions=_NO_PINGS)
