"""/admin quota …, /admin budget …, /admin log channel and /admin models: server admins keep
spending under control, see every change in one channel, and see which models the bot offers (and
which are being retired).

``default_permissions`` only hides the commands by default (admins can change that in Server
Settings › Integrations), so the cog checks Manage Server in code for every command as well.
Every change is scoped to the server it was made in.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.core import text
from bot.core.pipeline import utcnow
from bot.core.reports import usage_csv
from bot.core.rules import QUALITY_ORDER, ServerRules
from bot.errors import BotLacksPermissions
from bot.images import ModelRegistry, OptionNotSupported, UnknownModel, normalize_size, parse_wxh
from bot.imaging.chart import ChartDay, usage_chart
from bot.store import (
    MAX_BUDGET_USD,
    PERIODS,
    Budget,
    Period,
    Store,
    period_end,
    period_start,
    validate_period,
)
from bot.ui.audit import AuditLog
from bot.ui.entry import role_ids

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
    budget = app_commands.Group(
        name="budget", description="A spending limit in money for this server", parent=admin
    )
    model_rules = app_commands.Group(
        name="models", description="The models this bot offers, and which this server allows", parent=admin
    )
    usage = app_commands.Group(name="usage", description="What the bot made and spent here", parent=admin)
    log = app_commands.Group(
        name="log", description="Where admin changes and budget alerts are posted", parent=admin
    )

    def __init__(
        self,
        store: Store,
        models: ModelRegistry,
        audit: AuditLog,
        rules: Callable[[int | None], Awaitable[ServerRules]],
    ) -> None:
        self.store = store
        self.models = models
        self.audit = audit
        self.rules = rules

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
        await self.audit.change(interaction, text.own_limit_change(user.mention, limit))

    @quota.command(name="reset", description="Clear a member's usage for the current period")
    @app_commands.describe(user="The member")
    async def reset(self, interaction: discord.Interaction, user: discord.Member) -> None:
        status = await self.store.reset_usage(_guild(interaction), user.id, now=utcnow())
        await _answer(interaction, text.usage_cleared(user.mention, status))
        await self.audit.change(interaction, text.usage_reset_change(user.mention))

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
        await self.audit.change(interaction, text.grant_change(user.mention, amount))

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
        await self.audit.change(interaction, text.default_change(policy))

    @quota.command(name="role", description="Give every member with a role a limit per period")
    @app_commands.describe(
        role="The role",
        limit="Images per period; leave empty to remove the role's limit",
    )
    async def role_limit(
        self,
        interaction: discord.Interaction,
        role: discord.Role,
        limit: app_commands.Range[int, 0, 1_000_000] | None = None,
    ) -> None:
        guild_id = _guild(interaction)
        await self.store.set_role_limit(guild_id, role.id, limit)
        tiers = await self.store.role_limits(guild_id)
        await _answer(interaction, text.role_limits_report(tiers, changed=role.mention, limit=limit))
        await self.audit.change(interaction, text.role_limit_change(role.mention, limit))

    @quota.command(name="show", description="Show a member's quota, or the server's settings and top users")
    @app_commands.describe(user="The member (leave empty for the whole server)")
    async def show(self, interaction: discord.Interaction, user: discord.Member | None = None) -> None:
        guild_id = _guild(interaction)
        now = utcnow()
        if user is not None:
            status = await self.store.status(guild_id, user.id, now=now, roles=role_ids(user))
            await _answer(interaction, text.member_quota(text.echo(user.display_name), status))
            return
        policy, source = await self.store.server_policy(guild_id)
        guild = interaction.guild
        members = {m.id: role_ids(m) for m in guild.members} if guild is not None else {}
        overview = await self.store.guild_overview(guild_id, now=now, roles=members)
        await _answer(
            interaction,
            text.server_overview(policy.limit, policy.period, set_here=source == "server", members=overview),
        )

    @budget.command(name="set", description="Set this server's image budget in US dollars per period")
    @app_commands.describe(
        amount="US dollars per period, e.g. 5 or 12.50",
        period="How often the budget resets (UTC); default: day",
    )
    @app_commands.choices(period=_PERIOD_CHOICES)
    async def budget_set(
        self,
        interaction: discord.Interaction,
        amount: app_commands.Range[float, 0.01, MAX_BUDGET_USD],
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        chosen = Budget(round(amount, 2), validate_period(period.value if period else "day"))
        status = await self.store.set_budget(_guild(interaction), chosen, now=utcnow())
        await _answer(interaction, text.budget_report(status))
        await self.audit.change(interaction, text.budget_set_change(status))

    @budget.command(name="show", description="This server's budget, what was spent and what is left")
    async def budget_show(self, interaction: discord.Interaction) -> None:
        status = await self.store.budget_status(_guild(interaction), now=utcnow())
        await _answer(interaction, text.budget_report(status))

    @budget.command(name="clear", description="Remove this server's budget (image quotas still apply)")
    async def budget_clear(self, interaction: discord.Interaction) -> None:
        status = await self.store.set_budget(_guild(interaction), None, now=utcnow())
        await _answer(interaction, text.budget_report(status))
        await self.audit.change(interaction, text.budget_set_change(None))

    @usage.command(name="show", description="Jobs, images and spend by model and member, with a chart")
    @app_commands.describe(period="Which period (UTC); default: this month")
    @app_commands.choices(period=_PERIOD_CHOICES)
    async def usage_show(
        self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        guild_id, now = _guild(interaction), utcnow()
        chosen, start, end = _stretch(period, now)
        found = await self.store.usage(guild_id, start=start, end=end)
        report = text.usage_report(found, chosen, await self.store.budget_status(guild_id, now=now))
        embed = discord.Embed(
            title=report.title, description=report.description, colour=discord.Colour.blurple()
        )
        for name, value in report.fields:
            embed.add_field(name=name, value=value, inline=False)
        days = [ChartDay(day.strftime("%m-%d"), t.images, t.spend_usd) for day, t in found.daily]
        chart = await asyncio.to_thread(
            usage_chart,
            days,
            title=report.chart_title,
            images_label=text.CHART_IMAGES,
            spend_label=text.CHART_SPEND,
        )
        embed.set_image(url="attachment://usage.png")
        await interaction.response.send_message(
            embed=embed,
            file=discord.File(io.BytesIO(chart), filename="usage.png"),
            ephemeral=True,
            allowed_mentions=_NO_PINGS,
        )

    @usage.command(name="export", description="A CSV file of every job of a period")
    @app_commands.describe(period="Which period (UTC); default: this month")
    @app_commands.choices(period=_PERIOD_CHOICES)
    async def usage_export(
        self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        guild_id = _guild(interaction)
        _, start, end = _stretch(period, utcnow())
        rows = await self.store.usage_rows(guild_id, start=start, end=end)
        name = f"usage-{guild_id}-{start:%Y-%m-%d}.csv"
        table = await asyncio.to_thread(usage_csv, rows)  # a month of a busy server: off the loop
        await interaction.response.send_message(
            text.EXPORT_NOTE, file=discord.File(io.BytesIO(table), filename=name), ephemeral=True
        )

    @log.command(name="channel", description="Post admin changes and budget alerts in a channel")
    @app_commands.describe(channel="The channel (leave empty to stop posting them)")
    async def log_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        guild = interaction.guild
        assert guild is not None  # the group is guild-only
        if channel is not None:
            allowed = channel.permissions_for(guild.me)
            missing = [name for name in ("view_channel", "send_messages") if not getattr(allowed, name)]
            if missing:
                raise BotLacksPermissions(missing, for_log=True)
        before = await self.store.log_channel(guild.id)
        await self.store.set_log_channel(guild.id, channel.id if channel else None)
        await _answer(interaction, text.log_channel_report(channel.mention if channel else None))
        change = text.log_channel_change(channel.mention if channel else None)
        if channel is None and before is not None:  # said where it was, before it stops
            await self.audit.post_to(guild, before, text.by(interaction.user.mention, change))
        else:
            await self.audit.change(interaction, change)

    @model_rules.command(
        name="show", description="The models this bot offers, any being retired, and this server's rules"
    )
    async def models_show(self, interaction: discord.Interaction) -> None:
        rules = await self.rules(_guild(interaction))
        embed = discord.Embed(
            description=text.models_report(self.models, today=utcnow().date()),
            colour=discord.Colour.blurple(),
        )
        embed.add_field(
            name="\u200b", value=text.server_rules_report(rules.denied, rules.max_quality, rules.max_pixels)
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=_NO_PINGS)

    @model_rules.command(name="deny", description="Stop members using a model in this server")
    @app_commands.describe(model="The model")
    async def models_deny(self, interaction: discord.Interaction, model: str) -> None:
        name = self._known(model)
        await self.store.set_model_denied(_guild(interaction), name, True)
        await _answer(interaction, text.model_rule_report(name, denied=True))
        await self.audit.change(interaction, text.model_rule_change(name, denied=True))

    @model_rules.command(name="allow", description="Let members use a model this server denied")
    @app_commands.describe(model="The model")
    async def models_allow(self, interaction: discord.Interaction, model: str) -> None:
        name = self._known(model)
        await self.store.set_model_denied(_guild(interaction), name, False)
        await _answer(interaction, text.model_rule_report(name, denied=False))
        await self.audit.change(interaction, text.model_rule_change(name, denied=False))

    @model_rules.command(
        name="limit", description="A ceiling on quality and size (leave both empty to lift it)"
    )
    @app_commands.describe(
        quality="The highest quality members may ask for",
        size="The largest size (WxH) members may ask for, e.g. 2048x2048",
    )
    @app_commands.choices(quality=[app_commands.Choice(name=q, value=q) for q in QUALITY_ORDER])
    async def models_limit(
        self,
        interaction: discord.Interaction,
        quality: app_commands.Choice[str] | None = None,
        size: str | None = None,
    ) -> None:
        pixels = None
        if size is not None:
            parsed = parse_wxh(normalize_size(size))
            if parsed is None:
                raise OptionNotSupported("this server", "size", size, ())
            pixels = parsed[0] * parsed[1]
        chosen = quality.value if quality else None
        await self.store.set_ceilings(_guild(interaction), max_quality=chosen, max_pixels=pixels)
        report = text.server_rules_report(frozenset(), chosen, pixels)
        await _answer(interaction, report)
        await self.audit.change(interaction, text.ceilings_change(chosen, pixels))

    @models_deny.autocomplete("model")
    @models_allow.autocomplete("model")
    async def _model_names(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        typed = typed.strip().lower()
        names = [name for name in list(self.models.catalogue) if typed in name.lower()]
        return [app_commands.Choice(name=name, value=name) for name in names[:25]]

    def _known(self, model: str) -> str:
        spec = self.models.catalogue.find(model)
        if spec is None:
            raise UnknownModel(model, tuple(list(self.models.catalogue)))
        return spec.name


def _stretch(period: app_commands.Choice[str] | None, now: datetime) -> tuple[Period, datetime, datetime]:
    """The period a usage command reads (default: this month), and its bounds."""
    chosen = validate_period(period.value if period else "month")
    return chosen, period_start(chosen, now), period_end(chosen, now)


def _guild(interaction: discord.Interaction) -> int:
    assert interaction.guild_id is not None  # the group is guild-only
    return interaction.guild_id


async def _answer(interaction: discord.Interaction, answer: str) -> None:
    await interaction.response.send_message(answer, ephemeral=True, allowed_mentions=_NO_PINGS)
