"""The rate window against what upstream's headers say: honoured before they run out, not after a 429."""

from __future__ import annotations

import pytest

from bot.core.scheduling.rate_window import RateWindow
from bot.images import RateLimitInfo


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def window(limit: int = 50) -> tuple[RateWindow, Clock]:
    clock = Clock()
    return RateWindow(limit, 60.0, 0.5, clock), clock


def send(rate: RateWindow, images: int) -> None:
    assert rate.delay(images) == 0
    rate.record(images)


def test_fewer_requests_left_upstream_than_our_count_holds_the_rest_until_its_reset():
    rate, clock = window(50)
    send(rate, 5)
    # another process on the organisation used most of the minute: 3 left, reset in 20 s
    rate.observe(RateLimitInfo(limit_requests=50, remaining_requests=3, reset_requests=20.0))

    send(rate, 2)
    send(rate, 1)
    assert rate.delay(1) == pytest.approx(20.0)  # the 3 are spent, though our count sees 42 left
    clock.now += 20.0
    assert rate.delay(1) == 0  # the reset came: our own count governs again


def test_upstream_agreeing_with_our_count_changes_nothing():
    rate, _ = window(10)
    send(rate, 4)
    rate.observe(RateLimitInfo(limit_requests=10, remaining_requests=6, reset_requests=59.0))

    send(rate, 6)
    assert rate.delay(1) == pytest.approx(60.5)  # our window: the first image leaves at 60 s + margin


def test_tokens_left_are_turned_into_images_from_the_tokens_an_image_used():
    rate, clock = window(50)
    send(rate, 2)
    info = RateLimitInfo(limit_tokens=1_000_000, remaining_tokens=3_500, reset_tokens=30.0)
    rate.observe(info, images=2, tokens=2_000)  # 1,000 tokens per image: 3 images left

    send(rate, 3)
    assert rate.delay(1) == pytest.approx(30.0)
    clock.now += 30.0
    assert rate.delay(1) == 0


def test_no_tokens_left_pauses_even_before_tokens_per_image_are_known():
    rate, _ = window(50)
    rate.observe(RateLimitInfo(limit_tokens=100_000, remaining_tokens=0, reset_tokens=12.0))

    assert rate.delay(1) == pytest.approx(12.0)


def test_an_account_limit_below_the_configured_one_becomes_the_window():
    rate, _ = window(50)
    # 4,400 tokens a minute at 1,100 tokens an image: 4 images a minute, whatever is configured
    rate.observe(
        RateLimitInfo(limit_tokens=4_400, remaining_tokens=4_400, reset_tokens=0.5), images=1, tokens=1_100
    )

    assert rate.images_per_minute == 4
    send(rate, 4)
    assert rate.delay(1) > 59
    assert rate.delay(9) > 59  # a request larger than the account's window waits for a whole window


def test_a_newer_response_lifts_a_cap_it_no_longer_reports():
    rate, _ = window(50)
    rate.observe(RateLimitInfo(limit_requests=50, remaining_requests=0, reset_requests=40.0))
    assert rate.delay(1) == pytest.approx(40.0)

    rate.observe(RateLimitInfo(limit_requests=50, remaining_requests=50, reset_requests=1.0))
    assert rate.delay(1) == 0


def test_tokens_per_image_lean_to_the_largest_seen():
    rate, _ = window(50)
    rate.observe(None, images=1, tokens=1_000)
    rate.observe(None, images=1, tokens=5_000)
    rate.observe(None, images=1, tokens=1_000)

    assert rate.tokens_per_image is not None and rate.tokens_per_image >= 4_000


def test_what_other_processes_sent_is_not_mistaken_for_unknown_spending():
    rate, _ = window(50)
    send(rate, 5)
    rate.elsewhere = 30  # the shared limiter counted 30 images from the other processes
    rate.observe(RateLimitInfo(limit_requests=50, remaining_requests=15, reset_requests=59.0))
    assert rate.delay(10) == 0  # 50 - 5 - 30 = 15 left: upstream agrees, nothing is held
    rate.observe(RateLimitInfo(limit_requests=50, remaining_requests=4, reset_requests=59.0))
    assert rate.delay(5) == pytest.approx(59.0)  # fewer than that: someone else spends; held
