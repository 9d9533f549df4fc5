"""The model registry: ONE table of what each Images model accepts and costs.

Validation, autocomplete, fan-out and cost accounting all read this table; a new model is a new row.
Facts from shared/reference/openai-images.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from .datatypes import Usage
from .errors import (
    EmptyPrompt,
    EndpointNotSupported,
    OptionNotSupported,
    PromptTooLong,
    UnknownModel,
)
from .pricing import ImagePrice, PerImagePricing, Pricing, TokenPricing
from .sizes import CustomSizeRule, normalize_size, parse_wxh

__all__ = [
    "DEFAULT_MODEL",
    "MAX_IMAGES_PER_JOB",
    "MODELS",
    "EditOptions",
    "Endpoint",
    "GenerationOptions",
    "ModelSpec",
    "VariationOptions",
    "estimate_cost_usd",
    "get_model",
    "max_images",
    "models_supporting",
    "request_batches",
    "size_allowed",
    "suggest_sizes",
    "validate_edit",
    "validate_generation",
    "validate_variation",
]

Endpoint = Literal["generations", "edits", "variations"]

MB = 1024 * 1024
#: Discord allows 10 files per message; dall-e-3 reaches it by fanning out n=1 requests.
MAX_IMAGES_PER_JOB = 10
DEFAULT_MODEL = "gpt-image-2"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the bot needs to know about one model. Pure data."""

    name: str
    endpoints: frozenset[str]
    #: listed sizes, in the order autocomplete proposes them ("auto" included where valid)
    sizes: tuple[str, ...]
    default_size: str
    #: True when any WxH meeting ``custom_size_rule`` is accepted (gpt-image-2)
    custom_sizes: bool
    qualities: tuple[str, ...]
    default_quality: str | None
    #: () where the model has no style
    styles: tuple[str, ...]
    #: images one request may ask for; 1 for dall-e-3 (the job pipeline fans out)
    images_per_request: int
    max_prompt_chars: int
    #: dall-e-*: True (the client requests b64_json); gpt-image-*: False (never send it)
    accepts_response_format: bool
    output_formats: tuple[str, ...]
    backgrounds: tuple[str, ...]
    returns_revised_prompt: bool
    #: input images one edit accepts (0: no edits)
    edit_max_images: int
    #: each input image must be strictly smaller than this
    edit_max_input_bytes: int
    edit_input_formats: tuple[str, ...]
    edit_requires_square_png: bool
    pricing: Pricing
    default_style: str | None = None
    default_background: str | None = None
    default_output_format: str | None = None
    custom_size_rule: CustomSizeRule | None = None
    #: extra valid sizes autocomplete proposes beyond ``sizes`` (custom-size models)
    suggested_sizes: tuple[str, ...] = ()
    #: the mask (edits) must be a PNG strictly smaller than this, with the first image's dimensions
    mask_max_bytes: int = 0
    moderation_levels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.custom_sizes != (self.custom_size_rule is not None):
            raise ValueError(f"{self.name}: custom_sizes and custom_size_rule disagree")

    def supports(self, endpoint: str) -> bool:
        return endpoint in self.endpoints


# --------------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------------

_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_QUALITIES = ("low", "medium", "high", "auto")
_GPT_FORMATS = ("png", "jpeg", "webp")
_GPT_BACKGROUNDS = ("transparent", "opaque", "auto")
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


def _gpt_image(name: str, pricing: Pricing, *, custom: CustomSizeRule | None = None) -> ModelSpec:
    return ModelSpec(
        name=name,
        endpoints=frozenset({"generations", "edits"}),
        sizes=_GPT_SIZES,
        default_size="auto",
        custom_sizes=custom is not None,
        custom_size_rule=custom,
        suggested_sizes=(_CUSTOM_SUGGESTIONS if custom else ()),
        qualities=_GPT_QUALITIES,
        default_quality="auto",
        styles=(),
        images_per_request=10,
        max_prompt_chars=32000,
        accepts_response_format=False,
        output_formats=_GPT_FORMATS,
        default_output_format="png",
        backgrounds=_GPT_BACKGROUNDS,
        default_background="auto",
        moderation_levels=("low", "auto"),
        returns_revised_prompt=False,
        edit_max_images=16,
        edit_max_input_bytes=50 * MB,
        edit_input_formats=("png", "jpeg", "webp"),
        edit_requires_square_png=False,
        mask_max_bytes=4 * MB,
        pricing=pricing,
    )


