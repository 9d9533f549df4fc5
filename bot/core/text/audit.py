"""The log channel's lines: each admin change, with who made it (budget alerts are in ``spending``)."""

from __future__ import annotations

from bot.core.text.quotas import period_adjective
from bot.core.text.spending import usd
from bot.core.text.writing import plural
from bot.store import BudgetStatus, QuotaPolicy


def by(admin_mention: str, change: str) -> str:
    """One line of the log channel: who changed what (``admin_mention`` is the bot's own markup)."""
    return f"🛠️ {admin_mention} {change}"


def budget_set_change(status: BudgetStatus | None) -> str:
    if status is None:
        return "cleared the image budget."
    budget = status.budget
    return f"set the image budget to {usd(budget.amount_usd)} {period_adjective(budget.period)}."


def log_channel_report(channel_mention: str | None) -> str:
    if channel_mention is None:
        return "Admin changes and budget alerts are no longer posted to a channel."
    return f"Admin changes and budget alerts will be posted in {channel_mention}."


def own_limit_change(member_mention: str, limit: int | None) -> str:
    if limit is None:
        return f"put {member_mention} back on the server's default limit."
    return f"set {member_mention}'s own limit to {plural(limit, 'image')} per period."


def usage_reset_change(member_mention: str) -> str:
    return f"cleared {member_mention}'s usage for this period."


def grant_change(member_mention: str, amount: int) -> str:
    return f"granted {member_mention} {plural(amount, 'extra image')} for this period."


def default_change(policy: QuotaPolicy) -> str:
    per = period_adjective(policy.period)
    return f"set the server's default to {plural(policy.limit, 'image')} per member, {per}."


def log_channel_change(channel_mention: str | None) -> str:
    return (
        "stopped the log channel."
        if channel_mention is None
        else f"moved the log channel to {channel_mention}."
    )


def role_limit_change(role_mention: str, limit: int | None) -> str:
    if limit is None:
        return f"removed {role_mention}'s limit."
    return f"gave {role_mention} a limit of {plural(limit, 'image')} per period."


def model_rule_change(model: str, *, denied: bool) -> str:
    return f"{'denied' if denied else 'allowed'} the model `{model}`."


def ceilings_change(quality: str | None, pixels: int | None) -> str:
    if quality is None and pixels is None:
        return "lifted the ceilings on quality and size."
    parts = [
        f"quality {quality}" if quality else "",
        f"{pixels / 1_000_000:.1f} megapixels" if pixels else "",
    ]
    return "set the ceilings to " + " and ".join(part for part in parts if part) + "."
