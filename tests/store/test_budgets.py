"""Budgets in money in the store: admission inside the reservation's transaction (never overspent,
however many reserve at once), holds replaced by recorded costs, released by failures, alerts once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import (
    Budget,
    BudgetExhausted,
    QuotaExceeded,
    QuotaPolicy,
    Store,
    UnpricedUnderBudget,
)

GUILD = 1111
OTHER = 2222
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)  # a Wednesday
LATER = NOW + timedelta(minutes=1)


@pytest.fixture
async def store(database):
    opened = await Store.open(database, default_policy=QuotaPolicy(limit=1000, period="day"))
    yield opened
    await opened.close()


async def reserve(store: Store, user: int, hold: float | None, *, guild: int = GUILD):
    return await store.reserve(guild, user, 1, now=NOW, hold_usd=hold, details={"model": "gpt-image-2"})


async def test_without_a_budget_nothing_is_held_or_refused(store):
    assert await store.budget_status(GUILD, now=NOW) is None
    await reserve(store, 1, None)  # an unpriced model is fine without a budget
    await reserve(store, 2, 10_000.0)


async def test_concurrent_reservations_never_hold_more_than_the_budget(store):
    await store.set_budget(GUILD, Budget(3.5, "day"), now=NOW)

    outcomes = await asyncio.gather(
        *(reserve(store, user, 1.0) for user in range(10)), return_exceptions=True
    )

    admitted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BudgetExhausted)]
    assert len(admitted) == 3 and len(refused) == 7
    status = await store.budget_status(GUILD, now=NOW)
    assert status is not None
    assert (status.spent_usd, status.held_usd) == (0.0, 3.0)
    assert status.left_usd == pytest.approx(0.5)
    assert refused[0].status.budget.amount_usd == 3.5 and refused[0].hold_usd == 1.0


async def test_a_recorded_cost_replaces_the_hold_and_a_failure_releases_it(store):
    await store.set_budget(GUILD, Budget(3.5, "day"), now=NOW)
    first, second, third = [await reserve(store, user, 1.0) for user in (1, 2, 3)]
    with pytest.raises(BudgetExhausted):
        await reserve(store, 4, 1.0)

    await store.record_cost(first.id, 0.2, exact=True, now=LATER)  # billed far less than held
    await store.settle(first.id, 1, now=LATER)
    await store.refund(second.id, now=LATER)  # failed before upstream answered: costs nothing

    status = await store.budget_status(GUILD, now=LATER)
    assert status is not None
    assert status.spent_usd == pytest.approx(0.2) and status.held_usd == pytest.approx(1.0)
    await reserve(store, 4, 1.0)
    await reserve(store, 5, 1.0)
    with pytest.raises(BudgetExhausted):
        await reserve(store, 6, 1.0)
    assert third.id  # still held


async def test_a_cost_recorded_for_a_job_whose_delivery_failed_still_counts(store):
    await store.set_budget(GUILD, Budget(1.0, "day"), now=NOW)
    job = await reserve(store, 1, 0.5)
    await store.record_cost(job.id, 0.4, exact=True, now=LATER)  # upstream billed it
    await store.refund(job.id, now=LATER)  # then Discord refused the images: the quota is refunded

    status = await store.budget_status(GUILD, now=LATER)
    assert status is not None and status.spent_usd == pytest.approx(0.4) and status.held_usd == 0


async def test_an_unpriced_model_is_refused_under_a_budget(store):
    await store.set_budget(GUILD, Budget(5.0, "day"), now=NOW)
    with pytest.raises(UnpricedUnderBudget) as refused:
        await reserve(store, 1, None)
    assert refused.value.model == "gpt-image-2"


async def test_the_quota_is_checked_first_and_a_refusal_writes_nothing(store):
    await store.set_server_policy(GUILD, limit=1, period="day")
    await store.set_budget(GUILD, Budget(0.5, "day"), now=NOW)
    with pytest.raises(BudgetExhausted):
        await reserve(store, 1, 1.0)
    await reserve(store, 1, 0.4)  # the refusal above held nothing: the one image is still there
    with pytest.raises(QuotaExceeded):
        await reserve(store, 1, 0.01)


async def test_budgets_are_per_server_and_per_period(store):
    await store.set_budget(GUILD, Budget(1.0, "week"), now=NOW)
    await reserve(store, 1, 1.0, guild=OTHER)  # another server: no budget
    job = await reserve(store, 1, 1.0)
    await store.record_cost(job.id, 1.0, exact=True, now=NOW)
    await store.settle(job.id, 1, now=NOW)
    with pytest.raises(BudgetExhausted) as refused:
        await reserve(store, 2, 0.01)
    assert refused.value.status.resets_at == datetime(2024, 5, 20, tzinfo=UTC)  # next Monday

    next_week = datetime(2024, 5, 20, 0, 1, tzinfo=UTC)
    await store.reserve(GUILD, 2, 1, now=next_week, hold_usd=0.5)


async def test_clearing_the_budget_lifts_it(store):
    await store.set_budget(GUILD, Budget(0.1, "day"), now=NOW)
    with pytest.raises(BudgetExhausted):
        await reserve(store, 1, 1.0)
    assert await store.set_budget(GUILD, None, now=NOW) is None
    await reserve(store, 1, 1.0)


async def test_each_alert_is_told_once_per_period_and_a_jump_is_one_line(store):
    await store.set_budget(GUILD, Budget(10.0, "day"), now=NOW)
    jobs = [await reserve(store, user, 5.0) for user in (1, 2)]

    assert await store.record_cost(jobs[0].id, 4.0, exact=True, now=NOW) is None  # 40 %
    alert = await store.record_cost(jobs[1].id, 1.5, exact=True, now=NOW)  # 55 %
    assert alert is not None and alert.percent == 50
    assert await store.record_cost(jobs[1].id, 1.6, exact=True, now=NOW) is None  # 56 %: told already
    third = await reserve(store, 3, 4.0)
    jump = await store.record_cost(third.id, 4.5, exact=True, now=NOW)  # 101 %: past 80 and 100
    assert jump is not None and jump.percent == 100
    assert jump.status.spent_usd == pytest.approx(10.1)

    tomorrow = NOW + timedelta(days=1)
    fresh = await store.reserve(GUILD, 4, 1, now=tomorrow, hold_usd=6.0)
    again = await store.record_cost(fresh.id, 6.0, exact=True, now=tomorrow)
    assert again is not None and again.percent == 50  # a new period, told again


async def test_the_highest_cost_per_image_billed_is_kept(store):
    job = await reserve(store, 1, None)
    key = ("gpt-image-2", "1024x1024", "high")
    await store.record_cost(job.id, 0.3, exact=True, now=NOW, ceiling=(key, 2))
    await store.record_cost(job.id, 0.1, exact=True, now=NOW, ceiling=(key, 2))
    await store.record_cost(job.id, 9.0, exact=False, now=NOW, ceiling=(key, 1))  # estimates don't count
    assert await store.cost_ceilings() == {key: pytest.approx(0.15)}
