"""Period maths: UTC calendar boundaries for day, week (Monday) and month."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store.periods import (
    PERIODS,
    as_utc,
    from_micros,
    period_end,
    period_start,
    to_micros,
    validate_period,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        ("day", utc(2024, 3, 15, 13, 45, 10), utc(2024, 3, 15), utc(2024, 3, 16)),
        ("day", utc(2024, 2, 28, 23, 59), utc(2024, 2, 28), utc(2024, 2, 29)),  # leap year
        ("day", utc(2023, 2, 28, 23, 59), utc(2023, 2, 28), utc(2023, 3, 1)),
        ("day", utc(2024, 12, 31, 23, 59, 59, 999_999), utc(2024, 12, 31), utc(2025, 1, 1)),
        # 2024-03-15 is a Friday; weeks start on Monday.
        ("week", utc(2024, 3, 15, 13, 45), utc(2024, 3, 11), utc(2024, 3, 18)),
        ("week", utc(2024, 3, 17, 23, 59, 59, 999_999), utc(2024, 3, 11), utc(2024, 3, 18)),  # Sunday
        ("week", utc(2025, 1, 1, 8), utc(2024, 12, 30), utc(2025, 1, 6)),  # across the new year
        ("week", utc(2024, 2, 29, 12), utc(2024, 2, 26), utc(2024, 3, 4)),  # across a leap day
        ("month", utc(2024, 3, 15, 13, 45), utc(2024, 3, 1), utc(2024, 4, 1)),
        ("month", utc(2024, 2, 29, 23, 59), utc(2024, 2, 1), utc(2024, 3, 1)),  # leap February
        ("month", utc(2023, 2, 28, 12), utc(2023, 2, 1), utc(2023, 3, 1)),
        ("month", utc(2024, 12, 31, 23, 59, 59, 999_999), utc(2024, 12, 1), utc(2025, 1, 1)),  # year rollover
        ("month", utc(2024, 1, 31, 12), utc(2024, 1, 1), utc(2024, 2, 1)),
    ],
)
def test_boundaries(period, now, start, end):
    assert period_start(period, now) == start
    assert period_end(period, now) == end


@pytest.mark.parametrize(
    ("period", "boundary"),
    [
        ("day", utc(2024, 3, 16)),
        ("week", utc(2024, 3, 18)),
        ("month", utc(2024, 4, 1)),
        ("month", utc(2025, 1, 1)),
    ],
)
def test_now_exactly_on_a_boundary_starts_the_new_period(period, boundary):
    assert period_start(period, boundary) == boundary
    assert period_end(period, boundary) > boundary
    just_before = boundary - timedelta(microseconds=1)
    assert period_end(period, just_before) == boundary
    assert period_start(period, just_before) < boundary


def test_other_time_zones_are_converted_to_utc():
    # 01:00 on 1 March at UTC+2 is still 29 February (a Thursday) in UTC.
    now = datetime(2024, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert period_start("day", now) == utc(2024, 2, 29)
    assert period_start("week", now) == utc(2024, 2, 26)
    assert period_start("month", now) == utc(2024, 2, 1)
    assert period_start("month", now).tzinfo is UTC


def test_naive_and_non_datetime_inputs_are_rejected():
    with pytest.raises(ValueError, match="naive"):
        period_start("day", datetime(2024, 3, 1, 12))
    with pytest.raises(ValueError, match="naive"):
        period_end("week", datetime(2024, 3, 1, 12))
    with pytest.raises(ValueError, match="naive"):
        to_micros(datetime(2024, 3, 1, 12))
    with pytest.raises(TypeError):
        as_utc(date(2024, 3, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["year", "Day", "", None, 1])
def test_unknown_periods_are_rejected(bad):
    with pytest.raises(ValueError, match="period"):
        validate_period(bad)
    with pytest.raises(ValueError, match="period"):
        period_start(bad, utc(2024, 1, 1))  # type: ignore[arg-type]


def test_periods_constant():
    assert PERIODS == ("day", "week", "month")


offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 1), timezones=offsets)


@given(period=st.sampled_from(PERIODS), now=moments)
def test_period_contains_now_and_periods_tile_time(period, now):
    start, end = period_start(period, now), period_end(period, now)
    assert start <= now < end
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)
    # The end of one period is the start of the next, and the instant before it is still this one.
    assert period_start(period, end) == end
    assert period_start(period, end - timedelta(microseconds=1)) == start
    assert period_start(period, start) == start
    if period == "day":
        assert end - start == timedelta(days=1)
    elif period == "week":
        assert start.weekday() == 0 and end - start == timedelta(weeks=1)
    else:
        assert start.day == 1 and end.day == 1
        assert timedelta(days=28) <= end - start <= timedelta(days=31)


@given(now=moments)
def test_micros_round_trip_and_keep_order(now):
    micros = to_micros(now)
    assert from_micros(micros) == now
    assert to_micros(now + timedelta(microseconds=1)) == micros + 1
