"""One upstream limiter shared by every job, with a fair queue in front of it.

- Capacity: the account's images per rolling window and its pauses (``RateWindow``); and, only
  when an operator sets one, at most ``max_concurrency`` requests in flight. By default nothing
  else caps requests in flight: at any upstream latency the window is what keeps the account
  under its limit (the process's memory is protected by the client's response budget).
- Fairness: waiting requests are served round-robin between members (``FairQueue``); each member
  may have ``max_jobs_per_user`` jobs queued or running (``Admission``), and draws on their own
  share of the window (``MemberShare``): a member whose share is used for now is parked — the
  next member goes first — until it has refilled.
- Only the head of the fair queue waits for capacity: one dispatcher task, alive while requests
  wait, waits on the requests in flight or on the timer until the window frees, and hands out
  turns; each waiting request sleeps until its turn is handed to it (its sleep is cancelled), so an
  event costs O(log n) queue work and wakes one request, whatever the queue's length.
- Every wait is on tasks or a timer, never a bare future: that keeps waiting observable and lets
  SimCord's settling tell a parked queue from a stuck one.

Nothing here imports discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.errors import BotError
from bot.images import RateLimited, RateLimitInfo

from .admission import Admission
from .fair_queue import FairQueue
from .member_share import DEFAULT_SHARE, MemberShare
from .progress import REPORT_INTERVAL, PositionCallback, Progress
from .rate_window import RateWindow

__all__ = ["Scheduler", "Ticket"]

T = TypeVar("T")
_UNTIL_WOKEN = 10.0**9  # a sleep that ends only when it is cancelled (a turn handed out, a change)


@dataclass(eq=False)
class Waiter(Generic[T]):
    """One upstream request waiting for its turn."""

    ticket: Ticket
    images: int
    seq: int
    attempt: Callable[[], Awaitable[T]]
    task: asyncio.Task[None] | None = None  # waiting for the turn
    request: asyncio.Task[T] | None = None  # the request, started the moment the turn is taken
    reason: BotError | None = None  # why the turn was withdrawn (owner cancelled, shutdown)
    alarm: asyncio.Task[None] | None = None  # the sleep a waiting request is woken from

    @property
    def user(self) -> Hashable:
        return self.ticket.user

    def wake(self) -> None:
        if self.alarm is not None:
            self.alarm.cancel()

    def withdraw(self, reason: BotError) -> bool:
        if self.task is None or self.task.done():
            return False
        self.reason = reason
        self.task.cancel()
        self.wake()
        return True


@dataclass(eq=False)
class Ticket:
    """One job's place with the scheduler: admitted up to the per-user cap, closed when it ends."""

    scheduler: Scheduler
    user: Hashable
    closed: bool = False
    progress: Progress = field(default_factory=Progress, repr=False)
    waiting: set[Waiter] = field(default_factory=set, repr=False)

    @contextlib.asynccontextmanager
    async def showing_place(self, callback: PositionCallback | None) -> AsyncIterator[None]:
        """``callback`` is told the job's place while its requests wait inside the block; when the
        block ends the place last shown is final (its update has landed and none follows), so the
        message may show the outcome."""
        self.progress.callback = callback
        try:
            yield
        finally:
            self.progress.stop()
            await self.progress.done()

    async def gate(self, images: int, attempt: Callable[[], Awaitable[T]]) -> T:
        """Wait for a fair turn and capacity, then run one upstream request as a task."""
        return await self.scheduler.run(self, images, attempt)

    def cancel(self, reason: BotError) -> bool:
        """Withdraw the job's waiting requests; False if none is waiting (it runs, or it's done)."""
        return any([waiter.withdraw(reason) for waiter in list(self.waiting)])

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.progress.stop()
            self.scheduler.release(self)


