"""Image size strings: normalising what users type, and the rule for free-form sizes (gpt-image-2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CustomSizeRule", "normalize_size", "parse_wxh"]

_WXH_RE = re.compile(r"^(\d{1,6})x(\d{1,6})$")


def normalize_size(value: str) -> str:
    """``" 1024 × 1024 "`` -> ``"1024x1024"``, ``"AUTO"`` -> ``"auto"``."""
    return "".join(value.split()).lower().replace("×", "x")


def parse_wxh(value: str) -> tuple[int, int] | None:
    """(width, height) of a normalised ``WxH`` string, or None when it is not one."""
    match = _WXH_RE.match(value)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class CustomSizeRule:
    """Which arbitrary ``WxH`` sizes a model accepts.

    gpt-image-2: both sides multiples of 16, aspect ratio between 1:3 and 3:1, longest edge at most
    3840 and at most 3840*2160 pixels.
    """

    multiple: int = 16
    max_ratio: int = 3
    max_edge: int = 3840
    max_pixels: int = 3840 * 2160

    def accepts(self, width: int, height: int) -> bool:
        if width <= 0 or height <= 0:
            return False
        if width % self.multiple or height % self.multiple:
            return False
        if max(width, height) > self.max_ratio * min(width, height):
            return False
        return max(width, height) <= self.max_edge and width * height <= self.max_pixels

    def accepts_text(self, size: str) -> bool:
        parsed = parse_wxh(normalize_size(size))
        return parsed is not None and self.accepts(*parsed)

    def describe(self) -> str:
        """Words for a user-facing message, e.g. in ``OptionNotSupported.allowed_text``."""
        longest = self.max_edge
        shortest = self.max_pixels // longest
        return (
            f"any WxH with both sides multiples of {self.multiple}, ratio up to {self.max_ratio}:1, "
            f"at most {longest}x{shortest}"
        )
