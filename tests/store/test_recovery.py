"""Leases: a process that vanished has its jobs refunded by another, exactly once (both engines)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store import QuotaPolicy, Store

GUILD = 1111
ALICE, BOB = 10, 20
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
POLICY = QuotaPolicy(limit=5, period="day")


async def test_a_process_whose_lease_ran_out_has_its_jobs_refunded_once_by_another(database):
    gone = await Store.open(database, default_policy=POLICY, owner="gone")
    others = [await Store.open(database, default_policy=POLICY, owner=f"alive-{i}") for i in range(3)]
    try:
        await gone.renew_lease(now=NOW, lease=LEASE)
        for store in others:
            await store.renew_lease(now=NOW, lease=LEASE)
        done = await gone.reserve(GUILD, ALICE, 2, now=NOW)
        await gone.settle(done.id, 2, now=NOW)
        stuck = [
            await gone.reserve(GUILD, ALICE, 1, now=NOW, channel_id=77),
            await gone.reserve(GUILD, BOB, 2, now=NOW),
        ]
        mine = await others[0].reserve(GUILD, BOB, 1, now=NOW)

        assert await others[0].refund_vanished(now=NOW + LEASE) == []  # the lease still holds

        later = NOW + LEASE + timedelta(seconds=1)
        for store in others:  # the survivors keep renewing; the vanished one doesn't
            await store.renew_lease(now=later, lease=LEASE)
        found = await asyncio.gather(*(store.refund_vanished(now=later) for store in others))
        refunded = [job for jobs in found for job in jobs]
        assert sorted((job.id, job.user_id, job.amount, job.channel_id) for job in refunded) == [
            (stuck[0].id, ALICE, 1, 77),
            (stuck[1].id, BOB, 2, None),
        ]
        alice = await others[1].status(GUILD, ALICE, now=later)
        bob = await others[1].status(GUILD, BOB, now=later)
        assert (alice.used, alice.reserved) == (2, 0)  # what was delivered stays charged
        assert (bob.used, bob.reserved) == (0, 1)  # a survivor's own job is untouched
        assert next(job for job in refunded if job.user_id == ALICE).status_after == alice
        assert await others[2].refund_vanished(now=later + LEASE) == []  # forgotten: never twice
        await others[0].settle(mine.id, 1, now=later)
        await gone.settle(stuck[0].id, 1, now=later)  # it comes back late: the refund stands
        assert (await others[1].status(GUILD, ALICE, now=later)).used == 2
    finally:
        for store in (gone, *others):
            await store.close()


async def test_a_clean_stop_leaves_nothing_to_recover(database):
    async with (
        await Store.open(database, default_policy=POLICY, owner="a") as a,
        await Store.open(database, default_policy=POLICY, owner="b") as b,
    ):
        await a.renew_lease(now=NOW, lease=LEASE)
        await b.renew_lease(now=NOW, lease=LEASE)
        job = await a.reserve(GUILD, ALICE, 1, now=NOW)
        await a.settle(job.id, 1, now=NOW)
        await a.end_lease()
        assert await b.refund_vanished(now=NOW + 2 * LEASE) == []
        assert (await b.status(GUILD, ALICE, now=NOW)).used == 1


async def test_a_restart_under_the_same_name_refunds_only_its_own_jobs(database):
    async with await Store.open(database, default_policy=POLICY, owner="shard-0") as first:
        await first.renew_lease(now=NOW, lease=LEASE)
        stuck = await first.reserve(GUILD, ALICE, 3, now=NOW)
    async with await Store.open(database, default_policy=POLICY, owner="shard-1") as other:
        theirs = await other.reserve(GUILD, BOB, 1, now=NOW)
        async with await Store.open(database, default_policy=POLICY, owner="shard-0") as again:
            assert [job.id for job in await again.refund_unfinished(now=NOW)] == [stuck.id]
            await again.renew_lease(now=NOW, lease=LEASE)
            assert await other.refund_vanished(now=NOW + timedelta(seconds=1)) == []
        assert (await other.status(GUILD, BOB, now=NOW)).reserved == 1
        await other.settle(theirs.id, 1, now=NOW)
