"""The store's ledger: what this process foresees of a reservation must match what the database says."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store import QuotaExceeded, QuotaPolicy, Store

GUILD = 1111
USERS = (10, 20, 30)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(database):
    async with await Store.open(database, default_policy=QuotaPolicy(3, "day")) as store:
        yield store


async def test_a_server_is_unknown_until_its_first_reservation_then_foreseen(store):
    assert store.ledger.forecast(GUILD, 10, 1, now=NOW) is None

    await store.reserve(GUILD, 10, 2, now=NOW)

    assert store.ledger.forecast(GUILD, 10, 1, now=NOW) is True
    assert store.ledger.forecast(GUILD, 10, 2, now=NOW) is False
    assert store.ledger.forecast(GUILD, 20, 3, now=NOW) is True  # nothing recorded: the default
    assert store.ledger.forecast(GUILD, 20, 4, now=NOW) is False


async def test_pending_images_count_until_their_reservation_ends(store):
    await store.reserve(GUILD, 10, 1, now=NOW)
    store.ledger.pend(GUILD, 10, 2)

    assert store.ledger.forecast(GUILD, 10, 1, now=NOW) is False

    store.ledger.unpend(GUILD, 10, 2)
    assert store.ledger.forecast(GUILD, 10, 1, now=NOW) is True


async def test_a_new_period_is_read_again(store):
    await store.reserve(GUILD, 10, 3, now=NOW)
    assert store.ledger.forecast(GUILD, 10, 1, now=NOW) is False

    assert store.ledger.forecast(GUILD, 10, 1, now=NOW + timedelta(days=1)) is None


async def test_admin_changes_without_a_status_forget_the_server(store):
    await store.reserve(GUILD, 10, 3, now=NOW)
    await store.set_user_limit(GUILD, 10, 10)
    assert store.ledger.forecast(GUILD, 10, 1, now=NOW) is None

    await store.reserve(GUILD, 20, 1, now=NOW)
    await store.set_server_policy(GUILD, limit=1)
    assert store.ledger.forecast(GUILD, 20, 1, now=NOW) is None


ADMIN_ACTIONS = ["grant", "reset", "user_limit", "server", "tomorrow"]
_steps = st.lists(
    st.tuples(
        st.sampled_from(["reserve"] * 4 + ["settle", "refund"] * 2 + ADMIN_ACTIONS),
        st.sampled_from(USERS[:2]),
        st.integers(1, 3),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(steps=_steps)
def test_every_forecast_matches_the_reservation_the_database_then_makes(steps):
    asyncio.run(_check_forecasts(steps))


async def _check_forecasts(steps):
    async with await Store.open(":memory:", default_policy=QuotaPolicy(3, "day")) as store:
        now = NOW
        open_jobs: list[tuple[int, int]] = []  # (id, amount)
        for action, user, amount in steps:
            now += timedelta(minutes=1)
            if action == "reserve":
                foreseen = store.ledger.forecast(GUILD, user, amount, now=now)
                try:
                    reservation = await store.reserve(GUILD, user, amount, now=now)
                except QuotaExceeded:
                    assert foreseen in (None, False)
                else:
                    assert foreseen in (None, True)
                    open_jobs.append((reservation.id, amount))
            elif action in ("settle", "refund") and open_jobs:
                job_id, held = open_jobs.pop(0)
                if action == "settle":
                    await store.settle(job_id, min(held, amount), now=now)
                else:
                    await store.refund(job_id, now=now)
            elif action == "grant":
                await store.grant(GUILD, user, amount, now=now)
            elif action == "reset":
                await store.reset_usage(GUILD, user, now=now)
            elif action == "user_limit":
                await store.set_user_limit(GUILD, user, amount)
            elif action == "server":
                await store.set_server_policy(GUILD, limit=amount)
            elif action == "tomorrow":
                now += timedelta(days=1)
