"""Several bot processes on one PostgreSQL: separate OS processes, each with its own SimCord world
(``tests/processes/worker.py``), all against one fake Images API.

- bursting the same members from two processes never spends more than a quota or a budget;
- the upstream requests of all processes together never exceed the account's limit in any window,
  and members are served round-robin whichever process their jobs reached;
- a process killed (SIGKILL) mid-job has the job refunded exactly once by another, which tells
  the member.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from bot.config import VARIABLES
from bot.store import QuotaPolicy, Store
from tests.helpers import REPO
from tests.processes.worker import GUILD_ID

START_TIMEOUT = 120.0  # a process imports discord.py and builds its bot: slow on a busy machine


class Worker:
    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name
        self.events: list[dict[str, Any]] = []

    async def next(self, event: str, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                assert self.process.stdout is not None
                line = await self.process.stdout.readline()
                if not line:
                    stderr = await self.process.stderr.read() if self.process.stderr else b""
                    raise AssertionError(f"worker {self.name} ended: {stderr.decode()[-3000:]}")
                found = json.loads(line)
                self.events.append(found)
                if found["event"] == event:
                    return found

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")


@asynccontextmanager
async def workers(plans: dict[str, dict[str, Any]], environment: dict[str, str]):
    """One worker process per plan (the key is its INSTANCE_NAME), all ready."""
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    started: dict[str, Worker] = {}
    try:
        for name, plan in plans.items():
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.processes.worker",
                json.dumps(plan),
                cwd=REPO,
                env=base | environment | {"INSTANCE_NAME": name},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=2**20,
            )
            started[name] = Worker(process, name)
        for worker in started.values():
            worker.ready = await worker.next("ready")  # type: ignore[attr-defined]
        yield started
    finally:
        for worker in started.values():
            if worker.process.returncode is None:
                worker.process.kill()
            await worker.process.wait()


def environment(api, url: str, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": api.api_key,
        "OPENAI_BASE_URL": api.base_url,
        "DATABASE_URL": url,
        "IMAGE_MODEL": "gpt-image-2",
        "MAX_JOBS_PER_USER": "100",
        "LOG_LEVEL": "warning",
    } | extra


@pytest.fixture
def api(fake_api):
    fake_api.reset()
    yield fake_api
    fake_api.reset()


def member_of(request) -> str:
    return request.json["prompt"].split()[0]


async def test_two_processes_share_quotas_the_upstream_limit_and_the_round(api, postgres_url):
    api.images_per_minute, api.rate_window = 4, 2.5  # the account: 4 images per 2.5 s
    env = environment(
        api, postgres_url, DEFAULT_QUOTA="5", OPENAI_IMAGES_PER_MINUTE="4", OPENAI_RATE_WINDOW_SECONDS="3"
    )
    plans = {
        "proc-a": {"mode": "burst", "jobs": {"alice": 6, "bob": 6, "erin": 3}},
        "proc-b": {"mode": "burst", "jobs": {"carol": 6, "erin": 3}},  # erin bursts in both
    }
    observer = await Store.open(postgres_url, default_policy=QuotaPolicy(5, "day"), owner="observer")
    try:
        turns = observer.turns(images_per_window=4, window=3)
        now = round(datetime.now(UTC).timestamp() * 1e6)
        await turns.pause(600, now=now)  # hold the first turn until both processes have queued
        async with workers(plans, env) as running:
            for worker in running.values():
                worker.send("go")
            ids = running["proc-a"].ready["members"]  # type: ignore[attr-defined]
            key = {name: f"{GUILD_ID}:{ids[name]}" for name in ids}

            async def both_queued() -> bool:
                waiting = await turns.waiting()
                return waiting == {
                    "proc-a": sorted([key["alice"], key["bob"], key["erin"]]),
                    "proc-b": sorted([key["carol"], key["erin"]]),
                }

            async with asyncio.timeout(START_TIMEOUT):
                while not await both_queued():
                    await asyncio.sleep(0.05)
            connection = await asyncpg.connect(postgres_url)
            await connection.execute(
                "UPDATE turn_pause SET paused_until = 0; SELECT pg_notify('bot_turns', '')"
            )
            await connection.close()
            done = {name: await worker.next("done", timeout=300) for name, worker in running.items()}

        outcomes = Counter(
            (o["member"], o["outcome"]) for result in done.values() for o in result["outcomes"]
        )
        for name in ("alice", "bob", "carol", "erin"):
            assert outcomes[name, "ran"] == 5 and outcomes[name, "QuotaExceeded"] == 1, outcomes
            status = await observer.status(GUILD_ID, ids[name], now=datetime.now(UTC))
            assert (status.used, status.reserved, status.remaining) == (5, 0, 0)

        assert api.rate_limited_count == 0
        arrivals = api.arrivals
        for i, (start, _) in enumerate(arrivals):  # every window of the account's length
            assert sum(n for at, n in arrivals[i:] if at < start + 2.5) <= 4
        order = [member_of(r) for r in api.requests if r.endpoint == "generations"]
        assert len(order) == 20
        for end in range(1, len(order) + 1):  # in any prefix, nobody is a round ahead of another
            counts = Counter(order[:end])
            assert (
                max(counts.values()) - min(counts.get(m, 0) for m in ("alice", "bob", "carol", "erin")) <= 1
            ), order
    finally:
        await observer.close()


async def test_two_processes_bursting_one_member_never_spend_more_than_the_budget(api, postgres_url):
    api.latency = 1.0  # every reservation is decided before any job's cost is known
    env = environment(api, postgres_url, DEFAULT_QUOTA="100")
    plans = {
        "proc-a": {"mode": "burst", "jobs": {"alice": 10}, "budget_holds": 3.5},
        "proc-b": {"mode": "burst", "jobs": {"alice": 10}},
    }
    async with workers(plans, env) as running:
        for worker in running.values():
            worker.send("go")
        done = {name: await worker.next("done", timeout=300) for name, worker in running.items()}

    outcomes = Counter(o["outcome"] for result in done.values() for o in result["outcomes"])
    assert outcomes == {"ran": 3, "BudgetExhausted": 17}  # 3 worst cases fit in 3.5
    async with await Store.open(postgres_url, default_policy=QuotaPolicy(100, "day"), owner="o") as store:
        status = await store.budget_status(GUILD_ID, now=datetime.now(UTC))
        assert status is not None and status.held_usd == 0
        assert 0 < status.spent_usd <= status.budget.amount_usd
    assert len([r for r in api.requests if r.endpoint == "generations"]) == 3


async def test_a_process_killed_mid_job_has_it_refunded_once_by_another_and_the_member_told(
    api, postgres_url
):
    api.latency = 60.0  # the job waits upstream when its process is killed
    env = environment(api, postgres_url, DEFAULT_QUOTA="5", INSTANCE_LEASE_SECONDS="3")
    async with (
        workers({"survivor": {"mode": "watch"}}, env) as survivors,
        workers({"doomed": {"mode": "imagine", "member": "alice", "prompt": "a kite"}}, env) as doomed,
    ):
        alice = doomed["doomed"].ready["members"]["alice"]  # type: ignore[attr-defined]
        async with asyncio.timeout(START_TIMEOUT):
            while not [r for r in api.requests if r.endpoint == "generations"]:
                await asyncio.sleep(0.05)
        async with await Store.open(postgres_url, default_policy=QuotaPolicy(5, "day"), owner="o") as store:
            held = await store.status(GUILD_ID, alice, now=datetime.now(UTC))
            assert (held.used, held.reserved) == (0, 1)
            doomed["doomed"].process.kill()  # SIGKILL: no shutdown, no refund of its own
            await doomed["doomed"].process.wait()

            told = await survivors["survivor"].next("message", timeout=60)
            assert told["content"] == (
                f"<@{alice}> the bot restarted before your request could finish. Nothing was charged. "
                "Please run it again."
            )
            after = await store.status(GUILD_ID, alice, now=datetime.now(UTC))
            assert (after.used, after.reserved, after.remaining) == (0, 0, 5)
            [job] = await store.history(GUILD_ID, alice)
            assert job.state == "refunded"
            # Exactly once: the killed process, back under its name, finds nothing left to refund.
            async with await Store.open(
                postgres_url, default_policy=QuotaPolicy(5, "day"), owner="doomed"
            ) as again:
                assert await again.refund_unfinished(now=datetime.now(UTC)) == []
            await asyncio.sleep(3)  # a few more lease rounds of the survivor: no second notice
            survivors["survivor"].process.stdin.close()
            await survivors["survivor"].process.wait()
            assert [e for e in survivors["survivor"].events if e["event"] == "message"] == [told]
