"""The store's usage numbers: what counts in a stretch of time, by model, member and day; and jobs
stored before the model had a column of its own are counted by model too."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import MIGRATIONS, QuotaPolicy, Store

GUILD = 1111
MONDAY = datetime(2024, 5, 13, tzinfo=UTC)


@pytest.fixture
async def store(database):
    opened = await Store.open(database, default_policy=QuotaPolicy(limit=1000, period="day"))
    yield opened
    await opened.close()


async def job(store, user, model, n, *, at, cost=None, deliver=True, guild=GUILD):
    made = await store.reserve(guild, user, n, now=at, details={"model": model, "size": "1024x1024"})
    if cost is not None:
        await store.record_cost(made.id, cost, exact=True, now=at)
    if deliver:
        await store.settle(made.id, n, now=at)
    else:
        await store.refund(made.id, now=at)
    return made


async def test_usage_by_model_member_and_day(store):
    await job(store, 1, "gpt-image-2", 2, at=MONDAY + timedelta(hours=1), cost=0.2)
    await job(store, 1, "gpt-image-2.6-flare", 1, at=MONDAY + timedelta(days=2), cost=0.5)
    await job(store, 2, "gpt-image-2", 1, at=MONDAY + timedelta(days=2, hours=3), cost=0.1)
    await job(store, 2, "gpt-image-2", 3, at=MONDAY + timedelta(days=3), deliver=False)
    await job(store, 3, "gpt-image-2", 1, at=MONDAY - timedelta(hours=1), cost=9.0)  # the week before
    await job(store, 4, "gpt-image-2", 1, at=MONDAY, cost=9.0, guild=2222)  # another server

    found = await store.usage(GUILD, start=MONDAY, end=MONDAY + timedelta(days=7))

    assert (found.total.jobs, found.total.images, found.total.refunded) == (4, 4, 1)
    assert found.total.spend_usd == pytest.approx(0.8)
    assert found.by_model["gpt-image-2"].images == 3 and found.by_model["gpt-image-2.6-flare"].images == 1
    assert [user for user, _ in found.by_member] == [1, 2]  # most spent first
    assert len(found.daily) == 7 and found.daily[0][0] == MONDAY
    assert [t.images for _, t in found.daily] == [2, 0, 2, 0, 0, 0, 0]
    assert found.daily[2][1].spend_usd == pytest.approx(0.6)


async def test_jobs_stored_before_the_model_column_are_counted_by_model(tmp_path):
    path = tmp_path / "old.db"
    old = await Store.open(path, default_policy=QuotaPolicy(5, "day"), migrations=MIGRATIONS[:6])
    await old.close()
    at = int(MONDAY.timestamp() * 1_000_000)
    with sqlite3.connect(path) as db:  # a job as the previous version wrote it
        db.execute(
            "INSERT INTO jobs (guild_id, user_id, kind, details, state, amount, charged, "
            "created_at, updated_at) VALUES (?, 1, 'imagine', ?, 'committed', 1, 1, ?, ?)",
            (GUILD, '{"model": "dall-e-3"}', at, at),
        )

    upgraded = await Store.open(path, default_policy=QuotaPolicy(5, "day"))
    try:
        found = await upgraded.usage(GUILD, start=MONDAY, end=MONDAY + timedelta(days=1))
        assert list(found.by_model) == ["dall-e-3"]
    finally:
        await upgraded.close()