def _gpt_prices(low: tuple[float, float], medium: tuple[float, float], high: tuple[float, float]) -> Pricing:
    return PerImagePricing.by_square_and_other(
        {"low": low, "medium": medium, "high": high}, "1024x1024", ("1536x1024", "1024x1536")
    )


_ROWS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="dall-e-2",
        endpoints=frozenset({"generations", "edits", "variations"}),
        sizes=("256x256", "512x512", "1024x1024"),
        default_size="1024x1024",
        custom_sizes=False,
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
    ),
    ModelSpec(
        name="dall-e-3",
        endpoints=frozenset({"generations"}),
        sizes=("1024x1024", "1792x1024", "1024x1792"),
        default_size="1024x1024",
        custom_sizes=False,
        qualities=("standard", "hd"),
        default_quality="standard",
        styles=("vivid", "natural"),
        default_style="vivid",
        images_per_request=1,
        max_prompt_chars=4000,
        accepts_response_format=True,
        output_formats=(),
        backgrounds=(),
        returns_revised_prompt=True,
        edit_max_images=0,
        edit_max_input_bytes=0,
        edit_input_formats=(),
        edit_requires_square_png=False,
        pricing=PerImagePricing.by_square_and_other(
            {"standard": (0.04, 0.08), "hd": (0.08, 0.12)}, "1024x1024", ("1792x1024", "1024x1792")
        ),
    ),
    _gpt_image("gpt-image-1", _gpt_prices((0.011, 0.016), (0.042, 0.063), (0.167, 0.25))),
    _gpt_image("gpt-image-1-mini", _gpt_prices((0.005, 0.006), (0.011, 0.015), (0.036, 0.052))),
    _gpt_image("gpt-image-1.5", _gpt_prices((0.009, 0.013), (0.034, 0.050), (0.133, 0.200))),
    _gpt_image(
        "gpt-image-2",
        TokenPricing(input_per_million=5.0, output_per_million=30.0),
        custom=CustomSizeRule(),
    ),
)

MODELS: Mapping[str, ModelSpec] = MappingProxyType({spec.name: spec for spec in _ROWS})


def get_model(name: str) -> ModelSpec:
    """The row for ``name`` (case and surrounding whitespace ignored); ``UnknownModel`` otherwise."""
    spec = MODELS.get(name.strip().lower())
    if spec is None:
        raise UnknownModel(name, tuple(MODELS))
    return spec


def models_supporting(endpoint: str) -> tuple[str, ...]:
    return tuple(name for name, spec in MODELS.items() if spec.supports(endpoint))


def max_images(spec: ModelSpec) -> int:
    """Images one job may ask for: 10 for every model (Discord's 10 files per message)."""
    return MAX_IMAGES_PER_JOB


def request_batches(spec: ModelSpec, n: int) -> tuple[int, ...]:
    """Split a job of ``n`` images into per-request counts: ``(1, 1, 1)`` for dall-e-3, ``(3,)`` else."""
    if n < 1:
        return ()
    per = max(1, spec.images_per_request)
    full, rest = divmod(n, per)
    return (per,) * full + ((rest,) if rest else ())


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationOptions:
    """Validated options with every None resolved to the model's default (None where the model has
    no such option)."""

    model: str
    prompt: str
    n: int
    size: str
    quality: str | None
    style: str | None
    background: str | None
    output_format: str | None


@dataclass(frozen=True)
class EditOptions:
    model: str
    prompt: str
    n: int
    size: str
    quality: str | None
    background: str | None
    output_format: str | None
    image_count: int


@dataclass(frozen=True)
class VariationOptions:
    model: str
    n: int
    size: str


def size_allowed(spec: ModelSpec, size: str) -> bool:
    """True when the model accepts ``size`` (normalised first)."""
    size = normalize_size(size)
    if size in spec.sizes:
        return True
    if spec.custom_size_rule is None:
        return False
    parsed = parse_wxh(size)
    return parsed is not None and spec.custom_size_rule.accepts(*parsed)


def _check_endpoint(spec: ModelSpec, endpoint: Endpoint) -> None:
    if not spec.supports(endpoint):
        raise EndpointNotSupported(spec.name, endpoint, models_supporting(endpoint))


