"""Why the scheduler refused or withdrew a job (the words live in bot.core.text)."""

from __future__ import annotations

from bot.errors import BotError, UserInputError

__all__ = ["JobCancelled", "ShuttingDown", "TooManyJobs"]


class TooManyJobs(UserInputError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} jobs queued or running per user")
        self.limit = limit


class JobCancelled(BotError):
    """The job's owner withdrew it while it waited."""


class ShuttingDown(BotError):
    """The bot is stopping: it takes no new jobs, and jobs that couldn't finish are refunded."""
