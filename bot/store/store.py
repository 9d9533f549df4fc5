"""``Store``: the bot's persistent state behind one small async API.

Quota protocol for every image job::

    reservation = await store.reserve(guild, user, n, now=now)   # QuotaExceeded: refused, nothing written
    try:
        images = await call_upstream(...)
        await deliver(images)
    except BaseException:
        await store.refund(reservation.id, now=now2)              # failure costs nothing
        raise
    await store.settle(reservation.id, len(images), now=now2)      # charge what was delivered

``settle`` and ``refund`` are idempotent and the first one wins, so a retry can never double-charge.
At start-up, ``refund_unfinished`` releases whatever a previous run left reserved.

Every method that depends on time takes ``now`` (an aware datetime): the store never reads the clock.
"""

from __future__ import annotations

import json
import logging
import os
import secrets as _secrets
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self

from bot.store import budgets, quotas
from bot.store.budgets import BudgetExhausted, UnpricedUnderBudget
from bot.store.database import Connection, Database, open_database
from bot.store.ledger import Ledger
from bot.store.migrations import MIGRATIONS, Migration
from bot.store.periods import Period, as_utc, from_micros, to_micros, validate_period
from bot.store.quotas import (
    COMMITTED,
    REFUNDED,
    RESERVED,
    QuotaExceeded,
    QuotaPolicy,
    QuotaStatus,
    Reservation,
    check_amount,
    check_id,
    check_int,
    check_limit,
)
from bot.store.records import JobRecords
from bot.store.recovery import Recovery
from bot.store.settings import ServerSettings
from bot.store.turns import Turns

log = logging.getLogger(__name__)

SECRET_BYTES = 32


