"""One bot process of the ``scale`` benchmark (bench/scale.py), in its own SimCord world, on the real
clock.

``python -m bench.scale_worker '<json plan>'``: the bot is built from the environment exactly as
``python -m bot`` builds it (``DATABASE_URL`` a PostgreSQL schema shared with the other processes,
``OPENAI_BASE_URL`` the fake Images API, ``INSTANCE_NAME`` … set by the parent). Every process
builds the same world before the bot starts — one server (the same id), every process's members in
the same order, a channel — so ids agree across processes (SimCord's ids are deterministic), as in
tests/processes/worker.py. After start-up SimCord's loop hooks and clock patches are lifted (as
bench/harness.py does), so the limiter's waits run on the real clock, as in production.

The plan: ``index`` (this process's number), ``processes``, ``members`` (per process: this process
serves members ``index * members`` … of the shared list), ``jobs`` (this process's), and ``rate``
(jobs per second across all processes; None: every job at once). It prints ``{"event": "ready"}``,
waits for ``go <t0>`` on stdin (``t0`` on ``time.monotonic()``, which every process on the machine
shares with the fake), then starts job ``j`` at ``t0 + (j * processes + index) / rate`` — the
processes' arrivals interleave into one steady stream — from member ``j % members``. Each job goes
through the bot's own pipeline as SimCord can't overlap actor calls: ``runner.reserve`` (timed),
then ``runner.run`` with a delivery that only counts the images. Last it prints ``{"event": "done",
"jobs": [[started, reserve seconds, finished, outcome], …], "turns": …, "cpu": …}`` (monotonic
seconds; ``cpu``: the CPU seconds this process used from ``go`` to the end), and keeps its
connections open until stdin closes.

``turns`` is a diagnostic through private names (``SharedScheduler._turns``, ``Scheduler._delay``,
``RateWindow._cap``): how many times this process asked the shared limiter for a turn, how many it
got, the seconds those asks took; and how many times the process's own capacity check held its next
request back only because of upstream's rate-limit headers (``held`` of ``checks``).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from simcord import Env, _dpy_internals
from simcord._runtime import _restore_loop

from bot.app import create_bot
from bot.core.pipeline import Job, Posted
from bot.core.recipes import Inputs, Recipe, checked

GUILD_ID = 424242424242424242


def cpu_seconds() -> float:
    """The CPU time this process has used (every thread, user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def say(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def read_line() -> str:
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


class TurnTimer:
    """Wraps the shared limiter's ``take``: counts the asks and the turns, and times the asks."""

    def __init__(self, turns: Any) -> None:
        self._take = turns.take
        self.asks = 0
        self.granted = 0
        self.seconds = 0.0
        turns.take = self.take

    async def take(self, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            turn = await self._take(*args, **kwargs)
        finally:
            self.asks += 1
            self.seconds += time.monotonic() - start
        if turn.member is not None:
            self.granted += 1
        return turn

    def summary(self) -> dict[str, float]:
        return {"asks": self.asks, "granted": self.granted, "seconds": self.seconds}


class HeaderHolds:
    """Wraps the scheduler's own capacity check (``Scheduler._delay``): counts the times it held a
    request back only because of what upstream's ``x-ratelimit-remaining-*`` headers said (the
    window's ``_cap``), while this process's own count and any pause would have let it go."""

    def __init__(self, scheduler: Any) -> None:
        self._scheduler = scheduler
        self._delay = scheduler._delay
        self.checks = 0
        self.held = 0
        scheduler._delay = self.delay

    def delay(self, images: int) -> float | None:
        found = self._delay(images)
        self.checks += 1
        rate = self._scheduler.rate
        if (
            found
            and getattr(rate, "_cap", None) is not None
            and rate.paused_for() == 0
            and rate.used() + images <= rate.images_per_minute
        ):
            self.held += 1
        return found


async def main(plan: dict[str, Any]) -> None:
    bot = await create_bot()
    env = Env(bot, settle_timeout=60.0)
    # The world is made before the bot starts, every process's members by every process, in one
    # order: then what the bot does at start-up can't shift the ids SimCord hands out.
    guild = env.create_guild(name="Scale", id=GUILD_ID)
    channel = guild.create_text_channel("art")
    everyone = [
        guild.add_member(env.create_user(f"p{p}m{m}"))
        for p in range(plan["processes"])
        for m in range(plan["members"])
    ]
    mine = everyone[plan["index"] * plan["members"] : (plan["index"] + 1) * plan["members"]]
    await env.start()
    try:
        # The real clock from here on (see bench/harness.py). Not after settling, as the harness
        # does: start-up's GET /models leaves a keep-alive connection to the fake, whose 15 s timer
        # a settle would wait out.
        _restore_loop(env)
        _dpy_internals.release_clocks(env)
        await asyncio.wait_for(bot.wait_until_ready(), 60)
        turns = getattr(bot.services.runner.scheduler, "_turns", None)
        timer = TurnTimer(turns) if turns is not None else None
        holds = HeaderHolds(bot.services.runner.scheduler)
        say("ready", engine=bot.services.store.engine, shared=timer is not None)
        command = await read_line()
        if not command.startswith("go "):
            return
        cpu = cpu_seconds()
        jobs = await run_jobs(bot, channel.id, [member.id for member in mine], plan, float(command[3:]))
        turns_seen = (timer.summary() | {"checks": holds.checks, "held": holds.held}) if timer else None
        say("done", jobs=jobs, turns=turns_seen, cpu=cpu_seconds() - cpu)
        await read_line()  # the parent reads its measures (PostgreSQL's CPU too), then closes stdin
    finally:
        await env.shutdown()
        await bot.services.aclose()


async def run_jobs(
    bot: Any, channel_id: int, members: list[int], plan: dict[str, Any], t0: float
) -> list[list[Any]]:
    runner = bot.services.runner
    model = bot.services.models
    rate, processes, index = plan["rate"], plan["processes"], plan["index"]

    async def one(number: int) -> list[Any]:
        at = t0 + (number * processes + index) / rate if rate else t0
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        member = members[number % len(members)]
        recipe = checked(Recipe("imagine", "gpt-image-2", 1, prompt=f"p{index} job {number}"), model)
        job = Job(GUILD_ID, channel_id, member, recipe, Inputs())
        started = time.monotonic()
        try:
            claim = await runner.reserve(job)
        except Exception as refused:
            return [started, time.monotonic() - started, time.monotonic(), type(refused).__name__]
        reserved = time.monotonic() - started

        async def deliver(delivery: Any) -> Posted:
            return Posted(len(delivery.images))

        try:
            await runner.run(job, claim, deliver)
        except Exception as failed:
            return [started, reserved, time.monotonic(), type(failed).__name__]
        return [started, reserved, time.monotonic(), "ran"]

    return list(await asyncio.gather(*(one(number) for number in range(plan["jobs"]))))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
