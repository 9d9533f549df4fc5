"""What a server's jobs made and cost over a stretch of time: the numbers of ``/admin usage``, its
chart's daily series and its CSV export. Read-only SQL over ``jobs`` (with its ``jobs_by_guild``
index), run inside a transaction opened by ``Store``.

Counting: a job counts in the stretch it was *created* in. ``images`` are those charged (delivered);
``refunded`` counts jobs that ended refunded; ``spend`` sums the recorded costs, whatever became of
the job (the money is spent once upstream answered).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.store.database import Connection
from bot.store.periods import from_micros, to_micros

__all__ = ["Totals", "Usage", "UsageRow", "export_rows", "usage"]

DAY_MICROS = 86_400 * 1_000_000


@dataclass(frozen=True)
class Totals:
    jobs: int = 0
    images: int = 0
    spend_usd: float = 0.0
    refunded: int = 0
    estimated: int = 0  # jobs whose cost is an estimate, not the backend's usage


@dataclass(frozen=True)
class Usage:
    start: datetime
    end: datetime
    total: Totals
    by_model: dict[str, Totals]
    by_member: list[tuple[int, Totals]]  # the top members, most spent (then most images) first
    daily: list[tuple[datetime, Totals]]  # one per UTC day of the stretch, empty days included


@dataclass(frozen=True)
class UsageRow:
    """One job of the CSV export."""

    job_id: int
    created_at: datetime
    user_id: int
    kind: str
    model: str | None
    options: dict[str, object]
    state: str
    images: int
    cost_usd: float | None
    cost_exact: bool | None


_TOTALS = """
COUNT(*),
COALESCE(SUM(CASE WHEN state = 'committed' THEN charged ELSE 0 END), 0),
COALESCE(SUM(cost_usd), 0),
COALESCE(SUM(CASE WHEN state = 'refunded' THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN cost_exact = 0 THEN 1 ELSE 0 END), 0)
"""
_WHERE = "FROM jobs WHERE guild_id = :guild AND created_at >= :start AND created_at < :end"


def _totals(row: tuple) -> Totals:
    jobs, images, spend, refunded, estimated = row
    return Totals(int(jobs), int(images), float(spend), int(refunded), int(estimated))


async def usage(db: Connection, guild_id: int, start: datetime, end: datetime, *, top: int = 10) -> Usage:
    params = {"guild": guild_id, "start": to_micros(start), "end": to_micros(end), "top": top}
    [whole] = await db.execute_fetchall(f"SELECT {_TOTALS} {_WHERE}", params)
    total = _totals(tuple(whole))
    models = await db.execute_fetchall(f"SELECT model, {_TOTALS} {_WHERE} GROUP BY model", params)
    by_model = {str(model or "unknown"): _totals(tuple(rest)) for model, *rest in models}
    by_member = [
        (int(user), _totals(tuple(rest)))
        for user, *rest in await db.execute_fetchall(
            f"SELECT user_id, {_TOTALS} {_WHERE} GROUP BY user_id "
            "ORDER BY COALESCE(SUM(cost_usd), 0) DESC, 3 DESC, user_id LIMIT :top",
            params,
        )
    ]
    days = {
        int(day): _totals(tuple(rest))
        for day, *rest in await db.execute_fetchall(
            f"SELECT (created_at - :start) / {DAY_MICROS}, {_TOTALS} {_WHERE} GROUP BY 1", params
        )
    }
    count = max(1, -(-(params["end"] - params["start"]) // DAY_MICROS))
    first = params["start"]
    daily = [(from_micros(first + day * DAY_MICROS), days.get(day, Totals())) for day in range(count)]
    return Usage(start, end, total, by_model, by_member, daily)


async def export_rows(db: Connection, guild_id: int, start: datetime, end: datetime) -> list[UsageRow]:
    params = {"guild": guild_id, "start": to_micros(start), "end": to_micros(end)}
    rows = await db.execute_fetchall(
        "SELECT id, created_at, user_id, kind, model, details, state, charged, cost_usd, cost_exact "
        f"{_WHERE} ORDER BY created_at, id",
        params,
    )
    out = []
    for job_id, created, user, kind, model, details, state, charged, cost, exact in rows:
        try:
            recipe = json.loads(details)
        except ValueError:
            recipe = {}
        shown = {
            key: value
            for key, value in recipe.items()
            if key not in ("prompt", "kind", "model", "n") and value not in (None, "", 0)
        }
        out.append(
            UsageRow(
                int(job_id),
                from_micros(int(created)),
                int(user),
                str(kind),
                model,
                {
                    key: value
                    for key, value in shown.items()
                    if value not in (None, "", 0) or key == "image_count"
                },
                str(state),
                int(charged) if state == "committed" else 0,
                None if cost is None else float(cost),
                None if exact is None else bool(exact),
            )
        )
    return out
