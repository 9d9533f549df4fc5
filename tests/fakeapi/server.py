"""A fake OpenAI Images API: an aiohttp app on 127.0.0.1 in its own thread and event loop.

It runs in real time (the bot under SimCord runs on a virtual clock), validates every request against
the official OpenAPI schema and the fake's own per-model rules (``catalog``, ``rules``), answers with
real images (``answers``), and can be scripted to fail like the real service does (``failures``).
It also serves ``GET /v1/models`` and Azure OpenAI's deployment routes (``gateways``). This module
holds the state tests drive and the request pipeline the OpenAI and Azure routes share.
"""

from __future__ import annotations

import asyncio
import functools
import math
import secrets
import threading
import time
from collections import deque

from aiohttp import web

from . import gateways, rules
from .answers import download, request_tokens, success
from .catalog import ModelCaps
from .failures import FAILURE_KINDS, Failure, scripted
from .parsing import Parsed, parse
from .ratelimit import Admission, RollingWindow, go_duration
from .recording import RecordedRequest

__all__ = ["FAILURE_KINDS", "FakeImagesAPI", "RecordedRequest"]

ENDPOINTS = rules.ENDPOINTS
#: endpoints ``fail(endpoint=...)`` may target; "models" failures apply only when targeted
FAIL_ENDPOINTS = (*ENDPOINTS, "models")
DEFAULT_API_KEY = "sk-test-fake-0000"
#: never recorded: it carries the key (a test asserts this)
_DROPPED_HEADER = "authorization"
#: recorded with its value redacted, so a test can see that the header was sent but never the key
_REDACTED_HEADER = "api-key"
REDACTED = "<redacted>"


