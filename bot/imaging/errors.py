"""Why an uploaded image (or mask) is refused.

Each exception carries the facts its message needs; ``bot.core.text`` words them. ``subject`` says
what was refused: ``"image"`` (the default) or ``"mask"`` (set by ``prepare_mask``).
"""

from __future__ import annotations

from bot.errors import UserInputError

__all__ = [
    "CorruptImage",
    "FileTooLarge",
    "ImageRejected",
    "InvalidMask",
    "TooManyPixels",
    "UnsupportedImageType",
]


class ImageRejected(UserInputError):
    """An uploaded file the bot cannot use. Raised before anything is sent upstream."""

    subject: str = "image"


class UnsupportedImageType(ImageRejected):
    """The bytes are not one of the accepted formats; ``found`` names what they are instead."""

    def __init__(self, found: str) -> None:
        super().__init__(f"unsupported file type: {found}")
        self.found = found


class FileTooLarge(ImageRejected):
    """The file has ``size`` bytes; at most ``limit`` are accepted."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file of {size} bytes exceeds the limit of {limit}")
        self.size = size
        self.limit = limit


class TooManyPixels(ImageRejected):
    """The header claims ``width`` x ``height`` pixels, more than ``limit`` (refused before decoding)."""

    def __init__(self, width: int, height: int, limit: int) -> None:
        super().__init__(f"image of {width}x{height} pixels exceeds the limit of {limit} pixels")
        self.width = width
        self.height = height
        self.limit = limit


class CorruptImage(ImageRejected):
    """The file claims an accepted format but cannot be decoded; ``detail`` says how, in plain words."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"corrupt image: {detail}")
        self.detail = detail


class InvalidMask(ImageRejected):
    """The mask cannot be used; ``reason`` completes "That mask doesn't work: ..."."""

    subject = "mask"

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid mask: {reason}")
        self.reason = reason
