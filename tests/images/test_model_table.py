"""The model registry: the table's facts, validation, autocomplete and cost."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserInputError
from bot.images import (
    BUILTIN_MODELS,
    EmptyPrompt,
    EndpointNotSupported,
    GifRule,
    OptionNotSupported,
    PromptTooLong,
    UnknownModel,
    max_images,
    request_batches,
    size_allowed,
    suggest_sizes,
)
from bot.images.pricing import PerImagePricing
from bot.images.validation import has_visible_text
from tests.helpers import edit, generation, variation

MODELS = BUILTIN_MODELS
get_model = BUILTIN_MODELS.get_model
OLD_GPT = (
    "gpt-image-1",
    "gpt-image-1-mini",
    "gpt-image-1.5",
    "gpt-image-1.5-2025-12-16",
    "chatgpt-image-latest",
)
V2 = ("gpt-image-2", "gpt-image-2-2026-04-21")
V25 = (
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
)
V26 = ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst")
CURRENT = (*V2, *V25, *V26)
GPT = (*OLD_GPT, *CURRENT)
GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
MB = 1024 * 1024


def gpt2_oracle(width: int, height: int) -> bool:
    """gpt-image-2's rule, written independently of the implementation."""
    return (
        width > 0
        and height > 0
        and width % 16 == 0
        and height % 16 == 0
        and 3 * min(width, height) >= max(width, height)
        and max(width, height) <= 3840
        and width * height <= 3840 * 2160
    )


# -- the table ---------------------------------------------------------------------------------------


def test_registry_has_exactly_the_reference_models() -> None:
    assert set(MODELS) == {"dall-e-2", "dall-e-3", *GPT}
    assert list(MODELS)[:2] == list(V26)  # today's models first in autocomplete


def test_retired_rows_carry_openais_dates_and_replacements() -> None:
    dates = {name: spec.retirement.shutdown.isoformat() for name, spec in MODELS.items() if spec.retirement}
    assert dates == {
        "dall-e-2": "2026-05-12",
        "dall-e-3": "2026-05-12",
        "gpt-image-1": "2026-10-23",
        "gpt-image-1-mini": "2026-12-01",
        "gpt-image-1.5": "2026-12-01",
        "gpt-image-1.5-2025-12-16": "2026-12-01",
        "chatgpt-image-latest": "2026-12-01",
    }
    for spec in MODELS.values():
        if spec.retirement:
            assert spec.retirement.replacement in CURRENT
            assert spec.retirement.scope == "openai"


@pytest.mark.parametrize(
    ("name", "endpoints", "sizes", "qualities", "styles", "per_request", "prompt"),
    [
        (
            "dall-e-2",
            {"generations", "edits", "variations"},
            ("256x256", "512x512", "1024x1024"),
            ("standard",),
            (),
            10,
            1000,
        ),
        (
            "dall-e-3",
            {"generations"},
            ("1024x1024", "1792x1024", "1024x1792"),
            ("standard", "hd"),
            ("vivid", "natural"),
            1,
            4000,
        ),
        *[
            (name, {"generations", "edits"}, GPT_SIZES, ("low", "medium", "high", "auto"), (), 10, 32000)
            for name in (*OLD_GPT, *V2)
        ],
        *[
            (
                name,
                {"generations", "edits"},
                GPT_SIZES,
                ("low", "medium", "high", "xhigh", "max", "auto"),
                (),
                10,
                32000,
            )
            for name in (*V25, *V26)
        ],
    ],
)
def test_capabilities_match_the_reference(
    name, endpoints, sizes, qualities, styles, per_request, prompt
) -> None:
    spec = get_model(name)
    assert spec.endpoints == frozenset(endpoints)
    assert spec.sizes == sizes
    assert spec.qualities == qualities
    assert spec.styles == styles
    assert spec.images_per_request == per_request
    assert spec.max_prompt_chars == prompt


