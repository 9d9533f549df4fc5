"""What the store's SQL runs on, whichever engine holds the data.

``Connection`` is the small interface every query module uses (``bot.store.quotas``, ``budgets``
…): ``?`` or ``:name`` placeholders, rows as tuples, the number of rows a statement changed. Two
engines implement it: SQLite (``bot.store.sqlite``, the embedded default) and PostgreSQL
(``bot.store.postgres``, for several processes on several machines). The SQL itself is written once,
in the part of SQL both engines speak.

``Database`` gives the store whole transactions: ``write`` runs one to COMMIT or ROLLBACK even when
its caller is cancelled (and undoes a commit nobody will see), ``read`` runs one on a consistent
snapshot. What makes a write safe against other writers is the engine's: SQLite takes its one write
lock up front (``BEGIN IMMEDIATE``); PostgreSQL takes the advisory lock the write names (``lock``),
so writes about one server queue behind each other in every process while other servers' run on.
"""

from __future__ import annotations

import asyncio
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from bot.store.migrations import MIGRATIONS, Migration

log = logging.getLogger(__name__)

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any]
Row = Sequence[Any]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Connection(Protocol):
    """One open transaction's statements."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it inserted, updated or deleted."""
        ...

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one query; its rows (a statement with ``RETURNING`` too)."""
        ...

    async def executemany(self, sql: str, params: Iterable[Params]) -> None: ...


Transaction = Callable[[Connection], Awaitable[T]]
Undo = Callable[[Connection, T], Awaitable[None]]


class StoreError(Exception):
    """The database can't be used (a programming or deployment problem, not a user's)."""


class SchemaVersionError(StoreError):
    """The database was written by a newer version of the bot."""

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"the database schema is version {found}, but this version of the bot only knows up to "
            f"version {supported}; run the newer bot version or point it at another database"
        )
        self.found = found
        self.supported = supported


class StoreClosedError(StoreError):
    def __init__(self) -> None:
        super().__init__("the store is closed")


def is_postgres(target: str | os.PathLike[str]) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe to log or show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def describe(target: str | os.PathLike[str]) -> str:
    """Where the store is, for a message: the file, or the URL without its password."""
    return redact_url(str(target)) if is_postgres(target) else os.fspath(target)


def check_migrations(migrations: Sequence[Migration]) -> int:
    """The latest version of ``migrations``; ValueError unless unique, ascending and >= 1."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or (versions and versions[0] < 1):
        raise ValueError(f"migration versions must be unique, ascending and >= 1: {versions}")
    return versions[-1] if versions else 0


class Database(ABC):
    """Transactions on one engine, safe against cancellation. Open one with ``open_database``."""

    def __init__(self) -> None:
        self._closed = False
        self._writes: set[asyncio.Future[Any]] = set()  # write transactions (and undos) still running

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    @abstractmethod
    def engine(self) -> str:
        """``sqlite`` or ``postgresql``."""

    async def close(self) -> None:
        """Wait for the writes in progress (including undos for cancelled callers), then close.
        Idempotent."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        if self._closed:
            return
        self._closed = True
        await self._close()

    async def write(
        self, transaction: Transaction[T], *, undo: Undo[T] | None = None, lock: int | None = None
    ) -> T:
        """Run ``transaction(connection)`` as a write; commit, or roll back on any error.

        ``lock``: what the write decides about (a server id; 0: the shared upstream limiter), so
        that two writes about it never interleave in any process. The transaction runs in its own
        task: if the caller is cancelled, it still ends in COMMIT or ROLLBACK instead of stopping
        half-way. If it commits after its caller was cancelled (so nobody will ever see the result),
        ``undo(connection, result)`` runs as a write of its own: a cancelled reservation must not
        hold quota.
        """
        if self._closed:
            raise StoreClosedError
        task = self._spawn(self._run(transaction, write=True, lock=lock))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(lambda done: self._after_cancelled(done, undo, lock))
            raise

    async def read(self, transaction: Transaction[T]) -> T:
        """Run ``transaction(connection)`` in a read transaction: one consistent snapshot."""
        if self._closed:
            raise StoreClosedError
        return await self._run(transaction, write=False, lock=None)

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        task = asyncio.ensure_future(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return task

    def _after_cancelled(self, task: asyncio.Future[T], undo: Undo[T] | None, lock: int | None) -> None:
        if task.cancelled() or task.exception() is not None:  # retrieved: no "never retrieved" log
            return
        if undo is None or self._closed:
            return
        result = task.result()
        self._spawn(self._run(lambda db: undo(db, result), write=True, lock=lock)).add_done_callback(
            _log_failure
        )

    async def announce(self, db: Connection, channel: str) -> None:
        """Inside a write: tell every process subscribed to ``channel``, once it commits. SQLite has
        no such thing (its processes look again on their own)."""
        return None

    async def subscribe(self, channel: str, callback: Callable[[], None]) -> bool:
        """Call ``callback`` whenever ``channel`` is announced; False where the engine can't."""
        return False

    @abstractmethod
    async def _run(self, transaction: Transaction[T], *, write: bool, lock: int | None) -> T: ...

    @abstractmethod
    async def _close(self) -> None: ...


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("undoing the write of a cancelled caller failed", exc_info=task.exception())


async def open_database(
    target: str | os.PathLike[str], migrations: Sequence[Migration] = MIGRATIONS
) -> Database:
    """The database at ``target`` — a file path (or ``:memory:``) for SQLite, a ``postgresql://``
    URL for PostgreSQL — opened and migrated."""
    if is_postgres(target):
        from bot.store.postgres import PostgresDatabase  # asyncpg loads only where it is used

        return await PostgresDatabase.open(str(target), migrations)
    from bot.store.sqlite import SqliteDatabase

    return await SqliteDatabase.open(target, migrations)
