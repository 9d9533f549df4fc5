"""Jobs a process left in flight: refunded exactly once, and their owners told.

- A process refunds its own unfinished jobs when it starts (``refund_unfinished``), and jobs it
  refunded while going away, whose owners it couldn't tell, are told then (``owed_notices``).
- Every process holds a lease (``instances``) it renews while alive (``renew_lease``). A process
  whose lease ran out vanished for good (SIGKILL, a lost machine): another refunds the jobs it left
  in flight (``refund_vanished``). The refund is one ``UPDATE … WHERE state = 'reserved'``: when
  several processes try at once, the database's row locks let one of them change each job, and the
  others find nothing left, so each job is refunded exactly once. A vanished process that comes back
  under its name takes a new lease; its late settles change nothing (the first outcome wins).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store import quotas
from bot.store.database import Connection, Database, Row
from bot.store.ledger import Ledger
from bot.store.periods import from_micros, to_micros
from bot.store.quotas import REFUNDED, RESERVED, QuotaPolicy, QuotaStatus, Reservation

__all__ = ["OwedNotice", "Recovery"]

log = logging.getLogger(__name__)


async def _refund_owner(db: Connection, owner: str, at: int) -> list[Row]:
    """Refund every job ``owner`` has in flight; their in-flight columns."""
    return await db.execute_fetchall(
        "UPDATE jobs SET state = ?, charged = 0, settled_at = ?, updated_at = ? "
        "WHERE owner = ? AND state = ? RETURNING id, guild_id, user_id, amount, created_at, channel_id",
        (REFUNDED, at, at, owner, RESERVED),
    )


@dataclass(frozen=True)
class OwedNotice:
    """A refunded job whose owner is still to be told that nothing was charged."""

    job_id: int
    channel_id: int | None
    user_id: int


class Recovery:
    """Mixed into ``Store``: it provides the database, the owner name and the default policy."""

    _database: Database
    _owner: str
    _default: QuotaPolicy
    ledger: Ledger

    async def refund_unfinished(self, *, now: datetime) -> list[Reservation]:
        """Refund every reservation this owner left 'reserved' (call once at start-up, before taking
        new jobs) and return them, with each user's status after the refunds."""
        at = to_micros(now)

        async def run(db: Connection) -> list[Reservation]:
            return await self._after_refunds(db, await _refund_owner(db, self._owner, at), now)

        refunded = await self._database.write(run)
        self.ledger.forget()
        if refunded:
            log.info("refunded %d reservation(s) left unfinished by a previous run", len(refunded))
        return refunded

    async def renew_lease(self, *, now: datetime, lease: timedelta) -> None:
        """This process is alive until ``now + lease`` at least (renew it well before then)."""
        at, until = to_micros(now), to_micros(now + lease)

        async def run(db: Connection) -> None:
            await db.execute(
                "INSERT INTO instances (owner, started_at, lease_until) VALUES (?, ?, ?) "
                "ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until",
                (self._owner, at, until),
            )

        await self._database.write(run)

    async def end_lease(self) -> None:
        """This process stops (cleanly): nothing of it is left for others to recover."""

        async def run(db: Connection) -> None:
            await db.execute("DELETE FROM instances WHERE owner = ?", (self._owner,))
            await db.execute("DELETE FROM turn_requests WHERE owner = ?", (self._owner,))

        await self._database.write(run)

    async def refund_vanished(self, *, now: datetime) -> list[Reservation]:
        """Refund the jobs of every other process whose lease ran out before ``now``, forget those
        processes, and return the jobs (with each member's status after), oldest first."""
        at = to_micros(now)

        async def run(db: Connection) -> list[Reservation]:
            gone = [
                str(owner)
                for (owner,) in await db.execute_fetchall(
                    "SELECT owner FROM instances WHERE lease_until < ? AND owner != ?", (at, self._owner)
                )
            ]
            if not gone:
                return []
            rows: list[Row] = []
            for owner in gone:
                rows += await _refund_owner(db, owner, at)
                await db.execute("DELETE FROM instances WHERE owner = ?", (owner,))
                await db.execute("DELETE FROM turn_requests WHERE owner = ?", (owner,))
            log.warning(
                "process(es) %s stopped renewing their lease; refunded the %d job(s) they left",
                ", ".join(gone),
                len(rows),
            )
            return await self._after_refunds(db, rows, now)

        refunded = await self._database.write(run)
        if refunded:
            self.ledger.forget()
        return refunded

    async def owed_notices(self) -> list[OwedNotice]:
        """Refunded jobs whose owners are still to be told; clears them."""

        async def run(db: Connection) -> list[OwedNotice]:
            rows = await db.execute_fetchall(
                "UPDATE jobs SET notice_owed = 0 WHERE notice_owed = 1 AND owner = ? "
                "RETURNING id, channel_id, user_id",
                (self._owner,),
            )
            notices = [OwedNotice(int(r[0]), None if r[1] is None else int(r[1]), int(r[2])) for r in rows]
            return sorted(notices, key=lambda notice: notice.job_id)

        return await self._database.write(run)

    async def _after_refunds(self, db: Connection, rows: Sequence[Row], now: datetime) -> list[Reservation]:
        """The refunded jobs ``rows`` (the in-flight columns), with each member's status after."""
        after: dict[tuple[int, int], QuotaStatus] = {}
        for _, guild_id, user_id, *_ in rows:
            key = (int(guild_id), int(user_id))
            if key not in after:
                after[key] = await quotas.status(db, *key, self._default, now)
        found = [
            Reservation(
                int(job_id),
                int(guild_id),
                int(user_id),
                int(amount),
                from_micros(int(created)),
                after[int(guild_id), int(user_id)],
                None if channel is None else int(channel),
            )
            for job_id, guild_id, user_id, amount, created, channel in rows
        ]
        return sorted(found, key=lambda reservation: reservation.id)