@pytest.mark.parametrize("name", GPT)
def test_gpt_image_family_formats_and_inputs(name: str) -> None:
    spec = get_model(name)
    assert spec.accepts_response_format is False
    assert spec.output_formats == (("png", "jpeg", "webp", "gif") if name in V26 else ("png", "jpeg", "webp"))
    assert (spec.gif is not None) is (name in V26)
    assert spec.complexities == (("low", "medium", "high") if name in V26 else ())
    assert spec.backgrounds == ("transparent", "opaque", "auto")
    assert spec.returns_revised_prompt is False
    assert (spec.edit_max_images, spec.edit_max_input_bytes) == (16, 50 * MB)
    assert spec.edit_input_formats == ("png", "jpeg", "webp")
    assert spec.edit_requires_square_png is False
    assert (spec.default_size, spec.default_quality) == ("auto", "auto")
    assert spec.custom_sizes is (name in CURRENT)


def test_dalle_rows() -> None:
    d2, d3 = get_model("dall-e-2"), get_model("dall-e-3")
    for spec in (d2, d3):
        assert spec.accepts_response_format is True
        assert spec.output_formats == spec.backgrounds == ()
        assert (spec.default_size, spec.default_quality) == ("1024x1024", "standard")
        assert spec.custom_sizes is False
    assert (d2.edit_max_images, d2.edit_max_input_bytes, d2.edit_input_formats) == (1, 4 * MB, ("png",))
    assert d2.edit_requires_square_png is True
    assert d2.returns_revised_prompt is False
    assert d3.returns_revised_prompt is True
    assert (d3.edit_max_images, d3.default_style) == (0, "vivid")


def test_get_model_is_forgiving_about_case_but_refuses_unknown_names() -> None:
    assert get_model(" GPT-Image-2 ").name == "gpt-image-2"
    with pytest.raises(UnknownModel) as info:
        get_model("dall-e-4")
    assert info.value.name == "dall-e-4"
    assert info.value.known == tuple(MODELS)
    assert isinstance(info.value, UserInputError)


def test_max_images_is_ten_and_dalle3_fans_out() -> None:
    assert {max_images(spec) for spec in MODELS.values()} == {10}
    assert request_batches(get_model("dall-e-3"), 4) == (1, 1, 1, 1)
    assert request_batches(get_model("gpt-image-1"), 4) == (4,)
    assert request_batches(get_model("dall-e-2"), 10) == (10,)
    assert request_batches(get_model("dall-e-2"), 0) == ()


def test_model_spec_keeps_gif_format_and_rule_together() -> None:
    with pytest.raises(ValueError, match="gif"):
        dataclasses.replace(get_model("gpt-image-2"), output_formats=("png", "gif"))
    with pytest.raises(ValueError, match="gif"):
        dataclasses.replace(get_model("gpt-image-2"), gif=GifRule())


def test_upstream_id_defaults_to_the_name() -> None:
    spec = get_model("gpt-image-2")
    assert spec.upstream_id == "gpt-image-2"
    assert dataclasses.replace(spec, upstream="gw/gpt-image-2").upstream_id == "gw/gpt-image-2"


# -- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dall-e-2", ("1024x1024", "standard", None, None, None)),
        ("dall-e-3", ("1024x1024", "standard", "vivid", None, None)),
        ("gpt-image-1", ("auto", "auto", None, "auto", "png")),
        ("gpt-image-2", ("auto", "auto", None, "auto", "png")),
    ],
)
def test_generation_defaults_are_resolved(name: str, expected: tuple) -> None:
    checked = generation(get_model(name), prompt="  a red fox  ", n=2)
    options = checked.options
    assert (
        options.size,
        options.quality,
        options.style,
        options.background,
        options.output_format,
    ) == expected
    assert checked.prompt == "a red fox"
    assert (checked.model, checked.n) == (name, 2)


def test_sizes_are_normalised() -> None:
    spec = get_model("gpt-image-1")
    assert generation(spec, prompt="x", n=1, size=" 1536 × 1024 ").options.size == "1536x1024"
    assert generation(spec, prompt="x", n=1, size="AUTO").options.size == "auto"
    assert generation(spec, prompt="x", n=1, quality=" High ").options.quality == "high"


