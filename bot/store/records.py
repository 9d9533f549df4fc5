"""What the store keeps of each job beyond its quota: what it cost (against the server's budget),
what it was asked with and its input images (for Redo), where its result is (for ``/history`` and
``/show``), what reports read, and the purge of what is kept only for a while."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store import budgets
from bot.store import usage as usage_sql
from bot.store.budgets import BudgetAlert
from bot.store.database import Connection, Database
from bot.store.periods import as_utc, from_micros, to_micros
from bot.store.quotas import check_id, check_int
from bot.store.usage import Usage, UsageRow


@dataclass(frozen=True)
class JobRecord:
    """What a job was reserved with: its server and its recipe's details."""

    guild_id: int
    details: dict[str, Any]


@dataclass(frozen=True)
class PastJob:
    """One of a member's jobs, as ``/history`` lists it."""

    job_id: int
    created_at: datetime
    kind: str
    model: str | None
    prompt: str | None
    images: int  # charged (delivered); 0 for a job that failed or is running
    state: str
    result_channel_id: int | None
    result_message_id: int | None


@dataclass(frozen=True)
class JobCost:
    usd: float
    exact: bool


def _prompt_of(details: str) -> str | None:
    try:
        prompt = json.loads(details).get("prompt")
    except (ValueError, AttributeError):
        return None
    return prompt if isinstance(prompt, str) else None


