"""Drive the real bot through SimCord's in-memory Discord on the REAL clock, and measure it.

What runs is what production runs: ``bot.app.create_bot()`` built from environment variables (as
tests/conftest.py does), its cogs, discord.py's interaction parsing and dispatch, the job pipeline,
SQLite on disk, and the Images API client talking HTTP to the fake Images API (tests/fakeapi, in
a child process: see bench/fakeproc.py). Only Discord is simulated, by SimCord. With
``Settings(bot="peer")`` the same harness drives the BASELINE peer-shaped bot (bench/peer_bot.py)
instead, built from the same environment, so that both are measured the same way.

Two things differ from the test suite, on purpose:

1. **Many interactions at once.** SimCord's actor calls (``member.slash``) cannot overlap and each
   one settles until the bot is idle. The harness goes one layer down: it builds each
   INTERACTION_CREATE payload with the helpers ``member.slash`` itself uses and emits it on the
   backend's gateway (which calls discord.py's ``ConnectionState.parsers``), without settling, so
   any number of interactions can be in flight.
2. **The real clock.** SimCord runs the bot on a virtual clock (``asyncio.sleep``, ``loop.time()``
   and ``time.monotonic()`` inside the bot are virtual; timers fire when SimCord settles or
   advances time). Under concurrent load that stalls every bot timer (a rate limiter's wait, a
   retry's back-off) until all other bot work is idle, which would make every figure meaningless.
   After start-up (attach the bot, sync commands, create the guild and members, all under
   SimCord's normal control) the harness lifts SimCord's event-loop hooks and clock patches,
   exactly as SimCord does when it detaches a bot, so the bot then runs on the real clock, as in
   production. The in-memory Discord (HTTP routes, gateway, CDN) stays in place.

SimCord internals used (written against simcord 3.2.1 with discord.py 2.7; a warning is printed on
another version): ``simcord.actors._resolve_visible_command``, ``simcord.interactions``
(``walk_to_subcommand``, ``build_options``, ``nest_options``, ``base_payload``),
``Backend.emit``, ``simcord.http.router.dispatch`` (wrapped to time each request the bot makes to
Discord), ``Backend.cdn._blobs`` (the bot's own uploads are dropped after they are posted, so the
fake CDN doesn't count as bot memory), ``simcord._runtime._restore_loop`` and
``simcord._dpy_internals.release_clocks`` (the real-clock switch).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import simcord
from simcord import _dpy_internals
from simcord import actors as simcord_actors
from simcord import interactions as simcord_interactions
from simcord._runtime import _restore_loop
from simcord.enums import AppCommandType, InteractionType
from simcord.http import router as simcord_router

from bench.fakeproc import RemoteFake
from bot.config import VARIABLES

ROOT = Path(__file__).resolve().parent.parent
SIMCORD_TESTED = "3.2.1"
#: set by ``bench.run --diagnose``: benchmarks add where the event loop stalled to their notes
DIAGNOSE = False
ACK_DEADLINE = 3.0  # Discord's: an interaction not acknowledged within 3 s fails for the user

BASE_ENV = {
    "DEFAULT_QUOTA": "1000000",
    "QUOTA_PERIOD": "day",
    "IMAGE_MODEL": "gpt-image-2",
    "OPENAI_MAX_RETRIES": "2",
    "MESSAGE_CONTENT_INTENT": "true",
}

if simcord.__version__ != SIMCORD_TESTED:  # pragma: no cover - depends on the environment
    warnings.warn(
        f"bench/harness.py uses SimCord internals written against {SIMCORD_TESTED}; "
        f"found {simcord.__version__}",
        stacklevel=1,
    )


def bot_reads(variable: str) -> bool:
    """Whether the bot's source reads ``variable`` (for settings that may not exist yet)."""
    return any(variable in path.read_text(encoding="utf-8") for path in (ROOT / "bot").rglob("*.py"))


# -- statistics ------------------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident memory now, in MiB (NaN where /proc isn't there)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between closest ranks; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.1f} ms"


# -- event-loop lag --------------------------------------------------------------------------------