def test_prompt_checks_come_first() -> None:
    spec = get_model("dall-e-2")
    with pytest.raises(EmptyPrompt):
        generation(spec, prompt=" \n ", n=99, size="bad")
    with pytest.raises(PromptTooLong) as info:
        generation(spec, prompt="x" * 1001, n=99, size="bad")
    assert (info.value.model, info.value.length, info.value.limit) == ("dall-e-2", 1001, 1000)
    assert generation(spec, prompt="x" * 1000, n=1).prompt == "x" * 1000


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"size": "1792x1024", "quality": "hd", "style": "vivid", "n": 11}, "size"),
        ({"quality": "hd", "style": "vivid", "n": 11}, "quality"),
        ({"style": "vivid", "background": "x", "n": 11}, "style"),
        ({"background": "green", "n": 11}, "background"),
        ({"output_format": "gif", "n": 11}, "format"),
        ({"n": 11}, "n"),
        ({"n": 0}, "n"),
    ],
)
def test_option_checks_in_order(kwargs: dict, option: str) -> None:
    kwargs = {"n": 1, **kwargs}
    with pytest.raises(OptionNotSupported) as info:
        generation(get_model("gpt-image-1"), prompt="fox", **kwargs)
    assert info.value.option == option
    assert info.value.model == "gpt-image-1"


def test_allowed_text_names_every_allowed_value() -> None:
    with pytest.raises(OptionNotSupported) as info:
        generation(get_model("gpt-image-2"), prompt="x", n=1, size="1000x1000")
    assert info.value.allowed == GPT_SIZES
    assert info.value.allowed_text == (
        "1024x1024, 1536x1024, 1024x1536, auto, or any WxH with both sides multiples of 16, "
        "ratio up to 3:1, at most 3840x2160"
    )
    with pytest.raises(OptionNotSupported) as info:
        generation(get_model("dall-e-3"), prompt="x", n=1, size="1536x1024")
    assert info.value.allowed_text == "1024x1024, 1792x1024, or 1024x1792"
    with pytest.raises(OptionNotSupported) as info:
        generation(get_model("dall-e-3"), prompt="x", n=12)
    assert info.value.allowed == tuple(str(i) for i in range(1, 11))
    assert info.value.allowed_text == "1 to 10"
    with pytest.raises(OptionNotSupported) as info:
        generation(get_model("dall-e-3"), prompt="x", n=1, style="anime")
    assert info.value.allowed_text == "vivid or natural"


def test_options_a_model_does_not_have_are_refused() -> None:
    with pytest.raises(OptionNotSupported) as info:
        generation(get_model("gpt-image-1"), prompt="x", n=1, style="vivid")
    assert info.value.allowed == ()
    assert "no style" in info.value.allowed_text
    with pytest.raises(OptionNotSupported) as info:
        generation(get_model("dall-e-3"), prompt="x", n=1, background="transparent")
    assert info.value.option == "background"
    with pytest.raises(OptionNotSupported):
        generation(get_model("dall-e-2"), prompt="x", n=1, quality="hd")


def test_transparent_background_needs_png_or_webp() -> None:
    spec = get_model("gpt-image-1")
    with pytest.raises(OptionNotSupported) as info:
        generation(spec, prompt="x", n=1, background="transparent", output_format="jpeg")
    assert (info.value.option, info.value.allowed, info.value.reason) == (
        "format",
        ("png", "webp"),
        "background=transparent",
    )
    assert generation(spec, prompt="x", n=1, background="transparent").options.output_format == "png"


def test_dalle3_accepts_up_to_ten_images_per_job() -> None:
    assert generation(get_model("dall-e-3"), prompt="x", n=10).n == 10


