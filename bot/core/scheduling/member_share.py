"""Each member's share of the rate window, so one member's backlog can't take a whole window.

Round-robin orders the members who are waiting; it can't help a member who arrives a second after
someone else's 100 queued images took every image the window had. So each member draws on a bucket:
at most ``share`` of the window's images at once, refilled at the account's steady rate (the
window's images over its length). A member alone loses nothing by it — the window itself stops
them after a window's worth, and by the time it frees their bucket has refilled — but whoever
arrives next finds the other part of the window still there.

The bucket only decides *when* a member's next request may go; the window decides whether the
account can take it. Nothing here imports discord or asyncio.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

__all__ = ["MemberShare"]

DEFAULT_SHARE = 0.5


@dataclass
class _Bucket:
    level: float
    at: float


class MemberShare:
    def __init__(
        self,
        images_per_window: Callable[[], int],
        window: float,
        clock: Callable[[], float],
        share: float = DEFAULT_SHARE,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self._budget = images_per_window
        self._window = window
        self._clock = clock
        self._share = share
        self._buckets: dict[Hashable, _Bucket] = {}

    def capacity(self) -> int:
        return max(1, math.ceil(self._budget() * self._share))

    def _rate(self) -> float:
        return self._budget() / self._window  # images per second

    def _level(self, user: Hashable, now: float) -> float:
        bucket = self._buckets.get(user)
        capacity = self.capacity()
        if bucket is None:
            return capacity
        level = min(capacity, bucket.level + (now - bucket.at) * self._rate())
        if level >= capacity:
            del self._buckets[user]  # full again: forget the member
        return level

    def delay(self, user: Hashable, images: int) -> float:
        """Seconds until ``user`` may send a request of ``images`` (0: now)."""
        now = self._clock()
        need = min(images, self.capacity())  # a request larger than a share goes with a full bucket
        missing = need - self._level(user, now)
        return 0.0 if missing <= 0 else missing / self._rate()

    def record(self, user: Hashable, images: int) -> None:
        now = self._clock()
        self._buckets[user] = _Bucket(self._level(user, now) - images, now)

    def __len__(self) -> int:
        """Members whose bucket isn't full (for tests: the record is bounded by who is active)."""
        return len(self._buckets)
