"""The retry policy of the official OpenAI SDK, as pure functions, plus rate-limit header parsing.

Policy (see shared/reference/openai-images.md):

* retry connection errors, timeouts and HTTP 408, 409, 429, >= 500, at most ``max_retries`` times;
* ``x-should-retry: false`` forbids a retry, ``x-should-retry: true`` asks for one;
* never retry a safety rejection, an out-of-credit error, or HTTP 400/401/403/404 — these win over
  ``x-should-retry: true`` because retrying them cannot help and may be billed;
* never retry when the server asks to wait more than ``MAX_RETRY_AFTER`` (120 s): the caller tells
  the user (the exception's ``retry_after`` is set);
* delay: the server's ``retry-after-ms`` / ``retry-after`` when 0 < value <= 120 s, else
  ``min(0.5 * 2**retries_done, 8) * (1 - 0.25 * random())``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import (
    APIConnectionError,
    APITimeout,
    ImagesAPIError,
    OutOfCredit,
    SafetyRejected,
)
from .headers import Headers, header

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "MAX_RETRY_AFTER",
    "RateLimitInfo",
    "RetryDecision",
    "backoff_delay",
    "decide_retry",
    "parse_duration",
    "parse_rate_limit_headers",
]

DEFAULT_MAX_RETRIES = 2
MAX_RETRY_AFTER = 120.0
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
RETRYABLE_STATUSES = frozenset({408, 409, 429})
NEVER_RETRY_STATUSES = frozenset({400, 401, 403, 404})


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""


def backoff_delay(retries_done: int, random: Callable[[], float]) -> float:
    """Exponential backoff with jitter, as the SDK computes it."""
    base = min(INITIAL_RETRY_DELAY * 2.0**retries_done, MAX_RETRY_DELAY)
    return base * (1.0 - 0.25 * random())


def _is_retryable_kind(error: ImagesAPIError) -> bool:
    if isinstance(error, APITimeout | APIConnectionError):
        return True
    status = error.status
    return status is not None and (status in RETRYABLE_STATUSES or status >= 500)


def decide_retry(
    error: ImagesAPIError,
    *,
    retries_done: int,
    max_retries: int = DEFAULT_MAX_RETRIES,
    random: Callable[[], float],
) -> RetryDecision:
    """Whether to retry after ``error`` (``retries_done`` retries already made), and how long to wait."""
    if isinstance(error, SafetyRejected | OutOfCredit):
        return RetryDecision(False, reason="not retryable: " + type(error).__name__)
    if error.status in NEVER_RETRY_STATUSES:
        return RetryDecision(False, reason=f"not retryable: HTTP {error.status}")
    if retries_done >= max_retries:
        return RetryDecision(False, reason=f"retries exhausted ({max_retries})")
    if error.retry_after is not None and error.retry_after > MAX_RETRY_AFTER:
        reason = f"retry-after {error.retry_after:.0f}s exceeds {MAX_RETRY_AFTER:.0f}s"
        return RetryDecision(False, reason=reason)
    if error.should_retry is False:
        return RetryDecision(False, reason="x-should-retry: false")
    if error.should_retry is not True and not _is_retryable_kind(error):
        return RetryDecision(False, reason="not retryable: " + type(error).__name__)
    if error.retry_after is not None and 0 < error.retry_after <= MAX_RETRY_AFTER:
        return RetryDecision(True, error.retry_after, reason="retry-after")
    return RetryDecision(True, backoff_delay(retries_done, random), reason="backoff")


# --------------------------------------------------------------------------------------------------
# Rate-limit headers
# --------------------------------------------------------------------------------------------------

_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str | None) -> float | None:
    """Seconds in an OpenAI reset duration: ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"``, ``"0.5"``."""
    if text is None:
        return None
    text = text.strip().lower()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    position = 0
    total = 0.0
    factors = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    for match in _DURATION_PART_RE.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * factors[match.group(2)]
        position = match.end()
    if position != len(text) or position == 0:
        return None
    return total


def _int_header(headers: Headers | None, name: str) -> int | None:
    raw = header(headers, name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimitInfo:
    """The ``x-ratelimit-*`` headers of one response; resets are in seconds from the response."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens: float | None = None


def parse_rate_limit_headers(headers: Headers | None) -> RateLimitInfo | None:
    """The rate-limit state the response reports, or None when it carries none of the headers."""
    info = RateLimitInfo(
        limit_requests=_int_header(headers, "x-ratelimit-limit-requests"),
        remaining_requests=_int_header(headers, "x-ratelimit-remaining-requests"),
        reset_requests=parse_duration(header(headers, "x-ratelimit-reset-requests")),
        limit_tokens=_int_header(headers, "x-ratelimit-limit-tokens"),
        remaining_tokens=_int_header(headers, "x-ratelimit-remaining-tokens"),
        reset_tokens=parse_duration(header(headers, "x-ratelimit-reset-tokens")),
    )
    return None if info == RateLimitInfo() else info
