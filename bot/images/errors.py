"""Exceptions of the Images layer: user-input refusals and upstream failures.

Exceptions carry data (attributes), not prose for users: ``bot.core.text`` words them. ``str()`` of an
upstream error is meant for logs: informative, truncated, and scrubbed of anything that looks like an
API key or an Authorization header.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from bot.errors import UpstreamError, UserInputError

from .headers import Headers, header, parse_retry_after, parse_should_retry

__all__ = [
    "OUT_OF_CREDIT_CODES",
    "SAFETY_CODES",
    "APIConnectionError",
    "APITimeout",
    "AuthenticationFailed",
    "BadResponse",
    "EmptyPrompt",
    "EndpointNotSupported",
    "ImagesAPIError",
    "InvalidRequest",
    "ModelNotFound",
    "ModelRetired",
    "OptionNotSupported",
    "OutOfCredit",
    "PermissionDenied",
    "PromptTooLong",
    "RateLimited",
    "SafetyRejected",
    "ServerError",
    "UnknownModel",
    "error_from_response",
    "redact",
]

MAX_MESSAGE_CHARS = 500

SAFETY_CODES: Mapping[str, str] = {
    "content_policy_violation": "dall-e",
    "moderation_blocked": "gpt-image",
    "contentFilter": "azure",  # Azure OpenAI's safety system
}
OUT_OF_CREDIT_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})


# --------------------------------------------------------------------------------------------------
# Secret scrubbing
# --------------------------------------------------------------------------------------------------

_SK_RE = re.compile(r"sk-[A-Za-z0-9_\-*]+")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_AUTH_HEADER_RE = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^\s\"',;]+(\s+[^\s\"',;]+)?")
_MIN_SECRET_LEN = 4


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove API keys and Authorization values from ``text``.

    Scrubs the given ``secrets`` verbatim (the configured key), anything shaped like an OpenAI key
    (``sk-...``, including the partially masked echo OpenAI puts in 401 messages), and the value
    after ``Bearer`` / ``Authorization:``.
    """
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LEN:
            text = text.replace(secret, "[REDACTED]")
    text = _SK_RE.sub("sk-[REDACTED]", text)
    text = _AUTH_HEADER_RE.sub(lambda m: m.group(1) + "[REDACTED]", text)
    text = _BEARER_RE.sub(lambda m: m.group(1) + "[REDACTED]", text)
    return text


