"""Run a job on behalf of an interaction: the Discord side of the one pipeline.

Order matters for Discord's 3-second rule and for quota safety:
1. reserve quota (SQLite, milliseconds): a refusal is still ephemeral and costs nothing;
2. acknowledge ("thinking…") before anything slow; if that fails, give the reservation back;
3. run the job; the runner refunds on any failure, and the error handler tells the user.
"""

from __future__ import annotations

import asyncio

import discord

from bot import delivery
from bot.jobs import Delivery, Job, JobRunner


async def run_for_interaction(interaction: discord.Interaction, runner: JobRunner, job: Job) -> None:
    reservation = await runner.reserve(job)
    try:
        await interaction.response.defer(thinking=True)
    except BaseException:
        await runner.release(reservation)
        raise
    target = delivery.Target(interaction, asyncio.get_running_loop().time())

    async def deliver(result: Delivery) -> int:
        return await delivery.post(target, result)

    await runner.run(job, reservation, deliver)


def job_for(interaction: discord.Interaction, kind: str, request) -> Job:
    """The job an interaction asks for (commands are guild-only, so guild and channel exist)."""
    assert interaction.guild_id is not None and interaction.channel_id is not None
    return Job(
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        user_id=interaction.user.id,
        kind=kind,  # type: ignore[arg-type]
        request=request,
    )
