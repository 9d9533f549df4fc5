"""The shared upstream limiter and fair queue, in plain asyncio (short windows, real time)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.core.scheduling import JobCancelled, Scheduler, ShuttingDown, TooManyJobs
from bot.images import RateLimited


def scheduler(**overrides) -> Scheduler:
    options = {"images_per_minute": 100, "max_concurrency": 10, "max_jobs_per_user": 100, "window": 60.0}
    return Scheduler(**(options | overrides))


class Upstream:
    """Records what runs when; each request takes ``latency`` seconds."""

    def __init__(self, latency: float = 0.02) -> None:
        self.latency = latency
        self.in_flight = 0
        self.most_in_flight = 0
        self.started: list[tuple[str, float]] = []

    def request(self, label: str):
        async def run() -> str:
            self.started.append((label, asyncio.get_running_loop().time()))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.latency)
            finally:
                self.in_flight -= 1
            return label

        return run


async def test_never_more_requests_in_flight_than_allowed():
    limiter, upstream = scheduler(max_concurrency=3), Upstream()
    tickets = [limiter.admit(f"user{i}") for i in range(10)]

    results = await asyncio.gather(*(t.gate(1, upstream.request(str(i))) for i, t in enumerate(tickets)))

    assert sorted(results) == sorted(str(i) for i in range(10))
    assert upstream.most_in_flight == 3


async def test_images_per_window_are_never_exceeded():
    limiter = scheduler(images_per_minute=4, window=0.3, margin=0.05)
    upstream = Upstream(latency=0.0)
    ticket = limiter.admit("alice")

    await asyncio.gather(*(ticket.gate(1, upstream.request(str(i))) for i in range(8)))

    times = [when for _, when in upstream.started]
    for i in range(4, 8):  # the fifth image may go only once the first left the window (+ margin)
        assert times[i] - times[i - 4] >= 0.35 - 0.01


async def test_a_request_for_several_images_counts_them_all():
    limiter, upstream = scheduler(images_per_minute=4, window=0.3, margin=0.05), Upstream(latency=0.0)
    ticket = limiter.admit("alice")
    await ticket.gate(3, upstream.request("three"))
    await ticket.gate(3, upstream.request("three more"))
    (_, first), (_, second) = upstream.started
    assert second - first >= 0.34


async def test_users_are_served_round_robin():
    limiter, upstream = scheduler(max_concurrency=1), Upstream(latency=0.01)
    alice, bob = limiter.admit("alice"), limiter.admit("bob")

    runs = [alice.gate(1, upstream.request(f"a{i}")) for i in range(5)]
    runs += [bob.gate(1, upstream.request(f"b{i}")) for i in range(2)]
    await asyncio.gather(*runs)

    order = [label for label, _ in upstream.started]
    assert order[:5] == ["a0", "b0", "a1", "b1", "a2"]  # bob isn't stuck behind alice's batch


async def test_each_user_may_have_only_so_many_jobs():
    limiter = scheduler(max_jobs_per_user=2)
    first, _second = limiter.admit("alice"), limiter.admit("alice")
    with pytest.raises(TooManyJobs) as caught:
        limiter.admit("alice")
    assert caught.value.limit == 2
    limiter.admit("bob")  # others are not affected
    first.close()
    first.close()  # idempotent
    limiter.admit("alice")


async def test_waiting_requests_are_told_their_place_and_when_they_start():
    limiter, upstream = scheduler(max_concurrency=1), Upstream(latency=0.02)
    seen: dict[str, list[int]] = {"b": [], "c": []}

    def report(name: str):
        async def on_position(position: int) -> None:
            seen[name].append(position)

        return on_position

    a, b, c = limiter.admit("a"), limiter.admit("b"), limiter.admit("c")
    async with b.showing_place(report("b")), c.showing_place(report("c")):
        await asyncio.gather(
            a.gate(1, upstream.request("a")),
            b.gate(1, upstream.request("b")),
            c.gate(1, upstream.request("c")),
        )

    assert seen["b"] == [1, 0]
    # c moved from 2 to 1 within a second of being shown 2: the update waits, and the turn (which
    # came meanwhile) is shown at once instead
    assert seen["c"] == [2, 0]


async def test_the_place_last_shown_has_landed_when_the_block_ends():
    limiter, upstream = scheduler(max_concurrency=1), Upstream(latency=0.01)
    events: list[object] = []

    async def slow_show(position: int) -> None:  # Discord taking its time with the edit
        await asyncio.sleep(0.05)
        events.append(position)

    a, b = limiter.admit("a"), limiter.admit("b")
    async with b.showing_place(slow_show):
        await asyncio.gather(a.gate(1, upstream.request("a")), b.gate(1, upstream.request("b")))
    events.append("result")  # what replaces the place in the message
    await asyncio.sleep(0.1)
    assert events == [1, "result"]  # the turn came and went while 1 was being shown: not shown after


async def test_an_owner_can_withdraw_a_waiting_job_and_the_next_moves_up():
    limiter, upstream = scheduler(max_concurrency=1), Upstream(latency=0.05)
    a, b, c = limiter.admit("a"), limiter.admit("b"), limiter.admit("c")
    running = asyncio.ensure_future(a.gate(1, upstream.request("a")))
    waiting_b = asyncio.ensure_future(b.gate(1, upstream.request("b")))
    waiting_c = asyncio.ensure_future(c.gate(1, upstream.request("c")))
    await asyncio.sleep(0.01)

    assert not a.cancel(JobCancelled())  # already running: too late
    assert b.cancel(JobCancelled())
    with pytest.raises(JobCancelled):
        await waiting_b
    assert await waiting_c == "c" and await running == "a"
    assert [label for label, _ in upstream.started] == ["a", "c"]


async def test_a_429_holds_everyone_for_its_retry_after():
    limiter, upstream = scheduler(), Upstream(latency=0.0)
    ticket = limiter.admit("alice")

    async def refused() -> None:
        raise RateLimited(status=429, code="rate_limit_exceeded", retry_after=0.2)

    loop = asyncio.get_running_loop()
    with pytest.raises(RateLimited):
        await ticket.gate(1, refused)
    refused_at = loop.time()
    await limiter.admit("bob").gate(1, upstream.request("bob"))

    assert upstream.started[0][1] - refused_at >= 0.19
    assert limiter.rate_limited == 1


async def test_stopping_refuses_new_jobs_and_releases_waiting_ones():
    limiter, upstream = scheduler(max_concurrency=1), Upstream(latency=0.05)
    running = asyncio.ensure_future(limiter.admit("a").gate(1, upstream.request("a")))
    waiting = asyncio.ensure_future(limiter.admit("b").gate(1, upstream.request("b")))
    await asyncio.sleep(0.01)

    limiter.stop(ShuttingDown())

    with pytest.raises(ShuttingDown):
        await waiting
    assert await running == "a"  # what already runs is let finish
    with pytest.raises(ShuttingDown):
        limiter.admit("c")


async def test_a_very_long_retry_after_holds_the_queue_for_two_minutes_at_most():
    now = [0.0]
    limiter = Scheduler(images_per_minute=10, max_concurrency=1, max_jobs_per_user=1, clock=lambda: now[0])
    limiter.pause(3600)
    assert limiter.rate.delay(1) == 120.0


async def test_a_long_queue_costs_each_job_a_bounded_number_of_place_updates():
    # the bound must not rely on the spacing of updates
    limiter, upstream = scheduler(max_concurrency=1, report_interval=0.0), Upstream(latency=0.005)
    shown: dict[int, list[int]] = {}

    def report(name: int):
        async def on_position(position: int) -> None:
            shown.setdefault(name, []).append(position)

        return on_position

    tickets = [limiter.admit(n) for n in range(40)]
    async with contextlib.AsyncExitStack() as showing:
        for n, ticket in enumerate(tickets):
            await showing.enter_async_context(ticket.showing_place(report(n)))
        await asyncio.gather(*(t.gate(1, upstream.request(str(n))) for n, t in enumerate(tickets)))

    # each job: its first place, at most one update (when the place at least halved), its turn
    assert max(len(places) for places in shown.values()) <= 3
    assert all(places[-1] == 0 for places in shown.values())
    assert all(places[1] <= places[0] // 2 for places in shown.values() if len(places) == 3)
    assert sum(len(places) for places in shown.values()) <= 3 * len(tickets)


async def test_a_member_arriving_after_a_backlog_finds_part_of_the_window_still_there():
    limiter, upstream = scheduler(images_per_minute=10, window=2.0, margin=0.05), Upstream(latency=0.0)
    alice, bob = limiter.admit("alice"), limiter.admit("bob")
    backlog = [asyncio.ensure_future(alice.gate(1, upstream.request(f"a{i}"))) for i in range(20)]
    await asyncio.sleep(0.05)

    arrived = asyncio.get_running_loop().time()
    await bob.gate(1, upstream.request("b"))

    bob_started = dict(upstream.started)["b"]
    assert bob_started - arrived < 1.0  # without a share, alice's backlog takes the window: ~1.95 s
    for task in backlog:
        task.cancel()
    await asyncio.gather(*backlog, return_exceptions=True)


async def test_a_member_alone_gets_the_whole_window_as_soon_as_without_a_share():
    limiter, upstream = scheduler(images_per_minute=10, window=1.0, margin=0.05), Upstream(latency=0.0)
    alice = limiter.admit("alice")
    start = asyncio.get_running_loop().time()

    await asyncio.gather(*(alice.gate(1, upstream.request(f"a{i}")) for i in range(15)))

    times = sorted(when - start for _, when in upstream.started)
    assert sum(t < 1.0 for t in times) == 10  # a whole window's worth within the first window
    assert times[-1] < 1.05 + 0.5  # and the rest as soon as the window frees (the window itself waits)
    assert limiter.share.delay("alice", 1) >= 0  # bookkeeping still works after the run
