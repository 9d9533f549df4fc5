"""One upstream limiter shared by every job, with a fair queue in front of it.

- Capacity: at most ``max_concurrency`` requests in flight and at most ``images_per_minute``
  images sent in any rolling window (counted when a request is sent, kept a little longer than
  the window so the upstream's own count, taken on arrival, never sees more). A 429, or
  ``x-ratelimit-*`` headers saying the budget is spent, pause everyone until it is safe again,
  instead of each job retrying on its own.
- Fairness: waiting requests are served round-robin between users (whoever was served longest
  ago goes first; each user's own requests in order), so one user's batch can't starve others.
  Each user may have at most ``max_jobs_per_user`` jobs queued or running.
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
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.errors import BotError, UserInputError
from bot.fair_queue import FairQueue
from bot.images import RateLimited, RateLimitInfo

log = logging.getLogger(__name__)

T = TypeVar("T")
PositionCallback = Callable[[int], Awaitable[None]]
"""Told the request's place in the queue (1 = next) while it waits, and 0 when its turn comes."""

PAUSE_WITHOUT_RETRY_AFTER = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # consecutive 429s with no Retry-After
REPORT_INTERVAL = 1.0  # seconds at least between two place updates of one job
#: place updates after the first place shown: once when the place has at least halved, once when it
#: grew (a member served less recently went ahead). A job that only moves up — every job of a burst
#: of members — costs at most 5 Discord calls whatever the queue's length: the acknowledgement, the
#: first place, one update, the turn and the result (its webhook shares one rate-limit bucket).
HALVINGS_SHOWN = 1
GROWTHS_SHOWN = 1
MAX_PAUSE = 120.0  # the longest everyone is held after one 429 before a request probes again
_UNTIL_WOKEN = 10.0**9  # a sleep that ends only when it is cancelled (a turn handed out, a change)


class TooManyJobs(UserInputError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} jobs queued or running per user")
        self.limit = limit


class JobCancelled(BotError):
    """The job's owner withdrew it while it waited."""


class ShuttingDown(BotError):
    """The bot is stopping: it takes no new jobs, and jobs that couldn't finish are refunded."""


@dataclass(eq=False)
class _Waiter:
    ticket: Ticket
    images: int
    seq: int
    attempt: Callable[[], Awaitable[object]]
    task: asyncio.Task[None] | None = None  # waiting for the turn
    request: asyncio.Task[object] | None = None  # the request, started the moment the turn is taken
    reason: BotError | None = None  # why the turn was withdrawn (owner cancelled, shutdown)
    alarm: asyncio.Task[None] | None = None  # the sleep a waiting request is woken from

    @property
    def user(self) -> object:
        return self.ticket.user

    def wake(self) -> None:
        if self.alarm is not None:
            self.alarm.cancel()


@dataclass(eq=False)
class Ticket:
    """One job's place with the scheduler: admitted up to the per-user cap, closed when it ends."""

    scheduler: Scheduler
    user: object
    on_position: PositionCallback | None = None
    closed: bool = False
    _waiting: set[_Waiter] = field(default_factory=set, repr=False)
    _target: int = field(default=0, repr=False)  # the place to show (0: not waiting)
    _reported: int | None = field(default=None, repr=False)  # the place last shown
    _reported_at: float | None = field(default=None, repr=False)  # loop time it was shown
    _halvings_left: int = field(default=HALVINGS_SHOWN, repr=False)
    _growths_left: int = field(default=GROWTHS_SHOWN, repr=False)
    _reporting: asyncio.Task[None] | None = field(default=None, repr=False)
    _spacing: asyncio.Task[None] | None = field(default=None, repr=False)  # the pause between updates

    async def gate(self, images: int, attempt: Callable[[], Awaitable[T]]) -> T:
        """Wait for a fair turn and capacity, then run one upstream request as a task."""
        return await self.scheduler._run(self, images, attempt)

    def cancel(self, reason: BotError) -> bool:
        """Withdraw the job's waiting requests; False if none is waiting (it runs, or it's done)."""
        withdrawn = False
        for waiter in list(self._waiting):
            if waiter.task is not None and not waiter.task.done():
                waiter.reason = reason
                waiter.task.cancel()
                waiter.wake()
                withdrawn = True
        return withdrawn

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.on_position = None  # the job is over: its message now shows the result
            self.scheduler._close_ticket(self)

    async def reports_done(self) -> None:
        """Wait until the last place shown is final (call before replacing the message with a result)."""
        while self._reporting is not None and not self._reporting.done():
            await asyncio.shield(self._reporting)

    def _show(self, place: int) -> None:
        """Ask for ``place`` to be shown: one report task per job, coalescing quick changes."""
        self._target = place
        if self.on_position is None or not self._worth_showing(place):
            return
        if place == 0 and self._spacing is not None:
            self._spacing.cancel()  # the turn is shown at once
        if self._reporting is None or self._reporting.done():
            self._reporting = asyncio.ensure_future(self._report_changes())

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
                pause = max(0.0, self._reported_at + REPORT_INTERVAL - loop.time())
                self._spacing = asyncio.ensure_future(asyncio.sleep(pause))
                await asyncio.wait({self._spacing})  # cancelled when the turn comes
                self._spacing = None
                if not self._worth_showing(self._target):
                    return
            show = self.on_position
            if show is None:  # the job ended meanwhile: its message shows the outcome now
                return
            place = self._target
            if self._reported is not None and place > self._reported:
                self._growths_left -= 1
            elif self._reported is not None and place != 0:
                self._halvings_left -= 1
            self._reported, self._reported_at = place, loop.time()
            try:
                await show(place)
            except Exception:
                log.warning("could not show a queue position", exc_info=True)