class JobRecords:
    """The job-record half of ``Store`` (mixed in; see ``bot.store.store``)."""

    _database: Database

    async def record_cost(
        self,
        job_id: int,
        usd: float,
        *,
        exact: bool,
        now: datetime,
        ceiling: tuple[tuple[str, str, str], int] | None = None,
    ) -> BudgetAlert | None:
        """What job ``job_id`` cost upstream (replaces an earlier figure for it): it now counts as
        spent against the server's budget, in place of its hold. ``ceiling``: ((model, size,
        quality), images) to raise that cost per image's ceiling with (exact costs only). Returns the
        budget alert this cost set off, if any (told once per threshold and period)."""
        check_id("job_id", job_id)
        if not usd >= 0:  # also refuses NaN
            raise ValueError(f"cost must be >= 0 (got {usd!r})")

        async def run(db: Connection) -> BudgetAlert | None:
            await db.execute(
                "UPDATE jobs SET cost_usd = ?, cost_exact = ? WHERE id = ?", (usd, int(exact), job_id)
            )
            if ceiling is not None and exact and ceiling[1] > 0:
                await budgets.raise_ceiling(db, ceiling[0], usd / ceiling[1])
            rows = list(await db.execute_fetchall("SELECT guild_id FROM jobs WHERE id = ?", (job_id,)))
            spending = await budgets.status(db, rows[0][0], now) if rows else None
            if spending is None:
                return None
            alerts = await budgets.new_alerts(db, spending)
            return alerts[0] if alerts else None

        return await self._database.write(run)

    async def cost_ceilings(self) -> dict[tuple[str, str, str], float]:
        """The highest cost per image billed so far, by (model, size, quality)."""
        return await self._database.read(budgets.ceilings)

    async def job_cost(self, job_id: int) -> JobCost | None:
        """The cost recorded for a job; None when there is none (or no such job)."""

        async def run(db: Connection) -> JobCost | None:
            rows = list(
                await db.execute_fetchall("SELECT cost_usd, cost_exact FROM jobs WHERE id = ?", (job_id,))
            )
            if not rows or rows[0][0] is None:
                return None
            return JobCost(float(rows[0][0]), bool(rows[0][1]))

        return await self._database.read(run)

    async def job_details(self, job_id: int) -> JobRecord | None:
        """The guild and the details a job was reserved with, or None if there is no such job."""

        async def run(db: Connection) -> JobRecord | None:
            rows = list(
                await db.execute_fetchall("SELECT guild_id, details FROM jobs WHERE id = ?", (job_id,))
            )
            return JobRecord(int(rows[0][0]), json.loads(rows[0][1])) if rows else None

        return await self._database.read(run)

    async def save_inputs(self, job_id: int, inputs: list[tuple[str, str, str, bytes]]) -> None:
        """Keep a job's input files: (role, filename, content_type, data), role 'image' or 'mask'."""

        async def run(db: Connection) -> None:
            await db.execute("DELETE FROM job_inputs WHERE job_id = ?", (job_id,))
            await db.executemany(
                "INSERT INTO job_inputs (job_id, position, role, filename, content_type, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(job_id, i, role, name, kind, data) for i, (role, name, kind, data) in enumerate(inputs)],
            )

        await self._database.write(run)

    async def load_inputs(self, job_id: int) -> list[tuple[str, str, str, bytes]]:
        async def run(db: Connection) -> list[tuple[str, str, str, bytes]]:
            rows = await db.execute_fetchall(
                "SELECT role, filename, content_type, data FROM job_inputs "
                "WHERE job_id = ? ORDER BY position",
                (job_id,),
            )
            return [(str(r[0]), str(r[1]), str(r[2]), bytes(r[3])) for r in rows]

        return await self._database.read(run)

    async def purge(self, *, before: datetime) -> int:
        """Forget what jobs created before ``before`` were asked with: their prompt and options
        (details) and their input images. What reports count stays (when, who, model, images,
        cost). Returns how many jobs were purged."""
        cutoff = to_micros(before)

        async def run(db: Connection) -> int:
            await db.execute(
                "DELETE FROM job_inputs WHERE job_id IN (SELECT id FROM jobs WHERE created_at < ?)", (cutoff,)
            )
            return await db.execute(
                "UPDATE jobs SET details = '{}' WHERE created_at < ? AND details != '{}' "
                "AND state IN ('committed', 'refunded')",
                (cutoff,),
            )

        return await self._database.write(run)

    async def history(self, guild_id: int, user_id: int, *, limit: int = 10) -> list[PastJob]:
        """The member's most recent jobs in the server, newest first."""
        check_id("guild_id", guild_id)
        check_id("user_id", user_id)
        check_int("limit", limit, 1, 100)

        async def run(db: Connection) -> list[PastJob]:
            rows = await db.execute_fetchall(
                "SELECT id, created_at, kind, model, details, charged, state, result_channel_id, "
                "result_message_id FROM jobs WHERE guild_id = ? AND user_id = ? "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (guild_id, user_id, limit),
            )
            return [
                PastJob(
                    int(job_id),
                    from_micros(int(created)),
                    str(kind),
                    model,
                    _prompt_of(details),
                    int(charged),
                    str(state),
                    channel,
                    message,
                )
                for job_id, created, kind, model, details, charged, state, channel, message in rows
            ]

        return await self._database.read(run)

    async def past_job(self, job_id: int) -> tuple[int, int, PastJob] | None:
        """(server id, owner's user id, the job) of any job, or None."""
        check_id("job_id", job_id)

        async def run(db: Connection) -> tuple[int, int, PastJob] | None:
            rows = list(
                await db.execute_fetchall(
                    "SELECT user_id, guild_id, id, created_at, kind, model, details, charged, state, "
                    "result_channel_id, result_message_id FROM jobs WHERE id = ?",
                    (job_id,),
                )
            )
            if not rows:
                return None
            user, guild, job, created, kind, model, details, charged, state, channel, message = rows[0]
            past = PastJob(
                int(job),
                from_micros(int(created)),
                kind,
                model,
                _prompt_of(details),
                int(charged),
                state,
                channel,
                message,
            )
            return int(guild), int(user), past

        return await self._database.read(run)

    async def usage(self, guild_id: int, *, start: datetime, end: datetime, top: int = 10) -> Usage:
        """What the server's jobs created in [start, end) made and cost (``bot.store.usage``)."""
        check_id("guild_id", guild_id)
        return await self._database.read(
            lambda db: usage_sql.usage(db, guild_id, as_utc(start), as_utc(end), top=top)
        )

    async def usage_rows(self, guild_id: int, *, start: datetime, end: datetime) -> list[UsageRow]:
        """Every job the server created in [start, end), oldest first (the CSV export)."""
        check_id("guild_id", guild_id)
        return await self._database.read(
            lambda db: usage_sql.export_rows(db, guild_id, as_utc(start), as_utc(end))
        )
