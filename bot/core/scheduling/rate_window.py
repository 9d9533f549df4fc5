"""The account's budget upstream: images per rolling window, and pauses everyone keeps after a 429.

Images are counted when a request is sent and kept a little longer than the window (``margin``), so
upstream's own count, taken on arrival, never sees more. A 429 pauses everyone (its Retry-After,
else a growing pause, at most MAX_PAUSE).

Upstream's ``x-ratelimit-remaining-*`` headers are honoured before they run out, not after a 429:
when a response says fewer requests remain, or fewer tokens than the images our own count still
allows would use (tokens per image learned from the responses' ``usage``), than our own count
leaves, upstream knows of spending we don't (another process or app on the organisation, a
configured limit above the account's). Until that header's reset, no more is sent than it allows,
counting what is sent meanwhile. While upstream agrees with our count, ours governs: it knows when
each image leaves the window, where upstream's reset is when the whole window is empty.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.images import RateLimitInfo

__all__ = ["MAX_PAUSE", "PAUSE_WITHOUT_RETRY_AFTER", "RateWindow"]

log = logging.getLogger(__name__)

PAUSE_WITHOUT_RETRY_AFTER = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # consecutive 429s with no Retry-After
MAX_PAUSE = 120.0  # the longest everyone is held after one 429 before a request probes again


@dataclass
class _UpstreamCap:
    """What upstream said is left: at most ``images`` more until ``until`` (our clock)."""

    images: int
    until: float


class RateWindow:
    def __init__(
        self, images_per_minute: int, window: float, margin: float | None, clock: Callable[[], float]
    ) -> None:
        if images_per_minute < 1:
            raise ValueError("images_per_minute must be at least 1")
        self.configured = images_per_minute  # OPENAI_IMAGES_PER_MINUTE
        self._account_limit: int | None = None  # lower, as upstream's x-ratelimit-limit-* say
        self.window = window
        # Requests reach upstream a little after we count them (0.5 s on a minute).
        self.margin = min(0.5, window / 120) if margin is None else margin
        self._clock = clock
        self._sent: deque[tuple[float, int]] = deque()  # (when sent, images) within the window
        self._sent_images = 0  # the sum of _sent's counts, kept as it changes
        self._paused_until = 0.0
        self._pauses_in_a_row = 0
        self._cap: _UpstreamCap | None = None
        self.tokens_per_image: float | None = None  # learned from responses' usage
        # Images other processes sharing the account sent within the window, as the shared limiter
        # last counted them (bot.core.scheduling.shared): spending upstream's headers report that is
        # known, not a reason to hold back.
        self.elsewhere = 0

    @property
    def images_per_minute(self) -> int:
        """Images per window: the configured limit, or the account's when upstream says it is lower."""
        account = self._account_limit
        return self.configured if account is None else max(1, min(self.configured, account))

    def delay(self, images: int) -> float:
        """0 if ``images`` may be sent now, else the seconds until they may."""
        images = min(images, self.images_per_minute)
        now = self._clock()
        if self._paused_until > now:
            return self._paused_until - now
        cap = self._current_cap(now)
        if cap is not None and cap.images < images:
            return cap.until - now
        keep = self.window + self.margin
        used = self.used()
        if used + images <= self.images_per_minute:
            return 0.0
        for sent_at, count in self._sent:
            used -= count
            if used + images <= self.images_per_minute:
                return sent_at + keep - now
        return keep  # unreachable: a request never asks for more than the limit

    def paused_for(self) -> float:
        """Seconds every request is still held after a 429 (0: none is)."""
        return max(0.0, self._paused_until - self._clock())

    def record(self, images: int) -> None:
        self._sent.append((self._clock(), images))
        self._sent_images += images
        if self._cap is not None:
            self._cap.images -= images

    def _current_cap(self, now: float) -> _UpstreamCap | None:
        if self._cap is not None and self._cap.until <= now:
            self._cap = None
        return self._cap

    def used(self) -> int:
        """Images sent within the window (and its margin) up to now."""
        now, keep = self._clock(), self.window + self.margin
        while self._sent and self._sent[0][0] + keep <= now:
            self._sent_images -= self._sent.popleft()[1]
        return self._sent_images

    def pause(self, seconds: float | None) -> float:
        """Hold every request for ``seconds`` (Retry-After), or a growing pause when none was given;
        the seconds held.

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
        return seconds

    def observe(self, info: RateLimitInfo | None, *, images: int = 0, tokens: int | None = None) -> None:
        """Learn from a successful response: its ``x-ratelimit-*`` headers and, when it reports its
        ``usage``, the ``tokens`` its ``images`` used."""
        self._pauses_in_a_row = 0
        if tokens is not None and images > 0:
            seen = tokens / images
            known = self.tokens_per_image
            self.tokens_per_image = seen if known is None else max(seen, 0.8 * known + 0.2 * seen)
        if info is None:
            return
        self._learn_account_limit(info)
        now = self._clock()
        ours = self.images_per_minute - self.used() - self.elsewhere
        caps = []
        if info.remaining_requests is not None and info.reset_requests:
            caps.append(_UpstreamCap(info.remaining_requests, now + info.reset_requests))
        if info.remaining_tokens is not None and info.reset_tokens:
            per_image = self.tokens_per_image
            if per_image:
                left = int(info.remaining_tokens // per_image)
            else:  # nothing known of a request's tokens yet: only "none left" is sure
                left = 0 if info.remaining_tokens <= 0 else ours
            caps.append(_UpstreamCap(left, now + info.reset_tokens))
        tighter = min((cap for cap in caps if cap.images < ours), key=lambda c: c.images, default=None)
        current = self._current_cap(now)
        if tighter is not None and (current is None or tighter.images < current.images):
            log.info(
                "upstream reports %d image(s) left until %.1fs from now", tighter.images, tighter.until - now
            )
        self._cap = tighter

    def _learn_account_limit(self, info: RateLimitInfo) -> None:
        """The account's own limits, in images per window, when they are below the configured one:
        ``x-ratelimit-limit-requests``, and ``x-ratelimit-limit-tokens`` over the tokens an image
        uses (both per minute, as OpenAI counts them)."""
        limits = []
        if info.limit_requests:
            limits.append(info.limit_requests)
        if info.limit_tokens and self.tokens_per_image:
            limits.append(int(info.limit_tokens // self.tokens_per_image))
        account = min(limits) if limits else None
        if account is not None and account < self.configured:
            if account != self._account_limit:
                log.warning(
                    "upstream's limits allow about %d image(s) per window, below the %d configured "
                    "(OPENAI_IMAGES_PER_MINUTE): sending at most that",
                    account,
                    self.configured,
                )
            self._account_limit = account
        else:
            self._account_limit = None