def test_edit_validation() -> None:
    with pytest.raises(EndpointNotSupported) as info:
        edit(get_model("dall-e-3"), prompt="x", n=1, supporting=MODELS.supporting("edits"))
    assert info.value.endpoint == "edits"
    assert set(info.value.models_that_can) == {"dall-e-2", *GPT}
    with pytest.raises(OptionNotSupported) as image_info:
        edit(get_model("dall-e-2"), prompt="x", n=1, image_count=2)
    assert (image_info.value.option, image_info.value.allowed) == ("images", ("1",))
    assert edit(get_model("gpt-image-1"), prompt="x", n=1, image_count=16).image_count == 16
    with pytest.raises(OptionNotSupported):
        edit(get_model("gpt-image-1"), prompt="x", n=1, image_count=17)
    with pytest.raises(PromptTooLong):
        edit(get_model("dall-e-2"), prompt="x" * 1001, n=1)
    checked = edit(get_model("gpt-image-2"), prompt="x", n=3, size="2048x1152")
    options = checked.options
    assert (options.size, options.quality, options.background, checked.n) == ("2048x1152", "auto", "auto", 3)


def test_variation_validation() -> None:
    assert variation(get_model("dall-e-2"), n=4, size="256x256").options.size == "256x256"
    with pytest.raises(EndpointNotSupported) as info:
        variation(get_model("gpt-image-2"), n=1, supporting=MODELS.supporting("variations"))
    assert info.value.models_that_can == ("dall-e-2",)
    with pytest.raises(OptionNotSupported):
        variation(get_model("dall-e-2"), n=1, size="1792x1024")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000))
def test_custom_size_accepted_iff_it_meets_the_rule(width: int, height: int) -> None:
    spec = get_model("gpt-image-2")
    size = f"{width}x{height}"
    assert size_allowed(spec, size) == (gpt2_oracle(width, height) or size in spec.sizes)
    try:
        generation(spec, prompt="x", n=1, size=size)
        accepted = True
    except OptionNotSupported:
        accepted = False
    assert accepted == gpt2_oracle(width, height)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=240), st.integers(min_value=1, max_value=240))
def test_custom_sizes_on_the_grid(w16: int, h16: int) -> None:
    width, height = w16 * 16, h16 * 16
    assert size_allowed(get_model("gpt-image-2"), f"{width}x{height}") == gpt2_oracle(width, height)
    assert size_allowed(get_model("gpt-image-1"), f"{width}x{height}") == (f"{width}x{height}" in GPT_SIZES)


@pytest.mark.parametrize("size", ["3840x2160", "2160x3840", "3840x1280", "1280x3840", "16x16", "48x16"])
def test_custom_size_edges_accepted(size: str) -> None:
    assert size_allowed(get_model("gpt-image-2"), size)


@pytest.mark.parametrize(
    "size", ["3856x2160", "3840x2176", "3840x1264", "64x16", "0x0", "1000x1000", "2160x3856"]
)
def test_custom_size_edges_refused(size: str) -> None:
    assert not size_allowed(get_model("gpt-image-2"), size)


# -- autocomplete ------------------------------------------------------------------------------------


def test_suggestions_with_nothing_typed_are_the_listed_sizes() -> None:
    assert suggest_sizes(get_model("dall-e-3"), "") == ["1024x1024", "1792x1024", "1024x1792"]
    assert suggest_sizes(get_model("gpt-image-1"), "") == list(GPT_SIZES)
    assert suggest_sizes(get_model("gpt-image-2"), "")[:4] == list(GPT_SIZES)
    assert len(suggest_sizes(get_model("gpt-image-2"), "", limit=3)) == 3


def test_suggestions_match_prefix_then_substring() -> None:
    assert suggest_sizes(get_model("dall-e-3"), "1792") == ["1792x1024", "1024x1792"]
    assert suggest_sizes(get_model("dall-e-3"), "x1792") == ["1024x1792"]
    assert suggest_sizes(get_model("gpt-image-1"), "a") == ["auto"]
    assert suggest_sizes(get_model("gpt-image-1"), "2048") == []
    assert suggest_sizes(get_model("dall-e-2"), "5") == ["512x512", "256x256"]


