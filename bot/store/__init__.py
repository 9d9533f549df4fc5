"""Persistent state in SQLite or PostgreSQL: quotas, jobs (reservations), server settings and secrets.

No discord import here: ids are plain ints and every time-dependent call takes ``now``.
"""

from bot.store.budgets import (
    ALERT_PERCENTS,
    MAX_BUDGET_USD,
    Budget,
    BudgetAlert,
    BudgetExhausted,
    BudgetStatus,
    UnpricedUnderBudget,
)
from bot.store.database import (
    POSTGRES_SCHEMES,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
    describe,
    is_postgres,
    redact_url,
)
from bot.store.migrations import LATEST_VERSION, MIGRATIONS, Migration
from bot.store.periods import PERIODS, Period, period_end, period_start, validate_period
from bot.store.quotas import MAX_AMOUNT, MAX_LIMIT, QuotaExceeded, QuotaPolicy, QuotaStatus, Reservation
from bot.store.records import JobCost, JobRecord, PastJob
from bot.store.recovery import OwedNotice
from bot.store.store import Store
from bot.store.usage import Totals, Usage, UsageRow

__all__ = [
    "ALERT_PERCENTS",
    "LATEST_VERSION",
    "MAX_AMOUNT",
    "MAX_BUDGET_USD",
    "MAX_LIMIT",
    "MIGRATIONS",
    "PERIODS",
    "POSTGRES_SCHEMES",
    "Budget",
    "BudgetAlert",
    "BudgetExhausted",
    "BudgetStatus",
    "JobCost",
    "JobRecord",
    "Migration",
    "OwedNotice",
    "PastJob",
    "Period",
    "QuotaExceeded",
    "QuotaPolicy",
    "QuotaStatus",
    "Reservation",
    "SchemaVersionError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "Totals",
    "UnpricedUnderBudget",
    "Usage",
    "UsageRow",
    "describe",
    "is_postgres",
    "period_end",
    "period_start",
    "redact_url",
    "validate_period",
]
