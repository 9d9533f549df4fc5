"""Two schedulers sharing one limiter through the store (as two processes would), on both engines.

The shared limiter's clock (``wall_clock``) is the test's: the window and pauses move only when the
test moves it, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.scheduling import SharedScheduler
from bot.images import RateLimited
from bot.store import QuotaPolicy, Store

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def processes(database):
    clock = Clock()
    stores = [await Store.open(database, default_policy=QuotaPolicy(100, "day"), owner=n) for n in "AB"]
    made = []

    def make(images_per_window: int = 100) -> list[SharedScheduler]:
        for store in stores:
            turns = store.turns(images_per_window=images_per_window, window=60)
            made.append(
                SharedScheduler(
                    turns=turns,
                    wall_clock=clock,
                    poll=0.05,
                    images_per_minute=1000,
                    max_jobs_per_user=100,
                    window=60.0,
                )
            )
        return made

    for store in stores:
        await store.renew_lease(now=NOW, lease=timedelta(hours=1))
    yield make, clock, stores
    for scheduler in made:
        scheduler.stop(RuntimeError("test over"))  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    for store in stores:
        await store.close()


async def until(condition, *, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.02)


def recorder(started: list[str]):
    def request(label: str):
        async def run() -> str:
            started.append(label)
            return label

        return run

    return request


async def test_members_are_served_round_robin_whichever_process_has_them(processes):
    make, clock, stores = processes
    a, b = make()
    started: list[str] = []
    request = recorder(started)
    turns = stores[0].turns(images_per_window=100, window=60)
    await turns.pause(10, now=round(clock() * 1e6))  # hold everyone while all three queue
    jobs = [
        *(a.admit((1, 1)).gate(1, request("a1")) for _ in range(4)),
        *(a.admit((1, 2)).gate(1, request("a2")) for _ in range(4)),
        *(b.admit((2, 3)).gate(1, request("b3")) for _ in range(4)),
    ]
    running = asyncio.gather(*jobs)

    async def all_waiting() -> bool:
        return await turns.waiting() == {"A": ["1:1", "1:2"], "B": ["2:3"]}

    await until(all_waiting)
    assert started == []
    clock.now += 11
    a.look_again()
    b.look_again()
    await running
    assert Counter(started) == {"a1": 4, "a2": 4, "b3": 4}
    for end in range(1, len(started) + 1):  # every member served once per round, in any prefix
        counts = Counter(started[:end])
        assert max(counts.values()) - min(counts.get(m, 0) for m in ("a1", "a2", "b3")) <= 1, started


async def test_the_window_holds_for_both_processes_together(processes):
    make, clock, _ = processes
    a, b = make(images_per_window=3)
    started: list[str] = []
    request = recorder(started)
    running = asyncio.gather(
        *(a.admit((1, i)).gate(1, request(f"a{i}")) for i in range(3)),
        *(b.admit((2, i)).gate(1, request(f"b{i}")) for i in range(3)),
    )

    async def three_started() -> bool:
        return len(started) == 3

    await until(three_started)
    await asyncio.sleep(0.3)  # several polls of both processes
    assert len(started) == 3
    clock.now += 61
    await running
    assert len(started) == 6


async def test_a_429_in_one_process_pauses_the_other(processes):
    make, clock, _ = processes
    a, b = make()
    started: list[str] = []

    async def refused() -> str:
        raise RateLimited(status=429, code="rate_limit_exceeded", retry_after=30)

    with pytest.raises(RateLimited):
        await a.admit((1, 1)).gate(1, refused)
    waiting = asyncio.ensure_future(b.admit((2, 2)).gate(1, recorder(started)("b")))
    await asyncio.sleep(0.3)
    assert started == []  # B never saw the 429, but keeps the pause
    clock.now += 31
    await waiting
    assert started == ["b"]
