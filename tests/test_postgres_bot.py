"""The whole bot on PostgreSQL (``DATABASE_URL=postgresql://…``): what a member does and sees is the
same as on SQLite, and the upstream limiter is the one every process would share."""

from __future__ import annotations

import pytest

from bot.core.scheduling import SharedScheduler
from tests.helpers import images_of, quota_of


@pytest.fixture
def bot_env(bot_env, postgres_url):
    bot_env["DATABASE_URL"] = postgres_url
    return bot_env


async def test_imagine_on_postgresql_charges_exactly_what_was_delivered(world, api):
    assert world.bot.services.store.engine == "postgresql"
    assert isinstance(world.bot.services.runner.scheduler, SharedScheduler)

    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse at dusk", n=2)

    assert len(await images_of(world.channel.last_message)) == 2
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved, status.remaining) == (2, 0, 3)
    turns = world.bot.services.store.turns(images_per_window=50, window=60)
    assert await turns.waiting() == {}  # nothing left waiting: no process is held up by this one


async def test_an_upstream_failure_on_postgresql_costs_nothing(world, api):
    api.fail("server_error", times=5)

    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=1)

    assert "charged" in world.channel.last_message.content  # "… nothing was charged"
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved, status.remaining) == (0, 0, 5)
