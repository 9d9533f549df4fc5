"""Small, pure helpers to read HTTP response headers (case-insensitively) the way the SDK does."""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime

Headers = Mapping[str, str]


def header(headers: Headers | None, name: str) -> str | None:
    """Return the header ``name`` (any case) or None. Works for dicts and aiohttp's CIMultiDict."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                value = candidate
                break
    return None if value is None else str(value).strip()


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def parse_retry_after(headers: Headers | None, *, now: datetime | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, else ``retry-after`` (seconds or HTTP date).

    Returns the raw value (it may be <= 0 or very large); the retry policy decides what to do with it.
    """
    raw_ms = header(headers, "retry-after-ms")
    if raw_ms:
        try:
            value = _finite(float(raw_ms) / 1000.0)
        except ValueError:
            value = None
        if value is not None:
            return value
    raw = header(headers, "retry-after")
    if not raw:
        return None
    try:
        return _finite(float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return (when - current).total_seconds()


def parse_should_retry(headers: Headers | None) -> bool | None:
    """The ``x-should-retry`` header as a bool, or None when absent or neither "true" nor "false"."""
    raw = header(headers, "x-should-retry")
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None
