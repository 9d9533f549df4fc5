"""Quota periods: pure UTC calendar maths, no I/O.

A period is a calendar day, an ISO week (Monday 00:00 UTC to the next Monday) or a calendar month
(the 1st 00:00 UTC to the next 1st). Every function takes an *aware* datetime (any time zone; it is
converted to UTC) and rejects naive ones, because a naive "now" is how quotas silently shift by the
host's UTC offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = get_args(Period)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def validate_period(period: object) -> Period:
    """Return ``period`` if it is one of ``PERIODS``; raise ``ValueError`` otherwise."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    return period


def as_utc(now: datetime) -> datetime:
    """Return ``now`` converted to UTC; raise ``ValueError`` for a naive datetime."""
    if not isinstance(now, datetime):
        raise TypeError(f"expected a datetime, not {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware UTC datetime, e.g. datetime.now(UTC)")
    return now.astimezone(UTC)


def period_start(period: Period, now: datetime) -> datetime:
    """The instant the period containing ``now`` began (inclusive), as an aware UTC datetime."""
    validate_period(period)
    midnight = as_utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return midnight
    if period == "week":
        return midnight - timedelta(days=midnight.weekday())
    return midnight.replace(day=1)


def period_end(period: Period, now: datetime) -> datetime:
    """The instant the period containing ``now`` ends (exclusive) and the next one begins."""
    start = period_start(period, now)
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(weeks=1)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch: how the store keeps timestamps (exact and comparable)."""
    return (as_utc(moment) - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime for microseconds since the Unix epoch."""
    return _EPOCH + timedelta(microseconds=micros)