def _clean(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    if text is None:
        return None
    text = redact(str(text), secrets)
    text = " ".join(text.split())
    if not text:
        return None
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


# --------------------------------------------------------------------------------------------------
# User-input errors (raised by bot.images.validation)
# --------------------------------------------------------------------------------------------------


class UnknownModel(UserInputError):
    """The model name is not in the registry."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown model {name!r}; known: {', '.join(known)}")


class EmptyPrompt(UserInputError):
    """The prompt is empty or only whitespace."""

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(f"empty prompt for {model}")


class PromptTooLong(UserInputError):
    """The prompt has more characters than the model accepts."""

    def __init__(self, model: str, length: int, limit: int) -> None:
        self.model = model
        self.length = length
        self.limit = limit
        super().__init__(f"prompt of {length} characters exceeds {model}'s limit of {limit}")


def _join_or(parts: list[str]) -> str:
    if not parts:
        return "nothing"
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return f"{parts[0]} or {parts[1]}"
    return ", ".join(parts[:-1]) + ", or " + parts[-1]


def _as_int_range(values: tuple[str, ...]) -> tuple[int, int] | None:
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        return None
    if len(numbers) < 3 or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    return numbers[0], numbers[-1]


class OptionNotSupported(UserInputError):
    """An option value the model refuses.

    ``allowed`` lists the accepted values (empty when the model has no such option at all);
    ``extra`` describes an open-ended rule beyond the list (gpt-image-2's custom sizes);
    ``reason`` names a conflicting choice when the value is refused only in combination
    (e.g. ``"output_format=jpeg"`` for a transparent background).
    """

    def __init__(
        self,
        model: str,
        option: str,
        value: str,
        allowed: tuple[str, ...],
        *,
        extra: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.model = model
        self.option = option
        self.value = value
        self.allowed = allowed
        self.extra = extra
        self.reason = reason
        detail = f" with {reason}" if reason else ""
        super().__init__(f"{model} does not support {option}={value!r}{detail}; allowed: {self.allowed_text}")

    @property
    def allowed_text(self) -> str:
        """The allowed values in words, e.g. ``"1024x1024, 1536x1024, 1024x1536, auto, or any WxH ..."``."""
        if not self.allowed and not self.extra:
            return f"none ({self.model} has no {self.option} option)"
        int_range = _as_int_range(self.allowed)
        parts = [f"{int_range[0]} to {int_range[1]}"] if int_range else list(self.allowed)
        if self.extra:
            parts.append(self.extra)
        return _join_or(parts)


class ModelRetired(UserInputError):
    """The model was shut down (``shutdown`` passed) or the backend said it no longer has it
    (``shutdown`` None: an upstream 404). ``replacement`` names what to use instead, if anything."""

    def __init__(self, model: str, shutdown: date | None, replacement: str | None) -> None:
        self.model = model
        self.shutdown = shutdown
        self.replacement = replacement
        when = f"on {shutdown.isoformat()}" if shutdown else "(the backend no longer has it)"
        super().__init__(f"{model} was retired {when}; replacement: {replacement or 'none'}")


class EndpointNotSupported(UserInputError):
    """The model cannot do this operation (e.g. variations with a GPT image model)."""

    def __init__(self, model: str, endpoint: str, models_that_can: tuple[str, ...]) -> None:
        self.model = model
        self.endpoint = endpoint
        self.models_that_can = models_that_can
        can = ", ".join(models_that_can) or "none"
        super().__init__(f"{model} does not support {endpoint}; models that do: {can}")


# --------------------------------------------------------------------------------------------------
# Upstream errors
# --------------------------------------------------------------------------------------------------


class ImagesAPIError(UpstreamError):
    """A failed call to the Images API. Every field may be None (e.g. no HTTP status for a timeout).

    ``retry_after`` is the server's requested wait in seconds (from ``retry-after-ms`` /
    ``retry-after``), ``should_retry`` the ``x-should-retry`` header; both steer the retry policy.
    """

    def __init__(
        self,
        *,
        status: int | None = None,
        code: str | None = None,
        type: str | None = None,
        message: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.type = type
        self.message = _clean(message)
        self.param = param
        self.request_id = request_id
        self.retry_after = retry_after
        self.should_retry = should_retry
        super().__init__(self._describe())

    def _describe(self) -> str:
        head = f"HTTP {self.status}" if self.status is not None else "no complete HTTP response"
        details = [
            f"{name}={value}"
            for name, value in (
                ("code", self.code),
                ("type", self.type),
                ("param", self.param),
                ("request_id", self.request_id),
                ("retry_after", self.retry_after),
            )
            if value is not None
        ]
        text = f"{type(self).__name__}: {head}"
        if details:
            text += " (" + ", ".join(details) + ")"
        if self.message:
            text += f": {self.message}"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r})"


class SafetyRejected(ImagesAPIError):
    """The provider's safety system refused the prompt or image (``content_policy_violation`` from
    DALL·E, ``moderation_blocked`` from GPT image models). ``system`` says which."""

    @property
    def system(self) -> str:
        return SAFETY_CODES.get(self.code or "", self.code or "unknown")


class InvalidRequest(ImagesAPIError):
    """The API refused a parameter (400/422); ``param`` names it when the API did."""


class AuthenticationFailed(ImagesAPIError):
    """401: the API key is wrong or revoked (an operator problem)."""


class PermissionDenied(ImagesAPIError):
    """403: region not supported or organisation not verified for the model."""


class ModelNotFound(ImagesAPIError):
    """404: the model is shut down, unknown, or not available to this key."""


class RateLimited(ImagesAPIError):
    """429 (not billing): too many requests; ``retry_after`` says how long the server wants us to wait."""


class OutOfCredit(ImagesAPIError):
    """The account is out of credit or hit its billing limit: retrying will not help."""


class ServerError(ImagesAPIError):
    """5xx from the API or a proxy in front of it."""


class APITimeout(ImagesAPIError):
    """No (complete) response within the timeout."""


class APIConnectionError(ImagesAPIError):
    """The connection failed or was closed before a complete response arrived."""


class BadResponse(ImagesAPIError):
    """A 2xx whose body is unusable: not JSON, no data, an undecodable image, a failed URL download."""


# --------------------------------------------------------------------------------------------------
# Mapping a response to an exception
# --------------------------------------------------------------------------------------------------

_TITLE_RE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_TAG_RE = re.compile(r"(?s)<[^>]+>")


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _parse_body(body: bytes | str | Mapping[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """Return (error fields, fallback text) from whatever the server sent."""
    if body is None:
        return {}, None
    if isinstance(body, Mapping):
        data: Any = body
        text = None
    else:
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes | bytearray) else str(body)
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, Mapping):
            return dict(error), None
        if isinstance(error, str):
            return {"message": error, "code": _str_or_none(data.get("code"))}, None
        if isinstance(data.get("message"), str):
            return {"message": data["message"], "code": _str_or_none(data.get("code"))}, None
        return {}, None if text is None else text
    if text is None:
        return {}, None
    title = _TITLE_RE.search(text)
    if title:
        return {}, html.unescape(title.group(1))
    if "<" in text and ">" in text:
        text = html.unescape(_TAG_RE.sub(" ", text))
    return {}, text


def _classify(status: int | None, code: str | None) -> type[ImagesAPIError]:
    if code in OUT_OF_CREDIT_CODES:
        return OutOfCredit
    if status is None:
        return APIConnectionError
    if 200 <= status < 300:
        return BadResponse
    if status == 400 and code in SAFETY_CODES:
        return SafetyRejected
    if status == 401:
        return AuthenticationFailed
    if status == 402:
        return OutOfCredit
    if status == 403:
        return PermissionDenied
    if status == 404:
        return ModelNotFound
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    if status in (408, 409):
        return ImagesAPIError
    if 400 <= status < 500:
        return InvalidRequest
    return ImagesAPIError


def error_from_response(
    status: int | None,
    body: bytes | str | Mapping[str, Any] | None,
    headers: Headers | None = None,
    *,
    secrets: Iterable[str] = (),
) -> ImagesAPIError:
    """Map an HTTP status, body (bytes, text or parsed JSON; any shape) and headers to an exception.

    ``secrets`` (the configured API key) are scrubbed from the message along with anything key-like.
    """
    fields, fallback = _parse_body(body)
    code = _str_or_none(fields.get("code"))
    cls = _classify(status, code)
    message = _str_or_none(fields.get("message")) or fallback
    return cls(
        status=status,
        code=_clean(code, secrets),
        type=_clean(_str_or_none(fields.get("type")), secrets),
        message=_clean(message, secrets),
        param=_clean(_str_or_none(fields.get("param")), secrets),
        request_id=_clean(header(headers, "x-request-id"), secrets),
        retry_after=parse_retry_after(headers),
        should_retry=parse_should_retry(headers),
    )
