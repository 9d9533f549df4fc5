"""A byte budget for the responses the process holds: bodies being read and parsed, and the images
they decoded until their job has delivered them.

Requests in flight cost nothing while upstream works on them (an answer takes 20-60 s); memory is
spent only when the answer arrives: a four-image 1536x1024 body is ~18 MB of base64 and its images
~13 MB more. So the limit that protects the process is on bytes held, not on requests in flight:
a response whose headers have arrived waits here before its body is read (the body waits in the
socket meanwhile), while the bytes already held are over the budget.

Each job holds what its responses brought in one :class:`Holding`, released when the job ends.
A job that already holds bytes never waits (its later parts, where a model makes one image per
request, would otherwise wait on itself), and a response may always be read when nothing is held:
so a body larger than the whole budget still goes through, alone, and nothing can wait forever.
Waiting bodies are read in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

__all__ = ["Holding", "ResponseBudget"]


_UNTIL_WOKEN = 10.0**9  # a sleep that ends only when it is cancelled


@dataclass(eq=False)
class _Waiter:
    nbytes: int
    granted: bool = False
    # The wait is on a sleeping task, cancelled when the turn comes, not on a bare future: that keeps
    # it observable as parked (SimCord's settling tells a parked wait from a stuck one).
    alarm: asyncio.Task[None] | None = field(default=None, repr=False)


class ResponseBudget:
    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.max_bytes = max_bytes
        self.held = 0  # bytes held by every Holding together
        self.peak = 0  # the most ever held at once, for logs and benchmarks
        self.waited = 0  # bodies that had to wait for room, likewise
        self._waiting: deque[_Waiter] = deque()

    def holding(self) -> Holding:
        return Holding(self)

    def _fits(self, nbytes: int) -> bool:
        return self.held == 0 or self.held + nbytes <= self.max_bytes

    async def _take(self, nbytes: int, *, wait: bool) -> None:
        if not wait or (not self._waiting and self._fits(nbytes)):
            self._add(nbytes)
            return
        self.waited += 1
        waiter = _Waiter(nbytes)
        self._waiting.append(waiter)
        try:
            while not waiter.granted:
                waiter.alarm = asyncio.ensure_future(asyncio.sleep(_UNTIL_WOKEN))
                await asyncio.wait({waiter.alarm})
        except asyncio.CancelledError:
            if waiter.granted:
                self._give(nbytes)
            else:
                self._waiting.remove(waiter)
                self._grant()
            raise
        finally:
            if waiter.alarm is not None:
                waiter.alarm.cancel()

    def _add(self, nbytes: int) -> None:
        self.held += nbytes
        self.peak = max(self.peak, self.held)

    def _give(self, nbytes: int) -> None:
        self.held -= nbytes
        self._grant()

    def _grant(self) -> None:
        while self._waiting and self._fits(self._waiting[0].nbytes):
            waiter = self._waiting.popleft()
            self._add(waiter.nbytes)
            waiter.granted = True
            if waiter.alarm is not None:
                waiter.alarm.cancel()


class Holding:
    """One job's share of the budget: grows as its responses arrive, all given back at its end."""

    def __init__(self, budget: ResponseBudget) -> None:
        self._budget = budget
        self.bytes = 0
        self._released = False

    async def take(self, nbytes: int) -> None:
        """Hold ``nbytes`` more before reading a body; waits for room unless this job holds some."""
        nbytes = max(0, nbytes)
        await self._budget._take(nbytes, wait=self.bytes == 0)
        if self._released:  # the job ended while this waited (its task was not the one waiting)
            self._budget._give(nbytes)
            return
        self.bytes += nbytes

    def adjust(self, old: int, new: int) -> None:
        """What was held for a body (``old``) is now ``new`` bytes (its decoded images)."""
        if self._released:
            return
        delta = max(-self.bytes, max(0, new) - old)
        self.bytes += delta
        if delta >= 0:
            self._budget._add(delta)
        else:
            self._budget._give(-delta)

    def release(self) -> None:
        """Give back everything this job holds (idempotent)."""
        if not self._released:
            self._released = True
            held, self.bytes = self.bytes, 0
            self._budget._give(held)
