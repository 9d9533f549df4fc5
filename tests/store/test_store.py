"""The store's contract — quotas, reservations, settings, migrations, secrets — on SQLite files and
in memory and on PostgreSQL (``store`` and ``database`` run each test once per engine), then what
only SQLite has (its file, WAL, PRAGMA user_version)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import UserInputError
from bot.store import (
    LATEST_VERSION,
    MIGRATIONS,
    JobRecord,
    Migration,
    QuotaExceeded,
    QuotaPolicy,
    SchemaVersionError,
    Store,
    StoreClosedError,
)
from bot.store.migrations import split_statements
from bot.store.sqlite import migrate
from tests import postgres
from tests.helpers import REPO

GUILD = 1111
OTHER_GUILD = 2222
ALICE = 10
BOB = 20
CAROL = 30
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)  # a Wednesday
DEFAULT = QuotaPolicy(limit=5, period="day")


@pytest.fixture(params=["file", "memory", "postgresql"])
async def store(request, tmp_path):
    if request.param == "postgresql":
        async with postgres.fresh_schema() as url, await Store.open(url, default_policy=DEFAULT) as opened:
            yield opened
        return
    opened = await Store.open(
        tmp_path / "bot.db" if request.param == "file" else ":memory:", default_policy=DEFAULT
    )
    yield opened
    await opened.close()


async def jobs_in_flight(target: str) -> int:
    """Reservations still held, as another process sharing the database sees them."""
    async with await Store.open(target, default_policy=DEFAULT, owner="observer") as observer:
        held = 0
        for guild in (GUILD, OTHER_GUILD):
            for user in (ALICE, BOB, CAROL):
                held += (await observer.status(guild, user, now=NOW)).reserved
        return held


def rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the database file directly, the way another process would."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


# --- policies ---


async def test_default_policy_until_the_server_sets_its_own(store):
    assert await store.server_policy(GUILD) == (DEFAULT, "default")
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.limit, status.limit_source, status.period, status.remaining) == (5, "default", "day", 5)

    policy = await store.set_server_policy(GUILD, limit=12, period="week")
    assert policy == QuotaPolicy(12, "week")
    assert await store.server_policy(GUILD) == (policy, "server")
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.limit, status.limit_source, status.period) == (12, "server", "week")
    assert status.period_start == datetime(2024, 5, 13, tzinfo=UTC)
    assert status.resets_at == datetime(2024, 5, 20, tzinfo=UTC)
    # Other servers keep the default.
    assert await store.server_policy(OTHER_GUILD) == (DEFAULT, "default")


async def test_set_server_policy_without_period_keeps_the_current_one(store):
    assert await store.set_server_policy(GUILD, limit=3) == QuotaPolicy(3, "day")  # the default's period
    await store.set_server_policy(GUILD, limit=3, period="month")
    assert await store.set_server_policy(GUILD, limit=9) == QuotaPolicy(9, "month")
    assert await store.server_policy(GUILD) == (QuotaPolicy(9, "month"), "server")
    assert await store.set_server_policy(GUILD, limit=0) == QuotaPolicy(0, "month")


async def test_user_override_beats_the_server_limit_and_can_be_removed(store):
    await store.set_server_policy(GUILD, limit=4, period="week")
    await store.set_user_limit(GUILD, ALICE, 40)
    alice = await store.status(GUILD, ALICE, now=NOW)
    bob = await store.status(GUILD, BOB, now=NOW)
    assert (alice.limit, alice.limit_source, alice.period) == (40, "user", "week")
    assert (bob.limit, bob.limit_source) == (4, "server")

    await store.set_user_limit(GUILD, ALICE, 0)  # a ban is an override of 0
    assert (await store.status(GUILD, ALICE, now=NOW)).remaining == 0
    await store.set_user_limit(GUILD, ALICE, None)
    alice = await store.status(GUILD, ALICE, now=NOW)
    assert (alice.limit, alice.limit_source) == (4, "server")
    await store.set_user_limit(GUILD, ALICE, None)  # removing a missing override is fine


async def test_override_on_default_policy(store):
    await store.set_user_limit(GUILD, ALICE, 2)
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.limit, status.limit_source, status.period) == (2, "user", "day")


# --- reserve / settle / refund ---


async def test_reserve_then_settle_charges_exactly_what_was_delivered(store):
    reservation = await store.reserve(GUILD, ALICE, 4, now=NOW, channel_id=99, kind="edit", details={"n": 4})
    assert (reservation.guild_id, reservation.user_id, reservation.amount) == (GUILD, ALICE, 4)
    assert reservation.created_at == NOW
    after = reservation.status_after
    assert (after.used, after.reserved, after.remaining) == (0, 4, 1)
    assert await store.status(GUILD, ALICE, now=NOW) == after

    await store.settle(reservation.id, 3, now=NOW + timedelta(seconds=30))
    status = await store.status(GUILD, ALICE, now=NOW + timedelta(minutes=1))
    assert (status.used, status.reserved, status.remaining) == (3, 0, 2)


async def test_settle_zero_charges_nothing(store):
    reservation = await store.reserve(GUILD, ALICE, 2, now=NOW)
    await store.settle(reservation.id, 0, now=NOW)
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.used, status.reserved, status.remaining) == (0, 0, 5)


async def test_refund_restores_everything(store):
    reservation = await store.reserve(GUILD, ALICE, 5, now=NOW)
    assert reservation.status_after.remaining == 0
    await store.refund(reservation.id, now=NOW)
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.used, status.reserved, status.remaining) == (0, 0, 5)
    again = await store.reserve(GUILD, ALICE, 5, now=NOW)  # the whole allowance is back
    assert again.id != reservation.id


async def test_settle_and_refund_are_idempotent_and_never_double_charge(store):
    first = await store.reserve(GUILD, ALICE, 2, now=NOW)
    await store.settle(first.id, 2, now=NOW)
    await store.settle(first.id, 2, now=NOW)  # retried settle
    await store.settle(first.id, 1, now=NOW)  # a different figure doesn't change the first one
    await store.refund(first.id, now=NOW)  # refund after settle: no-op
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.used, status.reserved) == (2, 0)

    second = await store.reserve(GUILD, ALICE, 3, now=NOW)
    await store.refund(second.id, now=NOW)
    await store.refund(second.id, now=NOW)
    await store.settle(second.id, 3, now=NOW)  # settle after refund: no-op
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.used, status.reserved, status.remaining) == (2, 0, 3)


async def test_concurrent_settles_of_one_reservation_charge_once(store):
    reservation = await store.reserve(GUILD, ALICE, 3, now=NOW)
    await asyncio.gather(
        *(store.settle(reservation.id, 3, now=NOW) for _ in range(10)),
        *(store.refund(reservation.id, now=NOW) for _ in range(10)),
    )
    status = await store.status(GUILD, ALICE, now=NOW)
    assert status.reserved == 0
    assert status.used in (0, 3)


async def test_quota_exceeded_carries_the_status_and_writes_nothing(db_path):
    store = await Store.open(db_path, default_policy=DEFAULT)
    try:
        await store.settle((await store.reserve(GUILD, ALICE, 2, now=NOW)).id, 2, now=NOW)
        await store.reserve(GUILD, ALICE, 1, now=NOW)
        jobs_before = rows(db_path, "SELECT * FROM jobs ORDER BY id")

        with pytest.raises(QuotaExceeded) as caught:
            await store.reserve(GUILD, ALICE, 3, now=NOW)
        error = caught.value
        assert isinstance(error, UserInputError)
        assert error.requested == 3
        s = error.status
        assert (s.guild_id, s.user_id, s.limit, s.used, s.reserved, s.remaining) == (GUILD, ALICE, 5, 2, 1, 2)
        assert s.resets_at == datetime(2024, 5, 16, tzinfo=UTC)
        assert "3" in str(error) and "2 left" in str(error)

        assert rows(db_path, "SELECT * FROM jobs ORDER BY id") == jobs_before
        assert (await store.status(GUILD, ALICE, now=NOW)) == s
        assert (await store.reserve(GUILD, ALICE, 2, now=NOW)).status_after.remaining == 0
    finally:
        await store.close()


async def test_reserve_stores_the_job_row(db_path):
    async with await Store.open(db_path, default_policy=DEFAULT) as store:
        reservation = await store.reserve(
            GUILD, ALICE, 2, now=NOW, channel_id=555, kind="vary", details={"model": "gpt-image-1", "n": 2}
        )
        await store.settle(reservation.id, 1, now=NOW + timedelta(seconds=5))
    [row] = rows(
        db_path,
        "SELECT guild_id, user_id, channel_id, kind, json_extract(details, '$.model'), state, amount, "
        "charged, created_at < settled_at, updated_at = settled_at FROM jobs",
    )
    assert row == (GUILD, ALICE, 555, "vary", "gpt-image-1", "committed", 2, 1, 1, 1)


async def test_a_limit_lowered_below_usage_leaves_zero_remaining(store):
    await store.settle((await store.reserve(GUILD, ALICE, 4, now=NOW)).id, 4, now=NOW)
    await store.set_server_policy(GUILD, limit=2)
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.used, status.remaining) == (4, 0)
    with pytest.raises(QuotaExceeded):
        await store.reserve(GUILD, ALICE, 1, now=NOW)


async def test_zero_limit_refuses_everything(store):
    await store.set_server_policy(GUILD, limit=0)
    with pytest.raises(QuotaExceeded) as caught:
        await store.reserve(GUILD, ALICE, 1, now=NOW)
    assert caught.value.status.remaining == 0


# --- grants and resets ---


async def test_grant_raises_remaining_for_this_period_only(store):
    await store.settle((await store.reserve(GUILD, ALICE, 5, now=NOW)).id, 5, now=NOW)
    status = await store.grant(GUILD, ALICE, 3, now=NOW)
    assert (status.limit, status.granted, status.used, status.remaining) == (5, 3, 5, 3)
    await store.grant(GUILD, ALICE, 1, now=NOW + timedelta(hours=1))
    assert (await store.reserve(GUILD, ALICE, 4, now=NOW + timedelta(hours=2))).status_after.remaining == 0

    tomorrow = NOW + timedelta(days=1)
    status = await store.status(GUILD, ALICE, now=tomorrow)
    assert (status.granted, status.used, status.reserved, status.remaining) == (0, 0, 0, 5)
    # Only Alice got it.
    assert (await store.status(GUILD, BOB, now=NOW)).granted == 0


async def test_reset_clears_usage_but_not_jobs_in_flight_or_grants(store):
    done = await store.reserve(GUILD, ALICE, 3, now=NOW)
    await store.settle(done.id, 3, now=NOW)
    in_flight = await store.reserve(GUILD, ALICE, 2, now=NOW + timedelta(seconds=1))
    await store.grant(GUILD, ALICE, 4, now=NOW)

    status = await store.reset_usage(GUILD, ALICE, now=NOW + timedelta(seconds=2))
    assert (status.used, status.reserved, status.granted, status.remaining) == (0, 2, 4, 7)

    # The job in flight was delivered after the reset: it is charged.
    await store.settle(in_flight.id, 2, now=NOW + timedelta(seconds=3))
    status = await store.status(GUILD, ALICE, now=NOW + timedelta(seconds=4))
    assert (status.used, status.reserved, status.remaining) == (2, 0, 7)

    # Settling the old job again after the reset does not resurrect its charge.
    await store.settle(done.id, 3, now=NOW + timedelta(seconds=5))
    assert (await store.status(GUILD, ALICE, now=NOW + timedelta(seconds=6))).used == 2
    # Bob is untouched by Alice's reset.
    await store.settle((await store.reserve(GUILD, BOB, 1, now=NOW)).id, 1, now=NOW)
    await store.reset_usage(GUILD, ALICE, now=NOW + timedelta(seconds=7))
    assert (await store.status(GUILD, BOB, now=NOW + timedelta(seconds=8))).used == 1


async def test_reset_then_period_change_does_not_resurrect_old_usage(store):
    await store.settle((await store.reserve(GUILD, ALICE, 4, now=NOW - timedelta(days=1))).id, 4, now=NOW)
    await store.reset_usage(GUILD, ALICE, now=NOW)
    await store.set_server_policy(GUILD, limit=5, period="week")
    assert (await store.status(GUILD, ALICE, now=NOW)).used == 0


# --- periods ---


@pytest.mark.parametrize(
    ("period", "late", "next_start"),
    [
        ("day", datetime(2024, 5, 15, 23, 59, 59, tzinfo=UTC), datetime(2024, 5, 16, tzinfo=UTC)),
        ("week", datetime(2024, 5, 19, 23, 0, tzinfo=UTC), datetime(2024, 5, 20, tzinfo=UTC)),
        ("month", datetime(2024, 5, 31, 22, 0, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)),
    ],
)
async def test_usage_rolls_over_at_the_period_boundary(store, period, late, next_start):
    await store.set_server_policy(GUILD, limit=5, period=period)
    await store.settle((await store.reserve(GUILD, ALICE, 3, now=late)).id, 3, now=late)
    # Reserved just before the boundary, delivered just after: it counts in the old period.
    straddling = await store.reserve(GUILD, ALICE, 2, now=late)
    await store.settle(straddling.id, 2, now=next_start + timedelta(seconds=5))

    old = await store.status(GUILD, ALICE, now=next_start - timedelta(microseconds=1))
    assert (old.used, old.remaining, old.resets_at) == (5, 0, next_start)
    new = await store.status(GUILD, ALICE, now=next_start)
    assert (new.used, new.reserved, new.remaining, new.period_start) == (0, 0, 5, next_start)
    assert (await store.reserve(GUILD, ALICE, 5, now=next_start)).status_after.remaining == 0


async def test_reservation_left_over_from_last_period_does_not_hold_this_period(store):
    yesterday = NOW - timedelta(days=1)
    await store.reserve(GUILD, ALICE, 5, now=yesterday)
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.reserved, status.remaining) == (0, 5)


async def test_changing_the_period_rereads_usage_with_the_new_boundaries(store):
    monday = datetime(2024, 5, 13, 9, tzinfo=UTC)
    await store.settle((await store.reserve(GUILD, ALICE, 3, now=monday)).id, 3, now=monday)
    await store.settle((await store.reserve(GUILD, ALICE, 1, now=NOW)).id, 1, now=NOW)
    assert (await store.status(GUILD, ALICE, now=NOW)).used == 1  # day: only today
    await store.set_server_policy(GUILD, limit=10, period="week")
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.used, status.remaining, status.period_start) == (4, 6, monday.replace(hour=0))
    await store.set_server_policy(GUILD, limit=10, period="day")
    assert (await store.status(GUILD, ALICE, now=NOW)).used == 1


async def test_guilds_are_isolated(store):
    await store.set_server_policy(OTHER_GUILD, limit=2, period="month")
    await store.settle((await store.reserve(GUILD, ALICE, 5, now=NOW)).id, 5, now=NOW)
    await store.grant(GUILD, ALICE, 1, now=NOW)
    await store.set_user_limit(GUILD, ALICE, 7)
    other = await store.status(OTHER_GUILD, ALICE, now=NOW)
    assert (other.limit, other.limit_source, other.used, other.granted, other.period) == (
        2,
        "server",
        0,
        0,
        "month",
    )
    assert (await store.reserve(OTHER_GUILD, ALICE, 2, now=NOW)).status_after.remaining == 0
    mine = await store.status(GUILD, ALICE, now=NOW)
    assert (mine.limit, mine.used, mine.reserved, mine.granted, mine.remaining) == (7, 5, 0, 1, 3)


async def test_guild_overview_lists_active_users_most_used_first(store):
    await store.settle((await store.reserve(GUILD, ALICE, 2, now=NOW)).id, 2, now=NOW)
    await store.settle((await store.reserve(GUILD, BOB, 4, now=NOW)).id, 4, now=NOW)
    await store.reserve(GUILD, CAROL, 1, now=NOW)  # in flight only
    await store.grant(GUILD, 40, 2, now=NOW)  # grant only
    await store.set_user_limit(GUILD, 50, 9)  # override only
    refunded = await store.reserve(GUILD, 60, 1, now=NOW)
    await store.refund(refunded.id, now=NOW)  # refunded: nothing to show
    await store.reserve(GUILD, 70, 1, now=NOW - timedelta(days=1))  # last period: nothing to show
    await store.settle((await store.reserve(OTHER_GUILD, 80, 1, now=NOW)).id, 1, now=NOW)  # other guild

    overview = await store.guild_overview(GUILD, now=NOW)
    assert [s.user_id for s in overview] == [BOB, ALICE, CAROL, 40, 50]
    assert [(s.used, s.reserved, s.granted, s.limit) for s in overview] == [
        (4, 0, 0, 5),
        (2, 0, 0, 5),
        (0, 1, 0, 5),
        (0, 0, 2, 5),
        (0, 0, 0, 9),
    ]
    assert overview[0] == await store.status(GUILD, BOB, now=NOW)
    assert [s.user_id for s in await store.guild_overview(GUILD, now=NOW, limit=2)] == [BOB, ALICE]
    assert await store.guild_overview(3333, now=NOW) == []


# --- validation ---


async def test_programmer_errors_raise_value_error(store):
    bad_calls = [
        store.set_server_policy(GUILD, limit=-1),
        store.set_server_policy(GUILD, limit=1_000_001),
        store.set_server_policy(GUILD, limit=True),
        store.set_server_policy(GUILD, limit=5, period="year"),
        store.set_user_limit(GUILD, ALICE, 2.5),
        store.grant(GUILD, ALICE, 0, now=NOW),
        store.reserve(GUILD, ALICE, 0, now=NOW),
        store.reserve(GUILD, ALICE, -3, now=NOW),
        store.reserve(GUILD, ALICE, 1, now=NOW, kind=""),
        store.reserve(GUILD, -1, 1, now=NOW),
        store.reserve(GUILD, ALICE, 1, now=datetime(2024, 5, 15, 12)),  # naive
        store.status(GUILD, ALICE, now=datetime(2024, 5, 15, 12)),
        store.settle(123456, 1, now=NOW),  # unknown reservation
        store.refund(123456, now=NOW),
        store.guild_overview(GUILD, now=NOW, limit=0),
        store.secret(""),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            await call
    reservation = await store.reserve(GUILD, ALICE, 2, now=NOW)
    with pytest.raises(ValueError, match="more than"):
        await store.settle(reservation.id, 3, now=NOW)
    with pytest.raises(ValueError):
        await store.settle(reservation.id, -1, now=NOW)
    # Nothing above wrote anything.
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.limit_source, status.used, status.reserved, status.granted) == ("default", 0, 2, 0)
    with pytest.raises(ValueError):
        QuotaPolicy(limit=5, period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        QuotaPolicy(limit=-1, period="day")


async def test_closed_store_refuses_work_and_close_is_idempotent(database):
    store = await Store.open(database, default_policy=DEFAULT)
    await store.close()
    await store.close()
    with pytest.raises(StoreClosedError):
        await store.status(GUILD, ALICE, now=NOW)
    with pytest.raises(StoreClosedError):
        await store.reserve(GUILD, ALICE, 1, now=NOW)


# --- atomicity ---


async def test_100_concurrent_reservations_never_exceed_the_limit(store):
    await store.set_server_policy(GUILD, limit=7)
    results = await asyncio.gather(
        *(store.reserve(GUILD, ALICE, 1, now=NOW) for _ in range(100)), return_exceptions=True
    )
    granted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert (len(granted), len(refused)) == (7, 93)
    assert len({r.id for r in granted}) == 7
    assert sorted(r.status_after.remaining for r in granted) == [0, 1, 2, 3, 4, 5, 6]
    status = await store.status(GUILD, ALICE, now=NOW)
    assert (status.reserved, status.remaining) == (7, 0)


async def test_two_store_instances_on_one_database_never_exceed_the_limit(database):
    first = await Store.open(database, default_policy=DEFAULT, owner="one")
    second = await Store.open(database, default_policy=DEFAULT, owner="two")
    try:
        await first.set_server_policy(GUILD, limit=7)
        calls = [(first if i % 2 else second).reserve(GUILD, ALICE, 1, now=NOW) for i in range(100)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, QuotaExceeded)]
        assert sum(not isinstance(r, BaseException) for r in results) == 7
        assert (await second.status(GUILD, ALICE, now=NOW)).reserved == 7
        assert await jobs_in_flight(database) == 7
    finally:
        await first.close()
        await second.close()


async def test_a_cancelled_reservation_never_holds_quota(database):
    store = await Store.open(database, default_policy=DEFAULT)
    try:
        # Cancel at every point of the reservation's life: before, during and after its transaction.
        for ticks in range(40):
            task = asyncio.ensure_future(store.reserve(GUILD, ALICE, 1, now=NOW))
            for _ in range(ticks):
                await asyncio.sleep(0)
            task.cancel()
            try:
                reservation = await task
            except asyncio.CancelledError:
                pass
            else:
                await store.refund(reservation.id, now=NOW)  # finished before the cancel: caller owns it
    finally:
        await store.close()  # waits for the undo of reservations whose caller was cancelled
    assert await jobs_in_flight(database) == 0
    async with await Store.open(database, default_policy=DEFAULT) as reopened:
        assert (await reopened.status(GUILD, ALICE, now=NOW)).remaining == 5


# --- restarts ---


async def test_refund_unfinished_after_reopen(database):
    store = await Store.open(database, default_policy=DEFAULT)
    settled = await store.reserve(GUILD, ALICE, 2, now=NOW)
    await store.settle(settled.id, 2, now=NOW)
    stuck_a = await store.reserve(GUILD, ALICE, 2, now=NOW)
    stuck_b = await store.reserve(OTHER_GUILD, BOB, 3, now=NOW)
    await store.close()  # the process stops with two jobs in flight

    store = await Store.open(database, default_policy=DEFAULT)
    try:
        later = NOW + timedelta(minutes=1)
        assert (await store.status(GUILD, ALICE, now=later)).reserved == 2
        refunded = await store.refund_unfinished(now=later)
        assert [(r.id, r.guild_id, r.user_id, r.amount, r.created_at) for r in refunded] == [
            (stuck_a.id, GUILD, ALICE, 2, NOW),
            (stuck_b.id, OTHER_GUILD, BOB, 3, NOW),
        ]
        alice = await store.status(GUILD, ALICE, now=later)
        assert refunded[0].status_after == alice
        assert (alice.used, alice.reserved, alice.remaining) == (2, 0, 3)  # committed usage survived
        assert (refunded[1].status_after.reserved, refunded[1].status_after.remaining) == (0, 5)
        assert await store.refund_unfinished(now=later) == []
        await store.settle(stuck_a.id, 2, now=later)  # a late settle of a refunded job charges nothing
        assert (await store.status(GUILD, ALICE, now=later)).used == 2
    finally:
        await store.close()


CRASHING_CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from datetime import datetime, UTC
    from bot.store import QuotaPolicy, Store

    async def main():
        store = await Store.open(sys.argv[1], default_policy=QuotaPolicy(10, "day"))
        now = datetime(2024, 5, 15, 12, tzinfo=UTC)
        done = await store.reserve(1, 2, 3, now=now)
        await store.settle(done.id, 2, now=now)
        await store.reserve(1, 2, 4, now=now)
        await store.reserve(1, 2, 1, now=now)
        print("reserved", flush=True)
        os._exit(9)  # die without closing anything, as a killed process would

    asyncio.run(main())
    """
)


