"""``/admin usage`` in words: the report's summary, its breakdowns and its chart's labels."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.text.quotas import period_word
from bot.core.text.spending import usd
from bot.core.text.writing import code, plural
from bot.store import BudgetStatus, Totals, Usage

CHART_IMAGES = "images made"
CHART_SPEND = "spend (USD)"
EXPORT_NOTE = "Every job of the period, one row each (UTC times; costs in USD)."


@dataclass(frozen=True)
class UsageReport:
    title: str
    description: str
    fields: tuple[tuple[str, str], ...]  # (name, value), shown in this order
    chart_title: str


def _line(totals: Totals) -> str:
    return f"{plural(totals.images, 'image')}, {usd(totals.spend_usd)}"


def usage_report(usage: Usage, period: str, budget: BudgetStatus | None) -> UsageReport:
    """The embed of ``/admin usage show`` for the server's ``period`` (``day|week|month``)."""
    when = period_word(period)
    total = usage.total
    title = f"Image usage {when}"
    if not total.jobs:
        return UsageReport(title, f"No jobs {when} yet.", (), f"{title}: nothing yet")
    summary = [
        f"**{plural(total.jobs, 'job')} · {plural(total.images, 'image')} · {usd(total.spend_usd)} spent**"
        + (f" · {plural(total.refunded, 'job')} refunded (not charged)" if total.refunded else "")
    ]
    if budget is not None:
        summary.append(
            f"Budget: {usd(budget.spent_usd)} of {usd(budget.budget.amount_usd)} "
            f"({budget.spent_percent:.0f} %) {period_word(budget.budget.period)}"
        )
    if total.estimated:
        summary.append(
            f"{plural(total.estimated, 'cost')} estimated: the image service reported no token usage."
        )
    models = sorted(usage.by_model.items(), key=lambda item: (-item[1].spend_usd, -item[1].images, item[0]))
    fields = [("By model", "\n".join(f"{code(model)}: {_line(t)}" for model, t in models[:10]))]
    if usage.by_member:
        top = "\n".join(f"{rank}. <@{user}>: {_line(t)}" for rank, (user, t) in enumerate(usage.by_member, 1))
        fields.append(("Top members", top))
    return UsageReport(title, "\n".join(summary), tuple(fields), f"{title}: images and spend per day (UTC)")
