"""A stuck upstream limiter, as the health check sees it: requests wait that nothing will let go."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.scheduling import Scheduler, ShuttingDown
from bot.metrics import Metrics
from bot.monitor import Monitor
from bot.store import QuotaPolicy, Store


@pytest.fixture
async def store(tmp_path):
    store = await Store.open(tmp_path / "bot.db", default_policy=QuotaPolicy(limit=5, period="day"))
    yield store
    await store.close()


async def test_requests_waiting_for_the_window_are_not_a_stall_but_a_dead_dispatcher_is(store):
    now, broken = [0.0], [False]

    def clock() -> float:
        if broken[0]:
            raise RuntimeError("the clock broke")  # the dispatcher dies on its next look
        return now[0]

    limiter = Scheduler(images_per_minute=1, max_jobs_per_user=5, clock=clock)
    monitor = Monitor(Metrics(), store, limiter, stall_grace=0.05)
    monitor.connection = lambda: None
    release = asyncio.Event()

    async def attempt() -> object:
        await release.wait()
        return object()

    tasks = [asyncio.ensure_future(limiter.admit("a").gate(1, attempt))]
    await asyncio.sleep(0)  # "a" takes the whole window
    tasks.append(asyncio.ensure_future(limiter.admit("b").gate(1, attempt)))
    await asyncio.sleep(0.01)
    assert limiter.waiting == 1
    assert limiter.stalled() is None  # "b" waits for the window to free: that is the limiter working
    assert await monitor.problem() is None

    async def kill_the_dispatcher(member: str) -> None:
        broken[0] = True
        tasks.append(asyncio.ensure_future(limiter.admit(member).gate(1, attempt)))  # wakes it
        await asyncio.sleep(0.01)
        broken[0] = False

    await kill_the_dispatcher("c")
    assert limiter.waiting == 2
    assert limiter.stalled() == "requests wait but nothing hands out turns"
    assert await monitor.problem() is None  # given a moment first
    await asyncio.sleep(0.06)
    assert await monitor.problem() == "the upstream limiter is stuck: " + limiter.stalled()

    tasks.append(asyncio.ensure_future(limiter.admit("d").gate(1, attempt)))  # a new dispatcher
    await asyncio.sleep(0.01)
    assert limiter.stalled() is None and await monitor.problem() is None
    await kill_the_dispatcher("e")
    assert await monitor.problem() is None  # a new stall is given its moment again

    limiter.stop(ShuttingDown())
    release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(outcome) for outcome in outcomes][1:] == [ShuttingDown] * 4
    assert limiter.stalled() is None and await monitor.problem() is None


async def test_the_seconds_still_paused_after_a_429_are_read_from_the_limiter():
    now = [100.0]
    limiter = Scheduler(images_per_minute=10, max_jobs_per_user=1, clock=lambda: now[0])
    assert limiter.paused_for() == 0
    limiter.pause(30)
    now[0] += 10
    assert limiter.paused_for() == pytest.approx(20)
    now[0] += 25
    assert limiter.paused_for() == 0


def test_overlapping_holds_are_counted_once():
    metrics = Metrics()
    metrics.rate_limit(now=0.0, held_for=30)  # two requests refused together: one 30 s hold
    metrics.rate_limit(now=1.0, held_for=29)
    metrics.rate_limit(now=100.0, held_for=5)
    assert metrics.registry.get_sample_value("imagebot_upstream_rate_limited_total") == 3
    assert metrics.registry.get_sample_value("imagebot_upstream_paused_seconds_total") == pytest.approx(35)
