"""Admission: at most ``max_jobs_per_user`` jobs queued or running per member, none while stopping."""

from __future__ import annotations

from collections.abc import Hashable

from bot.errors import BotError

from .errors import TooManyJobs

__all__ = ["Admission"]


class Admission:
    def __init__(self, max_jobs_per_user: int) -> None:
        if max_jobs_per_user < 1:
            raise ValueError("max_jobs_per_user must be at least 1")
        self.max_jobs_per_user = max_jobs_per_user
        self._active: dict[Hashable, int] = {}
        self.stopping: BotError | None = None

    def admit(self, user: Hashable) -> None:
        """Count one more job for ``user``; TooManyJobs (or the stop reason) with nothing counted."""
        if self.stopping is not None:
            raise self.stopping
        if self._active.get(user, 0) >= self.max_jobs_per_user:
            raise TooManyJobs(self.max_jobs_per_user)
        self._active[user] = self._active.get(user, 0) + 1

    def release(self, user: Hashable) -> None:
        left = self._active.get(user, 0) - 1
        if left > 0:
            self._active[user] = left
        else:
            self._active.pop(user, None)

    def stop(self, reason: BotError) -> None:
        self.stopping = reason
