"""Prices as data, and what a request cost: per output image (DALL·E, the gpt-image-1 family) or per
token (gpt-image-2 and later).

A cost is *exact* when it is computed from the token ``usage`` the backend reported, split into text
and image input; it is *estimated* otherwise (a per-image table, or token counts guessed for a
backend that returns no ``usage``). Prices are data an operator can override in MODELS_FILE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .datatypes import Usage
from .sizes import normalize_size, parse_wxh

__all__ = ["Cost", "ImagePrice", "PerImagePricing", "Pricing", "TokenPricing", "add_costs"]

#: the pixel count the per-quality token estimates refer to (1536x1024)
ESTIMATE_PIXELS = 1536 * 1024


@dataclass(frozen=True)
class Cost:
    usd: float
    exact: bool


def add_costs(costs: list[Cost]) -> Cost | None:
    """The sum of the costs of a job's requests; exact only when every part was."""
    if not costs:
        return None
    return Cost(sum(cost.usd for cost in costs), all(cost.exact for cost in costs))


@dataclass(frozen=True)
class ImagePrice:
    """USD for one output image of ``size`` at ``quality`` ("*" matches any)."""

    quality: str
    size: str
    usd: float


@dataclass(frozen=True)
class PerImagePricing:
    """A price per output image, by (quality, size)."""

    entries: tuple[ImagePrice, ...]

    def price(self, quality: str, size: str) -> float | None:
        """The price of one image; for ``auto`` quality or size, the highest candidate (an upper bound)."""
        candidates = [
            entry.usd
            for entry in self.entries
            if (quality == "auto" or entry.quality in (quality, "*"))
            and (size == "auto" or entry.size in (size, "*"))
        ]
        return max(candidates) if candidates else None

    def cost(self, quality: str, size: str, images: int) -> Cost | None:
        price = self.price(quality, size)
        return None if price is None else Cost(price * images, exact=False)

    @classmethod
    def by_square_and_other(
        cls, table: dict[str, tuple[float, float]], square: str, others: tuple[str, ...]
    ) -> PerImagePricing:
        """Build from ``{quality: (price for the square size, price for the other sizes)}``."""
        entries: list[ImagePrice] = []
        for quality, (square_price, other_price) in table.items():
            entries.append(ImagePrice(quality, square, square_price))
            entries.extend(ImagePrice(quality, size, other_price) for size in others)
        return cls(tuple(entries))


@dataclass(frozen=True)
class TokenPricing:
    """USD per one million text-input, image-input and output tokens.

    ``output_tokens_estimate`` (output tokens of one 1536x1024 image, by quality) prices a request
    whose backend reported no ``usage``; the estimate scales with the pixel count.
    """

    text_input_per_million: float
    image_input_per_million: float
    output_per_million: float
    output_tokens_estimate: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "output_tokens_estimate", MappingProxyType(dict(self.output_tokens_estimate))
        )

    def cost(self, usage: Usage, *, had_input_images: bool) -> Cost:
        """Exact from ``usage`` when it splits text and image input (or there was no input image)."""
        text, image = usage.input_text_tokens, usage.input_image_tokens
        exact = True
        if text is None or image is None:
            if had_input_images:  # unknown split: price all input at the higher image rate
                text, image, exact = 0, usage.input_tokens, False
            else:
                text, image = usage.input_tokens, 0
        usd = (
            text * self.text_input_per_million
            + image * self.image_input_per_million
            + usage.output_tokens * self.output_per_million
        ) / 1_000_000
        return Cost(usd, exact)

    def estimate(self, quality: str, size: str, images: int, frames: int = 1) -> Cost | None:
        """A guess for ``images`` images when the backend reports no usage; None without estimates."""
        table = self.output_tokens_estimate
        if not table:
            return None
        tokens = table.get(quality) or max(table.values())
        parsed = parse_wxh(normalize_size(size))
        scale = (parsed[0] * parsed[1] / ESTIMATE_PIXELS) if parsed else 1.0
        usd = tokens * max(scale, 0.25) * images * max(frames, 1) * self.output_per_million / 1_000_000
        return Cost(usd, exact=False)


Pricing = PerImagePricing | TokenPricing