def _check_prompt(spec: ModelSpec, prompt: str) -> str:
    prompt = prompt.strip()
    if not prompt:
        raise EmptyPrompt(spec.name)
    if len(prompt) > spec.max_prompt_chars:
        raise PromptTooLong(spec.name, len(prompt), spec.max_prompt_chars)
    return prompt


def _check_size(spec: ModelSpec, size: str | None) -> str:
    if size is None:
        return spec.default_size
    normalised = normalize_size(size)
    if not size_allowed(spec, normalised):
        extra = spec.custom_size_rule.describe() if spec.custom_size_rule else None
        raise OptionNotSupported(spec.name, "size", size, spec.sizes, extra=extra)
    return normalised


def _check_choice(
    spec: ModelSpec, option: str, value: str | None, allowed: tuple[str, ...], default: str | None
) -> str | None:
    if value is None:
        return default
    normalised = value.strip().lower()
    if normalised not in allowed:
        raise OptionNotSupported(spec.name, option, value, allowed)
    return normalised


def _check_n(spec: ModelSpec, n: int, limit: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
        raise OptionNotSupported(spec.name, "n", str(n), tuple(str(i) for i in range(1, limit + 1)))
    return n


def _check_background_format(spec: ModelSpec, background: str | None, output_format: str | None) -> None:
    if background == "transparent" and output_format == "jpeg":
        allowed = tuple(fmt for fmt in spec.output_formats if fmt != "jpeg")
        raise OptionNotSupported(spec.name, "output_format", "jpeg", allowed, reason="background=transparent")


def _check_output(
    spec: ModelSpec, background: str | None, output_format: str | None
) -> tuple[str | None, str | None]:
    """Background and output format, resolved to defaults and checked together."""
    resolved_background = _check_choice(
        spec, "background", background, spec.backgrounds, spec.default_background
    )
    resolved_format = _check_choice(
        spec, "output_format", output_format, spec.output_formats, spec.default_output_format
    )
    _check_background_format(spec, resolved_background, resolved_format)
    return resolved_background, resolved_format


def validate_generation(
    spec: ModelSpec,
    *,
    prompt: str,
    n: int,
    size: str | None = None,
    quality: str | None = None,
    style: str | None = None,
    background: str | None = None,
    output_format: str | None = None,
) -> GenerationOptions:
    """Check a text-to-image job against the model; ``n`` may go up to ``max_images`` (fan-out)."""
    _check_endpoint(spec, "generations")
    clean_prompt = _check_prompt(spec, prompt)
    resolved_size = _check_size(spec, size)
    resolved_quality = _check_choice(spec, "quality", quality, spec.qualities, spec.default_quality)
    resolved_style = _check_choice(spec, "style", style, spec.styles, spec.default_style)
    resolved_background, resolved_format = _check_output(spec, background, output_format)
    return GenerationOptions(
        model=spec.name,
        prompt=clean_prompt,
        n=_check_n(spec, n, max_images(spec)),
        size=resolved_size,
        quality=resolved_quality,
        style=resolved_style,
        background=resolved_background,
        output_format=resolved_format,
    )


def validate_edit(
    spec: ModelSpec,
    *,
    prompt: str,
    n: int,
    size: str | None = None,
    quality: str | None = None,
    background: str | None = None,
    output_format: str | None = None,
    image_count: int = 1,
) -> EditOptions:
    """Check an edit job (``image_count`` input images) against the model."""
    _check_endpoint(spec, "edits")
    clean_prompt = _check_prompt(spec, prompt)
    if not 1 <= image_count <= spec.edit_max_images:
        allowed = tuple(str(i) for i in range(1, spec.edit_max_images + 1))
        raise OptionNotSupported(spec.name, "images", str(image_count), allowed)
    resolved_size = _check_size(spec, size)
    resolved_quality = _check_choice(spec, "quality", quality, spec.qualities, spec.default_quality)
    resolved_background, resolved_format = _check_output(spec, background, output_format)
    return EditOptions(
        model=spec.name,
        prompt=clean_prompt,
        n=_check_n(spec, n, max_images(spec)),
        size=resolved_size,
        quality=resolved_quality,
        background=resolved_background,
        output_format=resolved_format,
        image_count=image_count,
    )


def validate_variation(spec: ModelSpec, *, n: int, size: str | None = None) -> VariationOptions:
    """Check a variation job against the model (only dall-e-2 has the endpoint)."""
    _check_endpoint(spec, "variations")
    resolved_size = _check_size(spec, size)
    return VariationOptions(
        model=spec.name,
        n=_check_n(spec, n, max_images(spec)),
        size=resolved_size,
    )


# --------------------------------------------------------------------------------------------------
# Autocomplete
# --------------------------------------------------------------------------------------------------

#: aspect ratios (w, h) proposed when completing a typed width
_RATIOS = ((1, 1), (16, 9), (9, 16), (4, 3), (3, 4), (3, 2), (2, 3), (2, 1), (1, 2), (3, 1), (1, 3))
_PARTIAL_RE = re.compile(r"^(\d+)(x(\d*))?$")


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def _nearest_multiples(value: int, multiple: int) -> tuple[int, ...]:
    low = value // multiple * multiple
    return (value,) if low == value else (low, low + multiple)


def _custom_completions(rule: CustomSizeRule, typed: str) -> list[str]:
    """Valid WxH sizes that complete a partly typed one ("2048", "2048x", "2048x11", "1000x1000")."""
    match = _PARTIAL_RE.match(typed)
    if not match:
        return []
    width = int(match.group(1))
    height_text = match.group(3)
    out: list[str] = []
    if match.group(2) and height_text:
        height = int(height_text)
        if rule.accepts(width, height):
            out.append(f"{width}x{height}")
        # heights that start with what was typed, nice ratios first
        by_ratio = [_round_to(width * h / w, rule.multiple) for w, h in _RATIOS]
        out += [f"{width}x{h}" for h in by_ratio if str(h).startswith(height_text)]
        out += [
            f"{width}x{h}"
            for h in range(rule.multiple, rule.max_edge + 1, rule.multiple)
            if str(h).startswith(height_text)
        ]
        # the nearest valid sizes to a complete but refused WxH (e.g. 1000x1000 -> 992x992, 1008x1008)
        for w in _nearest_multiples(width, rule.multiple):
            for h in _nearest_multiples(height, rule.multiple):
                out.append(f"{w}x{h}")
    else:
        out += [f"{width}x{_round_to(width * h / w, rule.multiple)}" for w, h in _RATIOS]
    return [size for size in out if (parsed := parse_wxh(size)) is not None and rule.accepts(*parsed)]


def suggest_sizes(spec: ModelSpec, typed: str, limit: int = 25) -> list[str]:
    """Sizes for Discord autocomplete, best first; every value is one the model accepts."""
    query = normalize_size(typed)
    catalogue = list(dict.fromkeys(spec.sizes + spec.suggested_sizes))
    candidates: list[str] = []
    if not query:
        candidates = catalogue
    else:
        rule = spec.custom_size_rule
        if rule is not None and rule.accepts_text(query):
            candidates.append(query)
        candidates += [size for size in catalogue if size.startswith(query)]
        if rule is not None:
            candidates += _custom_completions(rule, query)
        candidates += [size for size in catalogue if query in size]
    unique = [size for size in dict.fromkeys(candidates) if size_allowed(spec, size)]
    return unique[: max(limit, 0)]


# --------------------------------------------------------------------------------------------------
# Cost
# --------------------------------------------------------------------------------------------------


def estimate_cost_usd(
    spec: ModelSpec, size: str | None, quality: str | None, n: int, usage: Usage | None = None
) -> float | None:
    """USD for ``n`` images at ``size``/``quality`` (None: the model's defaults).

    Per-image models: the table's price times ``n``; an ``auto`` size or quality prices at the highest
    candidate (an upper bound — pass the size/quality the response reports to be exact). Token-priced
    models (gpt-image-2): exact from ``usage`` (which covers the whole request, so ``n`` is not applied),
    None without it. None when the table has no price for the combination.
    """
    pricing = spec.pricing
    if isinstance(pricing, TokenPricing):
        if usage is None:
            return None
        return pricing.cost(usage.input_tokens, usage.output_tokens)
    resolved_size = normalize_size(size) if size else spec.default_size
    resolved_quality = (quality or spec.default_quality or "auto").strip().lower()
    price = pricing.price(resolved_quality, resolved_size)
    return None if price is None else price * n
