"""The response budget: bytes held by responses are bounded, no job waits on itself, nothing waits forever."""

from __future__ import annotations

import asyncio

import pytest

from bot.images import ResponseBudget


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_body_waits_while_the_held_bytes_would_go_over_the_budget():
    budget = ResponseBudget(100)
    first, second = budget.holding(), budget.holding()
    await first.take(70)

    waiting = asyncio.ensure_future(second.take(50))
    await settle()
    assert not waiting.done() and budget.held == 70

    first.adjust(70, 20)  # the body is parsed: only its 20 bytes of images stay
    await settle()
    assert waiting.done() and budget.held == 70 and budget.waited == 1
    first.release()
    second.release()
    assert budget.held == 0 and budget.peak == 70


async def test_a_body_larger_than_the_whole_budget_goes_through_alone():
    budget = ResponseBudget(100)
    big, small = budget.holding(), budget.holding()
    await big.take(500)
    waiting = asyncio.ensure_future(small.take(1))
    await settle()
    assert not waiting.done()

    big.release()
    await waiting
    assert budget.held == 1


async def test_a_job_that_holds_bytes_never_waits_for_room():
    """A model that makes one image per request answers a job in parts: its later parts must not wait
    for bytes its own earlier parts hold (two such jobs would wait on each other forever)."""
    budget = ResponseBudget(100)
    one, two = budget.holding(), budget.holding()
    await one.take(60)
    await two.take(40)

    await asyncio.wait_for(one.take(60), 1)  # over the budget, but `one` already holds: no wait
    assert budget.held == 160


async def test_waiting_bodies_are_read_in_arrival_order():
    budget = ResponseBudget(100)
    holder = budget.holding()
    await holder.take(100)
    order: list[str] = []

    async def take(name: str, nbytes: int) -> None:
        await budget.holding().take(nbytes)
        order.append(name)

    tasks = [asyncio.ensure_future(take(name, n)) for name, n in (("big", 90), ("small", 5))]
    await settle()
    holder.release()
    await asyncio.gather(*tasks)
    assert order == ["big", "small"]  # the small one didn't jump the queue


async def test_a_cancelled_wait_takes_nothing_and_lets_the_next_one_in():
    budget = ResponseBudget(100)
    holder = budget.holding()
    await holder.take(80)
    cancelled = asyncio.ensure_future(budget.holding().take(50))
    after = asyncio.ensure_future(budget.holding().take(10))
    await settle()
    assert not after.done()  # behind the first in line

    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(after, 1)
    assert budget.held == 90


async def test_release_is_idempotent_and_adjust_after_release_changes_nothing():
    budget = ResponseBudget(100)
    holding = budget.holding()
    await holding.take(30)
    holding.release()
    holding.release()
    holding.adjust(30, 10)
    assert budget.held == 0 and holding.bytes == 0
