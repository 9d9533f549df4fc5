"""What one Images API request cost, from its model's prices and what the backend reported."""

from __future__ import annotations

from .catalogue import ModelSpec
from .datatypes import ImageResult
from .pricing import Cost, TokenPricing

__all__ = ["request_cost"]


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
