"""The fake Images API as an independent model of the December 2026 API: the 2.5/2.6 models and
their fields, GIF output, gateway aliases, ``GET /v1/models``, Azure OpenAI, and ``check_request``.

Every rule has a refused and an accepted case, over real HTTP; the facts come from
shared/reference/openai-images.md, never from the bot.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from typing import Any

import aiohttp
import pytest
from PIL import Image

from tests.fakeapi import CATALOG, FakeImagesAPI, check_request
from tests.fakeapi.calls import assert_openai_error, auth, jpeg, png, post_form, post_json
from tests.helpers import REPO

S26 = "gpt-image-2.6-sunburst"
F26 = "gpt-image-2.6-flare"
GIF = {"model": F26, "prompt": "a spinning top", "output_format": "gif", "size": "960x960"}


def gif_frames(item: dict[str, Any]) -> tuple[Image.Image, list[bytes], list[int]]:
    image = Image.open(io.BytesIO(base64.b64decode(item["b64_json"])))
    frames, durations = [], []
    for index in range(image.n_frames):
        image.seek(index)
        frames.append(image.convert("RGB").tobytes())
        durations.append(image.info["duration"])
    image.seek(0)
    return image, frames, durations


# -- the catalog is the fake's own --------------------------------------------------------------------


def test_the_fake_never_imports_the_bot() -> None:
    root = REPO
    fake = [
        p for p in (root / "tests" / "fakeapi").glob("*.py") if not p.name.startswith(("test_", "conftest"))
    ]
    assert len(fake) > 5
    for source in fake:  # the fake's own modules (its tests, beside them, may use the bot's helpers)
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+bot\b", text, re.MULTILINE), source.name
    code = "import sys, tests.fakeapi; sys.exit(any(m == 'bot' or m.startswith('bot.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_the_catalog_knows_every_model_id_of_december_2026() -> None:
    assert set(CATALOG) == {
        "dall-e-2",
        "dall-e-3",
        "gpt-image-1",
        "gpt-image-1-mini",
        "gpt-image-1.5",
        "gpt-image-1.5-2025-12-16",
        "chatgpt-image-latest",
        "gpt-image-2",
        "gpt-image-2-2026-04-21",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-flare-2026-09-08",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-sunburst-2026-09-08",
        "gpt-image-2.6-flare",
        "gpt-image-2.6-sunburst",
    }
    assert CATALOG["chatgpt-image-latest"].input_fidelities == CATALOG["gpt-image-1.5"].input_fidelities
    assert CATALOG["gpt-image-1"].retired_on_openai == "2026-10-23"
    assert CATALOG[S26].retired_on_openai is None
    for model in (S26, F26):
        assert CATALOG[model].output_formats == ("png", "jpeg", "webp", "gif")  # no svg: not in the schema


# -- generations: accepted and refused ----------------------------------------------------------------

ACCEPTED = [
    {"model": "gpt-image-2.5-flare", "prompt": "x", "quality": "xhigh"},
    {"model": "gpt-image-2.5-sunburst-2026-09-08", "prompt": "x", "quality": "max"},
    {"model": "gpt-image-2.5-flare-2026-09-08", "prompt": "x", "size": "2048x1152"},
    {"model": S26, "prompt": "x", "quality": "max", "complexity": "low"},
    {"model": F26, "prompt": "x", "complexity": "high", "size": "3840x2160", "n": 10},
    {"model": S26, "prompt": "x", "size": "1280x3840"},  # 3:1 exactly, 4.9 MP
    {"model": "gpt-image-2-2026-04-21", "prompt": "x", "size": "1536x864"},
    {"model": "gpt-image-2.5-sunburst", "prompt": "x", "background": "transparent", "output_format": "webp"},
    {"model": "gpt-image-1.5-2025-12-16", "prompt": "x", "quality": "high"},
    {"model": "chatgpt-image-latest", "prompt": "x", "output_format": "jpeg", "output_compression": 0},
    {"model": F26, "prompt": "x", "output_format": "jpeg", "output_compression": 100},
    {**GIF},
    {**GIF, "model": S26, "frame_count": 9, "frame_duration_ms": 20, "background": "opaque"},
    {**GIF, "frame_count": 2, "size": "960x960"},
    {**GIF, "frame_count": 12, "size": "816x816"},
    {**GIF, "frame_count": 12, "size": "528x1008"},  # 4 columns x 3 rows: a 2112x3024 sheet
    {**GIF, "frame_count": 16, "size": "720x720", "quality": "xhigh", "complexity": "medium"},
    {**GIF, "frame_count": 9, "size": "1280x640", "frame_duration_ms": 655350},
]

REFUSED = [
    ({"prompt": "x"}, "model"),
    ({"model": "", "prompt": "x"}, "model"),
    ({"model": "gpt-image-2", "prompt": "x", "quality": "xhigh"}, "quality"),
    ({"model": "gpt-image-1.5", "prompt": "x", "quality": "max"}, "quality"),
    ({"model": "dall-e-3", "prompt": "x", "quality": "max"}, "quality"),
    ({"model": "gpt-image-2.5-flare", "prompt": "x", "complexity": "low"}, "complexity"),
    ({"model": "gpt-image-2", "prompt": "x", "complexity": "high"}, "complexity"),
    ({"model": "dall-e-3", "prompt": "x", "complexity": "high"}, "complexity"),
    ({"model": S26, "prompt": "x", "complexity": "extreme"}, "complexity"),
    ({"model": "gpt-image-2.5-sunburst", "prompt": "x", "output_format": "gif"}, "output_format"),
    ({"model": "gpt-image-2", "prompt": "x", "output_format": "gif", "size": "960x960"}, "output_format"),
    ({"model": S26, "prompt": "x", "output_format": "svg"}, "output_format"),
    ({"model": S26, "prompt": "x", "markup": "<binary>"}, "markup"),
    ({"model": S26, "prompt": "x", "response_format": "b64_json"}, "response_format"),
    ({"model": F26, "prompt": "x", "frame_count": 9}, "frame_count"),
    ({"model": F26, "prompt": "x", "output_format": "png", "frame_duration_ms": 200}, "frame_duration_ms"),
    ({"model": "dall-e-3", "prompt": "x", "frame_count": 4}, "frame_count"),
    ({**GIF, "stream": True}, "stream"),
    ({**GIF, "partial_images": 0}, "partial_images"),
    ({**GIF, "output_compression": 80}, "output_compression"),
    ({**GIF, "background": "transparent"}, "background"),
    ({**GIF, "size": "auto"}, "size"),  # auto means 1024x1024: a 3072x3072 sheet, over 8.29 MP
    ({k: v for k, v in GIF.items() if k != "size"}, "size"),
    ({**GIF, "size": "976x976"}, "size"),  # 2-9 frames cap at 960
    ({**GIF, "frame_count": 10, "size": "960x960"}, "size"),
    ({**GIF, "frame_count": 12, "size": "832x832"}, "size"),  # 10-12 frames cap at 816
    ({**GIF, "frame_count": 13, "size": "816x816"}, "size"),
    ({**GIF, "frame_count": 16, "size": "736x736"}, "size"),  # 13-16 frames cap at 720
    ({**GIF, "frame_count": 10, "size": "1248x624"}, "size"),  # a 4992 px wide sheet
    ({**GIF, "frame_count": 11, "size": "1008x528"}, "size"),  # 4x3: 4032 px wide, 6.4 MP
    ({**GIF, "size": "1296x432"}, "size"),  # a 3888x1296 sheet: 5 MP, but over 3840 px
    ({**GIF, "size": "1536x1024"}, "size"),
    ({**GIF, "frame_count": 1}, "frame_count"),
    ({**GIF, "frame_count": 17}, "frame_count"),
    ({**GIF, "frame_duration_ms": 10}, "frame_duration_ms"),
    ({"model": S26, "prompt": "x", "size": "4096x1024"}, "size"),  # longest edge and ratio
    ({"model": S26, "prompt": "x", "size": "3840x2176"}, "size"),  # pixels over 3840*2160
    ({"model": S26, "prompt": "x", "size": "1296x3904"}, "size"),
    ({"model": S26, "prompt": "x", "size": "1008x3040"}, "size"),  # ratio just over 3:1
    ({"model": F26, "prompt": "x", "size": "1000x1000"}, "size"),
    ({"model": "gpt-image-1.5", "prompt": "x", "size": "2048x1152"}, "size"),
    ({"model": F26, "prompt": "x", "background": "transparent", "output_format": "jpeg"}, "background"),
    ({"model": F26, "prompt": "x", "output_format": "jpeg", "output_compression": 101}, "output_compression"),
    ({"model": F26, "prompt": "x", "n": 11}, "n"),
    ({"model": S26, "prompt": "x" * 32001}, "prompt"),
]


@pytest.mark.parametrize("body", ACCEPTED)
async def test_the_reference_accepts(http, fake, body: dict) -> None:
    status, payload, _ = await post_json(http, fake, "generations", body)
    assert status == 200, payload
    assert fake.validation_errors == []
    assert check_request("generations", body) == []


@pytest.mark.parametrize(("body", "param"), REFUSED)
async def test_the_reference_refuses(http, fake, body: dict, param: str) -> None:
    status, payload, _ = await post_json(http, fake, "generations", body)
    assert status == 400, payload
    assert assert_openai_error(payload)["param"] == param
    assert fake.validation_errors
    assert param in {p for p, _ in check_request("generations", body)}


async def test_a_missing_model_is_recorded_as_none_but_variations_still_default(http, fake) -> None:
    await post_json(http, fake, "generations", {"prompt": "x"})
    assert fake.requests[0].model is None
    assert "Missing required parameter: 'model'" in fake.validation_errors[0]
    status, _, _ = await post_form(http, fake, "variations", {}, [("image", "a.png", png(32, 32))])
    assert status == 200 and fake.requests[1].model == "dall-e-2"


# -- edits --------------------------------------------------------------------------------------------

IMAGE = [("image", "a.png", png(64, 64))]
EDITS = [
    # (fields, files, param or None when accepted)
    ({"prompt": "x"}, IMAGE, "model"),
    ({"model": S26, "prompt": "x", "complexity": "low", "quality": "max"}, IMAGE, None),
    ({"model": "gpt-image-2.5-flare", "prompt": "x", "complexity": "low"}, IMAGE, "complexity"),
    (
        {"model": F26, "prompt": "x", "output_format": "gif", "size": "720x720", "frame_count": "16"},
        IMAGE,
        None,
    ),
    (
        {"model": F26, "prompt": "x", "output_format": "gif", "size": "960x960"},
        [*IMAGE, ("mask", "m.png", png(64, 64, mode="RGBA"))],
        "mask",
    ),
    (
        {"model": F26, "prompt": "x", "output_format": "gif", "size": "960x960", "stream": "true"},
        IMAGE,
        "stream",
    ),
    ({"model": F26, "prompt": "x", "output_format": "gif", "size": "1024x1024"}, IMAGE, "size"),
    ({"model": F26, "prompt": "x", "frame_duration_ms": "100"}, IMAGE, "frame_duration_ms"),
    ({"model": F26, "prompt": "x"}, [("image[]", "a.jpg", jpeg(64, 48))] * 16, None),
    ({"model": F26, "prompt": "x"}, [("image[]", "a.jpg", jpeg(64, 48))] * 17, "image"),
    ({"model": "gpt-image-1-mini", "prompt": "x", "input_fidelity": "low"}, IMAGE, None),
    ({"model": "gpt-image-1.5", "prompt": "x", "input_fidelity": "high"}, IMAGE, None),
    ({"model": "chatgpt-image-latest", "prompt": "x", "input_fidelity": "low"}, IMAGE, None),
    ({"model": "gpt-image-2", "prompt": "x", "input_fidelity": "low"}, IMAGE, "input_fidelity"),
    ({"model": S26, "prompt": "x", "input_fidelity": "high"}, IMAGE, "input_fidelity"),
    ({"model": "gpt-image-2.5-sunburst", "prompt": "x", "input_fidelity": "low"}, IMAGE, "input_fidelity"),
]


@pytest.mark.parametrize(("fields", "files", "param"), EDITS)
async def test_edit_rules_of_december_2026(http, fake, fields, files, param) -> None:
    status, payload, _ = await post_form(http, fake, "edits", fields, files)
    grouped: dict[str, list] = {}
    for name, filename, data in files:
        grouped.setdefault(name, []).append((filename, "image/png", data))
    found = check_request("edits", fields, grouped)
    if param is None:
        assert status == 200, payload
        assert fake.validation_errors == [] and found == []
    else:
        assert status == 400, payload
        assert assert_openai_error(payload)["param"] == param
        assert param in {p for p, _ in found}


JSON_EDIT = {"prompt": "x", "images": [{"image_url": "https://example.com/a.png"}]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({**JSON_EDIT, "model": S26}, None),
        ({**JSON_EDIT, "model": S26, "mask": {"file_id": "file-1"}}, None),
        ({**JSON_EDIT, "model": S26, "complexity": None}, None),  # null: the model's default
        ({**JSON_EDIT, "model": S26, "quality": "xhigh", "output_compression": 50}, None),
        ({**JSON_EDIT, "model": "gpt-image-2", "quality": "xhigh"}, "quality"),
        # the JSON edit body's size is an enum (auto and the three fixed sizes), none of which fits
        # the GIF frame budget: a GIF edit has to be multipart
        ({**JSON_EDIT, "model": S26, "output_format": "gif", "size": "960x960"}, "size"),
        ({**JSON_EDIT, "model": S26, "output_format": "gif", "mask": {"file_id": "f"}}, "mask"),
        (JSON_EDIT, "model"),
        ({**JSON_EDIT, "model": "dall-e-2"}, "images"),  # JSON edits are for GPT image models only
    ],
)
async def test_json_edits(http, fake, body: dict, param: str | None) -> None:
    status, payload, _ = await post_json(http, fake, "edits", body)
    if param is None:
        assert status == 200, payload
        assert fake.validation_errors == [] and check_request("edits", body) == []
    else:
        assert status == 400, payload
        assert_openai_error(payload)
        assert any(f"[{param}]" in line for line in fake.validation_errors)
        assert param in {p for p, _ in check_request("edits", body)}


# -- answers ------------------------------------------------------------------------------------------


async def test_a_gif_answer_is_a_real_animated_gif(http, fake) -> None:
    status, payload, _ = await post_json(http, fake, "generations", GIF)
    assert status == 200, payload
    assert (payload["output_format"], payload["size"], payload["background"]) == ("gif", "960x960", "opaque")
    [item] = payload["data"]
    image, frames, durations = gif_frames(item)
    assert image.format == "GIF" and image.is_animated
    assert image.n_frames == 9 and len(set(frames)) == 9  # the default, every frame distinct
    assert durations == [200] * 9 and image.info["loop"] == 0
    assert image.size == (960, 960)


async def test_gif_frame_count_and_duration_are_honoured(http, fake) -> None:
    body = {**GIF, "frame_count": 12, "frame_duration_ms": 120, "size": "816x816", "n": 2}
    status, payload, _ = await post_json(http, fake, "generations", body)
    assert status == 200, payload
    first, second = payload["data"]
    image, frames, durations = gif_frames(first)
    assert image.n_frames == 12 and len(set(frames)) == 12
    assert durations == [120] * 12 and image.size == (816, 816)
    assert first["b64_json"] != second["b64_json"]


async def test_a_gif_edit_answers_a_gif(http, fake) -> None:
    fields = {"model": S26, "prompt": "x", "output_format": "gif", "size": "720x720", "frame_count": "13"}
    status, payload, _ = await post_form(http, fake, "edits", fields, IMAGE)
    assert status == 200, payload
    image, _, _ = gif_frames(payload["data"][0])
    assert image.n_frames == 13 and payload["output_format"] == "gif"


async def output_tokens(http, fake, **changes: Any) -> int:
    body = {"model": F26, "prompt": "a lighthouse at dusk", "size": "1024x1024", **changes}
    status, payload, _ = await post_json(http, fake, "generations", body)
    assert status == 200, payload
    usage = payload["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    details = usage["input_tokens_details"]
    assert details["text_tokens"] + details["image_tokens"] == usage["input_tokens"]
    return usage["output_tokens"]


async def test_usage_grows_with_quality_and_gif_frames(http, fake) -> None:
    by_quality = [
        await output_tokens(http, fake, quality=q) for q in ("low", "medium", "high", "xhigh", "max")
    ]
    assert by_quality == sorted(by_quality) and len(set(by_quality)) == 5
    gif = {"output_format": "gif", "size": "512x512", "quality": "high"}
    four = await output_tokens(http, fake, **gif, frame_count=4)
    eight = await output_tokens(http, fake, **gif, frame_count=8)
    still = await output_tokens(http, fake, size="512x512", quality="high")
    assert (four, eight) == (4 * still, 8 * still)


@pytest.mark.parametrize(("asked", "echoed"), [("xhigh", "xhigh"), ("max", "max"), ("auto", "medium")])
async def test_the_response_echoes_the_quality(http, fake, asked: str, echoed: str) -> None:
    _, payload, _ = await post_json(
        http, fake, "generations", {"model": S26, "prompt": "x", "quality": asked}
    )
    assert payload["quality"] == echoed


# -- gateway aliases ----------------------------------------------------------------------------------


async def test_an_alias_is_validated_and_answered_as_its_model(http, fake) -> None:
    fake.aliases = {"my-gateway/gpt-image-2": "gpt-image-2", "house-model": "dall-e-3"}
    body = {"model": "my-gateway/gpt-image-2", "prompt": "x", "size": "1536x864"}
    status, payload, _ = await post_json(http, fake, "generations", body)
    assert status == 200 and payload["size"] == "1536x864"
    assert fake.requests[-1].model == "my-gateway/gpt-image-2"
    status, payload, _ = await post_json(http, fake, "generations", {"model": "house-model", "prompt": "x"})
    assert status == 200 and payload["data"][0]["revised_prompt"] and "url" in payload["data"][0]
    status, payload, _ = await post_json(
        http, fake, "generations", {"model": "house-model", "prompt": "x", "n": 2}
    )
    assert status == 400 and payload["error"]["param"] == "n"  # dall-e-3's n = 1
    assert check_request("generations", {"model": "house-model", "prompt": "x", "n": 2}, aliases=fake.aliases)
    assert check_request("generations", {"model": "house-model", "prompt": "x"}, aliases=fake.aliases) == []


async def test_an_unconfigured_alias_is_an_unknown_model(http, fake) -> None:
    status, payload, _ = await post_json(http, fake, "generations", {"model": "house-model", "prompt": "x"})
    assert status == 400 and payload["error"]["param"] == "model"


async def test_served_models_holds_names_as_sent(http, fake) -> None:
    fake.aliases = {"house-model": S26}
    fake.served_models = {"house-model"}
    assert (await post_json(http, fake, "generations", {"model": "house-model", "prompt": "x"}))[0] == 200
    status, payload, _ = await post_json(http, fake, "generations", {"model": S26, "prompt": "x"})
    assert status == 404 and assert_openai_error(payload)["code"] == "model_not_found"
    assert fake.validation_errors == []


# -- GET /v1/models -----------------------------------------------------------------------------------


async def get(http, fake, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with http.get(f"{fake.base_url}{path}", headers=auth(fake) if headers is None else headers) as r:
        return r.status, await r.json(content_type=None)


async def test_models_lists_the_catalog_in_openais_shape(http, fake) -> None:
    status, payload = await get(http, fake, "/models")
    assert status == 200 and payload["object"] == "list"
    assert [item["id"] for item in payload["data"]] == list(CATALOG)
    for item in payload["data"]:
        assert set(item) == {"id", "object", "created", "owned_by", "shutdown_date"}
        assert item["object"] == "model" and isinstance(item["created"], int) and item["created"] > 0
        assert item["shutdown_date"] is None
    [request] = fake.all_requests
    assert (request.method, request.endpoint, request.model) == ("GET", "models", None)


async def test_models_shows_shutdown_dates_aliases_and_served_models(http, fake) -> None:
    fake.shutdown_dates = {"gpt-image-1.5": "2026-12-01", "house-model": "2027-01-31"}
    fake.aliases = {"house-model": S26}
    _, payload = await get(http, fake, "/models")
    dates = {item["id"]: item["shutdown_date"] for item in payload["data"]}
    assert dates["gpt-image-1.5"] == "2026-12-01" and dates["house-model"] == "2027-01-31"
    assert dates[S26] is None and len(dates) == len(CATALOG) + 1
    fake.served_models = {"house-model", "gpt-image-2"}
    _, payload = await get(http, fake, "/models")
    assert sorted(item["id"] for item in payload["data"]) == ["gpt-image-2", "house-model"]


async def test_models_retrieve_one(http, fake) -> None:
    fake.aliases = {"my-gateway/gpt-image-2": "gpt-image-2"}
    fake.shutdown_dates = {S26: "2027-06-01"}
    status, payload = await get(http, fake, f"/models/{S26}")
    assert status == 200 and (payload["id"], payload["shutdown_date"]) == (S26, "2027-06-01")
    for path in ("/models/my-gateway/gpt-image-2", "/models/my-gateway%2Fgpt-image-2"):
        status, payload = await get(http, fake, path)
        assert status == 200 and payload["id"] == "my-gateway/gpt-image-2", path
    status, payload = await get(http, fake, "/models/dall-e-4")
    assert status == 404 and assert_openai_error(payload)["code"] == "model_not_found"
    fake.served_models = {"gpt-image-2"}
    assert (await get(http, fake, f"/models/{S26}"))[0] == 404
    assert [r.endpoint for r in fake.all_requests] == ["models"] * 5
    assert fake.model_list_requests[0].model == S26 and fake.requests == []


async def test_models_needs_the_bearer_key(http, fake) -> None:
    status, payload = await get(http, fake, "/models", headers={})
    assert status == 401 and assert_openai_error(payload)["code"] == "invalid_api_key"
    assert (await get(http, fake, "/models", headers={"Authorization": "Bearer sk-nope"}))[0] == 401
    assert (await get(http, fake, "/models/gpt-image-2", headers={"api-key": fake.api_key}))[0] == 401


async def test_models_endpoint_missing_and_error(http, fake) -> None:
    fake.models_endpoint = "missing"
    status, payload = await get(http, fake, "/models")
    assert status == 404 and assert_openai_error(payload)["message"].startswith("Invalid URL")
    assert (await get(http, fake, "/models/gpt-image-2"))[0] == 404
    fake.models_endpoint = "error"
    status, payload = await get(http, fake, "/models")
    assert status == 500 and assert_openai_error(payload)["type"] == "server_error"
    with pytest.raises(ValueError):
        fake.models_endpoint = "sometimes"
    fake.models_endpoint = "list"
    assert (await get(http, fake, "/models"))[0] == 200


async def test_scripted_failures_reach_models_only_when_targeted(http, fake) -> None:
    fake.fail("server_error")
    assert (await get(http, fake, "/models"))[0] == 200
    fake.fail("rate_limit", endpoint="models")
    status, payload = await get(http, fake, "/models")
    assert status == 429 and payload["error"]["code"] == "rate_limit_exceeded"
    assert (await post_json(http, fake, "generations", {"model": S26, "prompt": "x"}))[0] == 500
    assert [r.endpoint for r in fake.all_requests] == ["models", "models", "generations"]
    assert [r.endpoint for r in fake.requests] == ["generations"]


def test_reset_forgets_the_gateway_state() -> None:
    with FakeImagesAPI() as fake:
        fake.aliases["a"] = S26
        fake.shutdown_dates["a"] = "2027-01-01"
        fake.azure_deployments["d"] = S26
        fake.models_endpoint = "missing"
        fake.reset()
        assert (fake.aliases, fake.shutdown_dates, fake.azure_deployments) == ({}, {}, {})
        assert fake.models_endpoint == "list"
        assert fake.base_url == fake.azure_base_url + "/v1"
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake.azure_base_url)


# -- Azure OpenAI -------------------------------------------------------------------------------------

API_VERSION = "2025-04-01-preview"


async def azure_post(
    http,
    fake,
    deployment: str,
    endpoint: str,
    body: dict[str, Any] | None = None,
    *,
    form: aiohttp.FormData | None = None,
    headers: dict[str, str] | None = None,
    query: str = f"?api-version={API_VERSION}",
) -> tuple[int, Any]:
    url = f"{fake.azure_base_url}/openai/deployments/{deployment}/images/{endpoint}{query}"
    headers = {"api-key": fake.api_key} if headers is None else headers
    async with http.post(url, json=body if form is None else None, data=form, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_azure_generation(http, fake) -> None:
    fake.azure_deployments = {"images-prod": S26}
    status, payload = await azure_post(
        http, fake, "images-prod", "generations", {"prompt": "x", "quality": "max"}
    )
    assert status == 200, payload
    assert payload["quality"] == "max" and payload["data"][0]["b64_json"]
    [request] = fake.requests
    assert (request.endpoint, request.deployment, request.model) == ("generations", "images-prod", S26)
    assert request.query == {"api-version": API_VERSION}
    assert {k.lower(): v for k, v in request.headers.items()}["api-key"] == "<redacted>"
    assert fake.api_key not in str(request.headers)
    assert fake.validation_errors == []


async def test_azure_edit_and_the_deployments_model_rules(http, fake) -> None:
    fake.azure_deployments = {"edit": F26, "dalle": "dall-e-3"}
    form = aiohttp.FormData()
    form.add_field("prompt", "x")
    form.add_field("output_format", "gif")
    form.add_field("size", "960x960")
    form.add_field("image", png(32, 32), filename="a.png", content_type="image/png")
    status, payload = await azure_post(http, fake, "edit", "edits", form=form)
    assert status == 200 and payload["output_format"] == "gif"
    assert fake.requests[-1].endpoint == "edits"
    status, payload = await azure_post(http, fake, "dalle", "generations", {"prompt": "x", "n": 2})
    assert status == 400 and payload["error"]["param"] == "n"  # the deployment's dall-e-3 rules


async def test_azure_body_model_must_match_the_deployment(http, fake) -> None:
    fake.azure_deployments = {"d": S26}
    assert (await azure_post(http, fake, "d", "generations", {"model": S26, "prompt": "x"}))[0] == 200
    assert fake.validation_errors == []
    status, payload = await azure_post(
        http, fake, "d", "generations", {"model": "gpt-image-2", "prompt": "x"}
    )
    assert status == 400 and payload["error"]["param"] == "model"
    assert len(fake.validation_errors) == 1 and "deployment" in fake.validation_errors[0]


async def test_azure_needs_api_version(http, fake) -> None:
    fake.azure_deployments = {"d": S26}
    status, payload = await azure_post(http, fake, "d", "generations", {"prompt": "x"}, query="")
    assert status == 404 and payload["error"]["code"] == "404"
    assert "Resource not found" in payload["error"]["message"]
    assert len(fake.validation_errors) == 1 and "api-version" in fake.validation_errors[0]


async def test_azure_needs_the_api_key_header(http, fake) -> None:
    fake.azure_deployments = {"d": S26}
    bearer = {"Authorization": f"Bearer {fake.api_key}"}
    status, payload = await azure_post(http, fake, "d", "generations", {"prompt": "x"}, headers=bearer)
    assert status == 401 and payload["error"]["code"] == "401"
    assert len(fake.validation_errors) == 1 and "api-key" in fake.validation_errors[0]
    status, _ = await azure_post(http, fake, "d", "generations", {"prompt": "x"}, headers={"api-key": "nope"})
    assert status == 401 and len(fake.validation_errors) == 1  # a wrong key is not a malformed request
    assert all("authorization" not in {h.lower() for h in r.headers} for r in fake.requests)


async def test_azure_unknown_deployment_and_routes(http, fake) -> None:
    status, payload = await azure_post(http, fake, "nope", "generations", {"prompt": "x"})
    assert status == 404 and payload["error"]["code"] == "DeploymentNotFound"
    assert payload["error"]["message"].startswith("The API deployment for this resource does not exist")
    fake.azure_deployments = {"d": "dall-e-2"}
    status, _ = await azure_post(http, fake, "d", "variations", {"prompt": "x"})
    assert status == 404 and fake.validation_errors  # Azure serves no variations


async def test_azure_content_filter(http, fake) -> None:
    fake.azure_deployments = {"d": S26}
    fake.fail("content_filter")
    status, payload = await azure_post(http, fake, "d", "generations", {"prompt": "x"})
    assert status == 400
    assert payload == {
        "error": {
            "code": "contentFilter",
            "message": "Your task failed as a result of our safety system.",
            "type": None,
            "param": "prompt",
        }
    }
    assert (await azure_post(http, fake, "d", "generations", {"prompt": "x"}))[0] == 200


async def test_azure_counts_against_the_same_limit(http, fake) -> None:
    fake.azure_deployments = {"d": S26}
    fake.images_per_minute = 2
    fake.rate_window = 5.0
    assert (await azure_post(http, fake, "d", "generations", {"prompt": "x", "n": 2}))[0] == 200
    assert (await azure_post(http, fake, "d", "generations", {"prompt": "x"}))[0] == 429


# -- check_request agrees with the server -------------------------------------------------------------

_RECORDED = re.compile(r"^POST \S+ model=\S+: \[(.*?)\] (.*)$", re.DOTALL)


def recorded(fake: FakeImagesAPI) -> list[tuple[str | None, str]]:
    out = []
    for line in fake.validation_errors:
        match = _RECORDED.match(line)
        assert match, line
        out.append((None if match.group(1) == "None" else match.group(1), match.group(2)))
    return out


@pytest.mark.parametrize(
    "body",
    [
        {"model": S26, "prompt": "x"},
        {"prompt": "x", "n": 3},
        {**GIF, "stream": True, "background": "transparent", "size": "1024x1024"},
        {"model": "dall-e-3", "prompt": "x", "n": 2, "quality": "xhigh", "output_format": "png"},
        {"model": "gpt-image-2", "prompt": " ", "complexity": "low", "colour": "red"},
    ],
)
async def test_check_request_agrees_with_the_server_on_json(http, fake, body: dict) -> None:
    status, _, _ = await post_json(http, fake, "generations", body)
    expected = check_request("generations", body)
    assert recorded(fake) == expected
    assert (status == 200) == (expected == [])


@pytest.mark.parametrize(
    ("fields", "files"),
    [
        ({"model": "dall-e-2", "prompt": "x", "n": 2}, {"image": [("a.png", "image/png", png(32, 32))]}),
        ({"model": "dall-e-2", "prompt": "x"}, {"image": [("a.png", "image/png", png(32, 16))]}),
        (
            {"model": F26, "prompt": "x", "output_format": "gif", "frame_count": 40, "stream": True},
            {"image[]": [("a.png", "image/png", png(8, 8))] * 2, "mask": [("m.png", "image/png", png(8, 8))]},
        ),
    ],
)
async def test_check_request_agrees_with_the_server_on_multipart(http, fake, fields, files) -> None:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, str(value).lower() if isinstance(value, bool) else str(value))
    for name, items in files.items():
        for filename, ctype, data in items:
            form.add_field(name, data, filename=filename, content_type=ctype)
    async with http.post(f"{fake.base_url}/images/edits", data=form, headers=auth(fake)) as r:
        status = r.status
    expected = check_request("edits", fields, files)
    assert recorded(fake) == expected
    assert (status == 200) == (expected == [])


def test_check_request_shapes() -> None:
    assert check_request("variations", {"model": "dall-e-2"}) == [
        (None, "This endpoint takes multipart/form-data.")
    ]
    assert check_request("generations", {"model": S26, "prompt": "x"}, {}) == [
        (None, "This endpoint takes a JSON body.")
    ]
    with pytest.raises(ValueError):
        check_request("upscale", {})
