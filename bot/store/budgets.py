"""Budgets in money: a server's spending limit per period, what its jobs spent and what they hold.

Counting (per server, for the budget's period containing ``now``):
- ``spent``: the recorded cost of every job created in the period, whatever became of it afterwards
  (once upstream answered, the money is spent: a delivery that fails later doesn't bring it back);
- ``held``: the worst-case hold of jobs still in flight whose cost isn't recorded yet;
- ``left = max(0, amount - spent - held)``.
A job is admitted only if its hold fits in ``left``, inside the same transaction as its quota
reservation (``Store.reserve``), so concurrent jobs can never overspend the budget between them; its
hold stops counting once its cost is recorded (the exact cost from ``usage``, or the table price) or
the job ends without one (a failure before upstream answered costs nothing).

Money is integer micro-dollars in the database (``jobs.cost_usd`` excepted, a REAL since V4) and
USD floats here. The functions run inside a transaction opened by ``Store``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.errors import UserInputError
from bot.store.database import Connection
from bot.store.periods import Period, period_end, period_start, to_micros, validate_period

__all__ = [
    "ALERT_PERCENTS",
    "MAX_BUDGET_USD",
    "Budget",
    "BudgetAlert",
    "BudgetExhausted",
    "BudgetStatus",
    "UnpricedUnderBudget",
]

MAX_BUDGET_USD = 1_000_000.0
#: the shares of a budget at which the server's log channel is told (once per period each)
ALERT_PERCENTS = (50, 80, 100)


def to_micro_usd(usd: float) -> int:
    return round(usd * 1_000_000)


def from_micro_usd(micros: int) -> float:
    return micros / 1_000_000


@dataclass(frozen=True)
class Budget:
    amount_usd: float
    period: Period

    def __post_init__(self) -> None:
        validate_period(self.period)
        if not 0 < self.amount_usd <= MAX_BUDGET_USD:  # also refuses NaN
            raise ValueError(f"a budget must be more than 0 and at most {MAX_BUDGET_USD:,.0f} USD")


@dataclass(frozen=True)
class BudgetStatus:
    guild_id: int
    budget: Budget
    spent_usd: float
    held_usd: float
    period_start: datetime
    resets_at: datetime

    @property
    def left_usd(self) -> float:
        return max(0.0, self.budget.amount_usd - self.spent_usd - self.held_usd)

    @property
    def spent_percent(self) -> float:
        return 100 * self.spent_usd / self.budget.amount_usd


@dataclass(frozen=True)
class BudgetAlert:
    """The server's spend crossed ``percent`` of its budget this period (told once)."""

    status: BudgetStatus
    percent: int


class BudgetExhausted(UserInputError):
    """The job's worst-case cost doesn't fit in what is left of the server's budget. Nothing was written."""

    def __init__(self, status: BudgetStatus, hold_usd: float) -> None:
        super().__init__(
            f"a job that may cost {hold_usd:.4f} USD doesn't fit: {status.left_usd:.4f} of "
            f"{status.budget.amount_usd:.2f} USD left this {status.budget.period}"
        )
        self.status = status
        self.hold_usd = hold_usd


class UnpricedUnderBudget(UserInputError):
    """The server has a budget and the job's model has no price to hold against it."""

    def __init__(self, model: str) -> None:
        super().__init__(f"{model} has no price in the model table, and this server has a budget")
        self.model = model


async def budget(db: Connection, guild_id: int) -> Budget | None:
    rows = list(
        await db.execute_fetchall("SELECT amount_micros, period FROM budgets WHERE guild_id = ?", (guild_id,))
    )
    return Budget(from_micro_usd(rows[0][0]), rows[0][1]) if rows else None


_SPENT_SQL = """
SELECT COALESCE(SUM(CASE WHEN cost_usd IS NOT NULL THEN CAST(ROUND(cost_usd * 1000000) AS BIGINT) END), 0),
       COALESCE(SUM(CASE WHEN cost_usd IS NULL AND state NOT IN ('committed', 'refunded')
                         THEN hold_micros END), 0)
FROM jobs WHERE guild_id = ? AND created_at >= ?
"""


async def status(db: Connection, guild_id: int, now: datetime) -> BudgetStatus | None:
    """The server's budget and what its jobs spent and hold this period; None: no budget."""
    found = await budget(db, guild_id)
    if found is None:
        return None
    start = period_start(found.period, now)
    rows = list(await db.execute_fetchall(_SPENT_SQL, (guild_id, to_micros(start))))
    spent, held = rows[0]
    return BudgetStatus(
        guild_id,
        found,
        from_micro_usd(int(spent)),
        from_micro_usd(int(held)),
        start,
        period_end(found.period, now),
    )


async def set_budget(db: Connection, guild_id: int, new: Budget | None) -> None:
    if new is None:
        await db.execute("DELETE FROM budgets WHERE guild_id = ?", (guild_id,))
        return
    await db.execute(
        "INSERT INTO budgets (guild_id, amount_micros, period) VALUES (?, ?, ?) "
        "ON CONFLICT (guild_id) DO UPDATE SET "
        "amount_micros = excluded.amount_micros, period = excluded.period",
        (guild_id, to_micro_usd(new.amount_usd), new.period),
    )


async def new_alerts(db: Connection, current: BudgetStatus) -> list[BudgetAlert]:
    """The alert thresholds ``current`` has reached that weren't told yet this period (now marked told)."""
    alerts = []
    for percent in ALERT_PERCENTS:
        if current.spent_percent < percent:
            break
        inserted = await db.execute(
            "INSERT INTO budget_alerts (guild_id, period_start, percent) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (current.guild_id, to_micros(current.period_start), percent),
        )
        if inserted:
            alerts.append(BudgetAlert(current, percent))
    return alerts[-1:]  # a jump past several thresholds is one line: the highest


async def raise_ceiling(db: Connection, key: tuple[str, str, str], usd_per_image: float) -> None:
    """Remember ``usd_per_image`` for (model, size, quality) if it is the highest billed so far."""
    await db.execute(
        "INSERT INTO cost_ceilings (model, size, quality, usd_micros) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (model, size, quality) DO UPDATE SET usd_micros = "
        "CASE WHEN excluded.usd_micros > cost_ceilings.usd_micros "
        "THEN excluded.usd_micros ELSE cost_ceilings.usd_micros END",
        (*key, to_micro_usd(usd_per_image)),
    )


async def ceilings(db: Connection) -> dict[tuple[str, str, str], float]:
    rows = await db.execute_fetchall("SELECT model, size, quality, usd_micros FROM cost_ceilings")
    return {(model, size, quality): from_micro_usd(micros) for model, size, quality, micros in rows}
