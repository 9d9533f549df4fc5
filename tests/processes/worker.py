"""One bot process in its own SimCord world, driven by a test in another process.

``python -m tests.processes.worker '<json plan>'``: the bot is built from the environment exactly as
``python -m bot`` builds it (``DATABASE_URL``, ``OPENAI_BASE_URL``, ``INSTANCE_NAME`` … set by the
parent), in a world every worker builds alike: the same server id, and members and a channel made
in the same order before the bot starts, so they get the same ids in every process (SimCord's ids
are deterministic).

It prints one JSON object per line on stdout (``{"event": …}``) and reads commands on stdin:

- ``burst``: print ``ready``, wait for ``go``, then run every job of the plan at once through the
  bot's own pipeline (reserve, then the upstream turn, then a delivery that records it) and print
  ``done`` with each job's outcome;
- ``imagine``: print ``ready``, then run ``/imagine`` as ``member`` in the channel, and wait (the
  test kills the process while the job waits upstream);
- ``watch``: print ``ready``, then report every message posted in the channel (``message``), while
  letting time pass so the bot's loops (its lease) run, until stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any

from simcord import Env

from bot.app import create_bot
from bot.core.pipeline import Job, Posted
from bot.core.recipes import Inputs, Recipe, checked
from bot.errors import UserInputError

GUILD_ID = 424242424242424242
MEMBERS = ("alice", "bob", "carol", "dave", "erin")


def say(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def read_line() -> str:
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


async def main(plan: dict[str, Any]) -> None:
    bot = await create_bot()
    env = Env(bot)
    # The world is made before the bot starts: what the bot does at start-up (syncing its commands,
    # or finding them synced by another process) then can't shift the ids SimCord hands out.
    guild = env.create_guild(name="Scale", id=GUILD_ID)
    channel = guild.create_text_channel("art")
    members = {name: guild.add_member(env.create_user(name)) for name in MEMBERS}
    await env.start()
    try:
        await env.settle()
        if plan.get("budget_holds"):  # one worker sets the server's budget to so many holds
            job = Job(GUILD_ID, channel.id, members["alice"].id, recipe(bot, "budget"))
            hold = bot.services.runner.worst_case(job)
            assert hold is not None
            await bot.services.store.set_budget(GUILD_ID, budget(hold * plan["budget_holds"]), now=now())
        say("ready", channel=channel.id, members={name: m.id for name, m in members.items()})
        if plan["mode"] == "burst":
            await burst(bot, channel.id, members, plan)
        elif plan["mode"] == "imagine":
            # Another process already synced the commands to "Discord" (the digest is in the shared
            # database), but this process's Discord is its own SimCord world: sync them there too.
            await bot.tree.sync()
            with contextlib.suppress(TimeoutError):  # SimCord stops waiting; the job goes on upstream
                await members[plan["member"]].slash(channel, "imagine", prompt=plan["prompt"])
            say("waiting")
            await read_line()  # until the test kills this process (or closes stdin)
        elif plan["mode"] == "watch":
            await watch(env, channel)
    finally:
        await env.shutdown()
        await bot.services.aclose()


def recipe(bot: Any, prompt: str) -> Recipe:
    return checked(Recipe("imagine", "gpt-image-2", 1, prompt=prompt), bot.services.models)


def budget(amount: float) -> Any:
    from bot.store import Budget

    return Budget(round(amount, 2), "day")


def now() -> Any:
    from bot.core.pipeline import utcnow

    return utcnow()


async def burst(bot: Any, channel_id: int, members: dict[str, Any], plan: dict[str, Any]) -> None:
    runner = bot.services.runner
    assert await read_line() == "go"

    async def one(name: str, number: int) -> dict[str, Any]:
        job = Job(GUILD_ID, channel_id, members[name].id, recipe(bot, f"{name} {number}"), Inputs())
        try:
            claim = await runner.reserve(job)
        except UserInputError as refused:
            return {"member": name, "outcome": type(refused).__name__}

        async def deliver(delivery: Any) -> Posted:
            return Posted(len(delivery.images))

        await runner.run(job, claim, deliver)
        return {"member": name, "outcome": "ran"}

    jobs = [one(name, i) for name, count in plan["jobs"].items() for i in range(count)]
    say("done", outcomes=await asyncio.gather(*jobs))


async def watch(env: Env, channel: Any) -> None:
    seen: set[int] = set()
    closed = asyncio.ensure_future(read_line())
    while not closed.done():
        await env.advance_time(1.0)  # the bot's loops (its lease) run on the simulated clock
        for message in channel.history():
            if message.id not in seen:
                seen.add(message.id)
                say("message", content=message.content)
        await asyncio.wait({closed}, timeout=0.2)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
