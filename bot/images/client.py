"""An aiohttp client for the OpenAI Images API (and OpenAI-compatible gateways).

One request = one HTTP call, retried per ``bot.images.retry``. Fan-out (dall-e-3 takes n=1) is the
job pipeline's business: see ``bot.images.validation.request_batches``. The row a request names
says what is sent: its ``upstream_id`` as the model, only the fields it accepts. ``api_type="azure"``
builds Azure OpenAI's deployment URLs and ``api-key`` header instead of OpenAI's.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from bot.metrics import Metrics

from .builtin_models import BUILTIN_MODELS
from .catalogue import Endpoint, ModelCatalogue, ModelSpec
from .datatypes import (
    EditRequest,
    GeneratedImage,
    GenerateRequest,
    ImageResult,
    InputImage,
    VariationRequest,
)
from .errors import (
    APIConnectionError,
    APITimeout,
    BadResponse,
    ImagesAPIError,
    RateLimited,
    error_from_response,
    redact,
)
from .headers import header
from .response import ParsedBody, detect_image_format, parse_images_body
from .response_budget import Holding, ResponseBudget
from .retry import DEFAULT_MAX_RETRIES, decide_retry, parse_rate_limit_headers
from .sizes import normalize_size

Gate = Callable[[int, Callable[[], Awaitable["ImageResult"]]], Awaitable["ImageResult"]]
"""Runs one attempt of ``n`` images when a shared limiter allows it (see bot.core.scheduling.Ticket.gate)."""

__all__ = ["ImagesClient"]

log = logging.getLogger(__name__)

_MAX_ERROR_BODY = 1024 * 1024
_CHUNK = 64 * 1024
# Bodies up to this are parsed on the event loop; larger ones in a worker thread.
INLINE_PARSE_LIMIT = 256 * 1024
# Bodies over this are parsed one at a time per client (a four-image body is ~18 MB and its images
# ~13 MB more): with several such responses arriving together, their parses don't add up.
SERIAL_PARSE_LIMIT = 1024 * 1024
# A success body's buffer is made at its Content-Length up front when that is no more than this.
_PREALLOCATE_LIMIT = 64 * 1024 * 1024
_LIST_MODELS_TIMEOUT = aiohttp.ClientTimeout(total=10, sock_connect=5)
# Held against the response budget for a success body that doesn't announce its length.
_UNKNOWN_BODY_BYTES = 8 * 1024 * 1024

Payload = tuple[str, Any]  # ("json", dict) or ("form", aiohttp.FormData)
ApiType = Literal["openai", "azure"]


class ImagesClient:
    """Calls ``/images/generations``, ``/images/edits`` and ``/images/variations``.

    Construct anywhere (no event loop needed); the one shared ``aiohttp.ClientSession`` is created on
    first use and closed by :meth:`aclose`. ``sleep`` (default ``asyncio.sleep``) waits between
    retries; ``random`` feeds the backoff jitter.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = 300.0,
        connect_timeout: float = 5.0,
        max_download_bytes: int = 64 * 1024 * 1024,
        download_timeout: float = 30.0,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        catalogue: ModelCatalogue = BUILTIN_MODELS,
        api_type: ApiType = "openai",
        azure_api_version: str = "2025-04-01-preview",
        max_held_bytes: int | None = None,
        inline_parse_limit: int = INLINE_PARSE_LIMIT,
        serial_parse_limit: int = SERIAL_PARSE_LIMIT,
        metrics: Metrics | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._catalogue = catalogue
        self._api_type = api_type
        self._azure_api_version = azure_api_version
        self._max_retries = max_retries
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._max_download_bytes = max_download_bytes
        self._download_timeout = aiohttp.ClientTimeout(total=download_timeout, sock_connect=connect_timeout)
        self._random = random
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._large_parse = asyncio.Semaphore(1)  # binds to a loop only when a parse has to wait
        self.budget = ResponseBudget(max_held_bytes) if max_held_bytes else None
        self._inline_parse_limit = inline_parse_limit
        self._serial_parse_limit = serial_parse_limit
        self._metrics = metrics or Metrics()

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The one shared HTTP session: None until the first request, closed by ``aclose``."""
        return self._session

    def __repr__(self) -> str:
        return (
            f"ImagesClient(base_url={self._base_url!r}, api_type={self._api_type!r}, "
            f"max_retries={self._max_retries})"
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("ImagesClient is closed")
        if self._session is None or self._session.closed:
            # No connection cap of its own (aiohttp's default is 100): how many requests are in
            # flight is the shared limiter's decision, from the account's rate limit.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=0)
            )
        return self._session

    async def aclose(self) -> None:
        """Close the shared session. Idempotent; the client cannot be used afterwards."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> ImagesClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- public operations -------------------------------------------------------------------------

    def holding(self) -> Holding | None:
        """A job's share of the response budget (None without one): pass it to every call the job
        makes and release it once the job has delivered its images."""
        return None if self.budget is None else self.budget.holding()

    async def generate(
        self, request: GenerateRequest, *, gate: Gate | None = None, holding: Holding | None = None
    ) -> ImageResult:
        """Text to image (JSON body)."""
        spec = self._catalogue.get_model(request.model)
        body = generation_body(spec, request, azure=self._azure)
        return await self._call("generations", spec, lambda: ("json", body), request.n, gate, holding)

    async def edit(
        self, request: EditRequest, *, gate: Gate | None = None, holding: Holding | None = None
    ) -> ImageResult:
        """Image(s) + prompt (+ mask) to image.

        Multipart: ``image`` for one image, repeated ``image[]`` for several, ``mask``.
        """
        spec = self._catalogue.get_model(request.model)
        fields, files = edit_fields(spec, request, azure=self._azure)
        form = lambda: ("form", _form(fields, files))  # noqa: E731 - a fresh form per attempt
        return await self._call("edits", spec, form, request.n, gate, holding)

    async def vary(
        self, request: VariationRequest, *, gate: Gate | None = None, holding: Holding | None = None
    ) -> ImageResult:
        """Variations of one image (multipart; dall-e-2 only)."""
        spec = self._catalogue.get_model(request.model)
        fields = _fields(spec, "variations", request, self._azure)
        files = [("image", request.image)]
        form = lambda: ("form", _form(fields, files))  # noqa: E731 - a fresh form per attempt
        return await self._call("variations", spec, form, request.n, gate, holding)

    async def list_models(self) -> dict[str, date | None] | None:
        """``{model id: shutdown date or None}`` from ``GET /models``; None when the backend has no
        such endpoint (or it failed: the lifecycle then keeps what it knew). Never raises for that."""
        if self._azure:
            return None  # Azure lists deployments elsewhere and in another shape
        try:
            async with self._get_session().get(
                f"{self._base_url}/models",
                headers=self._headers(),
                allow_redirects=False,
                timeout=_LIST_MODELS_TIMEOUT,  # start-up must not wait on a slow backend
            ) as response:
                if response.status != 200:
                    log.info("images: GET /models answered %s; no lifecycle data", response.status)
                    return None
                payload = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            log.info("images: GET /models failed (%s); no lifecycle data", self._scrub(type(exc).__name__))
            return None
        return parse_model_list(payload)

    async def check_key(self) -> None:
        """One cheap authenticated call (the models list): returns if the backend takes the key, raises
        ``AuthenticationFailed`` (401) or another ``ImagesAPIError`` (network errors included) if not."""
        url = (
            f"{self._base_url}/openai/models?api-version={quote(self._azure_api_version, safe='')}"
            if self._azure
            else f"{self._base_url}/models"
        )
        try:
            async with self._get_session().get(
                url, headers=self._headers(), allow_redirects=False, timeout=_LIST_MODELS_TIMEOUT
            ) as response:
                if response.status != 200:
                    raw = await _read_capped(response.content, _MAX_ERROR_BODY)
                    raise error_from_response(
                        response.status, raw, CIMultiDict(response.headers), secrets=(self._api_key,)
                    )
        except TimeoutError:
            raise APITimeout(message=f"no answer within {_LIST_MODELS_TIMEOUT.total:.0f}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(message=self._scrub(f"{type(exc).__name__}: {exc}")) from None

    @property
    def _azure(self) -> bool:
        return self._api_type == "azure"

    def _headers(self) -> dict[str, str]:
        if self._azure:
            return {"api-key": self._api_key, "Accept": "application/json"}
        return {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}

    def _url(self, endpoint: str, spec: ModelSpec) -> str:
        if self._azure:
            deployment = quote(spec.upstream_id, safe="")
            return (
                f"{self._base_url}/openai/deployments/{deployment}/images/{endpoint}"
                f"?api-version={quote(self._azure_api_version, safe='')}"
            )
        return f"{self._base_url}/images/{endpoint}"

    # -- the retry loop ----------------------------------------------------------------------------

    async def _call(
        self,
        endpoint: str,
        spec: ModelSpec,
        payload: Callable[[], Payload],
        images: int,
        gate: Gate | None,
        holding: Holding | None,
    ) -> ImageResult:
        """One request with retries; with a ``gate``, every attempt waits for the shared limiter's turn
        and a 429 doesn't sleep here: the limiter holds every request for its Retry-After."""
        retries_done = 0
        attempts = self._max_retries + 1
        url = self._url(endpoint, spec)
        while True:
            attempt = retries_done + 1
            try:
                if gate is None:
                    result = await self._attempt(url, payload(), holding, spec.name)
                else:
                    result = await gate(images, lambda: self._attempt(url, payload(), holding, spec.name))
            except ImagesAPIError as error:
                decision = decide_retry(
                    error, retries_done=retries_done, max_retries=self._max_retries, random=self._random
                )
                if not decision.retry:
                    log.warning(
                        "images %s model=%s attempt %d/%d failed, giving up (%s): %s",
                        endpoint,
                        spec.name,
                        attempt,
                        attempts,
                        decision.reason,
                        error,
                    )
                    raise
                log.warning(
                    "images %s model=%s attempt %d/%d failed, retrying in %.2fs (%s): %s",
                    endpoint,
                    spec.name,
                    attempt,
                    attempts,
                    decision.delay,
                    decision.reason,
                    error,
                )
                if gate is None or not isinstance(error, RateLimited):
                    sleep = self._sleep or asyncio.sleep
                    await sleep(decision.delay)
                retries_done += 1
                continue
            log.info(
                "images %s model=%s attempt %d/%d ok (request_id=%s): %d image(s)",
                endpoint,
                spec.name,
                attempt,
                attempts,
                result.request_id,
                len(result.images),
            )
            return result

    async def _attempt(self, url: str, payload: Payload, holding: Holding | None, model: str) -> ImageResult:
        """One request: send, read, parse. The body is held against the response budget while it is
        read and parsed, then only its images (until the job releases its holding)."""
        own = holding if holding is not None else self.holding()  # a call outside any job: its own
        held = 0  # bytes this attempt holds: its body's, then its images'
        try:
            status, response_headers, raw, held = await self._send(url, payload, own, model)
            if not 200 <= status < 300:
                raise error_from_response(status, bytes(raw), response_headers, secrets=(self._api_key,))
            request_id = header(response_headers, "x-request-id")
            parsed = await self._parse(raw, status=status, request_id=request_id)
            del raw  # the images are decoded: the body goes now, not after any url downloads
            images = await self._materialise(parsed.items, status=status, request_id=request_id)
            if own is not None:
                own.adjust(held, sum(len(image.data) for image in images))
                held = 0
        finally:
            if own is not None:
                own.adjust(held, 0)  # failed: nothing of this attempt stays
                if holding is None:
                    own.release()
        return ImageResult(
            images=images,
            usage=parsed.usage,
            created=parsed.created,
            size=parsed.size,
            quality=parsed.quality,
            rate_limit=parse_rate_limit_headers(response_headers),
            request_id=request_id,
        )

    async def _send(
        self, url: str, payload: Payload, holding: Holding | None, model: str
    ) -> tuple[int, CIMultiDict[str], bytes | bytearray, int]:
        """POST and read the whole answer: status, headers, body, and the bytes taken from the
        budget for it (a success body is read only once the budget has room for it). Counted and
        timed by model and status (or how it failed)."""
        kind, body = payload
        kwargs: dict[str, Any] = {"json": body} if kind == "json" else {"data": body}
        clock = asyncio.get_running_loop().time
        started, status = clock(), "connection_error"
        try:
            async with self._get_session().post(
                url, headers=self._headers(), allow_redirects=False, **kwargs
            ) as response:
                status = str(response.status)
                response_headers = CIMultiDict(response.headers)
                if not 200 <= response.status < 300:
                    raw = await _read_capped(response.content, _MAX_ERROR_BODY)
                    return response.status, response_headers, raw, 0
                if holding is None:
                    return response.status, response_headers, await read_body(response), 0
                expected = response.content_length or _UNKNOWN_BODY_BYTES
                await holding.take(expected)
                try:
                    return response.status, response_headers, await read_body(response), expected
                except BaseException:
                    holding.adjust(expected, 0)
                    raise
        except TimeoutError:
            status = "timeout"
            raise APITimeout(message=f"no complete response within {self._timeout.total}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            status = "connection_error"
            raise APIConnectionError(message=self._scrub(f"{type(exc).__name__}: {exc}")) from None
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        finally:
            self._metrics.upstream_request(model, status, clock() - started)

    async def _parse(self, raw: bytes | bytearray, *, status: int, request_id: str | None) -> ParsedBody:
        """Parse a success body: inline when small; else in a worker thread (base64 of big images
        would hold the event loop), and over ``serial_parse_limit`` one at a time per client."""
        if len(raw) <= self._inline_parse_limit:
            return parse_images_body(raw, status=status, request_id=request_id)
        if len(raw) <= self._serial_parse_limit:
            return await asyncio.to_thread(parse_images_body, raw, status=status, request_id=request_id)
        async with self._large_parse:
            thread = asyncio.ensure_future(
                asyncio.to_thread(parse_images_body, raw, status=status, request_id=request_id)
            )
            try:
                return await asyncio.shield(thread)
            except asyncio.CancelledError:
                # a thread can't be stopped: keep the turn until it ends, so that a cancelled job's
                # parse doesn't overlap the next one's
                await asyncio.wait([thread])
                if not thread.cancelled():
                    thread.exception()  # retrieved: its caller is gone
                raise

    # -- results -----------------------------------------------------------------------------------

    async def _materialise(
        self, items: tuple[Any, ...], *, status: int, request_id: str | None
    ) -> tuple[GeneratedImage, ...]:
        """Turn parsed items into image bytes, downloading ``url`` items (concurrently) right away."""
        urls = list(dict.fromkeys(item.url for item in items if item.data is None))
        tasks = [
            asyncio.ensure_future(self.download(url, status=status, request_id=request_id)) for url in urls
        ]
        try:
            downloaded = dict(zip(urls, await asyncio.gather(*tasks), strict=True))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        images = []
        for item in items:
            data = item.data if item.data is not None else downloaded[item.url]
            image_format = detect_image_format(data)
            if image_format is None:  # already checked for b64 and downloads; belt and braces
                raise BadResponse(
                    status=status, message="not a PNG, JPEG, WebP or GIF", request_id=request_id
                )
            images.append(GeneratedImage(data=data, format=image_format, revised_prompt=item.revised_prompt))
        return tuple(images)

    async def download(self, url: str, *, status: int, request_id: str | None) -> bytes:
        """Fetch a ``url`` result (no Authorization header), capped at ``max_download_bytes``."""
        try:
            parsed = URL(url)
        except (ValueError, TypeError):
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise BadResponse(status=status, message="result url is not http(s)", request_id=request_id)
        where = self._scrub(str(parsed.with_query(None).with_fragment(None)))
        cap = self._max_download_bytes

        def bad(reason: str) -> BadResponse:
            message = f"download of {where} failed: {reason}"
            return BadResponse(status=status, message=message, request_id=request_id)

        session = self._get_session()
        try:
            async with session.get(url, timeout=self._download_timeout) as response:
                if response.status != 200:
                    raise bad(f"HTTP {response.status}")
                if response.content_length is not None and response.content_length > cap:
                    raise bad(f"{response.content_length} bytes exceeds the {cap}-byte cap")
                buffer = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    buffer += chunk
                    if len(buffer) > cap:
                        raise bad(f"more than the {cap}-byte cap")
        except TimeoutError:
            raise bad(f"no complete response within {self._download_timeout.total}s") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise bad(self._scrub(type(exc).__name__)) from None
        data = bytes(buffer)
        if detect_image_format(data) is None:
            raise bad("not a PNG, JPEG, WebP or GIF")
        log.debug("images downloaded %d bytes from %s", len(data), parsed.host)
        return data

    def _scrub(self, text: str) -> str:
        return redact(text, (self._api_key,))


async def _read_capped(content: aiohttp.StreamReader, cap: int) -> bytes:
    """Up to ``cap`` bytes of a body (the rest is dropped with the connection)."""
    buffer = bytearray()
    async for chunk in content.iter_chunked(_CHUNK):
        buffer += chunk
        if len(buffer) >= cap:
            break
    del buffer[cap:]
    return bytes(buffer)


async def read_body(response: aiohttp.ClientResponse) -> bytearray:
    """The whole body in one buffer, each chunk copied into it once as it arrives: no list of
    chunks joined at the end (``response.read()`` holds both at once) and no copy kept on the
    response. The buffer is made at the Content-Length up front (up to a sane size); a compressed
    body, whose Content-Length is the compressed one, grows it past that."""
    size = response.content_length
    buffer = bytearray(size if size is not None and size <= _PREALLOCATE_LIMIT else 0)
    filled = 0
    async for chunk in response.content.iter_any():
        end = filled + len(chunk)
        buffer[filled:end] = chunk  # past the end, this grows the buffer
        filled = end
    del buffer[filled:]  # a body shorter than announced
    return buffer


# -- request building (pure) ---------------------------------------------------------------------


def _check_n(spec: ModelSpec, n: int) -> None:
    if n > spec.images_per_request:
        raise ValueError(
            f"{spec.name} takes at most n={spec.images_per_request} per request; "
            "split the job with bot.images.validation.request_batches"
        )


def _model_field(spec: ModelSpec, azure: bool) -> dict[str, Any]:
    """``model`` = the row's upstream id; on Azure the deployment in the URL selects the model."""
    return {} if azure else {"model": spec.upstream_id}


def _fields(
    spec: ModelSpec,
    endpoint: Endpoint,
    request: GenerateRequest | EditRequest | VariationRequest,
    azure: bool,
) -> dict[str, Any]:
    """model, prompt (where there is one), n, then the set optional fields the model accepts."""
    _check_n(spec, request.n)
    fields = _model_field(spec, azure)
    if not isinstance(request, VariationRequest):
        fields["prompt"] = request.prompt
    fields["n"] = request.n
    fields.update(_optional_fields(spec, {**request.options.body_fields(endpoint), "user": request.user}))
    return fields


def generation_body(spec: ModelSpec, request: GenerateRequest, *, azure: bool = False) -> dict[str, Any]:
    """The JSON body of ``POST /images/generations`` for ``request`` on ``spec`` (pure)."""
    return _fields(spec, "generations", request, azure)


def edit_fields(
    spec: ModelSpec, request: EditRequest, *, azure: bool = False
) -> tuple[dict[str, Any], list[tuple[str, InputImage]]]:
    """The multipart text fields and files of ``POST /images/edits`` (pure)."""
    if not request.images:
        raise ValueError("an edit needs at least one image")
    fields = _fields(spec, "edits", request, azure)
    image_field = "image" if len(request.images) == 1 else "image[]"
    files = [(image_field, image) for image in request.images]
    if request.mask is not None:
        files.append(("mask", request.mask))
    return fields, files


def _optional_fields(spec: ModelSpec, values: Mapping[str, str | int | None]) -> dict[str, Any]:
    """The optional fields that are set and that the model accepts, plus ``response_format=b64_json``
    wherever the model accepts ``response_format``."""
    accepted: Mapping[str, bool] = {
        "size": True,
        "quality": bool(spec.qualities),
        "style": bool(spec.styles),
        "background": bool(spec.backgrounds),
        "output_format": bool(spec.output_formats),
        "output_compression": bool(spec.output_formats) and values.get("output_format") in ("jpeg", "webp"),
        "complexity": bool(spec.complexities),
        "frame_count": spec.gif is not None and values.get("output_format") == "gif",
        "user": True,
    }
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if not accepted.get(name, False):
            log.debug("images: dropping %s, which %s does not accept", name, spec.name)
            continue
        fields[name] = normalize_size(value) if name == "size" and isinstance(value, str) else value
    if spec.accepts_response_format:
        fields["response_format"] = "b64_json"
    return fields


def parse_model_list(payload: Any) -> dict[str, date | None] | None:
    """``{id: shutdown_date}`` from a list-models body; None when it is not that shape."""
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(data, list):
        return None
    out: dict[str, date | None] = {}
    for entry in data:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            continue
        raw = entry.get("shutdown_date")
        try:
            out[entry["id"]] = date.fromisoformat(raw[:10]) if isinstance(raw, str) and raw else None
        except ValueError:
            out[entry["id"]] = None
    return out


def _form(fields: Mapping[str, Any], files: list[tuple[str, InputImage]]) -> aiohttp.FormData:
    """A fresh multipart body (FormData cannot be sent twice, so one per attempt)."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, str(value))
    for name, image in files:
        form.add_field(name, image.data, filename=image.filename, content_type=image.content_type)
    return form
