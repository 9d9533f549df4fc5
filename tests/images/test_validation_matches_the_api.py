"""The bot's validation agrees with the API: property tests against the fake's own model rules.

The fake Images API keeps a model table of its own, written from shared/reference (not from the
bot's rows). For every built-in row and for generated MODELS_FILE rows: whatever the bot's
validation accepts, the API accepts as the bot sends it; whatever the bot refuses (for a built-in
row), the API would have refused too, so the member loses nothing by being told first.
"""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.errors import UserInputError
from bot.images import (
    BUILTIN_MODELS,
    EditRequest,
    GenerateRequest,
    ImageOptions,
    InputImage,
    ModelSpec,
    request_batches,
    validate,
)
from bot.images.client import edit_fields, generation_body
from bot.images.models_file import parse_models
from tests.fakeapi import check_request

ROWS = sorted(BUILTIN_MODELS)
SIZES = ["1024x1024", "1536x1024", "auto", "1792x1024", "256x256", "960x960", "720x720", "2048x1152",
         "816x816", "1000x1000", "3840x2160", "1280x720", "640x1920", "48x16", "banana"]  # fmt: skip
QUALITIES = ["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd", "ultra"]


def png(width: int = 64, height: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "size": st.sampled_from(SIZES),
        "quality": st.sampled_from(QUALITIES),
        "style": st.sampled_from(["vivid", "natural", "anime"]),
        "background": st.sampled_from(["transparent", "opaque", "auto", "green"]),
        "output_format": st.sampled_from(["png", "jpeg", "webp", "gif", "bmp"]),
        "complexity": st.sampled_from(["low", "medium", "high", "extreme"]),
        "frames": st.integers(1, 17),
    },
)


def raw_body(spec: ModelSpec, n: int, options: dict[str, Any]) -> dict[str, Any]:
    """What a bot without validation would send: every option as given, under the API's names."""
    names = {"frames": "frame_count"}
    body: dict[str, Any] = {
        "model": spec.upstream_id,
        "prompt": "a lighthouse",
        "n": min(n, spec.images_per_request),
    }
    body |= {names.get(key, key): value for key, value in options.items()}
    if spec.accepts_response_format:
        body["response_format"] = "b64_json"
    return body


def sent_bodies(spec: ModelSpec, n: int, options: dict[str, Any]) -> list[dict[str, Any]]:
    """The bodies the bot sends for validated ``options`` (one per fan-out part)."""
    checked = validate(spec, "generations", prompt="a lighthouse", n=n, options=ImageOptions(**options))
    request = GenerateRequest(
        model=spec.name, prompt=checked.prompt or "", user="u-test", options=checked.options
    )
    return [
        generation_body(spec, GenerateRequest(**{**request.__dict__, "n": part}))
        for part in request_batches(spec, n)
    ]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ROWS), st.integers(1, 10), OPTIONS)
def test_generations_accepted_by_the_bot_are_accepted_and_refused_ones_refused(name, n, options) -> None:
    spec = BUILTIN_MODELS[name]
    try:
        bodies = sent_bodies(spec, n, options)
    except UserInputError:
        violations = check_request("generations", raw_body(spec, n, options))
        assert violations, f"the bot refused {options} for {name}, which the API accepts"
        return
    for body in bodies:
        assert check_request("generations", body) == [], (name, options, body)


EDIT_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "size": st.sampled_from(SIZES),
        "quality": st.sampled_from(QUALITIES),
        "background": st.sampled_from(["transparent", "opaque", "auto"]),
        "output_format": st.sampled_from(["png", "jpeg", "webp"]),
        "complexity": st.sampled_from(["low", "medium", "high"]),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([name for name in ROWS if BUILTIN_MODELS[name].supports("edits")]), EDIT_OPTIONS)
def test_edits_accepted_by_the_bot_are_accepted(name, options) -> None:
    spec = BUILTIN_MODELS[name]
    try:
        checked = validate(spec, "edits", prompt="make it night", n=1, options=ImageOptions(**options))
    except UserInputError:
        return
    image = InputImage(png(), "image.png", "image/png")
    request = EditRequest(
        model=spec.name, prompt=checked.prompt or "", images=(image,), options=checked.options
    )
    fields, _ = edit_fields(spec, request)
    uploads = {"image": [(image.filename, image.content_type, image.data)]}
    assert check_request("edits", {**fields, "image": "<binary>"}, uploads) == [], (name, options)


ROW_OVERRIDES = st.fixed_dictionaries(
    {"like": st.sampled_from(ROWS)},
    optional={"prompt_max": st.integers(100, 32000), "summary": st.text(max_size=20)},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROW_OVERRIDES, st.integers(1, 10), OPTIONS, st.data())
def test_a_generated_models_file_row_sends_only_what_its_backend_accepts(overrides, n, options, data) -> None:
    """Rows that keep or narrow what their backend takes (an operator who widens a row past what
    the gateway serves gets the gateway's refusal, which the bot reports as such)."""
    base = BUILTIN_MODELS[overrides["like"]]
    if data.draw(st.booleans(), label="narrow n"):
        overrides["max_n"] = data.draw(st.integers(1, base.images_per_request), label="max_n")
    if len(base.qualities) > 1:
        overrides["qualities"] = data.draw(
            st.lists(st.sampled_from(base.qualities), min_size=1, unique=True), label="qualities"
        )
        overrides["default_quality"] = overrides["qualities"][0]
    row = {"upstream": "gateway/house", **overrides}
    catalogue = parse_models({"models": {"house": row}})
    spec = catalogue["house"]
    try:
        bodies = sent_bodies(spec, n, options)
    except UserInputError:
        return
    for body in bodies:
        assert body.get("model") == "gateway/house"
        assert check_request("generations", body, aliases={"gateway/house": base.name}) == [], (row, options)
