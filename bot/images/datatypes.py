"""Typed requests to and results from the Images API (plain frozen dataclasses, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .options import NO_OPTIONS, ImageOptions
from .retry import RateLimitInfo

__all__ = [
    "EditRequest",
    "Fit",
    "GenerateRequest",
    "GeneratedImage",
    "ImageResult",
    "InputImage",
    "Usage",
    "VariationRequest",
]


Fit = Literal["crop", "pad"]
"""How an input image is fitted to a model that needs a fixed shape: centre-crop, or pad with
transparency."""


@dataclass(frozen=True)
class InputImage:
    """An image uploaded to ``/images/edits`` or ``/images/variations``."""

    data: bytes
    filename: str
    content_type: str  # "image/png", "image/jpeg", "image/webp"

    def __repr__(self) -> str:  # keep logs and test output readable
        return f"InputImage({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class GenerateRequest:
    model: str
    prompt: str
    n: int = 1
    options: ImageOptions = NO_OPTIONS
    user: str | None = None


@dataclass(frozen=True)
class EditRequest:
    """``images`` holds one image (sent as ``image``) or several (sent as repeated ``image[]``)."""

    model: str
    prompt: str
    images: tuple[InputImage, ...]
    mask: InputImage | None = None
    n: int = 1
    options: ImageOptions = NO_OPTIONS
    user: str | None = None


@dataclass(frozen=True)
class VariationRequest:
    model: str
    image: InputImage
    n: int = 1
    options: ImageOptions = NO_OPTIONS  # only ``size`` is sent
    user: str | None = None


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    format: str  # "png" | "jpeg" | "webp" | "gif", identified from the bytes
    revised_prompt: str | None = None

    def __repr__(self) -> str:
        size = len(self.data)
        return f"GeneratedImage({self.format!r}, {size} bytes, revised_prompt={self.revised_prompt!r})"


@dataclass(frozen=True)
class Usage:
    """Token usage reported by GPT image models (for the whole request, all ``n`` images)."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_text_tokens: int | None = None
    input_image_tokens: int | None = None


@dataclass(frozen=True)
class ImageResult:
    images: tuple[GeneratedImage, ...]
    usage: Usage | None = None
    created: int | None = None
    size: str | None = None  # as the API reports it (free string), when it does
    quality: str | None = None
    rate_limit: RateLimitInfo | None = None
    request_id: str | None = None  # the API's x-request-id, for logs and support
