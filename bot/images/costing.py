"""What one Images API request cost, from its model's prices and what the backend reported."""

from __future__ import annotations

from .catalogue import ModelSpec
from .datatypes import ImageResult
from .pricing import ESTIMATE_PIXELS, Cost, PerImagePricing, TokenPricing
from .sizes import normalize_size, parse_wxh

__all__ = ["INPUT_IMAGE_TOKENS", "WORST_CASE_MARGIN", "request_cost", "worst_case_cost"]


def request_cost(
    spec: ModelSpec,
    result: ImageResult,
    *,
    size: str | None,
    quality: str | None,
    had_input_images: bool,
    frames: int | None = None,
) -> Cost | None:
    """Exact from ``usage`` when the backend reported it, else estimated; None when unpriced.

    The size and quality the response reports win over the requested ones (``auto`` resolved);
    per-image prices count the images that came back, not the ones asked for.
    """
    resolved_size = result.size or size or spec.default_size
    resolved_quality = (result.quality or quality or spec.default_quality or "auto").strip().lower()
    images = len(result.images)
    pricing = spec.pricing
    if isinstance(pricing, TokenPricing):
        if result.usage is not None:
            return pricing.cost(result.usage, had_input_images=had_input_images)
        return pricing.estimate(resolved_quality, resolved_size, images, frames or 1)
    return pricing.cost(resolved_quality, resolved_size, images)


#: a worst case keeps this margin over the table's output-token counts (estimates, most of them [3P])
WORST_CASE_MARGIN = 2.0
#: input tokens of one input image at most: OpenAI documents no figure for the 2.x models; this is
#: several times the output tokens of a "max" 4K image, so that an edit's hold stays on the high side
INPUT_IMAGE_TOKENS = 12_000


def largest_pixels(spec: ModelSpec, size: str | None) -> int:
    """The pixels of ``size``; for ``auto`` (or none), the largest the model may choose."""
    parsed = parse_wxh(normalize_size(size)) if size and size != "auto" else None
    if parsed is not None:
        return parsed[0] * parsed[1]
    candidates = [w * h for w, h in (parse_wxh(s) or (0, 0) for s in spec.sizes)]
    if spec.custom_size_rule is not None:
        candidates.append(spec.custom_size_rule.max_pixels)
    return max(candidates, default=ESTIMATE_PIXELS)


def worst_case_cost(
    spec: ModelSpec,
    *,
    size: str | None,
    quality: str | None,
    images: int,
    frames: int | None = None,
    prompt_bytes: int = 0,
    input_images: int = 0,
    ceiling_per_image: float | None = None,
) -> float | None:
    """The most a job's requests can be billed, in USD: what its budget holds while it runs. None
    when the model has no price.

    Per-image prices are exact bounds (``auto`` takes the dearest entry). Token prices: the table's
    output tokens for the quality (the largest one for ``auto``) scaled to the largest pixels the size
    allows, times ``WORST_CASE_MARGIN``, per image and GIF frame; every prompt byte as a text token
    (a token is at least a byte); ``INPUT_IMAGE_TOKENS`` per input image. Never below
    ``ceiling_per_image`` (the most billed so far for this model, size and quality) per image.
    """
    pricing = spec.pricing
    quality = (quality or spec.default_quality or "auto").strip().lower()
    size = size or spec.default_size
    if isinstance(pricing, PerImagePricing):
        price = pricing.price(quality, normalize_size(size))
        if price is None:
            return None
        bound = price * images
    else:
        table = pricing.output_tokens_estimate
        if not table:
            return None
        own = [table[q] for q in spec.qualities if q != "auto" and q in table]  # what auto may pick
        tokens = max(own or table.values()) if quality == "auto" else table.get(quality, max(table.values()))
        scale = max(largest_pixels(spec, size) / ESTIMATE_PIXELS, 0.25)
        output = tokens * scale * WORST_CASE_MARGIN * images * max(frames or 1, 1)
        bound = (
            output * pricing.output_per_million
            + prompt_bytes * pricing.text_input_per_million
            + input_images * INPUT_IMAGE_TOKENS * pricing.image_input_per_million
        ) / 1_000_000
    if ceiling_per_image is not None:
        bound = max(bound, ceiling_per_image * images)
    return bound