class LagProbe:
    """Measures how long the event loop keeps a ready callback waiting, on the real clock.

    A thread schedules a callback with ``loop.call_soon_threadsafe`` every ``interval`` seconds and
    records how late the loop runs it: exactly how long the loop was busy or blocked elsewhere.
    (``asyncio.sleep`` can't be used for this under SimCord, and a thread can't be blocked by the
    loop.) One probe is outstanding at a time, so a 300 ms block shows as one 300 ms sample.

    While a probe waits longer than ``STALL`` the thread also samples the loop thread's stack every
    ``STALL`` seconds (``sys._current_frames``), so ``blockers()`` can say where the loop spent its
    stalls, weighted by time, without slowing anything when the loop is responsive.
    """

    STALL = 0.02

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = 0.01) -> None:
        self._loop = loop
        self._interval = interval
        self._stop = threading.Event()
        self._ran = threading.Event()
        self._loop_thread = threading.get_ident()
        self.samples: list[tuple[float, float]] = []  # (sent at, lag), perf_counter seconds
        self.stalls: list[tuple[float, str]] = []  # (sampled at, where the loop thread was)
        self._thread = threading.Thread(target=self._run, name="lag-probe", daemon=True)

    def start(self) -> LagProbe:
        """Start probing the loop; call from the loop's own thread."""
        self._loop_thread = threading.get_ident()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _pong(self, sent: float) -> None:
        self.samples.append((sent, time.perf_counter() - sent))
        self._ran.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._ran.clear()
            try:
                self._loop.call_soon_threadsafe(self._pong, time.perf_counter())
            except RuntimeError:  # the loop closed
                return
            while not self._ran.wait(self.STALL):
                if self._stop.is_set():
                    return
                frame = sys._current_frames().get(self._loop_thread)
                if frame is not None:
                    self.stalls.append((time.perf_counter(), _where(frame)))
            time.sleep(self._interval)

    def lags(self, start: float, end: float) -> list[float]:
        """Lags of the probes sent between ``start`` and ``end`` (perf_counter seconds)."""
        return [lag for sent, lag in list(self.samples) if start <= sent <= end]

    def blockers(self, start: float, end: float, top: int = 5) -> str:
        """Where the loop thread was while a probe waited over ``STALL``, most frequent first."""
        found = Counter(where for when, where in list(self.stalls) if start <= when <= end)
        return "; ".join(
            f"{round(count * self.STALL * 1000)} ms in {where}" for where, count in found.most_common(top)
        )


_OWN_CODE = (f"{ROOT}/bot/", f"{ROOT}/cogs/", f"{ROOT}/bench/peer_bot.py")


def _where(frame: FrameType | None) -> str:
    """The innermost frame, and the innermost frame of the bot's own code under it, if another."""
    innermost = frame
    own = None
    while frame is not None:
        if any(part in frame.f_code.co_filename for part in _OWN_CODE):
            own = frame
            break
        frame = frame.f_back

    def show(f: FrameType) -> str:
        path = f.f_code.co_filename.removeprefix(f"{ROOT}/")
        path = re.sub(r"^.*/(site-packages|python3\.\d+)/", "", path)
        return f"{f.f_code.co_name} ({path}:{f.f_lineno})"

    if innermost is None:
        return "?"
    if own is None or own is innermost:
        return show(innermost)
    return f"{show(innermost)} under {show(own)}"


# -- Discord side: interactions and what the bot sends back ----------------------------------------


@dataclass
class Sent:
    """One interaction dispatched to the bot, and what became of it (perf_counter seconds)."""

    index: int
    interaction_id: str
    token: str
    user_id: int
    dispatched: float = 0.0
    dispatched_monotonic: float = 0.0  # the same instant on time.monotonic(), the fake's clock
    acked: float | None = None  # the initial response (callback) reached Discord
    ack_type: int | None = None  # 5: deferred "thinking…", 4: an immediate message (a refusal)
    ack_error: str | None = None
    result: float | None = None  # first message with files (the images) reached Discord
    result_files: int = 0
    edits: int = 0  # other interaction webhook calls (queue positions, error messages)
    last_text: str | None = None
    finished: float | None = None  # every task the interaction started has ended
    tasks: set[asyncio.Task[Any]] = field(default_factory=set, repr=False)

    @property
    def ack_latency(self) -> float | None:
        return None if self.acked is None else self.acked - self.dispatched

    @property
    def end_to_end(self) -> float | None:
        return None if self.result is None else self.result - self.dispatched