class Store(Recovery, JobRecords, ServerSettings):
    """Quotas, jobs and secrets in one database (SQLite or PostgreSQL); ``await Store.open(...)``.

    This class holds quotas and reservations; what is kept of each job (cost, details, result,
    reports, the purge) is ``bot.store.records.JobRecords``, a server's settings (budget, model
    rules, log channel) ``bot.store.settings.ServerSettings``, and jobs left in flight by a process
    that stopped (its own at start-up, or another's whose lease ran out)
    ``bot.store.recovery.Recovery``, all mixed in on one database."""

    def __init__(self, database: Database, default_policy: QuotaPolicy, owner: str) -> None:
        self._database = database
        self._default = default_policy
        self._owner = owner
        self._secrets: dict[str, bytes] = {}
        self.ledger = Ledger()  # what this process last read of each member's quota (see ledger.py)
        self._rules: dict[int, tuple[frozenset[str], str | None, int | None]] = {}

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        default_policy: QuotaPolicy,
        owner: str = "default",
        migrations: tuple[Migration, ...] = MIGRATIONS,
    ) -> Store:
        """Open (creating it and its folder if needed) and migrate the database at ``path``: a file
        (or ``:memory:``) for SQLite, a ``postgresql://`` URL for PostgreSQL.

        ``owner`` names the process that writes reservations: ``refund_unfinished`` only refunds the
        owner's own. One bot process: keep the default. Several processes sharing one file (shards):
        give each a stable name of its own, so one restarting doesn't refund the others' jobs in flight.
        """
        if not isinstance(default_policy, QuotaPolicy):
            raise TypeError("default_policy must be a QuotaPolicy")
        if not isinstance(owner, str) or not owner:
            raise ValueError("owner must be a non-empty string")
        database = await open_database(path, migrations)
        return cls(database, default_policy, owner)

    async def close(self) -> None:
        await self._database.close()

    async def ping(self) -> None:
        """One trivial read, for a health check: raises if the database doesn't answer."""

        async def run(db: Connection) -> None:
            await db.execute_fetchall("SELECT 1")

        await self._database.read(run)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def default_policy(self) -> QuotaPolicy:
        return self._default

    # --- server and user settings ---

    async def server_policy(self, guild_id: int) -> tuple[QuotaPolicy, Literal["server", "default"]]:
        check_id("guild_id", guild_id)
        return await self._database.read(lambda db: quotas.server_policy(db, guild_id, self._default))

    async def set_server_policy(
        self, guild_id: int, *, limit: int, period: Period | None = None
    ) -> QuotaPolicy:
        """Set the server's own limit, and its period (``None`` keeps the current one)."""
        check_id("guild_id", guild_id)
        check_limit(limit)
        if period is not None:
            validate_period(period)

        async def run(db: Connection) -> QuotaPolicy:
            current, _ = await quotas.server_policy(db, guild_id, self._default)
            policy = QuotaPolicy(limit, period or current.period)
            await db.execute(
                "INSERT INTO guild_settings (guild_id, quota_limit, period) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET quota_limit = excluded.quota_limit, "
                "period = excluded.period",
                (guild_id, policy.limit, policy.period),
            )
            return policy

        try:
            return await self._database.write(run, lock=guild_id)
        finally:
            self.ledger.forget(guild_id)

    async def set_user_limit(self, guild_id: int, user_id: int, limit: int | None) -> None:
        """Override one user's limit (the period stays the server's); ``None`` removes the override."""
        check_id("guild_id", guild_id)
        check_id("user_id", user_id)
        if limit is not None:
            check_limit(limit)

        async def run(db: Connection) -> None:
            await quotas.set_limit(db, "user", guild_id, user_id, limit)

        try:
            await self._database.write(run)
        finally:
            self.ledger.forget(guild_id)

    async def grant(self, guild_id: int, user_id: int, amount: int, *, now: datetime) -> QuotaStatus:
        """Give the user ``amount`` extra images for the current period only."""
        check_id("guild_id", guild_id)
        check_id("user_id", user_id)
        check_amount(amount)
        at = to_micros(now)

        async def run(db: Connection) -> QuotaStatus:
            await db.execute(
                "INSERT INTO grants (guild_id, user_id, amount, created_at) VALUES (?, ?, ?, ?)",
                (guild_id, user_id, amount, at),
            )
            return await quotas.status(db, guild_id, user_id, self._default, now)

        status = await self._database.write(run)
        self.ledger.learn(status)
        return status

    async def reset_usage(self, guild_id: int, user_id: int, *, now: datetime) -> QuotaStatus:
        """Forget the images the user was charged so far; jobs in flight stay reserved (and are charged
        when they settle); grants stay."""
        check_id("guild_id", guild_id)
        check_id("user_id", user_id)
        at = to_micros(now)

        async def run(db: Connection) -> QuotaStatus:
            await db.execute(
                "INSERT INTO usage_resets (guild_id, user_id, reset_at) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id, user_id) DO UPDATE SET reset_at = "
                "CASE WHEN excluded.reset_at > usage_resets.reset_at "
                "THEN excluded.reset_at ELSE usage_resets.reset_at END",
                (guild_id, user_id, at),
            )
            return await quotas.status(db, guild_id, user_id, self._default, now)

        status = await self._database.write(run)
        self.ledger.learn(status)
        return status

    # --- reading quotas ---

    async def status(
        self, guild_id: int, user_id: int, *, now: datetime, roles: Collection[int] = ()
    ) -> QuotaStatus:
        """A member's quota; ``roles``: their role ids, for quotas by role."""
        check_id("guild_id", guild_id)
        check_id("user_id", user_id)
        as_utc(now)
        return await self._database.read(
            lambda db: quotas.status(db, guild_id, user_id, self._default, now, roles)
        )

    async def set_role_limit(self, guild_id: int, role_id: int, limit: int | None) -> None:
        """Members with the role get ``limit`` images per period (the highest of their roles', unless
        they have their own); None removes the role's limit."""
        check_id("guild_id", guild_id)
        check_id("role_id", role_id)
        if limit is not None:
            check_limit(limit)

        async def run(db: Connection) -> None:
            await quotas.set_limit(db, "role", guild_id, role_id, limit)

        await self._database.write(run)
        self.ledger.forget(guild_id)

    async def role_limits(self, guild_id: int) -> dict[int, int]:
        """{role id: images per period} of the server's quotas by role."""
        check_id("guild_id", guild_id)
        return await self._database.read(lambda db: quotas.role_limits(db, guild_id))

    async def warm(self, guild_id: int, *, now: datetime) -> None:
        """Read the server's quotas into the ledger (if it isn't there), so its first commands are
        foreseen too, not only those after its first reservation."""
        check_id("guild_id", guild_id)
        if self.ledger.knows(guild_id, now):
            return

        async def run(db: Connection) -> tuple[QuotaStatus, dict[int, QuotaStatus], bool]:
            everyone, found = await quotas.snapshot(db, guild_id, self._default, now)
            plain = await budgets.budget(db, guild_id) is None and not await quotas.role_limits(db, guild_id)
            return everyone, found, plain

        everyone, found, plain = await self._database.read(run)
        if not self.ledger.knows(guild_id, now):  # no reservation read it meanwhile
            self.ledger.load(everyone, found)
            self.ledger.foreseeable(guild_id, plain)
        await self.server_rules(guild_id)  # cached for the server's first commands too

    async def guild_overview(
        self,
        guild_id: int,
        *,
        now: datetime,
        limit: int = 25,
        roles: Mapping[int, Collection[int]] | None = None,
    ) -> list[QuotaStatus]:
        """Users with usage, reservations or grants this period or a limit override; most used first.
        ``roles``: members' role ids, for quotas by role."""
        check_id("guild_id", guild_id)
        check_int("limit", limit, 1, 1000)
        as_utc(now)
        found = await self._database.read(
            lambda db: quotas.statuses(db, guild_id, self._default, now, roles=roles)
        )
        shown = [s for s in found.values() if s.used or s.reserved or s.granted or s.limit_source == "user"]
        shown.sort(key=lambda s: (-s.used, -s.reserved, -s.granted, s.user_id))
        return shown[:limit]

    # --- reservations ---

    async def reserve(
        self,
        guild_id: int,
        user_id: int,
        amount: int,
        *,
        now: datetime,
        channel_id: int | None = None,
        kind: str = "imagine",
        details: dict[str, Any] | None = None,
        hold_usd: float | None = None,
        roles: Collection[int] = (),
    ) -> Reservation:
        """Hold ``amount`` images for a job, atomically, and — when the server has a budget — its
        worst-case cost ``hold_usd`` against the budget. Raises ``QuotaExceeded``, ``BudgetExhausted``
        or ``UnpricedUnderBudget`` (``hold_usd`` None: the model has no price), nothing written. If
        the caller is cancelled, the hold is released. ``roles``: the member's role ids (quotas by role)."""
        check_id("guild_id", guild_id)
        check_id("user_id", user_id)
        check_amount(amount)
        if channel_id is not None:
            check_id("channel_id", channel_id)
        if not isinstance(kind, str) or not kind:
            raise ValueError("kind must be a non-empty string")
        if hold_usd is not None and not hold_usd >= 0:
            raise ValueError(f"hold_usd must be >= 0 (got {hold_usd!r})")
        details_json = json.dumps(details or {}, separators=(",", ":"), sort_keys=True)
        at = to_micros(now)
        created = from_micros(at)
        model = str((details or {}).get("model", kind))

        async def run(db: Connection) -> Reservation:
            tiers = await quotas.role_limits(db, guild_id)  # read once for the whole reservation
            if self.ledger.knows(guild_id, now):
                before = await quotas.status(db, guild_id, user_id, self._default, now, roles, tiers)
            else:  # the whole server in one read, so the next members' commands are foreseen
                everyone, found = await quotas.snapshot(
                    db, guild_id, self._default, now, roles={user_id: roles}, tiers=tiers
                )
                self.ledger.load(everyone, found)  # read before this write: true whatever it becomes
                before = found[user_id]
            if amount > before.remaining:
                raise QuotaExceeded(before, amount)
            spending = await budgets.status(db, guild_id, now)
            tiered = bool(tiers)
            if roles and tiered:  # for the overview, which has no member list without the members intent
                await quotas.remember_roles(db, guild_id, user_id, roles)
            self.ledger.foreseeable(guild_id, spending is None and not tiered)
            hold = 0
            if spending is not None:
                if hold_usd is None:
                    raise UnpricedUnderBudget(model)
                if hold_usd > spending.left_usd:
                    raise BudgetExhausted(spending, hold_usd)
                hold = budgets.to_micro_usd(hold_usd)
            [(job_id,)] = await db.execute_fetchall(
                "INSERT INTO jobs (guild_id, user_id, channel_id, kind, details, state, amount, charged, "
                "owner, created_at, updated_at, hold_micros, model) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?) RETURNING id",
                (
                    guild_id,
                    user_id,
                    channel_id,
                    kind,
                    details_json,
                    RESERVED,
                    amount,
                    self._owner,
                    at,
                    at,
                    hold,
                    (details or {}).get("model"),
                ),
            )
            return Reservation(
                job_id, guild_id, user_id, amount, created, quotas.with_reserved(before, amount), channel_id
            )

        async def undo(db: Connection, reservation: Reservation) -> None:
            await self._finish(db, reservation.id, REFUNDED, 0, at)

        try:
            reservation = await self._database.write(run, undo=undo, lock=guild_id)
        except QuotaExceeded as refused:
            self._learned(refused.status)
            raise
        self._learned(reservation.status_after)
        return reservation

    async def settle(
        self, reservation_id: int, charged: int, *, now: datetime, result: tuple[int, int] | None = None
    ) -> None:
        """Charge ``charged`` (0..amount) images of a reservation and release the rest; ``result``:
        (channel id, message id) of the result's first message.

        Idempotent: if the reservation was already settled or refunded, nothing changes.
        """
        check_id("reservation_id", reservation_id)
        check_int("charged", charged, 0, quotas.MAX_AMOUNT)
        at = to_micros(now)

        async def run(db: Connection) -> QuotaStatus | None:
            row = await quotas.job_row(db, reservation_id)
            if row is None:
                raise ValueError(f"no reservation with id {reservation_id}")
            amount = row[2]
            if charged > amount:
                raise ValueError(f"charged ({charged}) is more than the reservation's amount ({amount})")
            if await self._finish(db, reservation_id, COMMITTED, charged, at) and result is not None:
                await db.execute(
                    "UPDATE jobs SET result_channel_id = ?, result_message_id = ? WHERE id = ?",
                    (*result, reservation_id),
                )
            return await self._status_for_ledger(db, row[0], row[1], now)

        self._learned(await self._database.write(run))

    async def refund(self, reservation_id: int, *, now: datetime, notice_owed: bool = False) -> None:
        """Release a reservation entirely. Idempotent; does nothing if it was already settled.

        ``notice_owed``: its owner couldn't be told (the process is going away); see ``owed_notices``.
        """
        check_id("reservation_id", reservation_id)
        at = to_micros(now)

        async def run(db: Connection) -> QuotaStatus | None:
            row = await quotas.job_row(db, reservation_id)
            if row is None:
                raise ValueError(f"no reservation with id {reservation_id}")
            if await self._finish(db, reservation_id, REFUNDED, 0, at) and notice_owed:
                await db.execute("UPDATE jobs SET notice_owed = 1 WHERE id = ?", (reservation_id,))
            return await self._status_for_ledger(db, row[0], row[1], now)

        self._learned(await self._database.write(run))

    async def _status_for_ledger(
        self, db: Connection, guild_id: int, user_id: int, now: datetime
    ) -> QuotaStatus | None:
        """The member's status after a write, when the ledger follows their server."""
        if not self.ledger.knows(guild_id, now):
            return None
        return await quotas.status(db, guild_id, user_id, self._default, now)

    def _learned(self, status: QuotaStatus | None) -> QuotaStatus | None:
        if status is not None:
            self.ledger.learn(status)
        return status

    async def _finish(self, db: Connection, job_id: int, state: str, charged: int, at: int) -> bool:
        """Move an in-flight job to ``state``; False (and no change) if it already left flight."""
        changed = await db.execute(
            "UPDATE jobs SET state = ?, charged = ?, settled_at = ?, updated_at = ? "
            "WHERE id = ? AND state NOT IN ('committed', 'refunded')",
            (state, charged, at, at, job_id),
        )
        if changed == 0:
            log.debug("job %d already settled; %s ignored", job_id, state)
        return changed > 0

    # --- the upstream limiter shared with other processes ---

    def turns(self, *, images_per_window: int, window: float) -> Turns:
        """This process's side of the limiter every process on this database shares."""
        return Turns(self._database, self._owner, images_per_window=images_per_window, window=window)

    @property
    def engine(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._database.engine

    async def subscribe(self, channel: str, callback: Callable[[], None]) -> bool:
        """``callback()`` whenever another process announces ``channel``; False where the engine can't."""
        return await self._database.subscribe(channel, callback)

    # --- secrets ---

    async def secret(self, name: str) -> bytes:
        """32 random bytes created the first time ``name`` is asked for and kept forever in this
        database (e.g. the HMAC key that hashes user ids in logs)."""
        if not isinstance(name, str) or not name:
            raise ValueError("secret name must be a non-empty string")
        cached = self._secrets.get(name)
        if cached is not None:
            return cached

        async def run(db: Connection) -> bytes:
            await db.execute(
                "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, _secrets.token_bytes(SECRET_BYTES)),
            )
            rows = list(await db.execute_fetchall("SELECT value FROM secrets WHERE name = ?", (name,)))
            return bytes(rows[0][0])

        value = await self._database.write(run)
        self._secrets[name] = value
        return value

    # --- meta ---

    async def get_meta(self, name: str) -> str | None:
        """A small fact kept between runs, or None if it was never set."""

        async def run(db: Connection) -> str | None:
            rows = list(await db.execute_fetchall("SELECT value FROM meta WHERE name = ?", (name,)))
            return str(rows[0][0]) if rows else None

        return await self._database.read(run)

    async def delete_meta(self, name: str) -> None:
        async def run(db: Connection) -> None:
            await db.execute("DELETE FROM meta WHERE name = ?", (name,))

        await self._database.write(run)

    async def set_meta(self, name: str, value: str) -> None:
        async def run(db: Connection) -> None:
            await db.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

        await self._database.write(run)
