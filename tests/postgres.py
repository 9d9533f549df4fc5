"""The PostgreSQL server the suite's PostgreSQL tests run on: ``TEST_DATABASE_URL`` (default the local
server at 127.0.0.1:5432, database ``test``).

Each test gets a schema of its own (created empty, dropped afterwards), so tests never see each
other's rows and the bot's migrations run from nothing every time. Where no server answers, those
tests are skipped with one line saying how to run them — unless ``REQUIRE_POSTGRES=1`` (``.ci/run``
sets it), where they fail: CI must never pass without them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
HOW_TO_RUN = (
    "PostgreSQL tests skipped: no server at TEST_DATABASE_URL ({url}). Start one (trust auth, database "
    "test) or point TEST_DATABASE_URL at one to run them; REQUIRE_POSTGRES=1 makes this an error."
)


def base_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_URL


def required() -> bool:
    return os.environ.get("REQUIRE_POSTGRES", "") not in ("", "0", "false")


def with_schema(url: str, schema: str) -> str:
    """``url`` with its connections' search_path set to ``schema`` (asyncpg passes unknown query
    parameters on as server settings)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"] + [("search_path", schema)]
    return urlunsplit(parts._replace(query=urlencode(query)))


_probed: list[str | None] = []


async def unreachable_reason() -> str | None:
    """None when the server answers; else why not (checked once per test run)."""
    if not _probed:
        try:
            connection = await asyncpg.connect(base_url(), timeout=5)
            await connection.close()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
            _probed.append(f"{type(error).__name__}: {error}")
        else:
            _probed.append(None)
    return _probed[0]


async def skip_or_fail() -> None:
    """Call before using the server: skips (or, where it is required, fails) when it isn't there."""
    reason = await unreachable_reason()
    if reason is None:
        return
    if required():
        pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL at TEST_DATABASE_URL is unreachable ({reason})")
    pytest.skip(HOW_TO_RUN.format(url=redacted(base_url())))


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A URL whose connections work in a new, empty schema; the schema is dropped afterwards."""
    await skip_or_fail()
    schema = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(base_url())
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield with_schema(base_url(), schema)
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await admin.close()
