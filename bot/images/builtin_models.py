"""The built-in rows: every model id OpenAI has served for images, with what it accepts and costs.

Facts and sources: shared/reference/openai-images.md (revised 2026-12-02). OpenAI shut down DALL·E
and the gpt-image-1 family; their rows stay for the gateways that still serve them, marked with
OpenAI's shutdown date and replacement (applied on OpenAI's own API only). Marked [3P] below is what
only third parties state: kept where the bot needs a number, and overridable in MODELS_FILE.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from .catalogue import GifRule, ModelCatalogue, ModelSpec, Retirement
from .pricing import ImagePrice, PerImagePricing, Pricing, TokenPricing
from .sizes import CustomSizeRule

__all__ = ["BUILTIN_MODELS", "DEFAULT_MODEL", "FALLBACK_REPLACEMENT"]

MB = 1024 * 1024
DEFAULT_MODEL = "gpt-image-2.6-flare"
#: what a retired model without a known replacement is replaced by
FALLBACK_REPLACEMENT = DEFAULT_MODEL

_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_QUALITIES = ("low", "medium", "high", "auto")
_CUSTOM_SUGGESTIONS = (
    "1536x864",
    "864x1536",
    "2048x2048",
    "2048x1152",
    "1152x2048",
    "2560x1440",
    "1440x2560",
    "3840x2160",
    "2160x3840",
)
#: output tokens of one 1536x1024 image by quality, to estimate a cost when a backend returns no
#: usage. low/high are [3P] measurements on 2.6 (664 / 1,353); medium, xhigh and max are our
#: interpolation and extrapolation, deliberately on the high side (an estimate should not under-report).
_TOKEN_ESTIMATES = {"low": 664, "medium": 1000, "high": 1353, "xhigh": 2000, "max": 3400, "auto": 1353}
#: $ per 1M tokens: text in 5, image in 8, image out 30 — OpenAI's page for 2.6-sunburst; the same
#: rates for 2.6-flare, 2.5 and gpt-image-2 are [3P].
_TOKEN_PRICES = TokenPricing(5.0, 8.0, 30.0, _TOKEN_ESTIMATES)


def _gpt_image(name: str, pricing: Pricing, summary: str, **changes: Any) -> ModelSpec:
    row = ModelSpec(
        name=name,
        endpoints=frozenset({"generations", "edits"}),
        sizes=_GPT_SIZES,
        default_size="auto",
        qualities=_GPT_QUALITIES,
        default_quality="auto",
        styles=(),
        images_per_request=10,
        max_prompt_chars=32000,
        accepts_response_format=False,
        output_formats=("png", "jpeg", "webp"),
        default_output_format="png",
        backgrounds=("transparent", "opaque", "auto"),
        default_background="auto",
        moderation_levels=("low", "auto"),
        returns_revised_prompt=False,
        edit_max_images=16,
        edit_max_input_bytes=50 * MB,
        edit_input_formats=("png", "jpeg", "webp"),
        edit_requires_square_png=False,
        mask_max_bytes=4 * MB,
        pricing=pricing,
        summary=summary,
    )
    return replace(row, **changes)


def _per_image(low: tuple[float, float], medium: tuple[float, float], high: tuple[float, float]) -> Pricing:
    return PerImagePricing.by_square_and_other(
        {"low": low, "medium": medium, "high": high}, "1024x1024", ("1536x1024", "1024x1536")
    )


def _retired(day: str, replacement: str) -> Retirement:
    return Retirement(date.fromisoformat(day), replacement)


def _current(name: str, summary: str, **changes: object) -> ModelSpec:
    """gpt-image-2 and later: any WxH within the custom-size rule, token prices."""
    return _gpt_image(
        name,
        _TOKEN_PRICES,
        summary,
        custom_size_rule=CustomSizeRule(),
        suggested_sizes=_CUSTOM_SUGGESTIONS,
        **changes,
    )


_HIGHER = {"qualities": ("low", "medium", "high", "xhigh", "max", "auto")}
_V26 = {**_HIGHER, "complexities": ("low", "medium", "high")}
_GIF = {"output_formats": ("png", "jpeg", "webp", "gif"), "gif": GifRule()}

_DALL_E_2 = ModelSpec(
    name="dall-e-2",
    endpoints=frozenset({"generations", "edits", "variations"}),
    sizes=("256x256", "512x512", "1024x1024"),
    default_size="1024x1024",
    qualities=("standard",),
    default_quality="standard",
    styles=(),
    images_per_request=10,
    max_prompt_chars=1000,
    accepts_response_format=True,
    output_formats=(),
    backgrounds=(),
    returns_revised_prompt=False,
    edit_max_images=1,
    edit_max_input_bytes=4 * MB,
    edit_input_formats=("png",),
    edit_requires_square_png=True,
    mask_max_bytes=4 * MB,
    pricing=PerImagePricing(
        (
            ImagePrice("standard", "256x256", 0.016),
            ImagePrice("standard", "512x512", 0.018),
            ImagePrice("standard", "1024x1024", 0.020),
        )
    ),
    # OpenAI named gpt-image-1 at the time; that is shut down too, so point at today's model.
    retirement=_retired("2026-05-12", "gpt-image-2.6-flare"),
    summary="DALL·E 2: the only model with true variations",
)

_DALL_E_3 = replace(
    _DALL_E_2,
    name="dall-e-3",
    endpoints=frozenset({"generations"}),
    sizes=("1024x1024", "1792x1024", "1024x1792"),
    qualities=("standard", "hd"),
    styles=("vivid", "natural"),
    default_style="vivid",
    images_per_request=1,
    max_prompt_chars=4000,
    returns_revised_prompt=True,
    edit_max_images=0,
    edit_max_input_bytes=0,
    edit_input_formats=(),
    edit_requires_square_png=False,
    mask_max_bytes=0,
    pricing=PerImagePricing.by_square_and_other(
        {"standard": (0.04, 0.08), "hd": (0.08, 0.12)}, "1024x1024", ("1792x1024", "1024x1792")
    ),
    summary="DALL·E 3: one image per request (fanned out), revised prompts",
)

_GPT_IMAGE_1_5 = _per_image((0.009, 0.013), (0.034, 0.050), (0.133, 0.200))

_ROWS: tuple[ModelSpec, ...] = (
    _current(
        "gpt-image-2.6-flare", "2.6, fast tier: complexity, animated GIF, xhigh/max quality", **_V26, **_GIF
    ),
    _current(
        "gpt-image-2.6-sunburst", "2.6, detail tier: complexity, animated GIF, xhigh/max", **_V26, **_GIF
    ),
    _current("gpt-image-2.5-flare", "2.5, fast tier: xhigh/max quality", **_HIGHER),
    _current("gpt-image-2.5-flare-2026-09-08", "snapshot of gpt-image-2.5-flare", **_HIGHER),
    _current("gpt-image-2.5-sunburst", "2.5, detail tier: xhigh/max quality", **_HIGHER),
    _current("gpt-image-2.5-sunburst-2026-09-08", "snapshot of gpt-image-2.5-sunburst", **_HIGHER),
    _current("gpt-image-2", "any size up to 3840x2160"),
    _current("gpt-image-2-2026-04-21", "snapshot of gpt-image-2"),
    _gpt_image(
        "gpt-image-1.5",
        _GPT_IMAGE_1_5,
        "retired by OpenAI; for gateways",
        retirement=_retired("2026-12-01", "gpt-image-2.6-sunburst"),
    ),
    _gpt_image(
        "gpt-image-1.5-2025-12-16",
        _GPT_IMAGE_1_5,
        "snapshot of gpt-image-1.5",
        retirement=_retired("2026-12-01", "gpt-image-2.6-sunburst"),
    ),
    _gpt_image(
        "chatgpt-image-latest",
        _GPT_IMAGE_1_5,  # [3P]-free assumption: billed like gpt-image-1.5, whose family it belongs to
        "retired by OpenAI; for gateways",
        retirement=_retired("2026-12-01", "gpt-image-2.6-flare"),
    ),
    _gpt_image(
        "gpt-image-1",
        _per_image((0.011, 0.016), (0.042, 0.063), (0.167, 0.25)),
        "retired by OpenAI; for gateways",
        retirement=_retired("2026-10-23", "gpt-image-2.5-sunburst"),
    ),
    _gpt_image(
        "gpt-image-1-mini",
        _per_image((0.005, 0.006), (0.011, 0.015), (0.036, 0.052)),
        "retired by OpenAI; for gateways",
        retirement=_retired("2026-12-01", "gpt-image-2.6-flare"),
    ),
    _DALL_E_3,
    _DALL_E_2,
)

BUILTIN_MODELS = ModelCatalogue({row.name: row for row in _ROWS})
