"""``/healthz`` and ``/metrics`` for operators (METRICS_PORT): a small aiohttp server in the bot's loop.

``/healthz`` answers 200 ``ok`` only when every part a member's job needs works: this process is
connected to Discord (every shard it runs), the store answers a read, and the upstream limiter is not
stuck (requests waiting that nothing lets go, for longer than ``STALL_GRACE``). Otherwise 503 with the
first reason in a short plain-text line. ``/metrics`` is ``bot.metrics`` in Prometheus's format.

The server starts with the services (before the bot connects: until then ``/healthz`` says so) and
closes with them. Nothing here imports discord: the bot hands in how to tell it is connected.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from aiohttp import web

from bot.core.scheduling import Scheduler
from bot.metrics import Metrics
from bot.store import Store

__all__ = ["STALL_GRACE", "STORE_TIMEOUT", "Monitor"]

log = logging.getLogger(__name__)

STALL_GRACE = 10.0  # seconds a stalled limiter is given before it counts as stuck
STORE_TIMEOUT = 10.0  # seconds the store's health read may take


def _not_yet() -> str | None:
    return "not connected to Discord yet"


class Monitor:
    def __init__(
        self, metrics: Metrics, store: Store, scheduler: Scheduler, *, stall_grace: float = STALL_GRACE
    ) -> None:
        self.metrics = metrics
        self.stall_grace = stall_grace
        self._store = store
        self._scheduler = scheduler
        #: why this process is not connected to Discord (None: it is); the bot sets its own
        self.connection: Callable[[], str | None] = _not_yet
        self._stalled_since: float | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the port listened on, once started

    async def start(self, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - a container's port
        """Listen on ``host:port`` (0: a free port; ``port`` then says which)."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        listening = socket.create_server((host, port))  # bound here, so a port 0 is known
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        try:
            await runner.setup()
            await web.SockSite(runner, listening).start()
        except BaseException:
            await runner.cleanup()
            listening.close()
            raise
        self._runner = runner
        self.port = int(listening.getsockname()[1])
        log.info("serving /healthz and /metrics on port %d", self.port)

    async def aclose(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def problem(self) -> str | None:
        """Why this process is not healthy (the first reason found), or None."""
        connection = self.connection()
        if connection is not None:
            return connection
        try:
            await asyncio.wait_for(self._store.ping(), STORE_TIMEOUT)
        except Exception as error:  # any failure to answer is the answer
            return f"the database does not answer ({_describe(error)})"
        return self._limiter_problem()

    def _limiter_problem(self) -> str | None:
        stalled = self._scheduler.stalled()
        now = asyncio.get_running_loop().time()
        if stalled is None:
            self._stalled_since = None
            return None
        if self._stalled_since is None:
            self._stalled_since = now
        if now - self._stalled_since < self.stall_grace:
            return None
        return f"the upstream limiter is stuck: {stalled}"

    async def _healthz(self, request: web.Request) -> web.Response:
        problem = await self.problem()
        if problem is None:
            return web.Response(text="ok\n")
        return web.Response(status=503, text=problem + "\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {STORE_TIMEOUT:.0f}s"
    return str(error) or type(error).__name__
