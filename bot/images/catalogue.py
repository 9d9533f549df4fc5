"""What a model accepts and costs, as data: one ``ModelSpec`` per row, a ``ModelCatalogue`` of rows.

Validation, autocomplete, fan-out, request building and cost all read these rows; none of them
knows a model by its name. The built-in rows live in ``bot.images.builtin_models``; an operator's
``MODELS_FILE`` adds or overrides rows (``bot.images.models_file``). A row's ``name`` is what members
pick and what the bot stores; ``upstream_id`` is what is sent to the backend (a gateway's own name,
an Azure deployment).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from .errors import UnknownModel
from .pricing import Pricing
from .sizes import CustomSizeRule

__all__ = ["ENDPOINTS", "Endpoint", "GifRule", "ModelCatalogue", "ModelSpec", "Retirement"]

Endpoint = Literal["generations", "edits", "variations"]
ENDPOINTS: tuple[Endpoint, ...] = ("generations", "edits", "variations")


@dataclass(frozen=True)
class Retirement:
    """A shutdown the bot knows of: OpenAI's published date for a built-in id, or the operator's."""

    shutdown: date
    replacement: str | None = None
    #: "openai": applies on OpenAI's own API only (gateways may still serve the id); "operator": always
    scope: Literal["openai", "operator"] = "openai"


@dataclass(frozen=True)
class GifRule:
    """Animated GIF output (gpt-image-2.6): frame counts, and the size budget of the frame sheet.

    OpenAI documents 2–16 frames (default 9) and that "the requested size must fit the model's GIF
    size limits" without numbers. The sheet budget is a third-party measurement ([3P] in
    shared/reference/openai-images.md): frames are laid out on one sheet, 3x3 for up to 9 frames,
    4x3 up to 12, 4x4 up to 16, and the sheet must fit 3840 px and 8,294,400 pixels — which gives the
    measured square caps 960, 816 and 720. An operator can change it in MODELS_FILE.
    """

    min_frames: int = 2
    max_frames: int = 16
    default_frames: int = 9
    #: (up to this many frames, columns, rows), smallest first
    grids: tuple[tuple[int, int, int], ...] = ((9, 3, 3), (12, 4, 3), (16, 4, 4))
    sheet_max_edge: int = 3840
    sheet_max_pixels: int = 8_294_400
    multiple: int = 16

    def grid(self, frames: int) -> tuple[int, int]:
        for up_to, columns, rows in self.grids:
            if frames <= up_to:
                return columns, rows
        _, columns, rows = self.grids[-1]
        return columns, rows

    def fits(self, width: int, height: int, frames: int) -> bool:
        columns, rows = self.grid(frames)
        sheet_w, sheet_h = columns * width, rows * height
        return max(sheet_w, sheet_h) <= self.sheet_max_edge and sheet_w * sheet_h <= self.sheet_max_pixels

    def largest_square(self, frames: int) -> int:
        """The largest square frame side (a multiple of ``multiple``) that fits ``frames`` frames."""
        columns, rows = self.grid(frames)
        side = min(
            self.sheet_max_edge // max(columns, rows),
            math.isqrt(self.sheet_max_pixels // (columns * rows)),
        )
        return side // self.multiple * self.multiple

    def describe(self, frames: int) -> str:
        side = self.largest_square(frames)
        return f"for {frames} frames, at most {side}x{side} (or another shape with no more pixels)"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the bot needs to know about one model. Pure data."""

    name: str
    endpoints: frozenset[str]
    #: listed sizes, in the order autocomplete proposes them ("auto" included where valid)
    sizes: tuple[str, ...]
    default_size: str
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
    #: any WxH meeting this rule is accepted too (gpt-image-2 and later); None: only ``sizes``
    custom_size_rule: CustomSizeRule | None = None
    #: extra valid sizes autocomplete proposes beyond ``sizes`` (custom-size models)
    suggested_sizes: tuple[str, ...] = ()
    #: the mask (edits) must be a PNG strictly smaller than this, with the first image's dimensions
    mask_max_bytes: int = 0
    moderation_levels: tuple[str, ...] = ()
    #: output formats a transparent background works with (OpenAI: png and webp)
    transparent_formats: tuple[str, ...] = ("png", "webp")
    #: values of ``complexity`` (gpt-image-2.6); () where the model has no such option
    complexities: tuple[str, ...] = ()
    #: animated GIF output (``output_formats`` then includes "gif")
    gif: GifRule | None = None
    #: the id sent upstream; "" means ``name``
    upstream: str = ""
    retirement: Retirement | None = None
    #: one line for the README and /admin models
    summary: str = ""

    def __post_init__(self) -> None:
        if ("gif" in self.output_formats) != (self.gif is not None):
            raise ValueError(f"{self.name}: 'gif' in output_formats and a gif rule go together")

    @property
    def upstream_id(self) -> str:
        return self.upstream or self.name

    @property
    def custom_sizes(self) -> bool:
        return self.custom_size_rule is not None

    def supports(self, endpoint: str) -> bool:
        return endpoint in self.endpoints


class ModelCatalogue(Mapping[str, ModelSpec]):
    """The rows the bot offers, by name (immutable; order = the order autocomplete lists them)."""

    def __init__(self, rows: Mapping[str, ModelSpec]) -> None:
        self._rows = MappingProxyType(dict(rows))
        self._folded = {name.casefold(): spec for name, spec in self._rows.items()}

    def __getitem__(self, name: str) -> ModelSpec:
        return self._rows[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"ModelCatalogue({', '.join(self._rows)})"

    def find(self, name: str) -> ModelSpec | None:
        """The row for ``name``, forgiving case and surrounding whitespace; None when unknown."""
        return self._rows.get(name) or self._folded.get(name.strip().casefold())

    def get_model(self, name: str) -> ModelSpec:
        """The row for ``name``; ``UnknownModel`` otherwise."""
        spec = self.find(name)
        if spec is None:
            raise UnknownModel(name, tuple(self._rows))
        return spec

    def supporting(self, endpoint: str) -> tuple[str, ...]:
        return tuple(name for name, spec in self._rows.items() if spec.supports(endpoint))
