"""The retry policy, header parsing and the status/body -> exception mapping (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UpstreamError
from bot.images import (
    APIConnectionError,
    APITimeout,
    AuthenticationFailed,
    BadResponse,
    ImagesAPIError,
    InvalidRequest,
    ModelNotFound,
    OutOfCredit,
    PermissionDenied,
    RateLimited,
    RateLimitInfo,
    SafetyRejected,
    ServerError,
    decide_retry,
    error_from_response,
    parse_duration,
    parse_rate_limit_headers,
    redact,
)
from bot.images.headers import parse_retry_after
from bot.images.retry import backoff_delay

# Shaped like a real key (so the redaction of key-shaped text is exercised) but assembled at run
# time, so no key-shaped literal sits in the repository.
KEY = "sk-" + "proj-" + "NOTAREALKEY" + "0" * 16


def body(
    code: str | None = None, type_: str = "invalid_request_error", message: str = "msg", param=None
) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}).encode()


def half() -> float:
    return 0.5


# -- error_from_response -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (400, body("content_policy_violation"), SafetyRejected),
        (400, body("moderation_blocked", "image_generation_user_error"), SafetyRejected),
        (400, body("invalid_value", param="size"), InvalidRequest),
        (400, body(None), InvalidRequest),
        (422, body(None), InvalidRequest),
        (413, b"", InvalidRequest),
        (401, body("invalid_api_key"), AuthenticationFailed),
        (403, body(None), PermissionDenied),
        (404, body("model_not_found"), ModelNotFound),
        (404, b"Not Found", ModelNotFound),
        (429, body("rate_limit_exceeded", "requests"), RateLimited),
        (429, body(None), RateLimited),
        (429, body("insufficient_quota", "insufficient_quota"), OutOfCredit),
        (429, body("billing_hard_limit_reached"), OutOfCredit),
        (400, body("billing_hard_limit_reached"), OutOfCredit),
        (402, body(None), OutOfCredit),
        (403, body("insufficient_quota"), OutOfCredit),
        (500, body(None, "server_error"), ServerError),
        (502, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", ServerError),
        (503, b"", ServerError),
        (408, b"", ImagesAPIError),
        (409, b"", ImagesAPIError),
        (200, b"{not json", BadResponse),
    ],
)
def test_mapping(status: int, payload: bytes, expected: type) -> None:
    error = error_from_response(status, payload, {"x-request-id": "req_1"})
    assert type(error) is expected
    assert isinstance(error, UpstreamError)
    assert (error.status, error.request_id) == (status, "req_1")


def test_safety_rejection_is_only_for_the_two_codes_with_400() -> None:
    assert type(error_from_response(429, body("content_policy_violation"))) is RateLimited
    assert type(error_from_response(400, body("safety"))) is InvalidRequest
    first = error_from_response(400, body("content_policy_violation"))
    second = error_from_response(400, body("moderation_blocked"))
    assert isinstance(first, SafetyRejected) and isinstance(second, SafetyRejected)
    assert (first.system, second.system) == ("dall-e", "gpt-image")


def test_fields_come_from_the_body_and_headers() -> None:
    error = error_from_response(
        429,
        body("rate_limit_exceeded", "requests", "Slow down", None),
        {"X-Request-ID": "req_9", "Retry-After": "7", "x-should-retry": "true"},
    )
    assert isinstance(error, RateLimited)
    assert (error.code, error.type, error.message, error.param) == (
        "rate_limit_exceeded",
        "requests",
        "Slow down",
        None,
    )
    assert (error.request_id, error.retry_after, error.should_retry) == ("req_9", 7.0, True)
    assert "HTTP 429" in str(error) and "rate_limit_exceeded" in str(error) and "Slow down" in str(error)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": {"message": "parsed dict"}}, "parsed dict"),
        (b'{"error": "plain string error", "code": "x"}', "plain string error"),
        (b'{"message": "top-level message"}', "top-level message"),
        (b"<html><body><h1>Service &amp; Unavailable</h1></body></html>", "Service & Unavailable"),
        (b"upstream connect error", "upstream connect error"),
        (b"", None),
        (None, None),
        (b"\xff\xfe\x00garbage", "\ufffd\ufffd\x00garbage"),
        (b'["a list"]', '["a list"]'),
    ],
)
def test_robust_to_any_body(payload, message) -> None:
    error = error_from_response(500, payload, None)
    assert isinstance(error, ServerError)
    assert error.message == message


def test_messages_are_truncated() -> None:
    error = error_from_response(400, body(message="x" * 10_000))
    assert error.message is not None and len(error.message) <= 500
    assert len(str(error)) < 800


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=100, max_value=599), st.binary(max_size=300))
def test_never_raises_on_arbitrary_bodies(status: int, payload: bytes) -> None:
    error = error_from_response(status, payload, {"retry-after": "nonsense"})
    assert isinstance(error, ImagesAPIError)
    str(error)
    repr(error)


# -- secrets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {KEY}.",
        "Incorrect API key provided: sk-proj-****7890.",
        f"headers: {{'Authorization': 'Bearer {KEY}'}}",
        f"Authorization: Bearer {KEY}",
        f"authorization={KEY}",
        f"key={KEY}",
    ],
)
def test_redact_removes_keys(text: str) -> None:
    cleaned = redact(text, (KEY,))
    assert KEY not in cleaned
    assert "SECRET" not in cleaned and "7890" not in cleaned


def test_a_non_sk_gateway_key_is_scrubbed_when_known() -> None:
    gateway_key = "gw_live_abcdef123456"
    error = error_from_response(
        401, body("invalid_api_key", message=f"bad key {gateway_key}"), secrets=[gateway_key]
    )
    assert gateway_key not in str(error) and gateway_key not in repr(error)
    assert gateway_key not in (error.message or "")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=100), st.text(max_size=100), st.sampled_from([400, 401, 403, 429, 500]))
def test_the_key_never_survives_in_any_field(before: str, after: str, status: int) -> None:
    payload = {"error": {"message": before + KEY + after, "type": KEY, "param": KEY, "code": KEY}}
    error = error_from_response(status, payload, {"x-request-id": KEY}, secrets=[KEY])
    for text in (
        str(error),
        repr(error),
        error.message,
        error.type,
        error.param,
        error.code,
        error.request_id,
    ):
        assert KEY not in (text or "")


# -- retry decisions ---------------------------------------------------------------------------------


def err(status: int | None, cls: type[ImagesAPIError] = ImagesAPIError, **kwargs) -> ImagesAPIError:
    return cls(status=status, **kwargs)


@pytest.mark.parametrize(
    "error",
    [
        err(408),
        err(409),
        err(429, RateLimited),
        err(500, ServerError),
        err(502, ServerError),
        err(503, ServerError),
        err(None, APITimeout),
        err(None, APIConnectionError),
    ],
)
def test_retryable(error: ImagesAPIError) -> None:
    decision = decide_retry(error, retries_done=0, max_retries=2, random=half)
    assert decision.retry
    assert decision.delay == pytest.approx(0.5 * (1 - 0.25 * 0.5))


@pytest.mark.parametrize(
    "error",
    [
        err(400, SafetyRejected, code="content_policy_violation", should_retry=True),
        err(400, SafetyRejected, code="moderation_blocked"),
        err(429, OutOfCredit, code="insufficient_quota", should_retry=True),
        err(400, InvalidRequest, should_retry=True),
        err(401, AuthenticationFailed, should_retry=True),
        err(403, PermissionDenied),
        err(404, ModelNotFound, should_retry=True),
        err(422, InvalidRequest),
        err(200, BadResponse),
        err(500, ServerError, should_retry=False),
        err(429, RateLimited, retry_after=121.0),
        err(429, RateLimited, retry_after=120.5, should_retry=True),
    ],
)
def test_not_retryable(error: ImagesAPIError) -> None:
    assert not decide_retry(error, retries_done=0, max_retries=2, random=half).retry


def test_should_retry_true_asks_for_a_retry_of_an_odd_status() -> None:
    assert decide_retry(err(422, InvalidRequest, should_retry=True), retries_done=0, random=half).retry


def test_retries_are_bounded() -> None:
    error = err(500, ServerError)
    assert decide_retry(error, retries_done=1, max_retries=2, random=half).retry
    assert not decide_retry(error, retries_done=2, max_retries=2, random=half).retry
    assert not decide_retry(error, retries_done=0, max_retries=0, random=half).retry


@pytest.mark.parametrize(("retry_after", "delay"), [(3.0, 3.0), (120.0, 120.0), (0.25, 0.25)])
def test_server_requested_delay_is_honoured(retry_after: float, delay: float) -> None:
    decision = decide_retry(err(429, RateLimited, retry_after=retry_after), retries_done=1, random=half)
    assert decision.retry and decision.delay == delay


@pytest.mark.parametrize("retry_after", [0.0, -5.0])
def test_non_positive_retry_after_falls_back_to_backoff(retry_after: float) -> None:
    decision = decide_retry(err(429, RateLimited, retry_after=retry_after), retries_done=1, random=half)
    assert decision.retry and decision.delay == pytest.approx(1.0 * 0.875)


def test_backoff_schedule() -> None:
    assert [backoff_delay(i, lambda: 0.0) for i in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff_delay(0, lambda: 1.0) == 0.375


@given(st.integers(min_value=0, max_value=50), st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_backoff_bounds(retries_done: int, jitter: float) -> None:
    base = min(0.5 * 2**retries_done, 8.0)
    assert 0.75 * base <= backoff_delay(retries_done, lambda: jitter) <= base


# -- headers -----------------------------------------------------------------------------------------


def test_retry_after_parsing() -> None:
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"Retry-After": "9"}) == 9.0
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    http_date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": http_date}, now=now) == pytest.approx(30.0)
    assert parse_retry_after({"retry-after-ms": "soon", "retry-after": "4"}) == 4.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "inf"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0.5", 0.5),
        ("7.66s", 7.66),
        ("2m", 120.0),
        ("", None),
        ("soon", None),
        ("5x", None),
        ("1s trailing", None),
        (None, None),
    ],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    result = parse_duration(text)
    if seconds is None:
        assert result is None
    else:
        assert result == pytest.approx(seconds)


@given(
    st.integers(min_value=0, max_value=99),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=999),
)
def test_parse_duration_composes(hours: int, minutes: int, seconds: int, millis: int) -> None:
    text = f"{hours}h{minutes}m{seconds}s{millis}ms"
    assert parse_duration(text) == pytest.approx(hours * 3600 + minutes * 60 + seconds + millis / 1000)


def test_rate_limit_headers() -> None:
    headers = {
        "X-RateLimit-Limit-Requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "100000",
        "x-ratelimit-remaining-tokens": "95840",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert parse_rate_limit_headers(headers) == RateLimitInfo(500, 499, 0.12, 100000, 95840, 360.0)
    assert parse_rate_limit_headers({"x-ratelimit-remaining-requests": "3"}) == RateLimitInfo(
        remaining_requests=3
    )
    assert parse_rate_limit_headers({"content-type": "application/json"}) is None
    assert parse_rate_limit_headers({"x-ratelimit-limit-requests": "many"}) is None