class FakeImagesAPI:
    """The fake. ``start()`` (or ``with FakeImagesAPI() as fake:``), then point a client at ``base_url``
    with ``api_key``. Attributes ``latency``, ``served_models``, ``url_results``, ``noise``, ``photo``,
    ``images_per_minute`` and ``rate_window`` may be changed at any time from the test thread;
    ``reset()`` restores them.

    ``images_per_minute``: when set, OpenAI's images-per-minute limit. Images (each request's ``n``)
    are counted in a rolling ``rate_window`` (60 s unless shortened for fast tests) by arrival time,
    in real time; a request that would exceed the limit gets 429 ``rate_limit_exceeded`` at once,
    with ``Retry-After`` (whole seconds until enough of the window frees). Every answer then carries
    ``x-ratelimit-limit/remaining/reset-requests`` describing the window. ``rate_limited_count``
    counts the 429s sent; ``arrivals`` lists ``(time.monotonic(), n)`` of every admitted request.

    ``tokens_per_minute``: when set, a tokens-per-minute limit over the same window, each request
    counted at arrival by the ``usage`` its answer will report (``answers.request_tokens``); a request
    that would exceed it gets 429 "on tokens per min (TPM)". The ``x-ratelimit-*-tokens`` headers
    always describe a token window (a 10,000,000 limit when none is set).

    Gateways (all reset by ``reset()``): ``aliases`` maps a gateway's own model name to a catalog id
    (the request is validated and answered as that model); ``served_models`` holds the names a client
    may send (catalog ids or aliases; None: all); ``shutdown_dates`` gives ``GET /v1/models`` a
    ``shutdown_date`` per listed name (default null); ``models_endpoint`` is "list", "missing" (404) or
    "error" (500); ``azure_deployments`` maps an Azure deployment name to a catalog id, served under
    ``azure_base_url``. See ``gateways``.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        api_key: str = DEFAULT_API_KEY,
        images_per_minute: int | None = None,
        rate_window: float = 60.0,
        tokens_per_minute: int | None = None,
    ) -> None:
        self.api_key = api_key
        self.base_url = ""
        self.azure_base_url = ""
        self._initial_latency = latency
        self.latency = latency
        if (images_per_minute is not None and images_per_minute < 1) or rate_window <= 0:
            raise ValueError("images_per_minute must be at least 1 (or None) and rate_window positive")
        self._initial_images_per_minute = images_per_minute
        self._initial_rate_window = rate_window
        self._images_per_minute = images_per_minute
        self._rate_window = rate_window
        self._window: RollingWindow | None = None
        self._initial_tokens_per_minute = tokens_per_minute
        self._tokens_per_minute = tokens_per_minute
        self._token_window: RollingWindow | None = None
        self._rate_limited = 0
        self._arrivals: list[tuple[float, int]] = []
        #: answer with photo-like images (gradient and grain: PNGs of real-world size, ~3 MB at 1536x1024)
        self.photo = False
        #: the GPT family's ``usage``: None = computed from the request, a dict = sent as it is,
        #: False = left out (as some gateways do)
        self.usage_answer: dict | bool | None = None
        self.served_models: set[str] | None = None
        self.url_results = False
        #: answer with incompressible (noise) images, to test what doesn't fit Discord's upload limit
        self.noise = False
        #: serve url results with chunked transfer encoding (no Content-Length)
        self.url_chunked = False
        self.aliases: dict[str, str] = {}
        self.shutdown_dates: dict[str, str | None] = {}
        self.azure_deployments: dict[str, str] = {}
        self._models_endpoint = "list"
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._validation_errors: list[str] = []
        self._failures: deque[Failure] = deque()
        self._files: dict[str, tuple[bytes, str]] = {}
        self._downloads: list[str] = []
        self._served = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeImagesAPI:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._startup())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                if self._runner is not None:
                    loop.run_until_complete(self._runner.cleanup())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-images-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Images API did not start within 10 s")
        if failure:
            self._thread = None
            raise failure[0]
        return self

    async def _startup(self) -> None:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_get("/v1/_files/{token}", functools.partial(download, self))
        app.router.add_route("*", "/v1/{tail:.*}", self._api)
        app.router.add_route("*", "/openai/{tail:.*}", self._azure)
        self._runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=0.5, handler_cancellation=True, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.azure_base_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.azure_base_url}/v1"

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeImagesAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- test-facing state -------------------------------------------------------------------------

    @property
    def all_requests(self) -> list[RecordedRequest]:
        """Every request received, ``GET /v1/models[/{id}]`` included, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The image requests (generations, edits, variations): what a test counts as image work."""
        return [request for request in self.all_requests if request.endpoint != "models"]

    @property
    def model_list_requests(self) -> list[RecordedRequest]:
        """The ``GET /v1/models[/{id}]`` requests (a bot reads them at start-up and once a day)."""
        return [request for request in self.all_requests if request.endpoint == "models"]

    @property
    def validation_errors(self) -> list[str]:
        with self._lock:
            return list(self._validation_errors)

    @property
    def downloads(self) -> list[str]:
        """Paths of the ``url`` results fetched so far."""
        with self._lock:
            return list(self._downloads)

    @property
    def images_per_minute(self) -> int | None:
        """Images admitted per ``rate_window``; None: no limit."""
        return self._images_per_minute

    @images_per_minute.setter
    def images_per_minute(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("images_per_minute must be at least 1 (or None: no limit)")
        with self._lock:
            self._images_per_minute = value
            self._window = None  # a new limit starts with an empty window

    @property
    def tokens_per_minute(self) -> int | None:
        """Tokens admitted per ``rate_window``; None: no token limit."""
        return self._tokens_per_minute

    @tokens_per_minute.setter
    def tokens_per_minute(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("tokens_per_minute must be at least 1 (or None: no limit)")
        with self._lock:
            self._tokens_per_minute = value
            self._token_window = None

    @property
    def rate_window(self) -> float:
        """Seconds of the rolling window the limit applies to (60: OpenAI's minute)."""
        return self._rate_window

    @rate_window.setter
    def rate_window(self, value: float) -> None:
        if value <= 0:
            raise ValueError("rate_window must be positive")
        with self._lock:
            self._rate_window = value
            self._window = self._token_window = None

    @property
    def rate_limited_count(self) -> int:
        """How many requests the fake refused with 429 for its images-per-minute limit."""
        with self._lock:
            return self._rate_limited

    @property
    def arrivals(self) -> list[tuple[float, int]]:
        """``(time.monotonic(), n)`` at arrival of every request the limit admitted (all requests
        when there is no limit), in arrival order."""
        with self._lock:
            return list(self._arrivals)

    @property
    def models_endpoint(self) -> str:
        """How ``GET /v1/models[/{id}]`` answers: "list" (the models), "missing" (404, as a gateway
        without the endpoint does) or "error" (500)."""
        return self._models_endpoint

    @models_endpoint.setter
    def models_endpoint(self, value: str) -> None:
        if value not in gateways.MODELS_ENDPOINT_MODES:
            raise ValueError(
                f"models_endpoint must be one of {gateways.MODELS_ENDPOINT_MODES}, not {value!r}"
            )
        self._models_endpoint = value

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._validation_errors.clear()
            self._failures.clear()
            self._files.clear()
            self._downloads.clear()
            self._arrivals.clear()
            self._rate_limited = 0
            self._window = self._token_window = None
            self._images_per_minute = self._initial_images_per_minute
            self._tokens_per_minute = self._initial_tokens_per_minute
            self._rate_window = self._initial_rate_window
        self.served_models = None
        self.latency = self._initial_latency
        self.url_results = False
        self.url_chunked = False
        self.noise = False
        self.photo = False
        self.usage_answer = None
        self.aliases = {}
        self.shutdown_dates = {}
        self.azure_deployments = {}
        self._models_endpoint = "list"

    def fail(
        self,
        kind: str,
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
        should_retry: bool | None = None,
        delay: float | None = None,
        message: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Make the next ``times`` image requests (to ``endpoint``, or any) fail as ``kind``. FIFO.

        ``endpoint="models"`` targets ``GET /v1/models[/{id}]``, which an untargeted failure never hits.
        """
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; one of {sorted(FAILURE_KINDS)}")
        if endpoint is not None and endpoint not in FAIL_ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {FAIL_ENDPOINTS}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._failures.append(
                Failure(
                    kind, times, status, retry_after, retry_after_ms, should_retry, delay, message, endpoint
                )
            )

    def _take_failure(self, endpoint: str) -> Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.endpoint == endpoint or (failure.endpoint is None and endpoint != "models"):
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _record_violation(self, text: str) -> None:
        with self._lock:
            self._validation_errors.append(text)

    def _record(self, request: web.Request, parsed: Parsed | None, model: str | None) -> None:
        headers = {
            name: REDACTED if name.lower() == _REDACTED_HEADER else value
            for name, value in request.headers.items()
            if name.lower() != _DROPPED_HEADER
        }
        recorded = RecordedRequest(
            request.method,
            request.path,
            headers,
            parsed.json if parsed else None,
            parsed.form if parsed else {},
            parsed.files if parsed else {},
            model,
            dict(request.query),
        )
        with self._lock:
            self._requests.append(recorded)

    def _store_file(self, data: bytes, image_format: str) -> str:
        """Keep ``data`` for download; its ``url``."""
        token = secrets.token_hex(12)
        with self._lock:
            self._files[token] = (data, f"image/{image_format}")
        return f"{self.base_url}/_files/{token}.{image_format}"

    # -- responses ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            self._served += 1
            served = self._served
            window, tokens = self._window, self._tokens()
            limit, used, reset_in = (
                (window.limit, window.used(now), window.reset_in(now)) if window is not None else (0, 0, 0.0)
            )
            tokens_used, tokens_reset = tokens.used(now), tokens.reset_in(now)
        headers = {
            "x-request-id": f"req_{secrets.token_hex(16)}",
            "openai-processing-ms": "1234",
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": str(max(0, 499 - served % 500)),
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": str(tokens.limit),
            "x-ratelimit-remaining-tokens": str(max(0, tokens.limit - tokens_used)),
            "x-ratelimit-reset-tokens": go_duration(tokens_reset),
        }
        if window is not None:
            headers["x-ratelimit-limit-requests"] = str(limit)
            headers["x-ratelimit-remaining-requests"] = str(max(0, limit - used))
            headers["x-ratelimit-reset-requests"] = go_duration(reset_in)
        return headers

    def _tokens(self) -> RollingWindow:
        """The token window (under the lock): the configured limit, else one nothing reaches."""
        if self._token_window is None:
            self._token_window = RollingWindow(self._tokens_per_minute or 10_000_000, self._rate_window)
        return self._token_window

    def _admit(self, arrived: float, n: int, tokens: int) -> tuple[Admission, str] | None:
        """Count ``n`` images and ``tokens`` against the limits at ``arrived``: None when admitted
        (or there is no limit), else the refusal and what ran out ("images" or "tokens")."""
        with self._lock:
            token_window = self._tokens()
            if self._images_per_minute is not None and self._window is None:
                self._window = RollingWindow(self._images_per_minute, self._rate_window)
            image_wait = self._window.wait(arrived, n) if self._window is not None else 0.0
            token_wait = token_window.wait(arrived, tokens) if self._tokens_per_minute else 0.0
            if image_wait == 0 and token_wait == 0:
                token_window.admit(arrived, tokens)
                if self._window is not None:
                    self._window.admit(arrived, n)
                self._arrivals.append((arrived, n))
                return None
            self._rate_limited += 1
            if image_wait > 0 and self._window is not None:
                return self._window.admit(arrived, n), "images"
            return token_window.admit(arrived, tokens), "tokens"

    def _rate_limited_response(self, admission: Admission, limited: str, model: str) -> web.Response:
        wait = max(1, math.ceil(admission.retry_after))
        per = "images per minute (ipm)" if limited == "images" else "tokens per min (TPM)"
        return self._error(
            429,
            f"Rate limit reached for {model} in organization org-fake on {per}: "
            f"Limit {admission.limit}, Used {admission.used}, Requested {admission.requested}. "
            f"Please try again in {wait}s. Visit https://platform.openai.com/account/rate-limits to "
            "learn more.",
            type_="requests",
            code="rate_limit_exceeded",
            headers={"retry-after": str(wait)},
        )

    def _error(
        self,
        status: int,
        message: str,
        *,
        type_: str | None = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        return web.json_response(body, status=status, headers={**self._headers(), **(headers or {})})

    def _openai_401(self) -> web.Response:
        return self._error(
            401,
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )

    # -- request handling --------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        tail = request.match_info["tail"]
        if request.method == "GET" and (tail == "models" or tail.startswith("models/")):
            return await gateways.models(self, request, tail)
        endpoint = tail.removeprefix("images/") if tail.startswith("images/") else None
        if request.method != "POST" or endpoint not in ENDPOINTS:
            self._record_violation(f"{request.method} {request.path}: no such route")
            return self._error(404, f"Invalid URL ({request.method} {request.path})")
        parsed = await parse(request, endpoint)
        model = rules.sent_model(endpoint, parsed.body) if parsed.error is None else None
        self._record(request, parsed, model)
        authorized = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        return await self._serve(request, endpoint, parsed, arrived, model, authorized=authorized)

    async def _azure(self, request: web.Request) -> web.StreamResponse:
        return await gateways.azure(self, request)

    async def _serve(
        self,
        request: web.Request,
        endpoint: str,
        parsed: Parsed,
        arrived: float,
        model: str | None,
        *,
        authorized: bool = True,
        deployment: ModelCaps | None = None,
    ) -> web.StreamResponse:
        """The pipeline every image request goes through (OpenAI and Azure routes): the limit, latency,
        auth, validation (always recorded), scripted failures, refusals, then a real answer.

        ``deployment``: the model an Azure deployment serves (``served_models`` does not apply).
        """
        if authorized:  # a refusal for the limit comes at once, before any work
            n = parsed.body.get("n") if parsed.error is None else None
            n = n if isinstance(n, int) and n > 0 else 1
            tokens = request_tokens(parsed.body, parsed.files) if parsed.error is None else 0
            refused = self._admit(arrived, n, tokens)
            if refused is not None:
                return self._rate_limited_response(*refused, model or "unknown")
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if not authorized:
            return self._openai_401()

        if parsed.error is not None or parsed.schema is None:
            spec, violations = None, [(None, parsed.error or "unsupported request")]
        else:
            spec, violations = rules.validate(
                endpoint,
                parsed.schema,
                parsed.body,
                parsed.files,
                aliases=dict(self.aliases),
                deployment=deployment,
            )
        where = f"POST {request.path} model={model}"
        for param, text in violations:
            self._record_violation(f"{where}: [{param}] {text}")

        failure = self._take_failure(endpoint)
        if failure is not None:
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.kind != "slow":
                return await scripted(self, request, failure, model or "unknown")

        if violations:
            param, text = violations[0]
            return self._error(400, text, param=param, code="invalid_value" if param else None)
        if spec is None or (
            deployment is None and self.served_models is not None and model not in self.served_models
        ):
            return self._error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        return await success(self, endpoint, spec, parsed)