class Scheduler:
    def __init__(
        self,
        *,
        images_per_minute: int,
        max_concurrency: int,
        max_jobs_per_user: int,
        window: float = 60.0,
        margin: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if images_per_minute < 1 or max_concurrency < 1 or max_jobs_per_user < 1:
            raise ValueError("limits must be at least 1")
        self.images_per_minute = images_per_minute
        self.max_concurrency = max_concurrency
        self.max_jobs_per_user = max_jobs_per_user
        self.window = window
        # Requests reach upstream a little after we count them: keep them counted a little longer
        # than the window so upstream's own count never sees more (0.5 s on a minute).
        self.margin = min(0.5, window / 120) if margin is None else margin
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._sent: deque[tuple[float, int]] = deque()  # (when sent, images) within the window
        self._sent_images = 0  # the sum of _sent's counts, kept as it changes
        self._in_flight: set[asyncio.Task[object]] = set()
        self._queue: FairQueue[_Waiter] = FairQueue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._doorbell: asyncio.Task[None] | None = None  # cancelled to make the dispatcher look again
        self._active: dict[object, int] = {}  # jobs queued or running, per user
        self._serial = itertools.count()  # arrival order of requests
        self._paused_until = 0.0
        self._pauses_in_a_row = 0
        self._stopping: BotError | None = None
        self.rate_limited = 0  # 429s seen, for the benchmark and logs

    # --- admission ---

    def admit(self, user: object) -> Ticket:
        if self._stopping is not None:
            raise self._stopping
        if self._active.get(user, 0) >= self.max_jobs_per_user:
            raise TooManyJobs(self.max_jobs_per_user)
        self._active[user] = self._active.get(user, 0) + 1
        return Ticket(self, user)

    def _close_ticket(self, ticket: Ticket) -> None:
        left = self._active.get(ticket.user, 0) - 1
        if left > 0:
            self._active[ticket.user] = left
        else:
            self._active.pop(ticket.user, None)

    def stop(self, reason: BotError) -> None:
        """Take no new jobs; every request still waiting for its turn fails with ``reason``."""
        self._stopping = reason
        for waiter in self._queue.order():
            waiter.ticket.cancel(reason)

    # --- what upstream said ---

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
        self._ring()

    def observe(self, info: RateLimitInfo | None) -> None:
        """Learn from a successful response's ``x-ratelimit-*`` headers.

        Their reset is when the whole window is free again, later than our own rolling count knows
        slots free; so they only pause everyone when our count still sees budget upstream says is
        gone (the configured limit is higher than the account's real one).
        """
        self._pauses_in_a_row = 0
        if info is None or info.remaining_requests != 0 or not info.reset_requests:
            return
        if self._window_used() < self.images_per_minute:
            self._paused_until = max(self._paused_until, self._clock() + info.reset_requests)

    # --- waiting and running ---

    async def _run(self, ticket: Ticket, images: int, attempt: Callable[[], Awaitable[T]]) -> T:
        images = max(1, min(images, self.images_per_minute))
        waiter = _Waiter(ticket, images, next(self._serial), attempt)
        self._queue.push(waiter)
        ticket._waiting.add(waiter)
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
            ticket._waiting.discard(waiter)
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
        self.observe(getattr(result, "rate_limit", None))
        return result  # type: ignore[return-value]

    async def _wait_turn(self, waiter: _Waiter) -> None:
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
        while (head := self._queue.peek()) is not None:
            delay = self._delay(head.images)
            if delay == 0:
                self._take(head)
                continue
            self._doorbell = asyncio.ensure_future(asyncio.sleep(_UNTIL_WOKEN))
            tasks = {t for t in self._in_flight if not t.done()} | {self._doorbell}
            await asyncio.wait(tasks, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            self._doorbell.cancel()
            self._doorbell = None

    def _publish(self, taken: Ticket | None = None) -> None:
        """Tell every waiting job its best place, and the job whose turn just came that it came.

        A job that stopped waiting without a turn (withdrawn) is told nothing here: its own failure
        path explains what happened.
        """
        best: dict[Ticket, int] = {}
        for place, waiter in enumerate(self._queue.order(), start=1):
            best.setdefault(waiter.ticket, place)
        for ticket, place in best.items():
            ticket._show(place)
        if taken is not None and taken not in best:
            taken._show(0)

    def _delay(self, images: int) -> float | None:
        """0 if a request of ``images`` may go now; seconds until it may; None while all slots are busy."""
        now = self._clock()
        if self._paused_until > now:
            return self._paused_until - now
        if len(self._in_flight) >= self.max_concurrency:
            return None
        keep = self.window + self.margin
        used = self._window_used()
        if used + images <= self.images_per_minute:
            return 0
        for sent_at, count in self._sent:
            used -= count
            if used + images <= self.images_per_minute:
                return sent_at + keep - now
        return keep  # unreachable: images never exceeds the limit

    def _window_used(self) -> int:
        """Images sent within the window (and its margin) up to now."""
        now, keep = self._clock(), self.window + self.margin
        while self._sent and self._sent[0][0] + keep <= now:
            self._sent_images -= self._sent.popleft()[1]
        return self._sent_images

    def _take(self, waiter: _Waiter) -> None:
        """Give the head its turn: count its images and start its request, in one step."""
        self._queue.pop()
        self._sent.append((self._clock(), waiter.images))
        self._sent_images += waiter.images
        waiter.request = asyncio.ensure_future(waiter.attempt())
        self._in_flight.add(waiter.request)
        waiter.request.add_done_callback(self._in_flight.discard)
        waiter.wake()
        self._publish(taken=waiter.ticket)


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
