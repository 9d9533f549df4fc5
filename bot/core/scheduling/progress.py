"""Showing a waiting job its place, at a bounded cost in Discord edits.

A job shows its first place, then at most one update when the place has at least halved and one when
it grew (a member served less recently went ahead), and its turn at once; updates are at least
REPORT_INTERVAL apart, and quick changes coalesce into one. A job that only moves up — every job of
a burst of members — costs at most 5 Discord calls however long the queue: the acknowledgement,
the first place, one update, the turn and the result (its webhook shares one rate-limit bucket).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["GROWTHS_SHOWN", "HALVINGS_SHOWN", "REPORT_INTERVAL", "PositionCallback", "Progress"]

log = logging.getLogger(__name__)

PositionCallback = Callable[[int], Awaitable[None]]
"""Told the request's place in the queue (1 = next) while it waits, and 0 when its turn comes."""

REPORT_INTERVAL = 1.0  # seconds at least between two place updates of one job
HALVINGS_SHOWN = 1
GROWTHS_SHOWN = 1


class Progress:
    def __init__(self, interval: float = REPORT_INTERVAL) -> None:
        self.interval = interval
        self.callback: PositionCallback | None = None
        self._target = 0  # the place to show (0: its turn)
        self._reported: int | None = None  # the place last shown
        self._reported_at: float | None = None  # loop time it was shown
        self._halvings_left = HALVINGS_SHOWN
        self._growths_left = GROWTHS_SHOWN
        self._reporting: asyncio.Task[None] | None = None
        self._spacing: asyncio.Task[None] | None = None  # the pause between two updates

    def show(self, place: int) -> None:
        """Ask for ``place`` to be shown: one report task per job, coalescing quick changes."""
        self._target = place
        if self.callback is None or not self._worth_showing(place):
            return
        if place == 0 and self._spacing is not None:
            self._spacing.cancel()  # the turn is shown at once
        if self._reporting is None or self._reporting.done():
            self._reporting = asyncio.ensure_future(self._report_changes())

    def stop(self) -> None:
        """The job is over: its message shows the outcome now, never a place again."""
        self.callback = None

    async def done(self) -> None:
        """Wait until the last place shown is final (call before replacing the message with a result)."""
        while self._reporting is not None and not self._reporting.done():
            await asyncio.shield(self._reporting)

    def _worth_showing(self, place: int) -> bool:
        """The first place, the turn, and between them a place halved or grown (once each)."""
        if place == self._reported:
            return False
        if self._reported is None:
            return place != 0  # a job that never waited shows no queue at all
        if place == 0:
            return True
        if place > self._reported:
            return self._growths_left > 0
        return self._halvings_left > 0 and place <= self._reported // 2

    async def _report_changes(self) -> None:
        loop = asyncio.get_running_loop()
        while self._worth_showing(self._target):
            if self._reported_at is not None and self._target != 0:  # at most one update a second
                pause = max(0.0, self._reported_at + self.interval - loop.time())
                self._spacing = asyncio.ensure_future(asyncio.sleep(pause))
                await asyncio.wait({self._spacing})  # cancelled when the turn comes
                self._spacing = None
                if not self._worth_showing(self._target):
                    return
            show = self.callback
            if show is None:  # the job ended meanwhile
                return
            await self._report(show, self._target, loop.time())

    async def _report(self, show: PositionCallback, place: int, now: float) -> None:
        if self._reported is not None and place > self._reported:
            self._growths_left -= 1
        elif self._reported is not None and place != 0:
            self._halvings_left -= 1
        self._reported, self._reported_at = place, now
        try:
            await show(place)
        except Exception:
            log.warning("could not show a queue position", exc_info=True)