class DiscordRecorder:
    """Wraps SimCord's REST router: timestamps every request the bot makes to Discord."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._original = simcord_router.dispatch
        self.by_id: dict[str, Sent] = {}
        self.by_token: dict[str, Sent] = {}
        self.calls = 0
        self.by_route: dict[str, int] = {}
        self.failed_calls = 0
        self.uploaded_bytes = 0
        self.drop_uploads = True

    def install(self) -> None:
        simcord_router.dispatch = self._dispatch

    def uninstall(self) -> None:
        simcord_router.dispatch = self._original

    def track(self, sent: Sent) -> None:
        self.by_id[sent.interaction_id] = sent
        self.by_token[sent.token] = sent

    def _dispatch(self, backend: Any, method: str, path: str, **kwargs: Any) -> Any:
        arrived = time.perf_counter()
        parts = path.strip("/").split("/")
        sent: Sent | None = None
        kind = ""
        if parts[0] == "interactions" and parts[-1] == "callback" and len(parts) == 4:
            sent, kind = self.by_id.get(parts[1]), "callback"
        elif parts[0] == "webhooks" and len(parts) >= 3:
            sent, kind = self.by_token.get(parts[2]), "webhook"
        files = kwargs.get("files") or []
        blobs = backend.cdn._blobs
        before = len(blobs)
        self.calls += 1
        last = "{token}" if kind == "webhook" and len(parts) == 3 else parts[-1]
        route = f"{method} /{parts[0]}/…/{last}" if len(parts) > 2 else f"{method} {path}"
        self.by_route[route] = self.by_route.get(route, 0) + 1
        try:
            result = self._original(backend, method, path, **kwargs)
        except Exception as error:
            self.failed_calls += 1
            if sent is not None and kind == "callback" and sent.acked is None:
                sent.ack_error = repr(error)
            raise
        done = time.perf_counter()
        if files and len(blobs) > before:
            for url in list(itertools.islice(blobs, before, None)):
                self.uploaded_bytes += len(blobs[url])
                if self.drop_uploads:  # the bot's upload is measured, not kept: it isn't bot memory
                    blobs[url] = b""
        if sent is not None:
            body: dict[str, Any] = kwargs["json"] if isinstance(kwargs.get("json"), dict) else {}
            if kind == "callback":
                if sent.acked is None:
                    sent.acked = arrived
                    sent.ack_type = body.get("type")
            elif files and sent.result is None:
                sent.result = done
                sent.result_files = len(files)
            else:
                sent.edits += 1
                if body.get("content"):
                    sent.last_text = body["content"]
        return result


# -- the harness -----------------------------------------------------------------------------------


async def _build_bot(which: str) -> Any:
    """The bot to drive, built from the environment: ours as ``python -m bot`` builds it, or the peer."""
    if which == "ours":
        from bot.app import create_bot

        return await create_bot()
    if which == "peer":
        from bench.peer_bot import create_peer_bot

        return create_peer_bot()
    raise ValueError(f"unknown bot {which!r}: choose from {', '.join(BOTS)}")


async def _release(bot: Any) -> None:
    """Close what SimCord's shutdown leaves open: ours' services, the peer's session."""
    release = getattr(bot, "release", None)
    if release is not None:
        await release()
        return
    await bot.services.aclose()


@dataclass
class Settings:
    latency: float = 2.0  # the fake's answer time, seconds
    fake_images_per_minute: int | None = None
    rate_window: float = 60.0  # the fake's window; OPENAI_RATE_WINDOW_SECONDS too, when set in env
    members: int = 10
    env: dict[str, str] = field(default_factory=dict)  # extra/overriding bot environment variables
    #: which bot to drive: "ours" (``bot.app.create_bot()``) or "peer" (the BASELINE peer-shaped bot of
    #: bench/peer_bot.py, built from the same environment); everything else is the same
    bot: str = "ours"


BOTS = {"ours": "this bot", "peer": "BASELINE peer-shaped bot"}


