"""The PostgreSQL engine: one database shared by every process of the bot, on any machine.

A pool of asyncpg connections per process. Reads run in ``REPEATABLE READ`` (one snapshot, like a
SQLite read transaction); writes in ``READ COMMITTED``, first taking the transaction-scoped advisory
lock of what they decide about (``Database.write``'s ``lock``: a server id), so two reservations for
one server — from any process — never both read the same quota or budget and both spend it. Writes
that change one row by its key (settle, refund, a cost) are atomic on their own: PostgreSQL re-checks
an ``UPDATE``'s ``WHERE`` on the row's newest version, so a second settle of a job changes nothing.

The store's SQL uses SQLite's placeholders (``?`` and ``:name``); ``translate`` turns them into
PostgreSQL's ``$1``, once per statement text.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg

from bot.store.database import (
    Connection,
    Database,
    Params,
    Row,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
    Transaction,
    check_migrations,
)
from bot.store.migrations import MIGRATIONS, Migration

log = logging.getLogger(__name__)

T = TypeVar("T")

POOL_SIZE = 10
CONNECT_TIMEOUT = 10.0
# Advisory lock classes (the first of pg_advisory_xact_lock's two keys).
MIGRATION_LOCK = 1
SERVER_LOCK = 2

_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?|(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """``sql`` with ``$n`` placeholders, and the parameter names in ``$n`` order (None: positional).

    String literals are left alone; ``::type`` casts are not names."""
    names: list[str] = []
    positional = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal positional
        text = match.group(0)
        if text.startswith("'"):
            return text
        if text == "?":
            positional += 1
            return f"${positional}"
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    translated = _PLACEHOLDER.sub(replace, sql)
    if names and positional:
        raise ValueError("a statement mixes ? and :name placeholders")
    return translated, tuple(names) if names else None


def _arguments(names: tuple[str, ...] | None, params: Params) -> Sequence[Any]:
    if names is None:
        if isinstance(params, Mapping):
            raise TypeError("named parameters given for a statement with ? placeholders")
        return params
    if not isinstance(params, Mapping):
        raise TypeError("positional parameters given for a statement with :name placeholders")
    return [params[name] for name in names]


def _plain(value: Any) -> Any:
    """Numbers as SQLite returns them: a whole ``numeric`` (PostgreSQL's SUM of integers) as int."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _changed(status: str) -> int:
    """Rows changed, from a command tag such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def lock_key(value: int) -> int:
    """``value`` (a snowflake) folded into the signed 32-bit key an advisory lock takes."""
    folded = (value ^ (value >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= 1 << 31 else folded


class PostgresConnection:
    """``Connection`` over one asyncpg connection inside a transaction."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        text, names = translate(sql)
        return _changed(await self._connection.execute(text, *_arguments(names, params)))

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        text, names = translate(sql)
        records = await self._connection.fetch(text, *_arguments(names, params))
        return [tuple(_plain(value) for value in record) for record in records]

    async def executemany(self, sql: str, params: Iterable[Params]) -> None:
        text, names = translate(sql)
        await self._connection.executemany(text, [_arguments(names, p) for p in params])


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        super().__init__()
        self._pool = pool
        self._url = url
        self._listener: asyncpg.Connection | None = None  # LISTENs, opened by the first subscribe

    @property
    def engine(self) -> str:
        return "postgresql"

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    @classmethod
    async def open(cls, url: str, migrations: Sequence[Migration] = MIGRATIONS) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE, timeout=CONNECT_TIMEOUT)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise StoreError(f"PostgreSQL refused the connection: {error}") from error
        except (OSError, TimeoutError) as error:
            raise StoreError(f"PostgreSQL didn't answer: {error or type(error).__name__}") from error
        try:
            async with pool.acquire() as connection:
                await migrate(connection, migrations)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url)

    async def announce(self, db: Connection, channel: str) -> None:
        await db.execute("SELECT pg_notify(?, '')", (channel,))

    async def subscribe(self, channel: str, callback: Callable[[], None]) -> bool:
        if self._listener is None:
            self._listener = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT)
        await self._listener.add_listener(channel, lambda *_: callback())
        return True

    async def _close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.close()
        await self._pool.close()

    async def _run(self, transaction: Transaction[T], *, write: bool, lock: int | None) -> T:
        if self._closed:
            raise StoreClosedError
        async with self._pool.acquire() as connection:
            if write:
                async with connection.transaction():
                    if lock is not None:
                        await connection.execute(
                            "SELECT pg_advisory_xact_lock($1, $2)", SERVER_LOCK, lock_key(lock)
                        )
                    return await transaction(PostgresConnection(connection))
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                return await transaction(PostgresConnection(connection))


async def schema_version(connection: asyncpg.Connection) -> int:
    version = await connection.fetchval("SELECT max(version) FROM schema_version")
    return int(version or 0)


async def migrate(connection: asyncpg.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the pending migrations in order; return the versions applied (empty if up to date).

    Each runs in its own transaction together with the row that records it, under an advisory lock,
    so processes starting at once never apply one twice."""
    latest = check_migrations(migrations)
    async with connection.transaction():  # under the lock: two processes starting at once race here
        await connection.execute("SELECT pg_advisory_xact_lock($1, 0)", MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at "
            "TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    applied: list[int] = []
    for migration in migrations:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1, 0)", MIGRATION_LOCK)
            current = await schema_version(connection)
            if current > latest:
                raise SchemaVersionError(current, latest)
            if migration.version <= current:
                continue
            for statement in migration.statements("postgresql"):
                await connection.execute(statement)
            await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", migration.version)
            applied.append(migration.version)
        log.info("applied database migration %d (%s)", migration.version, migration.description)
    if not migrations:
        current = await schema_version(connection)
        if current > latest:
            raise SchemaVersionError(current, latest)
    return applied