class Scheduler:
    def __init__(
        self,
        *,
        images_per_minute: int,
        max_jobs_per_user: int,
        max_concurrency: int | None = None,
        window: float = 60.0,
        margin: float | None = None,
        clock: Callable[[], float] | None = None,
        member_share: float = DEFAULT_SHARE,
        report_interval: float = REPORT_INTERVAL,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1 (or None: no cap)")
        self.max_concurrency = max_concurrency
        self.report_interval = report_interval  # seconds at least between two place updates of a job
        clock = clock or (lambda: asyncio.get_running_loop().time())
        self._clock = clock
        self.rate = RateWindow(images_per_minute, window, margin, clock)
        self.share = MemberShare(lambda: self.rate.images_per_minute, window, clock, member_share)
        self._parked: list[tuple[float, int, Hashable]] = []  # (until, tie-break, member)
        self.admission = Admission(max_jobs_per_user)
        self._in_flight: set[asyncio.Task[object]] = set()
        self._queue: FairQueue[Waiter] = FairQueue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._doorbell: asyncio.Task[None] | None = None  # cancelled to make the dispatcher look again
        self._serial = itertools.count()  # arrival order of requests
        self.rate_limited = 0  # 429s seen, for the benchmark and logs

    # --- admission ---

    def admit(self, user: Hashable) -> Ticket:
        self.admission.admit(user)
        return Ticket(self, user, progress=Progress(interval=self.report_interval))

    def release(self, ticket: Ticket) -> None:
        self.admission.release(ticket.user)

    def stop(self, reason: BotError) -> None:
        """Take no new jobs; every request still waiting for its turn fails with ``reason``."""
        self.admission.stop(reason)
        for waiter in self._queue.order():
            waiter.withdraw(reason)

    # --- what upstream said ---

    def pause(self, seconds: float | None) -> None:
        self.rate.pause(seconds)
        self._ring()

    def observe(self, result: object, images: int) -> None:
        """What a successful response says of the account's limits (headers, tokens used)."""
        info: RateLimitInfo | None = getattr(result, "rate_limit", None)
        usage = getattr(result, "usage", None)
        self.rate.observe(info, images=images, tokens=getattr(usage, "total_tokens", None))

    # --- waiting and running ---

    async def run(self, ticket: Ticket, images: int, attempt: Callable[[], Awaitable[T]]) -> T:
        images = max(1, min(images, self.rate.images_per_minute))
        waiter = Waiter(ticket, images, next(self._serial), attempt)
        self._queue.push(waiter)
        ticket.waiting.add(waiter)
        waiter.task = asyncio.ensure_future(self._wait_turn(waiter))
        self._dispatch_soon()
        self._publish()
        try:
            await waiter.task
        except asyncio.CancelledError:
            if waiter.reason is not None and not _current_task_cancelling():
                raise waiter.reason from None
            raise
        finally:
            ticket.waiting.discard(waiter)
            if waiter.request is None and self._queue.remove(waiter):
                self._dispatch_soon()  # it may have been the head
                self._publish()
        assert waiter.request is not None
        try:
            result = await waiter.request
        except RateLimited as error:
            self.rate_limited += 1
            self.pause(error.retry_after)
            raise
        self.observe(result, images)
        return result

    async def _wait_turn(self, waiter: Waiter) -> None:
        """Sleep until the dispatcher hands this request its turn (it cancels the sleep)."""
        try:
            while waiter.request is None:
                waiter.alarm = asyncio.ensure_future(asyncio.sleep(_UNTIL_WOKEN))
                await asyncio.wait({waiter.alarm})
        finally:
            waiter.wake()

    def _dispatch_soon(self) -> None:
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.ensure_future(self._dispatch())
        else:
            self._ring()

    def _ring(self) -> None:
        if self._doorbell is not None:
            self._doorbell.cancel()

    async def _dispatch(self) -> None:
        """Hand out turns while requests wait: the head's, whenever capacity allows it."""
        while len(self._queue):
            self._unpark_ready()
            head = self._queue.peek()
            delay: float | None
            if head is None:  # everyone waiting is parked
                delay = self._parked[0][0] - self._clock()
            else:
                until_share = self.share.delay(head.user, head.images)
                if until_share > 0:
                    self._queue.park(head.user)
                    heapq.heappush(self._parked, (self._clock() + until_share, head.seq, head.user))
                    continue
                delay = self._delay(head.images)
                if delay == 0:
                    self._take(head)
                    continue
                if self._parked:
                    unpark_in = self._parked[0][0] - self._clock()
                    delay = unpark_in if delay is None else min(delay, unpark_in)
            self._doorbell = asyncio.ensure_future(asyncio.sleep(_UNTIL_WOKEN))
            tasks = {t for t in self._in_flight if not t.done()} | {self._doorbell}
            await asyncio.wait(tasks, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            self._doorbell.cancel()
            self._doorbell = None

    def _unpark_ready(self) -> None:
        now = self._clock()
        while self._parked and self._parked[0][0] <= now:
            _, _, user = heapq.heappop(self._parked)
            self._queue.unpark(user)

    def _delay(self, images: int) -> float | None:
        """0 if a request of ``images`` may go now; seconds until it may; None while all slots are busy."""
        if self.max_concurrency is not None and len(self._in_flight) >= self.max_concurrency:
            return None
        return self.rate.delay(images)

    def _take(self, waiter: Waiter) -> None:
        """Give ``waiter`` (its member's first) its turn: count its images and start its request, in
        one step."""
        self._queue.serve(waiter)
        self.rate.record(waiter.images)
        self.share.record(waiter.user, waiter.images)
        waiter.request = asyncio.ensure_future(waiter.attempt())
        self._in_flight.add(waiter.request)
        waiter.request.add_done_callback(self._in_flight.discard)
        waiter.wake()
        self._publish(taken=waiter.ticket)

    def _publish(self, taken: Ticket | None = None) -> None:
        """Tell every waiting job its best place, and the job whose turn just came that it came.

        A job that stopped waiting without a turn (withdrawn) is told nothing here: its own failure
        path explains what happened.
        """
        best: dict[Ticket, int] = {}
        for place, waiter in enumerate(self._queue.order(), start=1):
            best.setdefault(waiter.ticket, place)
        for ticket, place in best.items():
            ticket.progress.show(place)
        if taken is not None and taken not in best:
            taken.progress.show(0)

    # --- read by the operator's health check and metrics (nothing here changes the scheduler) ---

    @property
    def waiting(self) -> int:
        """Upstream requests waiting for their turn."""
        return len(self._queue)

    def paused_for(self) -> float:
        """Seconds every request is still held after a 429 (0: none is)."""
        return self.rate.paused_for()

    def stalled(self) -> str | None:
        """Why requests wait that nothing will let go (None: none does): no dispatcher, or one asleep
        while the head of the queue could go now. Momentarily true as a timer fires; a health check
        reports it only when it lasts."""
        if not len(self._queue):
            return None
        if self._dispatcher is None or self._dispatcher.done():
            return "requests wait but nothing hands out turns"
        head = self._queue.peek()
        if head is None or self._doorbell is None:  # everyone parked, or the dispatcher is at work
            return None
        if self.share.delay(head.user, head.images) <= 0 and self._delay(head.images) == 0:
            return "the next request could go but waits"
        return None


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