async def test_a_crash_loses_no_charged_quota_and_leaves_nothing_stuck(database):
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_CHILD, database],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 9, child.stderr
    assert child.stdout.strip() == "reserved"

    async with await Store.open(database, default_policy=QuotaPolicy(10, "day")) as store:
        later = NOW + timedelta(minutes=5)
        before = await store.status(1, 2, now=later)
        assert (before.used, before.reserved) == (2, 5)
        refunded = await store.refund_unfinished(now=later)
        assert sorted(r.amount for r in refunded) == [1, 4]
        after = await store.status(1, 2, now=later)
        assert (after.used, after.reserved, after.remaining) == (2, 0, 8)


async def test_refund_unfinished_only_touches_its_own_owner(database):
    shard0 = await Store.open(database, default_policy=DEFAULT, owner="shard-0")
    shard1 = await Store.open(database, default_policy=DEFAULT, owner="shard-1")
    try:
        mine = await shard0.reserve(GUILD, ALICE, 1, now=NOW)
        theirs = await shard1.reserve(OTHER_GUILD, BOB, 1, now=NOW)
        assert [r.id for r in await shard0.refund_unfinished(now=NOW)] == [mine.id]
        assert (await shard1.status(OTHER_GUILD, BOB, now=NOW)).reserved == 1
        await shard1.settle(theirs.id, 1, now=NOW)
        assert (await shard0.status(OTHER_GUILD, BOB, now=NOW)).used == 1
    finally:
        await shard0.close()
        await shard1.close()


