"""The account's budget upstream: images per rolling window, and pauses everyone keeps after a 429.

Images are counted when a request is sent and kept a little longer than the window (``margin``), so
upstream's own count, taken on arrival, never sees more. A 429 pauses everyone (its Retry-After,
else a growing pause, at most MAX_PAUSE); ``x-ratelimit-*`` headers that say the budget is spent
pause only when our own count still sees budget (the configured limit is above the account's).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from bot.images import RateLimitInfo

__all__ = ["MAX_PAUSE", "PAUSE_WITHOUT_RETRY_AFTER", "RateWindow"]

log = logging.getLogger(__name__)

PAUSE_WITHOUT_RETRY_AFTER = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # consecutive 429s with no Retry-After
MAX_PAUSE = 120.0  # the longest everyone is held after one 429 before a request probes again


class RateWindow:
    def __init__(
        self, images_per_minute: int, window: float, margin: float | None, clock: Callable[[], float]
    ) -> None:
        if images_per_minute < 1:
            raise ValueError("images_per_minute must be at least 1")
        self.images_per_minute = images_per_minute
        self.window = window
        # Requests reach upstream a little after we count them (0.5 s on a minute).
        self.margin = min(0.5, window / 120) if margin is None else margin
        self._clock = clock
        self._sent: deque[tuple[float, int]] = deque()  # (when sent, images) within the window
        self._sent_images = 0  # the sum of _sent's counts, kept as it changes
        self._paused_until = 0.0
        self._pauses_in_a_row = 0

    def delay(self, images: int) -> float:
        """0 if ``images`` may be sent now, else the seconds until they may."""
        now = self._clock()
        if self._paused_until > now:
            return self._paused_until - now
        keep = self.window + self.margin
        used = self.used()
        if used + images <= self.images_per_minute:
            return 0.0
        for sent_at, count in self._sent:
            used -= count
            if used + images <= self.images_per_minute:
                return sent_at + keep - now
        return keep  # unreachable: a request never asks for more than the limit

    def record(self, images: int) -> None:
        self._sent.append((self._clock(), images))
        self._sent_images += images

    def used(self) -> int:
        """Images sent within the window (and its margin) up to now."""
        now, keep = self._clock(), self.window + self.margin
        while self._sent and self._sent[0][0] + keep <= now:
            self._sent_images -= self._sent.popleft()[1]
        return self._sent_images

    def pause(self, seconds: float | None) -> None:
        """Hold every request for ``seconds`` (Retry-After), or a growing pause when none was given.

        At most MAX_PAUSE: after that one request probes again (an hour-long Retry-After must not
        freeze the queue; if upstream still refuses, it says for how long again).
        """
        if seconds is None:
            steps = PAUSE_WITHOUT_RETRY_AFTER
            seconds = steps[min(self._pauses_in_a_row, len(steps) - 1)]
        seconds = min(seconds, MAX_PAUSE)
        self._pauses_in_a_row += 1
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        log.warning("upstream rate limit: holding every request for %.1fs", seconds)

    def observe(self, info: RateLimitInfo | None) -> None:
        """Learn from a successful response's ``x-ratelimit-*`` headers.

        Their reset is when the whole window is free again, later than our own rolling count knows
        slots free; so they only pause everyone when our count still sees budget upstream says is
        gone.
        """
        self._pauses_in_a_row = 0
        if info is None or info.remaining_requests != 0 or not info.reset_requests:
            return
        if self.used() < self.images_per_minute:
            self._paused_until = max(self._paused_until, self._clock() + info.reset_requests)
