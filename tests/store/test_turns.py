"""The upstream limiter every process shares (``bot.store.turns``), on both engines: the window's
images, a pause after a 429, and turns round-robin between members whatever process has them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.store import QuotaPolicy, Store
from bot.store.periods import to_micros

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)
T0 = to_micros(NOW)
SECOND = 1_000_000
POLICY = QuotaPolicy(limit=100, period="day")


@pytest.fixture
async def stores(database):
    opened = [await Store.open(database, default_policy=POLICY, owner=name) for name in ("a", "b")]
    for store in opened:
        await store.renew_lease(now=NOW, lease=timedelta(minutes=5))
    yield opened
    for store in opened:
        await store.close()


async def test_turns_go_round_robin_between_members_across_processes(stores):
    a, b = (store.turns(images_per_window=100, window=60) for store in stores)
    # a has two members waiting, b one (registered just after a's): each keeps asking again.
    waiting = {"a": {"a1": 1, "a2": 1}, "b": {"b1": 1}}
    served = [(await a.take(waiting["a"], now=T0)).member]
    assert (await b.take(waiting["b"], now=T0 + 1)).member is None  # a's a2 was waiting first
    for step in range(2, 7):
        now = T0 + step
        for turns in (a, b):
            turn = await turns.take(waiting[turns.owner], now=now)
            if turn.member is not None:
                served.append(turn.member)
                break
        else:
            pytest.fail(f"nobody was served at step {step}")
    assert served == ["a1", "a2", "b1", "a1", "a2", "b1"]


async def test_another_processs_member_goes_first_when_served_longer_ago(stores):
    a, b = (store.turns(images_per_window=100, window=60) for store in stores)
    assert (await a.take({"x": 1}, now=T0)).member == "x"
    assert (await b.take({"y": 1}, now=T0 + 1)).member == "y"  # never served: ahead of x
    assert (await a.take({"x": 1}, now=T0 + 2)).member == "x"
    assert (await a.take({"x": 1}, now=T0 + 3)).member is None  # y was served longer ago
    assert (await b.take({"y": 1}, now=T0 + 4)).member == "y"
    assert (await a.take({"x": 1}, now=T0 + 5)).member == "x"


async def test_the_window_is_shared_and_says_when_it_frees(stores):
    a, b = (store.turns(images_per_window=5, window=60) for store in stores)
    assert (await a.take({"x": 3}, now=T0)).member == "x"
    assert (await b.take({"y": 2}, now=T0 + SECOND)).member == "y"
    turn = await a.take({"x": 1}, now=T0 + 2 * SECOND)
    assert turn.member is None and turn.wait == pytest.approx(58.0)  # x's 3 images leave at 60 s
    assert await a.sent(now=T0 + 2 * SECOND) == 5
    assert (await a.take({"x": 1}, now=T0 + 60 * SECOND)).member == "x"
    turn = await b.take({"y": 3}, now=T0 + 60 * SECOND)
    assert turn.member is None and turn.wait == pytest.approx(1.0)  # y's 2 leave at 61 s


async def test_a_429_seen_by_one_process_pauses_them_all(stores):
    a, b = (store.turns(images_per_window=100, window=60) for store in stores)
    await a.pause(20, now=T0)
    turn = await b.take({"y": 1}, now=T0 + 5 * SECOND)
    assert turn.member is None and turn.wait == pytest.approx(15.0)
    await b.pause(3, now=T0 + 5 * SECOND)  # a shorter pause never cuts a longer one short
    assert (await b.take({"y": 1}, now=T0 + 19 * SECOND)).member is None
    assert (await b.take({"y": 1}, now=T0 + 20 * SECOND)).member == "y"


async def test_a_vanished_processs_waiting_members_hold_nobody_up(database):
    alive = await Store.open(database, default_policy=POLICY, owner="alive")
    gone = await Store.open(database, default_policy=POLICY, owner="gone")
    try:
        await gone.renew_lease(now=NOW, lease=timedelta(seconds=10))
        await alive.renew_lease(now=NOW, lease=timedelta(minutes=5))
        stuck = gone.turns(images_per_window=1, window=5)
        mine = alive.turns(images_per_window=1, window=5)
        assert (await stuck.take({"g": 1}, now=T0 - 2)).member == "g"  # the window is full now
        assert (await stuck.take({"g2": 1}, now=T0 - 1)).member is None  # g2 first in line…
        assert (await mine.take({"m": 1}, now=T0)).member is None
        assert (await mine.take({"m": 1}, now=T0 + 6 * SECOND)).member is None  # …while it lives
        assert (await mine.take({"m": 1}, now=T0 + 11 * SECOND)).member == "m"  # its lease ran out
    finally:
        await alive.close()
        await gone.close()


async def test_withdrawing_hands_the_turn_on(stores):
    a, b = (store.turns(images_per_window=100, window=60) for store in stores)
    assert (await a.take({"x": 1, "z": 1}, now=T0)).member == "x"
    assert (await b.take({"y": 1}, now=T0 + 1)).member is None  # a's z waited first
    await a.withdraw()  # a's queue emptied (z's job was cancelled)
    assert (await b.take({"y": 1}, now=T0 + 2)).member == "y"