# --- files, migrations, secrets ---


async def test_open_creates_the_folder_and_uses_wal(tmp_path):
    path = tmp_path / "deep" / "er" / "bot.db"
    async with await Store.open(path, default_policy=DEFAULT) as store:
        await store.reserve(GUILD, ALICE, 1, now=NOW)
        assert path.exists()
        assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    assert rows(path, "PRAGMA user_version") == [(LATEST_VERSION,)]


async def test_open_accepts_a_str_path(tmp_path):
    async with await Store.open(str(tmp_path / "x" / "bot.db"), default_policy=DEFAULT) as store:
        assert (await store.status(GUILD, ALICE, now=NOW)).remaining == 5


async def test_migrations_are_recorded_and_idempotent(db_path):
    async with await Store.open(db_path, default_policy=DEFAULT) as store:
        await store.set_server_policy(GUILD, limit=3)
    assert rows(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    tables = {name for (name,) in rows(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"jobs", "guild_settings", "user_limits", "grants", "usage_resets", "secrets"} <= tables

    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        assert await migrate(conn) == []  # up to date: nothing applied
    async with await Store.open(db_path, default_policy=DEFAULT) as store:  # reopening keeps data
        assert await store.server_policy(GUILD) == (QuotaPolicy(3, "day"), "server")


async def test_a_new_migration_is_applied_on_the_next_open(db_path):
    async with await Store.open(db_path, default_policy=DEFAULT) as store:
        await store.reserve(GUILD, ALICE, 1, now=NOW)
    v2 = Migration(
        LATEST_VERSION + 1,
        "test column",
        "ALTER TABLE jobs ADD COLUMN note TEXT NOT NULL DEFAULT 'x'; CREATE INDEX jobs_note ON jobs (note);",
    )
    async with await Store.open(db_path, default_policy=DEFAULT, migrations=(*MIGRATIONS, v2)) as store:
        assert (await store.status(GUILD, ALICE, now=NOW)).reserved == 1
    assert rows(db_path, "PRAGMA user_version") == [(LATEST_VERSION + 1,)]
    assert rows(db_path, "SELECT note FROM jobs") == [("x",)]


async def test_a_failing_migration_changes_nothing(db_path):
    async with await Store.open(db_path, default_policy=DEFAULT):
        pass
    broken = Migration(
        LATEST_VERSION + 1, "half", "CREATE TABLE half (a INTEGER); INSERT INTO nowhere VALUES (1);"
    )
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        await Store.open(db_path, default_policy=DEFAULT, migrations=(*MIGRATIONS, broken))
    assert rows(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert rows(db_path, "SELECT name FROM sqlite_master WHERE name = 'half'") == []
    async with await Store.open(db_path, default_policy=DEFAULT) as store:  # still usable
        await store.reserve(GUILD, ALICE, 1, now=NOW)


async def test_a_database_from_a_newer_bot_is_refused(db_path):
    async with await Store.open(db_path, default_policy=DEFAULT):
        pass
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    with pytest.raises(SchemaVersionError, match="newer") as caught:
        await Store.open(db_path, default_policy=DEFAULT)
    assert (caught.value.found, caught.value.supported) == (LATEST_VERSION + 5, LATEST_VERSION)


def test_split_statements_respects_strings_comments_and_triggers():
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (a TEXT DEFAULT 'x;y');
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET a = 'z;' WHERE rowid = new.rowid;
        SELECT 1;
    END;
    /* block; comment */
    INSERT INTO t VALUES ('p;q')
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    assert conn.execute("SELECT a FROM t").fetchall() == [("z;",)]
    assert split_statements("  -- nothing\n;;") == []
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("INSERT INTO t VALUES ('unterminated")


async def test_secret_is_created_once_and_stable_across_reopen(db_path):
    async with await Store.open(db_path, default_policy=DEFAULT) as store:
        key = await store.secret("user-hmac")
        assert isinstance(key, bytes) and len(key) == 32
        assert await store.secret("user-hmac") == key
        other = await store.secret("other")
        assert other != key and len(other) == 32
    async with await Store.open(db_path, default_policy=DEFAULT) as store:
        assert await store.secret("user-hmac") == key
        assert await store.secret("other") == other
    assert rows(db_path, "SELECT COUNT(*) FROM secrets") == [(2,)]


async def test_two_processes_asking_for_a_new_secret_agree(db_path):
    first = await Store.open(db_path, default_policy=DEFAULT)
    second = await Store.open(db_path, default_policy=DEFAULT)
    try:
        a, b = await asyncio.gather(first.secret("k"), second.secret("k"))
        assert a == b
    finally:
        await first.close()
        await second.close()


def test_store_package_never_imports_discord():
    code = "import sys, bot.store; assert not [m for m in sys.modules if m.split('.')[0] == 'discord']"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


# --- a property: whatever happens, holds never overspend and the books balance ---

operations = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.integers(1, 4)),
        st.tuples(st.just("settle"), st.integers(0, 20), st.integers(0, 4)),
        st.tuples(st.just("refund"), st.integers(0, 20)),
        st.tuples(st.just("grant"), st.integers(1, 3)),
        st.tuples(st.just("reset")),
        st.tuples(st.just("tick"), st.integers(1, 20)),  # hours
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_random_histories_match_a_simple_model(ops):
    asyncio.run(_check_history(ops))


async def _check_history(ops):
    store = await Store.open(":memory:", default_policy=DEFAULT)
    try:
        now = datetime(2024, 5, 15, 0, 30, tzinfo=UTC)
        # model: job id -> [created day, amount, state, charged, settled_at]
        jobs: dict[int, list] = {}
        order: list[int] = []
        grants: list[tuple[datetime, int]] = []
        reset_at: datetime | None = None

        def expected():
            start = now.replace(hour=0, minute=0, second=0, microsecond=0)
            used = sum(
                j[3]
                for j in jobs.values()
                if j[0] >= start and j[2] == "committed" and (reset_at is None or j[4] > reset_at)
            )
            held = sum(j[1] for j in jobs.values() if j[0] >= start and j[2] == "reserved")
            granted = sum(a for t, a in grants if t >= start)
            return used, held, granted, max(0, 5 + granted - used - held)

        for op in ops:
            now += timedelta(seconds=1)
            if op[0] == "reserve":
                if op[1] > expected()[3]:
                    with pytest.raises(QuotaExceeded):
                        await store.reserve(GUILD, ALICE, op[1], now=now)
                else:
                    r = await store.reserve(GUILD, ALICE, op[1], now=now)
                    jobs[r.id] = [now, op[1], "reserved", 0, None]
                    order.append(r.id)
            elif op[0] in ("settle", "refund") and order:
                job_id = order[op[1] % len(order)]
                job = jobs[job_id]
                charged = min(op[2], job[1]) if op[0] == "settle" else 0
                if op[0] == "settle":
                    await store.settle(job_id, charged, now=now)
                else:
                    await store.refund(job_id, now=now)
                if job[2] == "reserved":
                    job[2:] = ["committed" if op[0] == "settle" else "refunded", charged, now]
            elif op[0] == "grant":
                await store.grant(GUILD, ALICE, op[1], now=now)
                grants.append((now, op[1]))
            elif op[0] == "reset":
                await store.reset_usage(GUILD, ALICE, now=now)
                reset_at = now
            elif op[0] == "tick":
                now += timedelta(hours=op[1])
            status = await store.status(GUILD, ALICE, now=now)
            assert (status.used, status.reserved, status.granted, status.remaining) == expected()
            assert status.used + status.reserved <= status.limit + status.granted
    finally:
        await store.close()


async def test_meta_values_are_kept_between_runs(db_path):
    store = await Store.open(db_path, default_policy=QuotaPolicy(5, "day"))
    assert await store.get_meta("commands") is None
    await store.set_meta("commands", "abc")
    await store.set_meta("commands", "def")
    await store.close()
    store = await Store.open(db_path, default_policy=QuotaPolicy(5, "day"))
    assert await store.get_meta("commands") == "def"
    await store.close()


async def test_job_details_and_inputs_are_kept_for_redo(db_path):
    store = await Store.open(db_path, default_policy=QuotaPolicy(5, "day"))
    reservation = await store.reserve(1, 2, 1, now=NOW, kind="edit", details={"prompt": "a hat", "n": 1})
    await store.save_inputs(
        reservation.id,
        [("image", "image.png", "image/png", b"PNG1"), ("mask", "mask.png", "image/png", b"M")],
    )
    await store.close()

    store = await Store.open(db_path, default_policy=QuotaPolicy(5, "day"))
    assert await store.job_details(reservation.id) == JobRecord(1, {"n": 1, "prompt": "a hat"})
    assert await store.load_inputs(reservation.id) == [
        ("image", "image.png", "image/png", b"PNG1"),
        ("mask", "mask.png", "image/png", b"M"),
    ]
    assert await store.job_details(reservation.id + 1) is None
    assert await store.load_inputs(reservation.id + 1) == []
    await store.close()


async def test_a_jobs_cost_is_kept_whatever_happens_to_its_quota(store):
    from bot.store import JobCost

    kept = await store.reserve(GUILD, ALICE, 2, now=NOW, kind="imagine")
    refunded = await store.reserve(GUILD, BOB, 1, now=NOW, kind="imagine")
    assert await store.job_cost(kept.id) is None
    await store.record_cost(kept.id, 0.125, exact=True, now=NOW)
    await store.record_cost(refunded.id, 0.04, exact=False, now=NOW)
    await store.settle(kept.id, 2, now=NOW)
    await store.refund(refunded.id, now=NOW)  # a delivery that failed: the money was still spent
    assert await store.job_cost(kept.id) == JobCost(0.125, True)
    assert await store.job_cost(refunded.id) == JobCost(0.04, False)
    assert await store.job_cost(999_999) is None
    for bad in (-0.01, float("nan")):
        with pytest.raises(ValueError):
            await store.record_cost(kept.id, bad, exact=True, now=NOW)


async def test_purging_keeps_what_reports_count_and_forgets_the_rest(store):
    old = await store.reserve(
        GUILD, ALICE, 2, now=NOW, kind="edit", details={"model": "gpt-image-2", "prompt": "a secret"}
    )
    await store.save_inputs(old.id, [("image", "a.png", "image/png", b"png")])
    await store.record_cost(old.id, 0.25, exact=True, now=NOW)
    await store.settle(old.id, 2, now=NOW)
    running = await store.reserve(GUILD, BOB, 1, now=NOW, details={"model": "gpt-image-2", "prompt": "mine"})
    recent = await store.reserve(GUILD, ALICE, 1, now=NOW + timedelta(days=40), details={"prompt": "kept"})

    assert await store.purge(before=NOW + timedelta(days=1)) == 1

    assert (await store.job_details(old.id)).details == {}
    assert await store.load_inputs(old.id) == []
    assert (await store.job_details(running.id)).details["prompt"] == "mine"  # in flight: kept
    assert (await store.job_details(recent.id)).details["prompt"] == "kept"
    found = await store.usage(GUILD, start=NOW - timedelta(days=1), end=NOW + timedelta(days=1))
    assert found.by_model["gpt-image-2"].images == 2 and found.total.spend_usd == pytest.approx(0.25)
    assert await store.purge(before=NOW + timedelta(days=1)) == 0  # nothing left to forget


async def test_processes_opening_a_new_database_at_once_migrate_it_once(database):
    opened = await asyncio.gather(
        *(Store.open(database, default_policy=DEFAULT, owner=f"p{i}") for i in range(6))
    )
    try:
        await opened[0].reserve(GUILD, ALICE, 1, now=NOW)
        assert (await opened[5].status(GUILD, ALICE, now=NOW)).reserved == 1
    finally:
        for store in opened:
            await store.close()
