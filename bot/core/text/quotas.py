"""Quotas in words: ``/quota``, the quota line under results, and the admin commands' answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.text.writing import plural, timestamp
from bot.store import QuotaStatus

_PERIOD_WORDS = {"day": "today", "week": "this week", "month": "this month"}
_PERIOD_ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}


def period_word(period: str) -> str:
    return _PERIOD_WORDS.get(period, f"this {period}")


def period_adjective(period: str) -> str:
    return _PERIOD_ADJECTIVE.get(period, period)


def quota_line(status: QuotaStatus, *, remaining: int | None = None) -> str:
    """``22 of 25 images left today · resets in 5 hours``."""
    left = status.remaining if remaining is None else remaining
    allowance = status.limit + status.granted
    when = timestamp(status.resets_at)
    return f"{left} of {plural(allowance, 'image')} left {period_word(status.period)} · resets {when}"


def _limit_origin(status: QuotaStatus) -> str:
    if status.limit_source == "user":
        return " (set for this member)"
    if status.limit_source == "role":
        return f" (from the <@&{status.role_id}> role)"
    return ""


def quota_report(status: QuotaStatus, *, whose: str = "You have") -> str:
    """The body of ``/quota`` and ``/admin quota show user``."""
    lines = [
        f"{whose} **{plural(status.remaining, 'image')}** left {period_word(status.period)}.",
        f"- Limit: {plural(status.limit, 'image')} {period_adjective(status.period)}" + _limit_origin(status),
    ]
    if status.granted:
        lines.append(f"- Extra granted {period_word(status.period)}: {status.granted}")
    lines.append(f"- Used: {status.used}" + (f", {status.reserved} in progress" if status.reserved else ""))
    lines.append(f"- Resets {timestamp(status.resets_at)} ({timestamp(status.resets_at, 'f')})")
    return "\n".join(lines)


# -- /admin quota ------------------------------------------------------------------------------


def member_quota(mention: str, status: QuotaStatus) -> str:
    """A member's quota as an admin reads it; ``mention`` is already safe to show."""
    return f"**{mention}**\n" + quota_report(status, whose="They have")


def own_limit_set(mention: str, limit: int | None, status: QuotaStatus) -> str:
    change = (
        f"{mention} now has their own limit of {plural(limit, 'image')} {period_adjective(status.period)}."
        if limit is not None
        else f"{mention} is back on the server default ({plural(status.limit, 'image')})."
    )
    return change + "\n" + quota_report(status, whose="They have")


def usage_cleared(mention: str, status: QuotaStatus) -> str:
    return f"Cleared {mention}'s usage for this period.\n" + quota_report(status, whose="They have")


def extra_granted(mention: str, amount: int, status: QuotaStatus) -> str:
    return f"Granted {mention} {plural(amount, 'extra image')}.\n" + quota_report(status, whose="They have")


def server_default_set(limit: int, period: str) -> str:
    return (
        f"This server's default is now {plural(limit, 'image')} per member, "
        f"{period_adjective(period)} (resets at 00:00 UTC). Members with their own limit keep it."
    )


def server_overview(limit: int, period: str, *, set_here: bool, members: Sequence[QuotaStatus]) -> str:
    """``/admin quota show`` without a member: the default and everyone who used the bot this period."""
    origin = "set for this server" if set_here else "the bot's default"
    lines = [f"**Default:** {plural(limit, 'image')} per member, {period_adjective(period)} ({origin})."]
    if members:
        lines.append("**This period:**")
        lines += [
            f"- <@{s.user_id}>: {s.used} used"
            + (f", {s.reserved} in progress" if s.reserved else "")
            + f", {s.remaining} left of {s.limit + s.granted}"
            + (" (own limit)" if s.limit_source == "user" else "")
            + (f" (<@&{s.role_id}>)" if s.limit_source == "role" else "")
            for s in members
        ]
    else:
        lines.append("Nobody has used the bot this period yet.")
    return "\n".join(lines)


def role_limits_report(tiers: Mapping[int, int], *, changed: str, limit: int | None) -> str:
    """The answer to ``/admin quota role``: the change, then every role's limit, highest first."""
    head = (
        f"Members with {changed} now get {plural(limit, 'image')} per period (unless another of their "
        "roles gives more, or they have their own limit)."
        if limit is not None
        else f"{changed} no longer has a limit of its own."
    )
    lines = [head]
    if tiers:
        lines.append("**Limits by role:**")
        ordered = sorted(tiers.items(), key=lambda item: (-item[1], item[0]))
        lines += [f"- <@&{role}>: {plural(images, 'image')}" for role, images in ordered]
    return "\n".join(lines)
