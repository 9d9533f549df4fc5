"""Quota survives restarts; no reservation is left stuck; concurrent jobs never overspend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.core.pipeline import Job, Posted
from bot.core.recipes import Inputs, Recipe
from bot.store import QuotaExceeded
from tests.helpers import answer_text, images_of, quota_of


async def test_charged_quota_survives_a_restart(world, make_bot):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=3)
    await world.admin.slash(world.channel, "admin quota grant", user=world.alice, amount=2)

    await world.env.restart_bot(await make_bot())

    text = answer_text(await world.alice.slash(world.channel, "quota"))
    assert "**4 images** left today" in text and "Used: 3" in text
    await world.alice.slash(world.channel, "imagine", prompt="after the restart")
    assert len(await images_of(world.channel.last_message)) == 1


async def test_a_job_cut_off_by_a_crash_is_refunded_at_the_next_start(world, make_bot):
    # A reservation the previous process never settled, as a crash mid-job would leave it.
    job = Job(
        world.guild.id, world.channel.id, world.alice.id, Recipe("imagine", "gpt-image-2", 4, prompt="x")
    )
    await world.bot.services.runner.reserve(job)
    assert (await quota_of(world.bot, world.guild, world.alice)).reserved == 4

    await world.env.restart_bot(await make_bot())

    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved, status.remaining) == (0, 0, 5)
    notice = world.channel.last_message
    assert notice.content == (
        f"<@{world.alice.id}> the bot restarted before your request could finish. Nothing was charged. "
        "Please run it again."
    )


async def test_commands_are_not_synced_again_when_they_did_not_change(world, make_bot):
    syncs = [r for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert len(syncs) == 1

    await world.env.restart_bot(await make_bot())

    syncs = [r for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert len(syncs) == 1
    assert "imagine" in world.alice.available_commands(world.channel)


@pytest.mark.bot_env(MAX_JOBS_PER_USER="100")  # the quota, not the per-user cap, must stop them
async def test_concurrent_jobs_from_one_user_never_spend_more_than_the_limit(world, api):
    """Twenty jobs at once through the shared pipeline, limit 5: exactly five run and are charged."""
    runner = world.bot.services.runner
    job = Job(
        world.guild.id,
        world.channel.id,
        world.alice.id,
        Recipe("imagine", "gpt-image-2", 1, prompt="x"),
        Inputs(),
    )
    delivered: list[int] = []

    async def deliver(delivery) -> Posted:
        delivered.append(len(delivery.images))
        return Posted(len(delivery.images))

    async def one() -> str:
        try:
            reservation = await runner.reserve(job)
        except QuotaExceeded:
            return "refused"
        await runner.run(job, reservation, deliver)
        return "ran"

    outcomes = await asyncio.gather(*(one() for _ in range(20)))

    assert outcomes.count("ran") == 5 and outcomes.count("refused") == 15
    assert sum(delivered) == 5 and len(api.requests) == 5
    status = await world.bot.services.store.status(world.guild.id, world.alice.id, now=datetime.now(UTC))
    assert (status.used, status.reserved, status.remaining) == (5, 0, 0)


@pytest.fixture
def quick_delivery_retries(world):
    world.bot.services.entry.delivery_pauses = (0.01, 0.01)


async def test_a_discord_5xx_on_delivery_is_retried_and_the_images_arrive(world, api, quick_delivery_retries):
    world.env.inject_error("PATCH", "/webhooks/*", status=502, times=2)

    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2)

    assert len(api.requests) == 1  # the images are not made twice
    assert len(await images_of(world.channel.last_message)) == 2
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 2


async def test_a_delivery_failure_refunds_the_job(world, api, quick_delivery_retries):
    world.env.inject_error("PATCH", "/webhooks/*", status=500, times=3)

    result = await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2)

    assert len(api.requests) == 1
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (0, 0)
    text = answer_text(result)
    assert "Discord didn't take them (500" in text and "Nothing was charged" in text

    await world.alice.slash(world.channel, "imagine", prompt="a kite")  # the bot keeps serving
    assert len(await images_of(world.channel.last_message)) == 1
