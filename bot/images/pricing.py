"""Price data: per output image (DALL·E, gpt-image-1 family) or per token (gpt-image-2).

Prices are data an operator can override (``dataclasses.replace(spec, pricing=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ImagePrice", "PerImagePricing", "Pricing", "TokenPricing"]


@dataclass(frozen=True)
class ImagePrice:
    """USD for one output image of ``size`` at ``quality``."""

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
            if (quality == "auto" or entry.quality == quality) and (size == "auto" or entry.size == size)
        ]
        return max(candidates) if candidates else None

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
    """USD per one million input / output tokens; cost comes from the response's ``usage``."""

    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1_000_000


Pricing = PerImagePricing | TokenPricing
