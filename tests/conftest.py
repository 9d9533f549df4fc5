"""Shared fixtures: the fake Images API, the real bot built from the environment, a small world.

The bot under test is built exactly as ``python -m bot`` builds it (``create_bot()`` reading the
environment), pointed at the fake Images API on 127.0.0.1 and a fresh SQLite file per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from bot.app import create_bot
from bot.config import VARIABLES
from bot.ui.client import ImageBot
from tests import postgres
from tests.fakeapi import FakeImagesAPI
from tests.helpers import is_expected

BASE_ENV = {
    "DEFAULT_QUOTA": "5",
    "QUOTA_PERIOD": "day",
    "IMAGE_MODEL": "gpt-image-2",
    "OPENAI_MAX_RETRIES": "2",
    "MESSAGE_CONTENT_INTENT": "true",
}


@pytest.fixture(scope="session")
def fake_api() -> Iterator[FakeImagesAPI]:
    with FakeImagesAPI() as api:
        yield api


@pytest.fixture
def api(fake_api: FakeImagesAPI) -> Iterator[FakeImagesAPI]:
    """The fake Images API, reset for this test; the bot must never send it an invalid request."""
    fake_api.reset()
    yield fake_api
    assert fake_api.validation_errors == [], "the bot sent requests the real API would reject"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.db"


@pytest_asyncio.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A PostgreSQL URL on an empty schema of its own (see tests/postgres.py)."""
    async with postgres.fresh_schema() as url:
        yield url


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[str]:
    """Where a store lives, once per engine: the contract tests run on both."""
    if request.param == "sqlite":
        yield str(db_path)
        return
    async with postgres.fresh_schema() as url:
        yield url


@pytest.fixture
def bot_env(
    api: FakeImagesAPI, db_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> dict[str, str]:
    """The environment the bot is built from: ``@pytest.mark.bot_env(NAME="value")`` changes it."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    values = dict(BASE_ENV)
    values |= {
        "OPENAI_API_KEY": api.api_key,
        "OPENAI_BASE_URL": api.base_url,
        "DATABASE_URL": f"sqlite:///{db_path}",
    }
    marker = request.node.get_closest_marker("bot_env")
    if marker is not None:
        values |= marker.kwargs
    return values


@pytest_asyncio.fixture
async def make_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[], Awaitable[ImageBot]]]:
    """Build a bot from ``bot_env`` the way ``python -m bot`` does; closes every bot it built."""
    built: list[ImageBot] = []

    async def factory() -> ImageBot:
        for name, value in bot_env.items():
            monkeypatch.setenv(name, value)
        bot = await create_bot()
        built.append(bot)
        return bot

    yield factory
    for bot in built:  # SimCord's shutdown does not close the bot's own resources
        await bot.services.aclose()


@pytest_asyncio.fixture
async def simcord_bot(make_bot: Callable[[], Awaitable[ImageBot]]) -> ImageBot:
    return await make_bot()


@pytest_asyncio.fixture
async def env(simcord_env):
    """SimCord's env; fails the test if the bot raised anything but a domain error."""
    yield simcord_env
    unexpected = [e for e in simcord_env.errors if not is_expected(e)]
    if unexpected:
        raise ExceptionGroup("the bot raised unexpected errors", unexpected)


@dataclass
class World:
    env: object
    guild: object
    channel: object
    alice: object
    bob: object
    admin: object

    @property
    def bot(self) -> ImageBot:
        return self.env.bot  # type: ignore[attr-defined]


@pytest.fixture
def world(env) -> World:
    guild = env.create_guild(name="Art Club")
    channel = guild.create_text_channel("art")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return World(
        env=env,
        guild=guild,
        channel=channel,
        alice=guild.add_member(env.create_user("alice")),
        bob=guild.add_member(env.create_user("bob")),
        admin=guild.add_member(env.create_user("ada"), roles=[admins]),
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Skipped PostgreSQL tests are told in one line: how many, and how to run them."""
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if "PostgreSQL tests skipped" in str(r.longrepr)
    ]
    if skipped:
        line = postgres.HOW_TO_RUN.format(url=postgres.redacted(postgres.base_url()))
        terminalreporter.write_line(f"{len(skipped)} {line}")