def test_custom_size_suggestions() -> None:
    spec = get_model("gpt-image-2")
    assert set(suggest_sizes(spec, "1600 × 900")) == {"1600x896", "1600x912"}
    assert suggest_sizes(spec, "1536x864")[0] == "1536x864"
    completions = suggest_sizes(spec, "2048")
    assert {"2048x2048", "2048x1152"} <= set(completions)
    assert suggest_sizes(spec, "2048x11")[0] == "2048x1152"
    assert all(size.startswith("2048x11") for size in suggest_sizes(spec, "2048x11"))
    assert set(suggest_sizes(spec, "1000x1000")) == {"992x992", "992x1008", "1008x992", "1008x1008"}
    assert suggest_sizes(spec, "9999x9999") == []


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(MODELS)),
    st.one_of(
        st.text(alphabet="0123456789x× autoAUTO", max_size=12),
        st.from_regex(r"\A[0-9]{1,4}(x[0-9]{0,4})?\Z"),
        st.text(max_size=10),
    ),
)
def test_every_suggestion_is_accepted(name: str, typed: str) -> None:
    spec = get_model(name)
    suggestions = suggest_sizes(spec, typed)
    assert len(suggestions) <= 25
    assert len(set(suggestions)) == len(suggestions)
    for size in suggestions:
        assert generation(spec, prompt="x", n=1, size=size).options.size == size


# -- prices ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size", "quality", "price"),
    [
        ("dall-e-2", "256x256", "standard", 0.016),
        ("dall-e-2", "512x512", "standard", 0.018),
        ("dall-e-2", "1024x1024", "standard", 0.020),
        ("dall-e-3", "1024x1024", "standard", 0.04),
        ("dall-e-3", "1792x1024", "standard", 0.08),
        ("dall-e-3", "1024x1792", "hd", 0.12),
        ("dall-e-3", "1024x1024", "hd", 0.08),
        ("gpt-image-1", "1024x1024", "low", 0.011),
        ("gpt-image-1", "1536x1024", "low", 0.016),
        ("gpt-image-1", "1024x1536", "medium", 0.063),
        ("gpt-image-1", "1024x1024", "high", 0.167),
        ("gpt-image-1", "1536x1024", "high", 0.25),
        ("gpt-image-1-mini", "1024x1024", "low", 0.005),
        ("gpt-image-1-mini", "1024x1536", "low", 0.006),
        ("gpt-image-1-mini", "1024x1024", "medium", 0.011),
        ("gpt-image-1-mini", "1536x1024", "medium", 0.015),
        ("gpt-image-1-mini", "1024x1024", "high", 0.036),
        ("gpt-image-1-mini", "1536x1024", "high", 0.052),
        ("gpt-image-1.5", "1024x1024", "low", 0.009),
        ("gpt-image-1.5", "1536x1024", "low", 0.013),
        ("gpt-image-1.5", "1024x1024", "medium", 0.034),
        ("gpt-image-1.5", "1024x1536", "medium", 0.050),
        ("gpt-image-1.5", "1024x1024", "high", 0.133),
        ("gpt-image-1.5", "1536x1024", "high", 0.200),
        ("gpt-image-1", "auto", "low", 0.016),
        ("gpt-image-1", "1024x1024", "auto", 0.167),
        ("gpt-image-1", "auto", "auto", 0.25),
    ],
)
def test_per_image_prices(name: str, size: str, quality: str, price: float) -> None:
    spec = get_model(name)
    assert isinstance(spec.pricing, PerImagePricing)
    assert spec.pricing.price(quality, size) == pytest.approx(price)
    cost = spec.pricing.cost(quality, size, 3)
    assert cost is not None and cost.usd == pytest.approx(3 * price) and cost.exact is False


def test_unpriced_combinations_are_none() -> None:
    spec = get_model("dall-e-3")
    assert isinstance(spec.pricing, PerImagePricing)
    assert spec.pricing.price("standard", "256x256") is None


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("a cat", True),
        ("\u200b", False),
        ("\u200bcat\u200b", True),
        ("é", True),
        ("e\u0301", True),
        ("\u0301", False),
        ("\u3164", False),
        ("🐈", True),
        ("猫", True),
        ("\u202e\u2066", False),
    ],
)
def test_only_characters_that_show_make_a_prompt(text, visible):
    assert has_visible_text(text) is visible