class Harness:
    """``async with Harness(settings) as h:`` a started bot in a guild with ``settings.members``
    members (``h.members``) and a channel (``h.channel``), on the real clock, with a lag probe."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fake: RemoteFake | None = None
        self.env: simcord.Env | None = None
        self.bot: Any = None
        self.members: list[Any] = []
        self.probe: LagProbe | None = None
        self.recorder: DiscordRecorder | None = None
        self.bot_env: dict[str, str] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="imagebot-bench-")
        self._counter = itertools.count()
        self._roots: dict[str, dict[str, Any]] = {}
        self._baseline: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> Harness:
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _start(self) -> None:
        s = self.settings
        self.fake = RemoteFake(
            latency=s.latency, images_per_minute=s.fake_images_per_minute, rate_window=s.rate_window
        )
        for name in VARIABLES:
            os.environ.pop(name, None)
        self.bot_env = {
            **BASE_ENV,
            "OPENAI_API_KEY": self.fake.api_key,
            "OPENAI_BASE_URL": self.fake.base_url,
            "DATABASE_URL": f"sqlite:///{Path(self._tmp.name) / 'data' / 'bot.db'}",
            **s.env,
        }
        os.environ.update(self.bot_env)

        self.bot = await _build_bot(s.bot)
        self.env = simcord.Env(self.bot, settle_timeout=60.0)
        await self.env.start()
        guild = self.env.create_guild(name="Bench")
        self.guild = guild
        self.channel = guild.create_text_channel("images")
        self.members = [guild.add_member(self.env.create_user(f"user{i}")) for i in range(s.members)]
        self.warmup_member = guild.add_member(self.env.create_user("warm-up"))
        await self.env.settle()
        self._lift_virtual_clock()
        self.recorder = DiscordRecorder(self.env.backend)
        self.recorder.install()
        self.probe = LagProbe(asyncio.get_running_loop()).start()
        self._baseline = asyncio.all_tasks()  # long-lived tasks from start-up don't count as work

    def _lift_virtual_clock(self) -> None:
        """Put back the event loop's own methods and the real clocks (as SimCord's detach does)."""
        assert self.env is not None
        _restore_loop(self.env)
        _dpy_internals.release_clocks(self.env)

    async def close(self) -> None:
        try:
            if self.probe is not None:
                self.probe.stop()
            with contextlib.suppress(Exception):
                await self.wait_idle(10)
            if self.recorder is not None:
                self.recorder.uninstall()
            if self.env is not None and self.env._started:
                with contextlib.suppress(Exception):
                    await self.env.shutdown()
            if self.bot is not None:  # as conftest does: SimCord's shutdown doesn't close the bot
                await _release(self.bot)
        finally:
            if self.fake is not None:
                self.fake.stop()
            self._tmp.cleanup()

    # -- interactions ------------------------------------------------------------------------------

    def prepare_slash(self, member: Any, name: str, **options: Any) -> tuple[Any, dict[str, Any]]:
        """The INTERACTION_CREATE payload ``member.slash(channel, name, **options)`` would emit
        (attachments are uploaded to SimCord's CDN now)."""
        assert self.env is not None
        root = self._roots.get(name)
        if root is None:
            root = simcord_actors._resolve_visible_command(
                member, self.channel.id, name, AppCommandType.CHAT_INPUT
            )
            self._roots[name] = root
        leaf, nesting = simcord_interactions.walk_to_subcommand(root, [])
        leaf_options, resolved = simcord_interactions.build_options(
            member, name, leaf, options, channel_id=self.channel.id
        )
        data: dict[str, Any] = {
            "id": root["id"],
            "name": root["name"],
            "type": root.get("type", AppCommandType.CHAT_INPUT),
            "options": simcord_interactions.nest_options(root, nesting, leaf_options),
        }
        if resolved:
            data["resolved"] = resolved
        if root.get("guild_id"):
            data["guild_id"] = root["guild_id"]
        return simcord_interactions.base_payload(
            self.env.backend,
            type=InteractionType.APPLICATION_COMMAND,
            channel_id=self.channel.id,
            guild_id=self.guild.id,
            user_id=member.id,
            data=data,
        )

    def dispatch(self, prepared: tuple[Any, dict[str, Any]]) -> Sent:
        """Deliver one prepared interaction to the bot now, as the gateway would; no settling."""
        assert self.env is not None and self.recorder is not None
        record, payload = prepared
        sent = Sent(next(self._counter), payload["id"], payload["token"], record.user_id)
        self.recorder.track(sent)
        before = asyncio.all_tasks()
        sent.dispatched_monotonic = time.monotonic()
        sent.dispatched = time.perf_counter()
        self.env.backend.emit("INTERACTION_CREATE", payload)
        sent.tasks = asyncio.all_tasks() - before

        def finished(_: asyncio.Task[Any], sent: Sent = sent) -> None:
            if all(task.done() for task in sent.tasks):
                sent.finished = time.perf_counter()

        for task in sent.tasks:
            task.add_done_callback(finished)
        if not sent.tasks:
            sent.finished = time.perf_counter()
        return sent

    async def burst(self, prepared: Iterable[tuple[Any, dict[str, Any]]]) -> list[Sent]:
        """Dispatch interactions back to back, yielding to the loop once between two (as a gateway
        reader does between messages)."""
        sent = []
        for item in prepared:
            sent.append(self.dispatch(item))
            await asyncio.sleep(0)
        return sent

    async def warm_up(self, name: str = "imagine", **options: Any) -> None:
        """One job start to end, without latency, before measuring: a running bot is long warm
        (HTTP connections open, lazy imports and caches done)."""
        latency = self.fake_get("latency")
        self.fake_set("latency", 0)
        try:
            sent = self.dispatch(
                self.prepare_slash(self.warmup_member, name, **(options or {"prompt": "warm-up"}))
            )
            await self.wait_finished([sent], timeout=60)
            await self.wait_idle(10)
        finally:
            self.fake_set("latency", latency)

    async def wait_finished(self, sent: Sequence[Sent], timeout: float) -> bool:
        """Wait until every task the interactions started has ended; False on timeout."""
        tasks = {task for s in sent for task in s.tasks if not task.done()}
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        return not pending

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no task started after start-up runs but the caller (the bot's follow-up work
        has ended)."""
        deadline = time.perf_counter() + timeout
        current = asyncio.current_task()
        while True:
            others = {
                task
                for task in asyncio.all_tasks()
                if task is not current and not task.done() and task not in self._baseline
            }
            if not others:
                return True
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            await asyncio.wait(others, timeout=min(remaining, 0.5), return_when=asyncio.FIRST_COMPLETED)

    def note_stalls(self, result: Any, start: float, end: float) -> None:
        """With --diagnose, add where the loop was while it kept probes waiting (``result.note``)."""
        if DIAGNOSE and self.probe is not None:
            found = self.probe.blockers(start, end)
            result.note(f"--diagnose: loop stalls over {LagProbe.STALL * 1000:.0f} ms: {found or 'none'}")

    def note_problems(self, result: Any, sent: Sequence[Sent], finished: bool = True) -> None:
        """Add to ``result``'s notes whatever went wrong: jobs still running or without images,
        errors the bot raised that aren't refusals, requests the fake found invalid."""
        if not finished:
            result.note("some jobs were still running when the benchmark stopped waiting")
        failed = [s for s in sent if s.result is None]
        if failed:
            texts = [s.last_text for s in failed if s.last_text]
            result.note(
                f"{len(failed)} job(s) posted no images"
                + (f"; the last message of one: {texts[0]!r}" if texts else "")
            )
        errors = self.unexpected_errors()
        if errors:
            result.note(f"unexpected errors in the bot: {len(errors)}, e.g. {errors[0]}")
        invalid = self.fake_get("validation_errors")
        if invalid:
            result.note(f"the fake found {len(invalid)} request(s) invalid, e.g. {invalid[0]}")

    def time_calls(self, owner: Any, name: str) -> list[float]:
        """Time every call of the coroutine method ``owner.name`` from now on (a diagnostic: the
        instance attribute shadows the method; behaviour is unchanged). Returns the durations list."""
        original = getattr(owner, name)
        durations: list[float] = []

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                durations.append(time.perf_counter() - start)

        setattr(owner, name, timed)
        return durations

    # -- reading the fake --------------------------------------------------------------------------

    def fake_get(self, name: str) -> Any:
        assert self.fake is not None
        return self.fake.get(name)

    def fake_set(self, name: str, value: Any) -> None:
        assert self.fake is not None
        self.fake.set(name, value)

    def unexpected_errors(self, expected: Callable[[BaseException], bool] | None = None) -> list[str]:
        """Errors SimCord saw the bot raise that are not domain errors (BotError) — bugs."""
        assert self.env is not None
        from bot.errors import BotError
        from bot.ui.error_handler import unwrap

        found = []
        for error in self.env.errors:
            inner = unwrap(error)
            if isinstance(inner, BotError) or (expected is not None and expected(inner)):
                continue
            found.append(f"{type(inner).__name__}: {inner}")
        return found
