"""The shared queue as members meet it: their place, Cancel, the per-user cap, the shared pause."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import discord
import pytest

from bot.store import QuotaPolicy, Store
from tests.helpers import answer_text, answered_privately, images_of, quota_of

# One request at a time; a 429 with a long Retry-After parks everyone behind a shared pause, so the
# queue stays put while the test looks at it (SimCord's clock is virtual: advance_time moves it).
QUEUE = {"OPENAI_MAX_CONCURRENCY": "1"}


def pause_upstream(api, seconds: float = 60) -> None:
    api.fail("rate_limit", times=1, retry_after=seconds)


@pytest.mark.bot_env(**QUEUE)
async def test_a_waiting_job_shows_its_place_and_its_owner_can_cancel_it(world, api):
    pause_upstream(api)
    first = await world.alice.slash(world.channel, "imagine", prompt="first")
    second = await world.bob.slash(world.channel, "imagine", prompt="second", n=2)

    # alice's retry waits behind bob: he hasn't been served yet, she has (round-robin)
    assert "**#2** in the queue" in first.response.content
    waiting = second.response
    assert "**#1** in the queue" in waiting.content
    assert len(api.requests) == 1  # bob's job never reached the image service
    assert (await quota_of(world.bot, world.guild, world.bob)).reserved == 2

    refused = await world.alice.click(waiting.message, label="Cancel")
    assert answered_privately(refused) and "Only the member who asked" in answer_text(refused)

    await world.bob.click(waiting.message, label="Cancel")

    assert answer_text(second) == "Cancelled. Nothing was charged."
    status = await quota_of(world.bot, world.guild, world.bob)
    assert (status.used, status.reserved) == (0, 0)
    assert "**#1** in the queue" in first.response.content  # alice moved up

    await world.env.advance_time(61)
    assert len(await images_of(first.response.message)) == 1  # alice's job went on when the pause ended
    assert len(api.requests) == 2


@pytest.mark.bot_env(**QUEUE)
async def test_a_rate_limit_holds_everyone_instead_of_each_job_retrying(world, api):
    pause_upstream(api, seconds=30)
    await world.alice.slash(world.channel, "imagine", prompt="first")
    await world.bob.slash(world.channel, "imagine", prompt="second")
    await world.env.advance_time(20)
    assert len(api.requests) == 1  # nobody hammers the image service during the pause

    await world.env.advance_time(11)

    assert len(api.requests) == 3
    for member in (world.alice, world.bob):
        assert (await quota_of(world.bot, world.guild, member)).used == 1


@pytest.mark.bot_env(**QUEUE)
async def test_each_member_may_have_only_two_jobs_queued_or_running(world, api):
    pause_upstream(api)
    await world.alice.slash(world.channel, "imagine", prompt="one")
    await world.alice.slash(world.channel, "imagine", prompt="two")

    third = await world.alice.slash(world.channel, "imagine", prompt="three")

    assert answered_privately(third)
    assert "already have 2 jobs queued or running" in answer_text(third)
    assert (await quota_of(world.bot, world.guild, world.alice)).reserved == 2
    other = await world.bob.slash(world.channel, "imagine", prompt="mine")
    assert "**#1** in the queue" in other.response.content  # bob, never served yet, goes first

    await world.env.advance_time(61)
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 2


@pytest.mark.bot_env(OPENAI_MAX_CONCURRENCY="1", MAX_JOBS_PER_USER="5")
async def test_the_queue_is_fair_between_members(world, api):
    pause_upstream(api)
    await world.admin.slash(world.channel, "imagine", prompt="ada")  # hits the 429: everyone waits
    await world.alice.slash(world.channel, "imagine", prompt="alice 1")
    await world.alice.slash(world.channel, "imagine", prompt="alice 2")
    await world.alice.slash(world.channel, "imagine", prompt="alice 3")
    await world.bob.slash(world.channel, "imagine", prompt="bob 1")

    await world.env.advance_time(61)

    order = [request.json["prompt"] for request in api.requests[1:]]
    # Least recently served first: bob's one job isn't stuck behind alice's batch.
    assert order == ["alice 1", "bob 1", "ada", "alice 2", "alice 3"]


async def test_a_429_storm_ends_in_clear_answers_and_exact_quotas(world, api):
    api.fail("rate_limit", times=4)  # no Retry-After: growing shared pauses

    first = await world.alice.slash(world.channel, "imagine", prompt="a")
    await world.env.advance_time(120)
    second = await world.bob.slash(world.channel, "imagine", prompt="b")
    await world.env.advance_time(120)

    assert "rate limit" in answer_text(first) and "Nothing was charged" in answer_text(first)
    assert len(await images_of(second.response.message)) == 1  # bob's retry got through
    alice = await quota_of(world.bot, world.guild, world.alice)
    bob = await quota_of(world.bot, world.guild, world.bob)
    assert (alice.used, alice.reserved, bob.used, bob.reserved) == (0, 0, 1, 0)
    assert len(api.requests) == 5
    await world.alice.slash(world.channel, "imagine", prompt="after the storm")
    assert len(await images_of(world.channel.last_message)) == 1


async def test_a_truncated_response_is_retried(world, api):
    api.fail("truncated", times=1)

    await world.alice.slash(world.channel, "imagine", prompt="t")

    assert len(api.requests) == 2
    assert len(await images_of(world.channel.last_message)) == 1


@pytest.mark.bot_env(**QUEUE)
async def test_a_restart_mid_job_refunds_it_and_tells_its_owner(world, api, make_bot):
    pause_upstream(api)
    await world.alice.slash(world.channel, "imagine", prompt="interrupted", n=3)
    assert (await quota_of(world.bot, world.guild, world.alice)).reserved == 3

    await world.env.restart_bot(await make_bot())

    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (0, 0)
    notice = world.channel.last_message
    assert notice.content.startswith(
        f"<@{world.alice.id}> the bot restarted before your request could finish"
    )
    assert "Nothing was charged" in notice.content
    await world.alice.slash(world.channel, "imagine", prompt="again")
    assert len(await images_of(world.channel.last_message)) == 1


@pytest.mark.bot_env(**QUEUE)
async def test_stopping_tells_waiting_members_and_refunds_them(world, api, db_path):
    pause_upstream(api)
    waiting = await world.bob.slash(world.channel, "imagine", prompt="never made", n=2)

    await world.bot.close()

    assert "The bot is restarting" in answer_text(waiting) and "Nothing was charged" in answer_text(waiting)
    store = await Store.open(db_path, default_policy=QuotaPolicy(5, "day"))
    status = await store.status(world.guild.id, world.bob.id, now=datetime.now(UTC))
    await store.close()
    assert (status.used, status.reserved) == (0, 0)


@pytest.fixture
def slow_reservations(world, monkeypatch):
    """Reservations that take 0.3 s, as when a burst queues on the database."""
    original = world.bot.services.runner.reserve

    async def slow(job, admitted=None):
        await asyncio.sleep(0.3)
        return await original(job, admitted)

    monkeypatch.setattr(world.bot.services.runner, "reserve", slow)


async def test_a_slow_reservation_is_acknowledged_first_and_the_job_still_runs(world, api, slow_reservations):
    result = await world.alice.slash(world.channel, "imagine", prompt="patience")

    assert len(await images_of(result.response.message)) == 1
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 1


@pytest.mark.bot_env(DEFAULT_QUOTA="0")
async def test_a_refusal_after_a_slow_reservation_replaces_the_placeholder(world, api, slow_reservations):
    await world.env.settle()  # the server's quotas were read ahead (on_guild_join) ...
    world.bot.services.store.ledger.forget()  # ... and forgotten: the refusal can't be foreseen
    result = await world.alice.slash(world.channel, "imagine", prompt="none left")

    assert not answered_privately(result)  # acknowledged before the refusal was known
    assert "gives you no images today" in answer_text(result) and "/admin quota grant" in answer_text(result)
    assert api.requests == []


@pytest.fixture
def order_of_events(world, monkeypatch):
    """What happens first for each command: the acknowledgement or the reservation's end."""
    events: list[str] = []
    store_reserve = world.bot.services.store.reserve
    defer = discord.InteractionResponse.defer

    async def reserve(*args, **kwargs):
        try:
            return await store_reserve(*args, **kwargs)
        finally:
            events.append("reserved")

    async def acknowledge(self, *args, **kwargs):
        events.append("acknowledged")
        return await defer(self, *args, **kwargs)

    monkeypatch.setattr(world.bot.services.store, "reserve", reserve)
    monkeypatch.setattr(discord.InteractionResponse, "defer", acknowledge)
    return events


