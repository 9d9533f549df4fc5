"""Fit a decoded image to a model's edit-input rules, read from its ``ModelSpec`` row.

Square-PNG models (``spec.edit_requires_square_png``, i.e. dall-e-2): a square RGBA PNG, centre-cropped
or padded with transparent pixels, at most the largest square size the model makes, stepping down
through its smaller square sizes until the PNG is strictly below ``spec.edit_max_input_bytes``.

Other models (the GPT image family): aspect ratio kept, longest side <= ``max_side``, PNG when the
image has transparency and JPEG (quality 95) otherwise, in a format ``spec.edit_input_formats``
allows, strictly below ``spec.edit_max_input_bytes``. ``fit`` does not apply: nothing is cropped
or padded.

Nothing is ever scaled up beyond the pixels that were decoded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PIL import Image

from bot.images import Fit, parse_wxh
from bot.images.catalogue import ModelSpec

from .encoding import CONTENT_TYPES, EXTENSIONS, MIN_SIDE, lossy_under, png_under, scaled_sizes
from .intake import Intake
from .placement import Placement

__all__ = ["DEFAULT_MAX_SIDE", "Fit", "Fitted", "fit_image", "square_sizes", "target_side_for"]

DEFAULT_MAX_SIDE = 2048
JPEG_QUALITIES = (95, 90, 85, 75, 60)
WEBP_QUALITIES = (95, 90, 80, 70, 60)
SHRINK_STEP = 0.8
TRANSPARENT = (0, 0, 0, 0)


@dataclass(frozen=True)
class Fitted:
    """An encoded image ready for the Images API, and how the original was placed on it.

    ``mask_max_bytes`` carries the model's mask limit (0: unknown) so that ``prepare_mask`` can
    respect it; ``stem`` names the file ("image", or "mask" for a prepared mask).
    """

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    placement: Placement
    stem: str = "image"
    mask_max_bytes: int = 0

    @property
    def filename(self) -> str:
        return f"{self.stem}.{EXTENSIONS[self.format]}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def square_sizes(spec: ModelSpec) -> tuple[int, ...]:
    """The square output sizes the model lists, largest first: (1024, 512, 256) for dall-e-2."""
    sides = set()
    for size in spec.sizes:
        parsed = parse_wxh(size)
        if parsed is not None and parsed[0] == parsed[1]:
            sides.add(parsed[0])
    return tuple(sorted(sides, reverse=True))


def target_side_for(spec: ModelSpec, *, max_side: int = DEFAULT_MAX_SIDE) -> int:
    """The ``target_side`` to pass to ``decode`` for an image that ``fit_image(.., spec, max_side=..)``
    will fit: decoding at this size loses nothing the fitted image would keep."""
    if spec.edit_requires_square_png:
        steps = square_sizes(spec)
        return min(max_side, steps[0]) if steps else max_side
    return max_side


def fit_image(
    intake: Intake, spec: ModelSpec, *, fit: Fit = "crop", max_side: int = DEFAULT_MAX_SIDE
) -> Fitted:
    """``intake``'s image encoded to meet ``spec``'s edit-input rules (see the module docstring).

    ``ValueError`` when the model takes no edit input or no size can meet its byte limit (with the
    real model table neither happens).
    """
    if fit not in ("crop", "pad"):
        raise ValueError(f"fit must be 'crop' or 'pad', not {fit!r}")
    if max_side < 1:
        raise ValueError(f"max_side must be positive, not {max_side}")
    if spec.edit_max_input_bytes <= 0 or not spec.edit_input_formats:
        raise ValueError(f"{spec.name} takes no input images")
    if spec.edit_requires_square_png:
        return _fit_square(intake, spec, fit, max_side)
    return _fit_keep_aspect(intake, spec, max_side)


def _decoded_scale(intake: Intake) -> float:
    """Decoded pixels per original pixel (< 1 after draft decoding)."""
    width, height = intake.original_size
    return min(1.0, intake.image.width / width, intake.image.height / height)


def _fit_square(intake: Intake, spec: ModelSpec, fit: Fit, max_side: int) -> Fitted:
    if "png" not in spec.edit_input_formats:
        raise ValueError(f"{spec.name} requires square PNGs but does not list png as an input format")
    width, height = intake.original_size
    span = min(width, height) if fit == "crop" else max(width, height)
    steps = square_sizes(spec)
    cap = min(max_side, steps[0]) if steps else max_side
    first = max(1, min(cap, math.floor(span * _decoded_scale(intake) + 1e-9)))
    sides = [first, *(side for side in steps if side < first)]
    while sides[-1] // 2 >= MIN_SIDE:
        sides.append(sides[-1] // 2)
    limit = spec.edit_max_input_bytes
    for side in sides:
        placement = Placement.square(intake.original_size, side, fit)
        canvas = placement.apply(intake.image, mode="RGBA", fill=TRANSPARENT)
        data = png_under(canvas, limit)
        if data is not None:
            return Fitted(data, "png", side, side, placement, mask_max_bytes=spec.mask_max_bytes)
    raise ValueError(f"no square PNG of the image is under {limit} bytes")


def _choose_format(spec: ModelSpec, alpha: bool) -> str:
    preferences = ("png", "webp") if alpha else ("jpeg", "webp", "png")
    for fmt in preferences:
        if fmt in spec.edit_input_formats:
            return fmt
    raise ValueError(f"{spec.name} accepts none of {preferences} as input")


def _fit_keep_aspect(intake: Intake, spec: ModelSpec, max_side: int) -> Fitted:
    width, height = intake.original_size
    factor = min(1.0, max_side / max(width, height), _decoded_scale(intake))
    first = (
        max(1, min(max_side, round(width * factor))),
        max(1, min(max_side, round(height * factor))),
    )
    alpha = intake.image.mode == "RGBA"
    fmt = _choose_format(spec, alpha)
    limit = spec.edit_max_input_bytes
    for size in scaled_sizes(first, SHRINK_STEP):
        placement = Placement.scaled(intake.original_size, size)
        canvas = placement.apply(intake.image)
        data = _encode_under(canvas, fmt, limit)
        if data is not None:
            return Fitted(data, fmt, size[0], size[1], placement, mask_max_bytes=spec.mask_max_bytes)
    raise ValueError(f"no encoding of the image is under {limit} bytes")


def _encode_under(im: Image.Image, fmt: str, limit: int) -> bytes | None:
    if fmt == "png":
        return png_under(im, limit)
    if fmt == "jpeg":
        return lossy_under(im if im.mode == "RGB" else im.convert("RGB"), fmt, limit, JPEG_QUALITIES)
    if fmt == "webp":
        return lossy_under(im, fmt, limit, WEBP_QUALITIES)
    raise ValueError(f"cannot encode {fmt!r}")
