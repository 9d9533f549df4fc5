"""A fake OpenAI Images API: an aiohttp app on 127.0.0.1 in its own thread and event loop.

It runs in real time (the bot under SimCord runs on a virtual clock), validates every request against
the official OpenAPI schema and the per-model rules, answers with real images, and can be scripted to
fail like the real service does. See ``FakeImagesAPI``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from bot.images.models import ModelSpec
from bot.images.sizes import parse_wxh

from . import rules
from .images import make_image
from .ratelimit import Admission, RollingWindow, go_duration
from .spec import BINARY_PLACEHOLDER, coerce_form, schema_errors

__all__ = ["FAILURE_KINDS", "FakeImagesAPI", "RecordedRequest"]

ENDPOINTS = ("generations", "edits", "variations")
FAILURE_KINDS = frozenset(
    {
        "rate_limit",
        "insufficient_quota",
        "billing_hard_limit",
        "content_policy",
        "moderation_blocked",
        "invalid_request",
        "auth",
        "forbidden",
        "model_not_found",
        "server_error",
        "malformed_json",
        "truncated",
        "drop",
        "slow",
        "html_error",
    }
)
DEFAULT_API_KEY = "sk-test-fake-0000"
_HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as the fake received it (the Authorization header is never kept)."""

    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None
    form: dict[str, str | list[str]]
    files: dict[str, list[tuple[str, str, bytes]]]
    model: str | None

    @property
    def endpoint(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def fields(self) -> dict[str, Any]:
        """The request's parameters whatever the encoding (JSON body or multipart text fields)."""
        return dict(self.json) if self.json is not None else dict(self.form)


@dataclass
class _Failure:
    kind: str
    remaining: int
    status: int | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    should_retry: bool | None = None
    delay: float | None = None
    message: str | None = None
    endpoint: str | None = None


@dataclass
class _Parsed:
    body: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    form: dict[str, str | list[str]] = field(default_factory=dict)
    files: dict[str, list[tuple[str, str, bytes]]] = field(default_factory=dict)
    schema: str | None = None
    error: str | None = None


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
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        api_key: str = DEFAULT_API_KEY,
        images_per_minute: int | None = None,
        rate_window: float = 60.0,
    ) -> None:
        self.api_key = api_key
        self.base_url = ""
        self._initial_latency = latency
        self.latency = latency
        if (images_per_minute is not None and images_per_minute < 1) or rate_window <= 0:
            raise ValueError("images_per_minute must be at least 1 (or None) and rate_window positive")
        self._initial_images_per_minute = images_per_minute
        self._initial_rate_window = rate_window
        self._images_per_minute = images_per_minute
        self._rate_window = rate_window
        self._window: RollingWindow | None = None
        self._rate_limited = 0
        self._arrivals: list[tuple[float, int]] = []
        #: answer with photo-like images (gradient and grain: PNGs of real-world size, ~3 MB at 1536x1024)
        self.photo = False
        self.served_models: set[str] | None = None
        self.url_results = False
        #: answer with incompressible (noise) images, to test what doesn't fit Discord's upload limit
        self.noise = False
        #: serve url results with chunked transfer encoding (no Content-Length)
        self.url_chunked = False
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._validation_errors: list[str] = []
        self._failures: deque[_Failure] = deque()
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
        app.router.add_get("/v1/_files/{token}", self._download)
        app.router.add_route("*", "/v1/{tail:.*}", self._api)
        self._runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=0.5, handler_cancellation=True, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"

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
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

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
    def rate_window(self) -> float:
        """Seconds of the rolling window the limit applies to (60: OpenAI's minute)."""
        return self._rate_window

    @rate_window.setter
    def rate_window(self, value: float) -> None:
        if value <= 0:
            raise ValueError("rate_window must be positive")
        with self._lock:
            self._rate_window = value
            self._window = None

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

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._validation_errors.clear()
            self._failures.clear()
            self._files.clear()
            self._downloads.clear()
            self._arrivals.clear()
            self._rate_limited = 0
            self._window = None
            self._images_per_minute = self._initial_images_per_minute
            self._rate_window = self._initial_rate_window
        self.served_models = None
        self.latency = self._initial_latency
        self.url_results = False
        self.url_chunked = False
        self.noise = False
        self.photo = False

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
        """Make the next ``times`` requests (to ``endpoint``, or any) fail as ``kind``. FIFO."""
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; one of {sorted(FAILURE_KINDS)}")
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._failures.append(
                _Failure(
                    kind, times, status, retry_after, retry_after_ms, should_retry, delay, message, endpoint
                )
            )

    def _take_failure(self, endpoint: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.endpoint in (None, endpoint):
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _record_violation(self, text: str) -> None:
        with self._lock:
            self._validation_errors.append(text)

    # -- responses ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            self._served += 1
            served = self._served
            window = self._window
            limit, used, reset_in = (
                (window.limit, window.used(now), window.reset_in(now)) if window is not None else (0, 0, 0.0)
            )
        headers = {
            "x-request-id": f"req_{secrets.token_hex(16)}",
            "openai-processing-ms": "1234",
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": str(max(0, 499 - served % 500)),
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "100000",
            "x-ratelimit-remaining-tokens": str(max(0, 100000 - 4160 * (served % 20))),
            "x-ratelimit-reset-tokens": "6m0s",
        }
        if window is not None:
            headers["x-ratelimit-limit-requests"] = str(limit)
            headers["x-ratelimit-remaining-requests"] = str(max(0, limit - used))
            headers["x-ratelimit-reset-requests"] = go_duration(reset_in)
        return headers

    def _admit(self, arrived: float, n: int) -> Admission | None:
        """Count ``n`` images against the limit at ``arrived``; None when there is no limit."""
        with self._lock:
            if self._images_per_minute is None:
                self._arrivals.append((arrived, n))
                return None
            if self._window is None:
                self._window = RollingWindow(self._images_per_minute, self._rate_window)
            admission = self._window.admit(arrived, n)
            if admission.admitted:
                self._arrivals.append((arrived, n))
            else:
                self._rate_limited += 1
            return admission

    def _rate_limited_response(self, admission: Admission, model: str) -> web.Response:
        wait = max(1, math.ceil(admission.retry_after))
        return self._error(
            429,
            f"Rate limit reached for {model} in organization org-fake on images per minute (ipm): "
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
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        return web.json_response(body, status=status, headers={**self._headers(), **(headers or {})})

    # -- request handling --------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        tail = request.match_info["tail"]
        endpoint = tail.removeprefix("images/") if tail.startswith("images/") else None
        if request.method != "POST" or endpoint not in ENDPOINTS:
            self._record_violation(f"{request.method} {request.path}: no such route")
            return self._error(404, f"Invalid URL ({request.method} {request.path})")

        parsed = await self._parse(request, endpoint)
        model = rules.model_name(endpoint, parsed.body) if parsed.error is None else None
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        recorded = RecordedRequest(
            request.method, request.path, headers, parsed.json, parsed.form, parsed.files, model
        )
        with self._lock:
            self._requests.append(recorded)

        authorized = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        if authorized:  # a refusal for the limit comes at once, before any work
            n = parsed.body.get("n") if parsed.error is None else None
            admission = self._admit(arrived, n if isinstance(n, int) and n > 0 else 1)
            if admission is not None and not admission.admitted:
                return self._rate_limited_response(admission, model or "unknown")
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if not authorized:
            return self._error(
                401,
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

        violations, spec = self._validate(endpoint, parsed)
        where = f"POST {request.path} model={model}"
        for param, text in violations:
            self._record_violation(f"{where}: [{param}] {text}")

        failure = self._take_failure(endpoint)
        if failure is not None:
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.kind != "slow":
                return await self._scripted(request, failure, model or "unknown")

        if violations:
            param, text = violations[0]
            return self._error(400, text, param=param, code="invalid_value" if param else None)
        if spec is None:
            return self._error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        if self.served_models is not None and spec.name not in self.served_models:
            return self._error(
                404,
                f"The model `{spec.name}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        return await self._success(endpoint, spec, parsed)

    async def _parse(self, request: web.Request, endpoint: str) -> _Parsed:
        parsed = _Parsed()
        content_type = request.content_type
        if content_type == "application/json":
            try:
                data = await request.json()
            except ValueError:
                parsed.error = "We could not parse the JSON body of your request."
                return parsed
            if not isinstance(data, dict):
                parsed.error = "The JSON body of your request must be an object."
                return parsed
            parsed.json = data
            parsed.body = dict(data)
            parsed.schema = {
                "generations": "CreateImageRequest",
                "edits": "EditImageBodyJsonParam",
                "variations": None,
            }[endpoint]
            if parsed.schema is None:
                parsed.error = "This endpoint takes multipart/form-data."
            return parsed
        if content_type == "application/x-www-form-urlencoded":
            for name, value in (await request.post()).items():
                _add_field(parsed.form, name, str(value))
        elif content_type != "multipart/form-data":
            parsed.error = f"Unsupported content type {content_type!r}."
            return parsed
        reader = await request.multipart() if content_type == "multipart/form-data" else None
        while reader is not None:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                parsed.error = "Malformed multipart body."
                return parsed
            if part.filename is not None:
                content = await part.read()
                ctype = part.headers.get("Content-Type", "application/octet-stream")
                parsed.files.setdefault(part.name, []).append((part.filename, ctype, bytes(content)))
            else:
                _add_field(parsed.form, part.name, await part.text())
        if endpoint == "generations":
            parsed.error = "This endpoint takes a JSON body."
            return parsed
        parsed.schema = "CreateImageEditRequest" if endpoint == "edits" else "CreateImageVariationRequest"
        body = coerce_form(parsed.schema, parsed.form)
        for name, items in parsed.files.items():
            key = "image" if name == "image[]" else name
            placeholders = [BINARY_PLACEHOLDER] * len(items)
            body[key] = placeholders if name == "image[]" or len(items) > 1 else placeholders[0]
        parsed.body = body
        return parsed

    def _validate(
        self, endpoint: str, parsed: _Parsed
    ) -> tuple[list[tuple[str | None, str]], ModelSpec | None]:
        if parsed.error is not None:
            return [(None, parsed.error)], None
        assert parsed.schema is not None
        violations = schema_errors(parsed.schema, parsed.body)
        spec, rule_violations = rules.check(endpoint, parsed.body, parsed.files)
        if spec is None:
            violations.append(("model", f"unknown model {rules.model_name(endpoint, parsed.body)!r}"))
        return violations + rule_violations, spec

    async def _scripted(self, request: web.Request, failure: _Failure, model: str) -> web.StreamResponse:
        extra: dict[str, str] = {}
        if failure.retry_after is not None:
            value = failure.retry_after
            extra["retry-after"] = str(int(value)) if float(value).is_integer() else str(value)
        if failure.retry_after_ms is not None:
            extra["retry-after-ms"] = str(failure.retry_after_ms)
        if failure.should_retry is not None:
            extra["x-should-retry"] = "true" if failure.should_retry else "false"
        kind, message = failure.kind, failure.message

        def error(
            status: int, default: str, type_: str, code: str | None, param: str | None = None
        ) -> web.Response:
            return self._error(
                failure.status or status,
                message or default,
                type_=type_,
                param=param,
                code=code,
                headers=extra,
            )

        if kind == "rate_limit":
            return error(
                429,
                f"Rate limit reached for {model} in organization org-fake on images per minute (ipm): "
                "Limit 5, Used 5, Requested 1. Please try again in 12s.",
                "requests",
                "rate_limit_exceeded",
            )
        if kind == "insufficient_quota":
            return error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            )
        if kind == "billing_hard_limit":
            return error(
                429,
                "Billing hard limit has been reached",
                "invalid_request_error",
                "billing_hard_limit_reached",
            )
        if kind == "content_policy":
            return error(
                400,
                "Your request was rejected as a result of our safety system. Your prompt may contain text "
                "that is not allowed by our safety system.",
                "invalid_request_error",
                "content_policy_violation",
            )
        if kind == "moderation_blocked":
            return error(
                400,
                "Your request was rejected by the safety system. If you believe this is an error, contact "
                "us at help.openai.com and include the request ID.",
                "image_generation_user_error",
                "moderation_blocked",
            )
        if kind == "invalid_request":
            return error(
                400,
                "Invalid 'prompt': the request was refused.",
                "invalid_request_error",
                "invalid_value",
                "prompt",
            )
        if kind == "auth":
            return error(
                401,
                f"Incorrect API key provided: sk-test-****{self.api_key[-4:]}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if kind == "forbidden":
            return error(
                403,
                f"Your organization must be verified to use the model `{model}`.",
                "invalid_request_error",
                None,
            )
        if kind == "model_not_found":
            return error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if kind == "server_error":
            return error(
                500,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            )
        if kind == "html_error":
            return web.Response(
                status=failure.status or 502,
                text=message or _HTML_502,
                content_type="text/html",
                headers={**self._headers(), **extra},
            )
        if kind == "malformed_json":
            body = b'{"created": 1712345678, "data": [{"b64_json": iVBORw0KGgo=}]'
            return web.Response(
                status=failure.status or 200,
                body=body,
                content_type="application/json",
                headers={**self._headers(), **extra},
            )
        if kind in ("truncated", "drop"):
            transport = request.transport
            if transport is not None:
                if kind == "truncated":
                    full = json.dumps(
                        {"created": int(time.time()), "data": [{"b64_json": "A" * 4096}]}
                    ).encode()
                    head = (
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(full)}\r\nx-request-id: req_truncated\r\n\r\n"
                    ).encode()
                    transport.write(head + full[: len(full) // 2])
                transport.close()
            return web.Response(status=200)  # never reaches the client: the connection is gone
        raise AssertionError(f"unhandled failure kind {kind}")

    async def _success(self, endpoint: str, spec: ModelSpec, parsed: _Parsed) -> web.Response:
        body = parsed.body
        n = body.get("n") or 1
        size = body.get("size") or spec.default_size
        width, height = parse_wxh("1024x1024" if size == "auto" else size) or (1024, 1024)
        image_format = body.get("output_format") or "png" if spec.output_formats else "png"
        transparent = body.get("background") == "transparent"
        images = [
            await asyncio.to_thread(
                make_image, width, height, image_format, index, transparent, self.noise, self.photo
            )
            for index in range(n)
        ]
        use_url = self.url_results or (
            spec.accepts_response_format and body.get("response_format", "url") == "url"
        )
        items: list[dict[str, Any]] = []
        for data in images:
            item: dict[str, Any]
            if use_url:
                token = secrets.token_hex(12)
                with self._lock:
                    self._files[token] = (data, f"image/{image_format}")
                item = {"url": f"{self.base_url}/_files/{token}.{image_format}"}
            else:
                item = {"b64_json": base64.b64encode(data).decode("ascii")}
            if spec.returns_revised_prompt:
                item["revised_prompt"] = f"A detailed, vivid rendering of: {body.get('prompt', '')}"
            items.append(item)
        payload: dict[str, Any] = {"created": int(time.time()), "data": items}
        if spec.output_formats:  # the GPT image family reports what it did, and its token usage
            quality = body.get("quality") or "auto"
            payload.update(
                size=f"{width}x{height}",
                quality="medium" if quality == "auto" else quality,
                background="transparent" if transparent else "opaque",
                output_format=image_format,
                usage=_usage(body, parsed, width * height, n),
            )
        return web.json_response(payload, headers=self._headers())

    async def _download(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"].split(".", 1)[0]
        if "Authorization" in request.headers:
            self._record_violation(f"GET {request.path}: a url download sent an Authorization header")
        with self._lock:
            self._downloads.append(request.path)
            entry = self._files.get(token)
        if entry is None:
            return web.Response(status=404, text="expired or unknown file")
        data, content_type = entry
        if not self.url_chunked:
            return web.Response(body=data, content_type=content_type)
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 16 * 1024):
            await response.write(data[start : start + 16 * 1024])
        await response.write_eof()
        return response


def _add_field(form: dict[str, str | list[str]], name: str, value: str) -> None:
    """Add a text field; a repeated name becomes a list."""
    existing = form.get(name)
    if existing is None:
        form[name] = value
    elif isinstance(existing, list):
        existing.append(value)
    else:
        form[name] = [existing, value]


_OUTPUT_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160, "auto": 1056}


def _usage(body: dict[str, Any], parsed: _Parsed, pixels: int, n: int) -> dict[str, Any]:
    prompt = body.get("prompt") or ""
    text_tokens = max(1, len(prompt) // 4)
    image_count = len(parsed.files.get("image", [])) + len(parsed.files.get("image[]", []))
    image_count += len(body.get("images", []) or [])
    image_tokens = 323 * image_count
    per_image = _OUTPUT_TOKENS_1024.get(body.get("quality") or "auto", 1056) * pixels // (1024 * 1024)
    output_tokens = max(1, per_image) * n
    return {
        "input_tokens": text_tokens + image_tokens,
        "output_tokens": output_tokens,
        "total_tokens": text_tokens + image_tokens + output_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
    }