async def settled(world) -> None:
    """Let the bot take in the server it was just added to (it reads the server's quotas then)."""
    await world.alice.slash(world.channel, "quota")


async def test_a_server_is_read_when_the_bot_meets_it(world, api):
    await settled(world)

    assert world.bot.services.store.ledger.knows(world.guild.id, datetime.now(UTC))


async def test_a_job_foreseen_to_fit_is_acknowledged_before_its_reservation(world, api, order_of_events):
    await settled(world)

    result = await world.bob.slash(world.channel, "imagine", prompt="a lighthouse")

    assert order_of_events == ["acknowledged", "reserved"]
    assert len(await images_of(result.response.message)) == 1
    assert (await quota_of(world.bot, world.guild, world.bob)).used == 1


async def test_in_a_server_not_read_yet_the_reservation_comes_first(world, api, order_of_events):
    await settled(world)
    world.bot.services.store.ledger.forget()

    await world.bob.slash(world.channel, "imagine", prompt="a lighthouse")

    assert order_of_events == ["reserved", "acknowledged"]
    assert world.bot.services.store.ledger.knows(
        world.guild.id, datetime.now(UTC)
    )  # read with the reservation


@pytest.mark.bot_env(DEFAULT_QUOTA="1")
async def test_a_refusal_foreseen_is_confirmed_by_the_database_and_stays_private(
    world, api, order_of_events, slow_reservations
):
    await world.alice.slash(world.channel, "imagine", prompt="the only one")
    order_of_events.clear()
    assert world.bot.services.store.ledger.knows(world.guild.id, datetime.now(UTC))

    refused = await world.alice.slash(world.channel, "imagine", prompt="one more")

    assert order_of_events == ["reserved"]  # the database said no; nothing was acknowledged
    assert answered_privately(refused) and "used all 1 image of your quota today" in answer_text(refused)
    assert len(api.requests) == 1
