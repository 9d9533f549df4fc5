"""/admin budget and /admin log channel as admins and members meet them: a budget in money that
refuses jobs whose worst case doesn't fit (privately, for free), settles to what upstream billed,
gives back what failed, and tells the log channel about every change and alert."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.core.pipeline import Job, Posted
from bot.core.recipes import Inputs, Recipe, checked
from bot.store import BudgetExhausted
from tests.helpers import answer_text, answered_privately, quota_of


def hold_of(world, **recipe) -> float:
    """What the bot holds against the budget for a one-image /imagine with these options."""
    bot = world.bot
    made = checked(Recipe("imagine", "gpt-image-2", 1, prompt="a kite", **recipe), bot.services.models)
    hold = bot.services.runner.worst_case(Job(world.guild.id, world.channel.id, world.alice.id, made))
    assert hold is not None and hold > 0
    return hold


async def set_budget(world, amount: float, period: str | None = None):
    options = {"amount": amount} | ({"period": period} if period else {})
    return await world.admin.slash(world.channel, "admin budget set", **options)


async def test_an_admin_sets_shows_and_clears_a_budget(world):
    result = await set_budget(world, 12.5, "week")
    assert answered_privately(result)
    assert "**Budget:** $12.50 weekly" in answer_text(result)

    shown = answer_text(await world.admin.slash(world.channel, "admin budget show"))
    assert "Spent this week: $0.00 (0 %)" in shown and "Left: $12.50" in shown

    cleared = answer_text(await world.admin.slash(world.channel, "admin budget clear"))
    assert "no budget" in cleared


async def test_a_job_whose_worst_case_does_not_fit_is_refused_privately_and_free(world, api):
    await set_budget(world, round(hold_of(world) * 0.9, 2) or 0.01)

    result = await world.alice.slash(world.channel, "imagine", prompt="a kite")

    assert answered_privately(result)
    text = answer_text(result)
    assert "could cost up to $" in text and "budget today" in text and "Nothing was charged" in text
    assert api.requests == []
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 0


async def test_jobs_settle_to_what_upstream_billed_and_the_used_up_budget_refuses(world, api):
    hold = hold_of(world)
    await set_budget(world, round(hold * 1.5, 2))

    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    cost = await world.bot.services.store.job_cost(1)
    assert cost is not None and cost.exact
    status = await world.bot.services.store.budget_status(world.guild.id, now=discord.utils.utcnow())
    assert status is not None
    assert status.spent_usd == pytest.approx(cost.usd, abs=1e-6) and status.held_usd == 0

    # the billed cost is far below the hold: a second job still fits; then spend the rest directly
    await world.bob.slash(world.channel, "imagine", prompt="a boat")
    assert len(api.requests) == 2
    await world.bot.services.store.set_budget(
        world.guild.id,
        status.budget.__class__(round(status.spent_usd * 2 + 0.001, 6), "day"),
        now=discord.utils.utcnow(),
    )
    used_up = await world.alice.slash(world.channel, "imagine", prompt="a kite")
    assert "budget" in answer_text(used_up) and "resets <t:" in answer_text(used_up)
    assert len(api.requests) == 2


async def test_a_failed_job_gives_its_hold_back(world, api):
    hold = hold_of(world)
    await set_budget(world, round(hold * 1.2, 2))
    api.fail("server_error", times=3)

    await world.alice.slash(world.channel, "imagine", prompt="a kite")

    status = await world.bot.services.store.budget_status(world.guild.id, now=discord.utils.utcnow())
    assert status is not None and (status.spent_usd, status.held_usd) == (0.0, 0.0)
    await world.alice.slash(world.channel, "imagine", prompt="a kite")  # the hold fits again
    assert len(api.requests) == 4  # 3 failed attempts, then the job


async def test_the_log_channel_hears_every_change_with_who_made_it(world):
    logs = world.guild.create_text_channel("bot-log")
    result = await world.admin.slash(world.channel, "admin log channel", channel=logs)
    assert "will be posted in" in answer_text(result)

    await set_budget(world, 5)
    await world.admin.slash(world.channel, "admin quota grant", user=world.alice, amount=2)

    lines = [message.content for message in logs.history()]
    assert any(
        world.admin.mention in line and "set the image budget to $5.00 daily" in line for line in lines
    )
    assert any(
        world.admin.mention in line and "granted" in line and world.alice.mention in line for line in lines
    )


async def test_a_budget_alert_reaches_the_log_channel(world, api):
    logs = world.guild.create_text_channel("bot-log")
    await world.admin.slash(world.channel, "admin log channel", channel=logs)
    hold = hold_of(world)
    await set_budget(world, round(hold * 1.1, 2))
    api.usage_answer = {  # billed nearly the whole budget
        "input_tokens": 100,
        "output_tokens": int(hold * 0.9 * 1_000_000 / 30),
        "total_tokens": 100 + int(hold * 0.9 * 1_000_000 / 30),
        "input_tokens_details": {"text_tokens": 100, "image_tokens": 0},
    }

    await world.alice.slash(world.channel, "imagine", prompt="a kite")

    assert any("80 % of the image budget for today is spent" in m.content for m in logs.history())


async def test_a_log_channel_the_bot_cannot_post_in_is_refused(world):
    closed = world.guild.create_text_channel(
        "closed", overwrites={world.env.bot.user: discord.PermissionOverwrite(send_messages=False)}
    )
    result = await world.admin.slash(world.channel, "admin log channel", channel=closed)
    assert answered_privately(result)
    assert "I need the Send Messages permission there" in answer_text(result)
    assert await world.bot.services.store.log_channel(world.guild.id) is None


@pytest.mark.bot_env(MAX_JOBS_PER_USER="100", DEFAULT_QUOTA="100")
async def test_a_concurrent_burst_never_holds_or_spends_more_than_the_budget(world, api):
    hold = hold_of(world)
    await set_budget(world, round(hold * 3.5, 2))
    runner = world.bot.services.runner
    made = checked(Recipe("imagine", "gpt-image-2", 1, prompt="a kite"), world.bot.services.models)
    job = Job(world.guild.id, world.channel.id, world.alice.id, made, Inputs())

    claims = await asyncio.gather(*(runner.reserve(job) for _ in range(20)), return_exceptions=True)

    admitted = [c for c in claims if not isinstance(c, BaseException)]
    assert len(admitted) == 3  # 3 holds fit in 3.5
    assert all(isinstance(c, BudgetExhausted) for c in claims if isinstance(c, BaseException))

    async def deliver(delivery) -> Posted:
        return Posted(len(delivery.images))

    await asyncio.gather(*(runner.run(job, claim, deliver) for claim in admitted))
    status = await world.bot.services.store.budget_status(world.guild.id, now=discord.utils.utcnow())
    assert status is not None and status.held_usd == 0
    assert 0 < status.spent_usd <= status.budget.amount_usd
    costs = [await world.bot.services.store.job_cost(claim.id) for claim in admitted]
    assert status.spent_usd == pytest.approx(sum(cost.usd for cost in costs if cost is not None), abs=1e-5)
