"""Money in words: the budget's refusals, its report and its alerts."""

from __future__ import annotations

from bot.core.text.quotas import period_adjective, period_word
from bot.core.text.writing import NOTHING_CHARGED, code, timestamp
from bot.store import BudgetAlert, BudgetExhausted, BudgetStatus, UnpricedUnderBudget


def usd(amount: float) -> str:
    """``$4.20``; amounts under a cent keep their significant digits (``$0.0042``)."""
    if 0 < amount < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def budget_exhausted(error: BudgetExhausted) -> str:
    status = error.status
    when = timestamp(status.resets_at)
    period = period_word(status.budget.period)
    if status.left_usd < 0.005:
        return (
            f"This server's image budget for {period} ({usd(status.budget.amount_usd)}) is used up. "
            f"It resets {when}. {NOTHING_CHARGED}"
        )
    return (
        f"This could cost up to {usd(error.hold_usd)}, more than the {usd(status.left_usd)} left of this "
        f"server's budget {period}. Ask for fewer or smaller images or a lower quality, or wait until it "
        f"resets {when}. {NOTHING_CHARGED}"
    )


def unpriced_under_budget(error: UnpricedUnderBudget) -> str:
    return (
        f"{code(error.model)} has no price in the bot's model table, so it can't be used while this server "
        f"has a budget. Pick another model. {NOTHING_CHARGED}"
    )


def budget_report(status: BudgetStatus | None) -> str:
    """The body of ``/admin budget show``."""
    if status is None:
        return (
            "This server has no budget: spending is limited by image quotas only. "
            "Set one with /admin budget set."
        )
    budget = status.budget
    lines = [
        f"**Budget:** {usd(budget.amount_usd)} {period_adjective(budget.period)} (UTC).",
        f"- Spent {period_word(budget.period)}: {usd(status.spent_usd)} ({status.spent_percent:.0f} %)",
    ]
    if status.held_usd:
        lines.append(f"- Held by jobs in progress (at most): {usd(status.held_usd)}")
    lines.append(f"- Left: {usd(status.left_usd)}")
    lines.append(f"- Resets {timestamp(status.resets_at)} ({timestamp(status.resets_at, 'f')})")
    return "\n".join(lines)


def budget_alert(alert: BudgetAlert) -> str:
    """The log channel's line when spending passes 50, 80 or 100 % of the budget."""
    status = alert.status
    spent = f"{usd(status.spent_usd)} of {usd(status.budget.amount_usd)}"
    if alert.percent >= 100:
        return (
            f"💸 The image budget for {period_word(status.budget.period)} is used up ({spent}): jobs are "
            f"refused until it resets {timestamp(status.resets_at)}."
        )
    period = period_word(status.budget.period)
    return f"💸 {alert.percent} % of the image budget for {period} is spent ({spent})."
