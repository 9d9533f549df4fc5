"""The SQLite engine (the embedded default): opening, pragmas, migrations, serialised transactions.

One aiosqlite connection per process. aiosqlite runs statements on its own thread, but coroutines
sharing the connection would interleave their statements inside one transaction, so ``Database``
serialises whole transactions with an ``asyncio.Lock``. Writes use ``BEGIN IMMEDIATE``, which takes
SQLite's write lock before the first read, so two processes sharing the file (sharded bots) can't
both read the same quota and both spend it; the other one waits up to ``busy_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import aiosqlite

from bot.store.database import (
    Database,
    Params,
    Row,
    SchemaVersionError,
    StoreClosedError,
    Transaction,
    check_migrations,
)
from bot.store.migrations import MIGRATIONS, Migration

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000


def is_memory(path: str | os.PathLike[str]) -> bool:
    return os.fspath(path) in (":memory:", "")


async def connect(path: str | os.PathLike[str]) -> aiosqlite.Connection:
    """Open ``path`` (creating its folder) with WAL, busy_timeout and foreign keys enabled."""
    if not is_memory(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: the sqlite3 module never opens transactions behind our back; we issue
    # BEGIN/COMMIT ourselves.
    db = await aiosqlite.connect(os.fspath(path), isolation_level=None)
    try:
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA foreign_keys = ON")
        if not is_memory(path):
            (mode,) = await _fetchone(db, "PRAGMA journal_mode = WAL")
            if str(mode).lower() != "wal":
                log.warning("SQLite refused WAL mode (journal_mode=%s); concurrency will suffer", mode)
            # WAL + NORMAL: a commit survives a crash of the process; power loss may drop the last
            # commits, which can only under-charge (a lost settle is refunded at the next start),
            # never double-charge. FULL would fsync every reservation, and a burst of commands waits
            # for those one after another.
            await db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        await db.close()
        raise
    return db


async def _fetchone(db: aiosqlite.Connection, sql: str, params: Sequence[object] = ()) -> tuple:
    rows = await db.execute_fetchall(sql, params)
    return tuple(next(iter(rows)))


async def user_version(db: aiosqlite.Connection) -> int:
    (version,) = await _fetchone(db, "PRAGMA user_version")
    return int(version)


async def migrate(db: aiosqlite.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the pending migrations in order; return the versions applied (empty if up to date).

    Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the
    ``PRAGMA user_version`` that records it, and the version is re-read under the write lock, so two
    processes starting at once never apply a migration twice.
    """
    latest = check_migrations(migrations)

    current = await user_version(db)
    if current > latest:
        raise SchemaVersionError(current, latest)
    applied: list[int] = []
    for migration in migrations:
        if migration.version <= current:
            continue
        await db.execute("BEGIN IMMEDIATE")
        try:
            current = await user_version(db)
            if current > latest:
                raise SchemaVersionError(current, latest)
            if migration.version > current:
                for statement in migration.statements("sqlite"):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {int(migration.version)}")
                applied.append(migration.version)
            await db.execute("COMMIT")
        except BaseException:
            await _rollback(db)
            raise
        if applied and applied[-1] == migration.version:
            log.info("applied database migration %d (%s)", migration.version, migration.description)
    return applied


async def _rollback(db: aiosqlite.Connection) -> None:
    try:
        await db.execute("ROLLBACK")
    except sqlite3.OperationalError:
        pass  # no transaction open (BEGIN itself failed, or COMMIT already went through)
    except ValueError:
        pass  # the connection was closed under us


class SqliteConnection:
    """``Connection`` over aiosqlite (its placeholders are SQLite's own)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._db.execute(sql, params)
        return cursor.rowcount

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return [tuple(row) for row in await self._db.execute_fetchall(sql, params)]

    async def executemany(self, sql: str, params: Iterable[Params]) -> None:
        await self._db.executemany(sql, params)


class SqliteDatabase(Database):
    """A connection plus the lock that serialises transactions on it."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        super().__init__()
        self._db: aiosqlite.Connection | None = db
        self._connection = SqliteConnection(db)
        self._lock = asyncio.Lock()

    @property
    def engine(self) -> str:
        return "sqlite"

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], migrations: Sequence[Migration] = MIGRATIONS
    ) -> SqliteDatabase:
        db = await connect(path)
        try:
            await migrate(db, migrations)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def _close(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        async with self._lock:  # a read in progress finishes first
            await db.close()

    async def _run(self, transaction: Transaction[T], *, write: bool, lock: int | None) -> T:
        # ``lock`` needs nothing here: BEGIN IMMEDIATE takes the database's one write lock.
        async with self._lock:
            db = self._db
            if db is None:
                raise StoreClosedError
            try:
                await db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                result = await transaction(self._connection)
                await db.execute("COMMIT")
            except BaseException:
                # Shielded so that even a second cancellation can't skip it. aiosqlite runs
                # statements in order, so the ROLLBACK lands before any later transaction's BEGIN.
                await asyncio.shield(_rollback(db))
                raise
            return result


def backup(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copy the database at ``source`` to ``target`` with SQLite's online backup API: a consistent
    copy (what the write-ahead log holds included) while the bot keeps running; ``target`` must not
    exist yet (a backup never overwrites)."""
    destination = Path(target)
    if destination.exists():
        raise FileExistsError(f"{destination} exists already: pick a new name")
    if not Path(source).is_file():
        raise FileNotFoundError(f"there is no database at {source}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    live, copy = sqlite3.connect(source), sqlite3.connect(destination)
    try:
        live.backup(copy)
    finally:
        copy.close()
        live.close()
