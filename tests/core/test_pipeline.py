"""The job pipeline under faults, in plain asyncio with the real store, client and scheduler.

SimCord virtualises the event loop's clock and can't move it while a real HTTP request is in
flight, so timeouts, grace periods and the limiter's windows are proven here on the real clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from bot.core.pipeline import Delivery, Job, JobRunner, Posted
from bot.core.recipes import Inputs, Recipe
from bot.core.scheduling import Scheduler, ShuttingDown
from bot.images import BUILTIN_MODELS, APITimeout, ImagesClient, ModelRegistry
from bot.store import QuotaPolicy, Store

GUILD, CHANNEL = 1, 2


class Pipeline:
    def __init__(self, store: Store, client: ImagesClient, scheduler: Scheduler) -> None:
        self.store, self.client, self.scheduler = store, client, scheduler
        models = ModelRegistry(BUILTIN_MODELS, official_backend=False, default_model="gpt-image-2")
        self.runner = JobRunner(store, client, models=models, scheduler=scheduler, user_key=b"k" * 32)
        self.delivered: list[int] = []

    async def deliver(self, delivery: Delivery) -> Posted:
        self.delivered.append(len(delivery.images))
        return Posted(len(delivery.images))

    async def job(self, user: int, n: int = 1) -> int:
        job = Job(GUILD, CHANNEL, user, Recipe("imagine", "gpt-image-2", n, prompt="x"), Inputs())
        claim = await self.runner.reserve(job)
        outcome = await self.runner.run(job, claim, self.deliver)
        return outcome.charged

    async def status(self, user: int):
        return await self.store.status(GUILD, user, now=datetime.now(UTC))


@pytest_asyncio.fixture
async def pipeline(api, tmp_path, request) -> AsyncIterator[Pipeline]:
    options = {"images_per_minute": 50, "max_jobs_per_user": 10, "window": 60.0}  # no cap in flight
    marker = request.node.get_closest_marker("limits")
    options |= marker.kwargs if marker else {}
    timeout = options.pop("timeout", 30.0)
    held = options.pop("max_held_bytes", 64 * 1024 * 1024)
    store = await Store.open(tmp_path / "bot.db", default_policy=QuotaPolicy(100, "day"))
    client = ImagesClient(
        api_key=api.api_key, base_url=api.base_url, max_retries=1, timeout=timeout, max_held_bytes=held
    )
    yield Pipeline(store, client, Scheduler(**options))
    await client.aclose()
    await store.close()


@pytest.mark.limits(max_concurrency=1)
async def test_shutdown_lets_running_jobs_finish_and_refunds_those_still_waiting(pipeline, api):
    api.latency = 0.3
    running = asyncio.ensure_future(pipeline.job(user=1, n=2))
    waiting = asyncio.ensure_future(pipeline.job(user=2, n=3))
    await asyncio.sleep(0.1)

    await pipeline.runner.shutdown(grace=5)

    assert await running == 2
    with pytest.raises(ShuttingDown):
        await waiting
    one, two = await pipeline.status(1), await pipeline.status(2)
    assert (one.used, one.reserved, two.used, two.reserved) == (2, 0, 0, 0)
    assert len(api.requests) == 1


async def test_jobs_still_running_when_the_grace_period_ends_are_refunded(pipeline, api):
    api.latency = 2.0
    running = asyncio.ensure_future(pipeline.job(user=1, n=2))
    await asyncio.sleep(0.1)

    await pipeline.runner.shutdown(grace=0.2)

    with pytest.raises(ShuttingDown):
        await running
    status = await pipeline.status(1)
    assert (status.used, status.reserved) == (0, 0)


@pytest.mark.limits(timeout=0.3)
async def test_an_upstream_timeout_is_retried_then_refunded(pipeline, api):
    api.fail("slow", times=2, delay=1.0)

    with pytest.raises(APITimeout):
        await pipeline.job(user=1)

    assert len(api.requests) == 2  # one retry (max_retries=1)
    status = await pipeline.status(1)
    assert (status.used, status.reserved) == (0, 0)
    assert await pipeline.job(user=1) == 1  # and the next job is served


@pytest.mark.limits(images_per_minute=6, window=1.0, margin=0.05)
async def test_the_limiter_set_to_the_upstreams_limit_never_triggers_a_429(pipeline, api):
    api.images_per_minute, api.rate_window = 6, 1.0

    charged = await asyncio.gather(*(pipeline.job(user=u, n=2) for u in range(9)))

    assert charged == [2] * 9  # 18 images through a 6-per-second window
    assert api.rate_limited_count == 0
    assert pipeline.scheduler.rate_limited == 0


@pytest.mark.limits(images_per_minute=12, window=1.0, margin=0.05)
async def test_requests_in_flight_are_bounded_by_the_rate_limit_not_a_small_constant(pipeline, api):
    """At any upstream latency the window is what limits: with answers taking longer than the window,
    a whole window's images are in flight at once (a cap of 4 would send 4 a second)."""
    api.images_per_minute, api.rate_window, api.latency = 12, 1.0, 1.5

    charged = await asyncio.gather(*(pipeline.job(user=u) for u in range(12)))

    assert charged == [1] * 12
    arrivals = [when for when, _ in api.arrivals]
    assert max(arrivals) - min(arrivals) < 1.0  # all twelve sent within the first window
    assert api.rate_limited_count == 0


@pytest.mark.limits(images_per_minute=20, window=1.0, margin=0.05)
async def test_a_tokens_per_minute_limit_below_the_configured_one_is_kept_without_a_429(pipeline, api):
    """The account allows fewer tokens than the configured images would use: what the first answer's
    headers and usage say keeps every later burst under it."""
    api.rate_window = 1.0
    api.tokens_per_minute = 4 * 1057 + 100  # four 1024x1024 images a second (prompt "x")

    assert await pipeline.job(user=0) == 1
    charged = await asyncio.gather(*(pipeline.job(user=u) for u in range(1, 11)))

    assert charged == [1] * 10
    assert api.rate_limited_count == 0
    assert pipeline.scheduler.rate.images_per_minute == 4


@pytest.mark.limits(max_held_bytes=1)
async def test_responses_are_read_within_the_byte_budget_and_given_back_when_delivered(pipeline, api):
    api.latency, api.photo = 0.2, True
    budget = pipeline.client.budget
    assert budget is not None
    held_at_delivery: list[int] = []
    deliver = pipeline.deliver

    async def delivering(delivery: Delivery) -> Posted:
        held_at_delivery.append(budget.held)
        if len(held_at_delivery) == 1:  # the first job's images are held: the others' answers wait
            async with asyncio.timeout(20):
                while budget.waited < 3:
                    await asyncio.sleep(0.05)
        return await deliver(delivery)

    pipeline.deliver = delivering  # type: ignore[method-assign]
    charged = await asyncio.gather(*(pipeline.job(user=u, n=2) for u in range(4)))

    assert charged == [2] * 4
    assert budget.waited == 3  # the three answers that came while the first job delivered waited
    assert all(held > 0 for held in held_at_delivery)  # a job's images stay held until delivered
    assert budget.held == 0  # and every byte is given back
