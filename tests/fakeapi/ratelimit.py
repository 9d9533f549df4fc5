"""The fake's images-per-minute limit: a rolling window over request arrival times, like OpenAI's.

A request for ``n`` images is admitted when the images admitted in the last ``window`` seconds plus
``n`` stay within ``limit``; otherwise it is refused, and ``retry_after`` says when enough of the
window will have rolled off for it to fit. Not thread-safe by itself: the server holds its lock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["Admission", "RollingWindow", "go_duration"]


@dataclass(frozen=True)
class Admission:
    admitted: bool
    limit: int
    used: int  # images counted in the window after this decision
    requested: int
    retry_after: float  # seconds until the request would fit (0 when admitted)


class RollingWindow:
    def __init__(self, limit: int, window: float) -> None:
        if limit < 1:
            raise ValueError("the limit must be at least 1 image")
        if window <= 0:
            raise ValueError("the window must be positive")
        self.limit = limit
        self.window = window
        self._entries: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        while self._entries and self._entries[0][0] + self.window <= now:
            _, n = self._entries.popleft()
            self._used -= n

    def used(self, now: float) -> int:
        self._expire(now)
        return self._used

    def admit(self, now: float, n: int) -> Admission:
        self._expire(now)
        if self._used + n <= self.limit:
            self._entries.append((now, n))
            self._used += n
            return Admission(True, self.limit, self._used, n, 0.0)
        return Admission(False, self.limit, self._used, n, self._wait_for(now, n))

    def wait(self, now: float, n: int) -> float:
        """Seconds until ``n`` more would be admitted (0: now), without counting them."""
        self._expire(now)
        return 0.0 if self._used + n <= self.limit else self._wait_for(now, n)

    def _wait_for(self, now: float, n: int) -> float:
        """Seconds until ``n`` more images fit (a whole window when ``n`` exceeds the limit)."""
        if n > self.limit:
            return self.window
        to_free = self._used + n - self.limit
        freed = 0
        for when, count in self._entries:
            freed += count
            if freed >= to_free:
                return max(0.0, when + self.window - now)
        return self.window  # unreachable: the whole window frees eventually

    def reset_in(self, now: float) -> float:
        """Seconds until the window is empty again (OpenAI's ``x-ratelimit-reset-*``)."""
        self._expire(now)
        if not self._entries:
            return 0.0
        return max(0.0, self._entries[-1][0] + self.window - now)


def go_duration(seconds: float) -> str:
    """A duration the way OpenAI's headers write it: ``120ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m" + (f"{rest:.3f}".rstrip("0").rstrip(".") or "0") + "s"
