"""The fake Images API itself: it must refuse what the real API refuses, and fail as scripted."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bot.images import retry
from tests.fakeapi import FAILURE_KINDS, FakeImagesAPI, ratelimit
from tests.fakeapi import spec as fake_spec
from tests.fakeapi.calls import assert_openai_error, auth, jpeg, png, post_form, post_json

# -- refusals ---------------------------------------------------------------------------------------

INVALID_GENERATIONS = [
    ({"model": "dall-e-3", "prompt": "x", "n": 2}, "n"),
    ({"model": "gpt-image-1", "prompt": "x", "response_format": "b64_json"}, "response_format"),
    ({"model": "gpt-image-1", "prompt": "x", "style": "vivid"}, "style"),
    ({"model": "gpt-image-1", "prompt": "x", "size": "1792x1024"}, "size"),
    ({"model": "gpt-image-2", "prompt": "x", "size": "1000x1000"}, "size"),
    ({"model": "gpt-image-2", "prompt": "x", "size": "3840x3840"}, "size"),
    ({"model": "gpt-image-1", "prompt": "x", "size": "1024 X 1024"}, "size"),
    ({"model": "dall-e-2", "prompt": "x" * 1001}, "prompt"),
    ({"model": "dall-e-3", "prompt": "x" * 4001}, "prompt"),
    ({"model": "gpt-image-1", "prompt": "x" * 32001}, "prompt"),
    ({"model": "gpt-image-1", "prompt": "   "}, "prompt"),
    ({"model": "gpt-image-1"}, "prompt"),
    ({"model": "gpt-image-1", "prompt": "x", "n": 0}, "n"),
    ({"model": "gpt-image-1", "prompt": "x", "n": 11}, "n"),
    ({"model": "gpt-image-1", "prompt": "x", "n": "2"}, "n"),
    ({"model": "gpt-image-1", "prompt": "x", "quality": "hd"}, "quality"),
    ({"model": "dall-e-3", "prompt": "x", "quality": "high"}, "quality"),
    ({"model": "dall-e-2", "prompt": "x", "quality": "hd"}, "quality"),
    ({"model": "dall-e-3", "prompt": "x", "output_format": "png"}, "output_format"),
    ({"model": "dall-e-3", "prompt": "x", "background": "opaque"}, "background"),
    (
        {"model": "gpt-image-1", "prompt": "x", "background": "transparent", "output_format": "jpeg"},
        "background",
    ),
    ({"model": "gpt-image-1", "prompt": "x", "output_format": "gif"}, "output_format"),
    ({"model": "gpt-image-1", "prompt": "x", "moderation": "none"}, "moderation"),
    ({"model": "gpt-image-1", "prompt": "x", "colour": "blue"}, "colour"),
    ({"model": "gpt-image-1", "prompt": "x", "input_fidelity": "high"}, "input_fidelity"),
    ({"model": "dall-e-4", "prompt": "x"}, "model"),
]


@pytest.mark.parametrize(("body", "param"), INVALID_GENERATIONS)
async def test_invalid_generation_is_refused(http, fake, body: dict, param: str | None) -> None:
    status, payload, headers = await post_json(http, fake, "generations", body)
    assert status == 400
    error = assert_openai_error(payload)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert headers["x-request-id"].startswith("req_")
    assert len(fake.validation_errors) >= 1
    assert fake.requests[0].json == body


@pytest.mark.parametrize(
    "body",
    [
        {"model": "dall-e-2", "prompt": "x" * 1000, "n": 10, "size": "256x256", "response_format": "url"},
        {"model": "dall-e-3", "prompt": "x", "size": "1024x1792", "quality": "hd", "style": "natural"},
        {"model": "gpt-image-1", "prompt": "x", "n": 10, "quality": "high", "moderation": "low"},
        {"model": "gpt-image-2", "prompt": "x", "size": "3840x2160", "output_format": "jpeg"},
        {"model": "gpt-image-1.5", "prompt": "x", "background": "transparent", "output_format": "webp"},
        {"model": "gpt-image-1-mini", "prompt": "x", "output_compression": 50, "output_format": "jpeg"},
    ],
)
async def test_valid_generation_is_accepted(http, fake, body: dict) -> None:
    status, payload, _ = await post_json(http, fake, "generations", body)
    assert status == 200, payload
    assert fake.validation_errors == []


async def test_generation_must_be_json(http, fake) -> None:
    status, payload, _ = await post_form(
        http, fake, "generations", {"model": "gpt-image-1", "prompt": "x"}, []
    )
    assert status == 400
    assert_openai_error(payload)
    status, payload, _ = await post_json(http, fake, "variations", {"model": "dall-e-2"})
    assert status == 400
    assert len(fake.validation_errors) == 2


async def test_broken_json_is_refused(http, fake) -> None:
    headers = {**auth(fake), "Content-Type": "application/json"}
    async with http.post(f"{fake.base_url}/images/generations", data=b"{nope", headers=headers) as r:
        assert r.status == 400
        assert_openai_error(await r.json())
    assert fake.validation_errors


async def test_unknown_route(http, fake) -> None:
    async with http.post(f"{fake.base_url}/images/upscale", json={}, headers=auth(fake)) as r:
        assert r.status == 404
        assert_openai_error(await r.json())


EDIT_CASES = [
    # (fields, files, param or None when valid)
    ({"model": "dall-e-2", "prompt": "x"}, [("image", "a.png", png(64, 64, mode="RGBA"))], None),
    ({"model": "dall-e-2", "prompt": "x"}, [("image", "a.png", png(64, 48))], "image"),
    ({"model": "dall-e-2", "prompt": "x"}, [("image", "a.jpg", jpeg(64, 64))], "image"),
    ({"model": "dall-e-2", "prompt": "x"}, [("image[]", "a.png", png(64, 64))] * 2, "image"),
    ({"model": "dall-e-2", "prompt": "x"}, [("image", "a.png", b"not an image")], "image"),
    (
        {"model": "dall-e-2", "prompt": "x"},
        [("image", "a.png", png(64, 64)), ("mask", "m.png", png(32, 32, mode="RGBA"))],
        "mask",
    ),
    (
        {"model": "dall-e-2", "prompt": "x"},
        [("image", "a.png", png(64, 64)), ("mask", "m.png", png(64, 64))],
        "mask",
    ),
    (
        {"model": "dall-e-2", "prompt": "x"},
        [("image", "a.png", png(64, 64)), ("mask", "m.png", png(64, 64, mode="RGBA"))],
        None,
    ),
    ({"model": "dall-e-2", "prompt": "x", "size": "1536x1024"}, [("image", "a.png", png(64, 64))], "size"),
    ({"model": "dall-e-3", "prompt": "x"}, [("image", "a.png", png(64, 64))], "model"),
    ({"model": "gpt-image-1", "prompt": "x"}, [("image[]", "a.jpg", jpeg(64, 48))] * 16, None),
    ({"model": "gpt-image-1", "prompt": "x"}, [("image[]", "a.jpg", jpeg(16, 16))] * 17, "image"),
    (
        {"model": "gpt-image-1", "prompt": "x", "response_format": "b64_json"},
        [("image", "a.png", png(8, 8))],
        "response_format",
    ),
    ({"model": "gpt-image-1", "prompt": "x", "style": "vivid"}, [("image", "a.png", png(8, 8))], "style"),
    ({"model": "gpt-image-1", "prompt": "x", "n": "many"}, [("image", "a.png", png(8, 8))], "n"),
    (
        {"model": "gpt-image-1", "prompt": "x", "input_fidelity": "high"},
        [("image", "a.png", png(8, 8))],
        None,
    ),
    (
        {"model": "gpt-image-1-mini", "prompt": "x", "input_fidelity": "high"},
        [("image", "a.png", png(8, 8))],
        "input_fidelity",
    ),
    ({"model": "gpt-image-1", "prompt": "x"}, [], "image"),
    ({"model": "gpt-image-2", "prompt": "x", "size": "2048x1152"}, [("image", "a.png", png(8, 8))], None),
]


@pytest.mark.parametrize(("fields", "files", "param"), EDIT_CASES)
async def test_edit_rules(http, fake, fields, files, param) -> None:
    status, payload, _ = await post_form(http, fake, "edits", fields, files)
    if param is None:
        assert status == 200, payload
        assert fake.validation_errors == []
    else:
        assert status == 400, payload
        assert assert_openai_error(payload)["param"] == param
        assert fake.validation_errors


async def test_dalle2_edit_image_must_be_under_4mb(http, fake) -> None:
    side = 1200  # an uncompressed PNG of 1200x1200 RGB is over 4 MiB
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    assert len(out.getvalue()) >= 4 * 1024 * 1024
    status, payload, _ = await post_form(
        http, fake, "edits", {"model": "dall-e-2", "prompt": "x"}, [("image", "a.png", out.getvalue())]
    )
    assert status == 400
    assert "less than" in payload["error"]["message"]


@pytest.mark.parametrize(
    ("fields", "files", "param"),
    [
        ({"model": "dall-e-2", "n": "2", "size": "256x256"}, [("image", "a.png", png(32, 32))], None),
        ({}, [("image", "a.png", png(32, 32))], None),
        ({"model": "dall-e-2"}, [("image", "a.png", png(32, 16))], "image"),
        ({"model": "dall-e-2"}, [("image", "a.jpg", jpeg(32, 32))], "image"),
        ({"model": "dall-e-2", "size": "1792x1024"}, [("image", "a.png", png(32, 32))], "size"),
        ({"model": "dall-e-2", "prompt": "x"}, [("image", "a.png", png(32, 32))], "prompt"),
        ({"model": "gpt-image-1"}, [("image", "a.png", png(32, 32))], "model"),
        ({"model": "dall-e-2"}, [], "image"),
    ],
)
async def test_variation_rules(http, fake, fields, files, param) -> None:
    status, payload, _ = await post_form(http, fake, "variations", fields, files)
    if param is None:
        assert status == 200, payload
        assert fake.validation_errors == []
    else:
        assert status == 400, payload
        assert assert_openai_error(payload)["param"] == param


# -- successes --------------------------------------------------------------------------------------


def decode(item: dict[str, Any]) -> tuple[str, int, int, str]:
    with Image.open(io.BytesIO(base64.b64decode(item["b64_json"]))) as image:
        return (image.format or "").lower(), image.width, image.height, image.mode


async def test_gpt_image_response_shape(http, fake) -> None:
    body = {
        "model": "gpt-image-1",
        "prompt": "a cat",
        "n": 2,
        "size": "1536x1024",
        "background": "transparent",
    }
    status, payload, headers = await post_json(http, fake, "generations", body)
    assert status == 200
    fake_spec.validator("ImagesResponse").validate(payload)
    assert [decode(item) for item in payload["data"]] == [("png", 1536, 1024, "RGBA")] * 2
    assert payload["data"][0]["b64_json"] != payload["data"][1]["b64_json"]
    assert "revised_prompt" not in payload["data"][0]
    assert (payload["size"], payload["background"], payload["output_format"]) == (
        "1536x1024",
        "transparent",
        "png",
    )
    assert payload["usage"]["output_tokens"] > 0
    for name in ("limit", "remaining", "reset"):
        assert headers[f"x-ratelimit-{name}-requests"] and headers[f"x-ratelimit-{name}-tokens"]


async def test_dalle_defaults_to_url_results(http, fake) -> None:
    status, payload, _ = await post_json(http, fake, "generations", {"model": "dall-e-3", "prompt": "a cat"})
    assert status == 200
    [item] = payload["data"]
    assert item["url"].startswith(fake.base_url + "/_files/")
    assert item["revised_prompt"]
    assert "usage" not in payload
    async with http.get(item["url"]) as r:
        assert r.status == 200
        with Image.open(io.BytesIO(await r.read())) as image:
            assert image.size == (1024, 1024)
    assert len(fake.downloads) == 1
    assert fake.validation_errors == []


async def test_downloads_must_not_carry_the_key(http, fake) -> None:
    fake.url_results = True
    _, payload, _ = await post_json(http, fake, "generations", {"model": "gpt-image-1", "prompt": "x"})
    async with http.get(payload["data"][0]["url"], headers=auth(fake)) as r:
        assert r.status == 200
    assert any("Authorization" in error for error in fake.validation_errors)


async def test_b64_when_asked_and_formats(http, fake) -> None:
    body = {"model": "dall-e-2", "prompt": "x", "size": "512x512", "response_format": "b64_json"}
    _, payload, _ = await post_json(http, fake, "generations", body)
    assert decode(payload["data"][0])[:3] == ("png", 512, 512)
    for image_format in ("jpeg", "webp"):
        body = {"model": "gpt-image-2", "prompt": "x", "size": "1024x1536", "output_format": image_format}
        _, payload, _ = await post_json(http, fake, "generations", body)
        assert decode(payload["data"][0])[:3] == (image_format, 1024, 1536)


# -- auth, models, latency --------------------------------------------------------------------------


async def test_wrong_key_is_401_and_authorization_is_never_recorded(http, fake) -> None:
    body = {"model": "gpt-image-1", "prompt": "x"}
    status, payload, _ = await post_json(
        http, fake, "generations", body, headers={"Authorization": "Bearer sk-nope"}
    )
    assert status == 401 and assert_openai_error(payload)["code"] == "invalid_api_key"
    status, _, _ = await post_json(http, fake, "generations", body, headers={})
    assert status == 401
    for request in fake.requests:
        assert all(name.lower() != "authorization" for name in request.headers)


async def test_served_models(http, fake) -> None:
    fake.served_models = {"gpt-image-2"}
    status, payload, _ = await post_json(http, fake, "generations", {"model": "dall-e-3", "prompt": "x"})
    assert status == 404 and assert_openai_error(payload)["code"] == "model_not_found"
    status, _, _ = await post_json(http, fake, "generations", {"model": "gpt-image-2", "prompt": "x"})
    assert status == 200
    assert fake.validation_errors == []


async def test_latency(http, fake) -> None:
    fake.latency = 0.3
    start = time.monotonic()
    await post_json(http, fake, "generations", {"model": "gpt-image-1", "prompt": "x"})
    assert time.monotonic() - start >= 0.3


def test_reset_restores_everything() -> None:
    with FakeImagesAPI(latency=0.01) as fake:
        fake.latency = 5
        fake.served_models = set()
        fake.url_results = True
        fake.fail("drop")
        fake.reset()
        assert (fake.latency, fake.served_models, fake.url_results) == (0.01, None, False)
        assert fake.requests == [] and fake.validation_errors == []
        assert fake._take_failure("generations") is None


def test_the_fake_runs_in_its_own_thread_for_blocking_callers(fake) -> None:
    request = urllib.request.Request(
        f"{fake.base_url}/images/generations",
        data=json.dumps({"model": "gpt-image-1-mini", "prompt": "x", "quality": "low"}).encode(),
        headers={**auth(fake), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert json.load(response)["quality"] == "low"


def test_missing_spec_fails_loudly(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="OpenAPI spec"):
        fake_spec.load_spec(tmp_path / "missing.yaml")


def test_fail_refuses_unknown_kinds(fake) -> None:
    with pytest.raises(ValueError):
        fake.fail("explode")
    with pytest.raises(ValueError):
        fake.fail("drop", endpoint="upscale")


# -- scripted failures ------------------------------------------------------------------------------

ERROR_KINDS = {
    "rate_limit": (429, "rate_limit_exceeded", "requests"),
    "insufficient_quota": (429, "insufficient_quota", "insufficient_quota"),
    "billing_hard_limit": (429, "billing_hard_limit_reached", "invalid_request_error"),
    "content_policy": (400, "content_policy_violation", "invalid_request_error"),
    "moderation_blocked": (400, "moderation_blocked", "image_generation_user_error"),
    "invalid_request": (400, "invalid_value", "invalid_request_error"),
    "auth": (401, "invalid_api_key", "invalid_request_error"),
    "forbidden": (403, None, "invalid_request_error"),
    "model_not_found": (404, "model_not_found", "invalid_request_error"),
    "server_error": (500, None, "server_error"),
}


@pytest.mark.parametrize("kind", sorted(ERROR_KINDS))
async def test_scripted_error_bodies(http, fake, kind: str) -> None:
    status, code, type_ = ERROR_KINDS[kind]
    fake.fail(kind)
    got_status, payload, headers = await post_json(
        http, fake, "generations", {"model": "gpt-image-1", "prompt": "x"}
    )
    assert got_status == status
    error = assert_openai_error(payload)
    assert (error["code"], error["type"]) == (code, type_)
    assert headers["x-request-id"].startswith("req_")
    assert fake.api_key not in error["message"]
    if kind == "invalid_request":
        assert error["param"] == "prompt"


def test_every_kind_is_covered() -> None:
    # content_filter (Azure's shape, type null) is covered in tests/fakeapi/test_fake_models.py
    others = {"malformed_json", "truncated", "drop", "slow", "html_error", "content_filter"}
    assert set(ERROR_KINDS) | others == FAILURE_KINDS


async def test_scripted_headers_status_and_message(http, fake) -> None:
    fake.fail("rate_limit", retry_after=2.5, retry_after_ms=2500, should_retry=False, message="custom")
    fake.fail("server_error", status=503)
    status, payload, headers = await post_json(
        http, fake, "generations", {"model": "gpt-image-1", "prompt": "x"}
    )
    assert status == 429
    assert (headers["retry-after"], headers["retry-after-ms"], headers["x-should-retry"]) == (
        "2.5",
        "2500",
        "false",
    )
    assert payload["error"]["message"] == "custom"
    status, _, _ = await post_json(http, fake, "generations", {"model": "gpt-image-1", "prompt": "x"})
    assert status == 503
    status, _, _ = await post_json(http, fake, "generations", {"model": "gpt-image-1", "prompt": "x"})
    assert status == 200


async def test_failures_are_fifo_per_endpoint_and_counted(http, fake) -> None:
    fake.fail("content_policy", endpoint="edits")
    fake.fail("server_error", times=2)
    body = {"model": "gpt-image-1", "prompt": "x"}
    assert (await post_json(http, fake, "generations", body))[0] == 500
    status, _, _ = await post_form(http, fake, "edits", body, [("image", "a.png", png(8, 8))])
    assert status == 400  # the edits failure was queued first
    assert (await post_json(http, fake, "generations", body))[0] == 500
    assert (await post_json(http, fake, "generations", body))[0] == 200
    assert [request.endpoint for request in fake.requests] == [
        "generations",
        "edits",
        "generations",
        "generations",
    ]


async def test_html_error(http, fake) -> None:
    fake.fail("html_error")
    async with http.post(
        f"{fake.base_url}/images/generations",
        json={"model": "gpt-image-1", "prompt": "x"},
        headers=auth(fake),
    ) as r:
        assert r.status == 502
        assert r.content_type == "text/html"
        assert "<title>502 Bad Gateway</title>" in await r.text()


async def test_malformed_json(http, fake) -> None:
    fake.fail("malformed_json")
    async with http.post(
        f"{fake.base_url}/images/generations",
        json={"model": "gpt-image-1", "prompt": "x"},
        headers=auth(fake),
    ) as r:
        assert r.status == 200
        with pytest.raises(ValueError):
            json.loads(await r.read())


async def test_truncated_and_drop(http, fake) -> None:
    fake.fail("truncated")
    fake.fail("drop")
    body = {"model": "gpt-image-1", "prompt": "x"}
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.post(f"{fake.base_url}/images/generations", json=body, headers=auth(fake)) as r:
            assert r.status == 200
            await r.read()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(f"{fake.base_url}/images/generations", json=body, headers=auth(fake)) as r:
            await r.read()
    assert (await post_json(http, fake, "generations", body))[0] == 200


async def test_slow_then_normal(http, fake) -> None:
    fake.fail("slow", delay=0.2)
    start = time.monotonic()
    status, _, _ = await post_json(http, fake, "generations", {"model": "gpt-image-1", "prompt": "x"})
    assert status == 200 and time.monotonic() - start >= 0.2


async def test_validation_errors_are_recorded_even_when_a_failure_is_scripted(http, fake) -> None:
    fake.fail("server_error")
    status, _, _ = await post_json(http, fake, "generations", {"model": "dall-e-3", "prompt": "x", "n": 3})
    assert status == 500
    assert len(fake.validation_errors) == 1 and "[n]" in fake.validation_errors[0]


async def test_concurrent_requests(http, fake) -> None:
    fake.latency = 0.2
    body = {"model": "gpt-image-1", "prompt": "x", "quality": "low"}
    start = time.monotonic()
    results = await asyncio.gather(*(post_json(http, fake, "generations", body) for _ in range(5)))
    assert [status for status, _, _ in results] == [200] * 5
    assert time.monotonic() - start < 1.0  # served concurrently, not one after another


# -- images-per-minute limit ------------------------------------------------------------------------

CHEAP = {"model": "gpt-image-1-mini", "prompt": "x", "quality": "low", "size": "1024x1024"}


async def test_no_limit_by_default_but_arrivals_are_kept(http, fake) -> None:
    assert fake.images_per_minute is None
    for n in (1, 3):
        assert (await post_json(http, fake, "generations", {**CHEAP, "n": n}))[0] == 200
    assert [n for _, n in fake.arrivals] == [1, 3]
    assert fake.rate_limited_count == 0


async def test_images_over_the_limit_get_429_with_a_sane_retry_after(http, fake) -> None:
    fake.images_per_minute = 3
    fake.rate_window = 5.0
    statuses = []
    for n in (2, 1, 1):
        status, payload, headers = await post_json(http, fake, "generations", {**CHEAP, "n": n})
        statuses.append(status)
    assert statuses == [200, 200, 429]  # images are counted, not requests
    error = assert_openai_error(payload)
    assert (error["code"], error["type"]) == ("rate_limit_exceeded", "requests")
    assert "Limit 3, Used 3, Requested 1" in error["message"]
    assert 4 <= int(headers["retry-after"]) <= 5  # the first request leaves the window in ~5 s
    assert headers["x-ratelimit-limit-requests"] == "3"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert retry.parse_duration(headers["x-ratelimit-reset-requests"]) <= 5.0
    assert fake.rate_limited_count == 1
    assert [n for _, n in fake.arrivals] == [2, 1]  # only what the limit admitted
    assert len(fake.requests) == 3


async def test_a_refusal_is_immediate_even_with_latency(http, fake) -> None:
    fake.images_per_minute = 1
    fake.latency = 0.5
    assert (await post_json(http, fake, "generations", CHEAP))[0] == 200
    start = time.monotonic()
    assert (await post_json(http, fake, "generations", CHEAP))[0] == 429
    assert time.monotonic() - start < 0.4


async def test_success_headers_describe_the_window(http, fake) -> None:
    fake.images_per_minute = 10
    _, _, headers = await post_json(http, fake, "generations", {**CHEAP, "n": 4})
    assert headers["x-ratelimit-limit-requests"] == "10"
    assert headers["x-ratelimit-remaining-requests"] == "6"
    assert 59 < retry.parse_duration(headers["x-ratelimit-reset-requests"]) <= 60


async def test_the_window_rolls() -> None:
    with FakeImagesAPI(images_per_minute=2, rate_window=0.6) as fake:
        async with aiohttp.ClientSession() as http:
            first = [(await post_json(http, fake, "generations", CHEAP))[0] for _ in range(3)]
            assert first == [200, 200, 429]
            await asyncio.sleep(0.65)
            second = [(await post_json(http, fake, "generations", CHEAP))[0] for _ in range(3)]
            assert second == [200, 200, 429]
        assert fake.rate_limited_count == 2
        times = [when for when, _ in fake.arrivals]
        assert len(times) == 4 and times[2] - times[0] >= 0.6


async def test_a_request_larger_than_the_limit_never_fits(http, fake) -> None:
    fake.images_per_minute = 2
    fake.rate_window = 3.0
    status, _, headers = await post_json(http, fake, "generations", {**CHEAP, "n": 3})
    assert status == 429 and int(headers["retry-after"]) == 3
    assert fake.arrivals == []


def test_reset_restores_the_limit() -> None:
    with FakeImagesAPI(images_per_minute=5, rate_window=2.0) as fake:
        fake.images_per_minute = None
        fake.rate_window = 60.0
        fake._rate_limited = 3
        fake.reset()
        assert (fake.images_per_minute, fake.rate_window, fake.rate_limited_count) == (5, 2.0, 0)
        assert fake.arrivals == []
    with pytest.raises(ValueError):
        FakeImagesAPI().images_per_minute = 0


def test_rolling_window_retry_after() -> None:
    window = ratelimit.RollingWindow(4, 10.0)
    assert window.admit(0.0, 2).admitted and window.admit(3.0, 2).admitted
    refused = window.admit(4.0, 3)  # needs 3 freed: both entries must leave, the second at 13 s
    assert not refused.admitted and refused.retry_after == pytest.approx(9.0)
    assert window.admit(10.0, 2).admitted  # the first entry left at 10 s
    assert window.reset_in(10.0) == pytest.approx(10.0)
    assert [ratelimit.go_duration(s) for s in (0.12, 1.5, 59.9996, 360)] == ["120ms", "1.5s", "60s", "6m0s"]


async def test_photo_like_images_have_a_real_world_size(http, fake) -> None:
    fake.photo = True
    _, payload, _ = await post_json(
        http, fake, "generations", {"model": "gpt-image-1", "prompt": "x", "size": "1536x1024"}
    )
    data = base64.b64decode(payload["data"][0]["b64_json"])
    assert decode(payload["data"][0])[:3] == ("png", 1536, 1024)
    assert 2_000_000 < len(data) < 5_000_000
