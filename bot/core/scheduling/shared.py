"""The scheduler of one process among several sharing one upstream account (PostgreSQL).

Everything the single-process ``Scheduler`` does still holds inside the process (admission, member
shares, places, the in-flight cap, upstream's headers); what the processes share — the window's
images, a pause after a 429, whose turn it is — is decided by a ``TurnSource`` (``bot.store.turns``)
in one transaction that every process sees. The dispatcher tells it which members this process has
waiting and starts the request of the member it names; while it names another process's member or
the window is full, the dispatcher waits for an announcement (another process took a turn, queued,
paused) or for the time it was told, and looks again at most ``poll`` seconds later whatever happens.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping
from typing import Any, Protocol, TypeVar

from bot.images import RateLimited

from .scheduler import Scheduler, Ticket, Waiter

__all__ = ["SharedScheduler", "TurnSource", "member_key"]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_POLL = 1.0
RETRY_AFTER_STORE_ERROR = 2.0


class TurnLike(Protocol):
    @property
    def member(self) -> str | None: ...

    @property
    def wait(self) -> float | None: ...

    @property
    def sent(self) -> int | None: ...


class TurnSource(Protocol):
    async def take(self, waiting: Mapping[str, int], *, now: int, limit: int | None = None) -> TurnLike: ...

    async def pause(self, seconds: float, *, now: int) -> None: ...

    async def withdraw(self) -> None: ...


def member_key(user: Hashable) -> str:
    """The name every process gives a member: ``guild:user`` for the pipeline's (guild, user)."""
    if isinstance(user, tuple):
        return ":".join(str(part) for part in user)
    return str(user)


class SharedScheduler(Scheduler):
    def __init__(
        self,
        *,
        turns: TurnSource,
        wall_clock: Callable[[], float] = time.time,
        poll: float = DEFAULT_POLL,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._turns = turns
        self._wall_clock = wall_clock
        self.poll = poll
        self._registered = False  # this process has members written down as waiting
        self._background: set[asyncio.Task[None]] = set()

    def look_again(self) -> None:
        """Another process announced a change (``Store.subscribe``'s callback)."""
        self._ring()

    def pause(self, seconds: float | None) -> None:
        held = self.rate.pause(seconds)
        self._ring()
        self._spawn(self._turns.pause(held, now=self._now()))

    async def run(self, ticket: Ticket, images: int, attempt: Callable[[], Awaitable[T]]) -> T:
        try:
            return await super().run(ticket, images, attempt)
        except RateLimited:
            # Every process holds the pause before this request is retried or given up.
            await asyncio.gather(*self._background, return_exceptions=True)
            raise

    def stalled(self) -> str | None:
        """Only a dead dispatcher: a request that could go by this process's own count may rightly
        wait while other processes' members have their turns."""
        if len(self._queue) and (self._dispatcher is None or self._dispatcher.done()):
            return "requests wait but nothing hands out turns"
        return None

    async def _dispatch(self) -> None:
        while True:
            while len(self._queue):
                delay = await self._hand_out()
                if delay == 0:
                    continue
                self._doorbell = asyncio.ensure_future(asyncio.sleep(10.0**9))
                tasks = {t for t in self._in_flight if not t.done()} | {self._doorbell}
                timeout = self.poll if delay is None else min(delay, self.poll)
                await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                self._doorbell.cancel()
                self._doorbell = None
            if self._registered:
                await self._withdraw()
            if not len(self._queue):  # a request that came while withdrawing is this run's too
                return

    async def _hand_out(self) -> float | None:
        """Start one request if the shared limiter says so (0); else how long to wait (None: until
        woken)."""
        self._unpark_ready()
        ready: dict[str, Waiter[Any]] = {}
        for waiter in self._queue.heads():
            until_share = self.share.delay(waiter.user, waiter.images)
            if until_share > 0:
                self._queue.park(waiter.user)
                heapq.heappush(self._parked, (self._clock() + until_share, waiter.seq, waiter.user))
                continue
            ready[member_key(waiter.user)] = waiter
        parked_for = self._parked[0][0] - self._clock() if self._parked else None
        local = self._delay(1) if ready else None
        if not ready or local != 0:
            if self._registered and not ready:
                await self._withdraw()
            return _sooner(local, parked_for)
        try:
            turn = await self._turns.take(
                {key: waiter.images for key, waiter in ready.items()},
                now=self._now(),
                limit=self.rate.images_per_minute,
            )
        except Exception:
            log.warning("the shared limiter couldn't be asked; asking again shortly", exc_info=True)
            return RETRY_AFTER_STORE_ERROR
        self._registered = True
        chosen = ready.get(turn.member) if turn.member is not None else None
        taken = chosen is not None and chosen in self._queue.heads()
        if chosen is not None and taken:
            self._take(chosen)
        if turn.sent is not None:  # what the others sent is known spending, not upstream's own news
            self.rate.elsewhere = max(0, turn.sent - self.rate.used())
        return 0 if taken else _sooner(turn.wait, parked_for)

    async def _withdraw(self) -> None:
        self._registered = False
        try:
            await self._turns.withdraw()
        except Exception:
            log.warning("couldn't tell the shared limiter this process has nobody waiting", exc_info=True)

    def _now(self) -> int:
        return round(self._wall_clock() * 1_000_000)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _sooner(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
