"""METRICS_PORT: /healthz and /metrics as an operator's probe and Prometheus read them, over real
HTTP on 127.0.0.1, from a bot driven through SimCord against the fake Images API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import aiohttp
import pytest
import simcord
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import REPO, images_of

pytestmark = pytest.mark.bot_env(METRICS_PORT="0")  # any free port: the bot says which


async def get(bot, path: str) -> tuple[int, str, str]:
    """(status, body, content type) of ``GET path`` on the bot's metrics port."""
    port = bot.services.monitor.port
    assert port, "the bot serves nothing on METRICS_PORT"
    connector = aiohttp.TCPConnector(force_close=True)  # no keep-alive task left for SimCord to wait on
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text(), response.headers.get("Content-Type", "")


async def samples(bot) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, by (name, labels)."""
    status, body, content_type = await get(bot, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_healthz_is_503_until_the_bot_is_connected_then_200(make_bot):
    bot = await make_bot()
    status, body, _ = await get(bot, "/healthz")  # services up, no gateway yet
    assert (status, body) == (503, "not connected to Discord\n")

    async with simcord.run(bot) as env:
        env.create_guild().create_text_channel("art")
        assert await get(bot, "/healthz") == (200, "ok\n", "text/plain; charset=utf-8")

        await bot.ws.close()  # the gateway connection drops
        status, body, _ = await get(bot, "/healthz")
        assert (status, body) == (503, "the connection to Discord is down (reconnecting)\n")

        await bot.close()  # the port is closed with the bot
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(bot, "/healthz")


async def test_healthz_is_503_naming_the_database_when_the_store_does_not_answer(world):
    assert (await get(world.bot, "/healthz"))[0] == 200

    await world.bot.services.store.close()

    status, body, _ = await get(world.bot, "/healthz")
    assert status == 503
    assert body == "the database does not answer (the store is closed)\n"


async def test_metrics_count_a_job_its_images_and_its_upstream_request(world, api):
    before = await samples(world.bot)
    assert value(before, "imagebot_jobs_total", kind="imagine", outcome="delivered") == 0

    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2)
    assert len(await images_of(world.channel.last_message)) == 2

    after = await samples(world.bot)
    assert value(after, "imagebot_jobs_total", kind="imagine", outcome="delivered") == 1
    assert value(after, "imagebot_images_charged_total") == 2
    assert value(after, "imagebot_images_refunded_total") == 0
    assert value(after, "imagebot_upstream_requests_total", model="gpt-image-2", status="200") == 1
    assert value(after, "imagebot_upstream_request_seconds_count", model="gpt-image-2") == 1
    assert value(after, "imagebot_job_seconds_count", kind="imagine") == 1
    assert value(after, "imagebot_queue_wait_seconds_count") == 1
    assert value(after, "imagebot_spend_usd_total", model="gpt-image-2") > 0
    assert value(after, "imagebot_queue_depth") == 0


async def test_a_failed_job_is_counted_as_failed_and_its_images_refunded(world, api):
    api.fail("content_policy", times=1)

    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=3)

    found = await samples(world.bot)
    assert value(found, "imagebot_jobs_total", kind="imagine", outcome="failed") == 1
    assert value(found, "imagebot_jobs_total", kind="imagine", outcome="delivered") == 0
    assert value(found, "imagebot_images_refunded_total") == 3
    assert value(found, "imagebot_images_charged_total") == 0
    assert value(found, "imagebot_upstream_requests_total", model="gpt-image-2", status="400") == 1
    assert value(found, "imagebot_job_seconds_count", kind="imagine") == 0


async def test_a_429_is_counted_with_the_seconds_every_request_was_held(world, api):
    api.fail("rate_limit", times=1, retry_after=30)

    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    await world.env.advance_time(31)
    assert len(await images_of(world.channel.last_message)) == 1

    found = await samples(world.bot)
    assert value(found, "imagebot_upstream_rate_limited_total") == 1
    assert value(found, "imagebot_upstream_paused_seconds_total") == pytest.approx(30, abs=0.5)
    assert value(found, "imagebot_upstream_requests_total", model="gpt-image-2", status="429") == 1
    assert value(found, "imagebot_upstream_requests_total", model="gpt-image-2", status="200") == 1
    assert value(found, "imagebot_queue_wait_seconds_sum") == pytest.approx(30, abs=0.5)


async def test_a_refusal_is_counted_as_refused(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=5)
    await world.alice.slash(world.channel, "imagine", prompt="one more")  # the quota (5) is used up

    found = await samples(world.bot)
    assert value(found, "imagebot_jobs_total", kind="imagine", outcome="refused") == 1
    assert len(api.requests) == 1


async def test_discord_delivery_retries_are_counted(world, api):
    world.bot.services.entry.delivery_pauses = (0.01, 0.01)
    world.env.inject_error("PATCH", "/webhooks/*", status=502, times=2)

    await world.alice.slash(world.channel, "imagine", prompt="a kite")

    found = await samples(world.bot)
    assert value(found, "imagebot_delivery_retries_total") == 2
    assert value(found, "imagebot_jobs_total", kind="imagine", outcome="delivered") == 1


async def test_two_bots_in_one_process_count_apart(make_bot, world):
    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    other = await make_bot()

    assert value(await samples(other), "imagebot_jobs_total", kind="imagine", outcome="delivered") == 0
    assert value(await samples(world.bot), "imagebot_jobs_total", kind="imagine", outcome="delivered") == 1


def dockerfile_healthcheck() -> list[str]:
    """The command of the Dockerfile's HEALTHCHECK (its exec form, as Docker runs it)."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("HEALTHCHECK ")]
    return json.loads(line.split(" CMD ", 1)[1])


async def test_the_images_healthcheck_passes_on_a_healthy_bot_and_fails_on_an_unhealthy_one(world):
    command = dockerfile_healthcheck()
    assert command[0] == "python"
    env = {"PATH": os.environ["PATH"], "METRICS_PORT": str(world.bot.services.monitor.port)}

    def probe() -> int:
        return subprocess.run(
            [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30
        ).returncode

    assert await asyncio.to_thread(probe) == 0
    await world.bot.services.store.close()
    assert await asyncio.to_thread(probe) != 0
