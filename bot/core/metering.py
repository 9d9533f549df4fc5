"""What the job runner tells the bot's metrics, kept out of the pipeline's own steps.

- ``outcome``: how a job that raised ended, in the words of ``bot.metrics.JOB_OUTCOMES``;
- ``metered_gate``: a job's turn in the shared limiter, timed from asking to getting it, with each
  429 counted with the hold it put on every request (read from the scheduler, which decides it).

Nothing here imports discord.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.core.scheduling import JobCancelled, Scheduler, ShuttingDown, Ticket
from bot.errors import BotError, UserInputError
from bot.images import RateLimited
from bot.metrics import Metrics

T = TypeVar("T")

__all__ = ["metered_gate", "outcome"]


def outcome(error: BaseException) -> str:
    """The outcome label of a job that ended with ``error``."""
    if isinstance(error, asyncio.CancelledError | JobCancelled | ShuttingDown):
        return "cancelled"
    if isinstance(error, UserInputError):
        return "refused"
    if isinstance(error, BotError):  # upstream or Discord failed
        return "failed"
    return "error"


def metered_gate(
    ticket: Ticket, scheduler: Scheduler, metrics: Metrics
) -> Callable[[int, Callable[[], Awaitable[T]]], Awaitable[T]]:
    """``ticket.gate``, recording how long each attempt waited for its turn, and every 429."""

    async def gate(images: int, attempt: Callable[[], Awaitable[T]]) -> T:
        clock = asyncio.get_running_loop().time
        asked = clock()

        def start() -> Awaitable[T]:
            metrics.waited(clock() - asked)
            return attempt()

        try:
            return await ticket.gate(images, start)
        except RateLimited:
            metrics.rate_limit(now=clock(), held_for=scheduler.paused_for())
            raise

    return gate
