"""A request's options, declared once: what a member chose, what validation resolved, what the
request carries and which body fields it becomes.

``ImageOptions`` travels unchanged from the recipe (``bot.core.recipes``) through validation
(``bot.images.validation``) into the request dataclasses and, field by field, into the JSON or
multipart body (``bot.images.client``): a new API parameter is one field here, one line in
``ENDPOINT_OPTIONS``, its check in validation and the model-table column that says who accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalogue import Endpoint

__all__ = ["ENDPOINT_OPTIONS", "NO_OPTIONS", "ImageOptions"]


@dataclass(frozen=True)
class ImageOptions:
    """None everywhere means "the model's default" (validation fills in the row's defaults; a
    value still None is left out of the request)."""

    size: str | None = None
    quality: str | None = None
    style: str | None = None
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None  # 0-100, with output_format jpeg or webp
    complexity: str | None = None
    #: an animated GIF's frame count, with output_format gif
    frames: int | None = field(default=None, metadata={"api": "frame_count"})

    def changed(self, **values: Any) -> ImageOptions:
        return replace(self, **values)

    def body_fields(self, endpoint: Endpoint) -> dict[str, Any]:
        """``{API field name: value}`` for the options ``endpoint`` takes, None ones included."""
        taken = ENDPOINT_OPTIONS[endpoint]
        return {f.metadata.get("api", f.name): getattr(self, f.name) for f in fields(self) if f.name in taken}

    def as_dict(self) -> dict[str, Any]:
        """The set options (for storing a job), by their names here."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ImageOptions:
        """The options among ``values`` (other keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})


NO_OPTIONS = ImageOptions()  # every option the model's default

_ALL = frozenset(f.name for f in fields(ImageOptions))

#: which options each endpoint takes (the API reference: ``../shared/reference/openai-images.md``)
ENDPOINT_OPTIONS: dict[Endpoint, frozenset[str]] = {
    "generations": _ALL,
    "edits": _ALL - {"style", "frames"},
    "variations": frozenset({"size"}),
}
