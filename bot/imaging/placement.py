"""How an original image is mapped onto a fitted canvas: one object, applied to the image and its mask.

A ``Placement`` is pure geometry in the ORIGINAL image's (upright, full-size) coordinates: the part
of the original that is kept (``crop_box``) is scaled into ``paste_box`` on a canvas of
``canvas_size``; the rest of the canvas is padding. ``apply`` renders any picture that covers the
original (the decoded image at any scale, or a mask of another size) through it, so an image and its
mask always land on exactly the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

__all__ = ["Placement"]

#: Pillow first shrinks by an integer factor (Image.reduce), then resamples the last < 3x with the
#: real filter: indistinguishable from a full LANCZOS pass and much faster on large reductions.
REDUCING_GAP = 3.0

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Placement:
    """``crop_box`` (in ``original_size`` pixels) is scaled into ``paste_box`` on the canvas."""

    original_size: tuple[int, int]
    crop_box: Box
    canvas_size: tuple[int, int]
    paste_box: Box

    def __post_init__(self) -> None:
        width, height = self.original_size
        left, top, right, bottom = self.crop_box
        if width < 1 or height < 1 or not (0 <= left < right <= width and 0 <= top < bottom <= height):
            raise ValueError(f"crop box {self.crop_box} outside the original {self.original_size}")
        canvas_w, canvas_h = self.canvas_size
        left, top, right, bottom = self.paste_box
        if not (0 <= left < right <= canvas_w and 0 <= top < bottom <= canvas_h):
            raise ValueError(f"paste box {self.paste_box} outside the canvas {self.canvas_size}")

    # --- construction ------------------------------------------------------------------------------

    @classmethod
    def square(cls, original_size: tuple[int, int], side: int, fit: str) -> Placement:
        """A ``side`` x ``side`` canvas: ``"crop"`` keeps the centred square of the shorter side,
        ``"pad"`` fits the whole image and centres it (the padding is left for the caller to fill)."""
        width, height = original_size
        if fit == "crop":
            short = min(width, height)
            left, top = (width - short) // 2, (height - short) // 2
            return cls(
                original_size, (left, top, left + short, top + short), (side, side), (0, 0, side, side)
            )
        if fit == "pad":
            scale = side / max(width, height)
            paste_w = min(side, max(1, round(width * scale)))
            paste_h = min(side, max(1, round(height * scale)))
            left, top = (side - paste_w) // 2, (side - paste_h) // 2
            return cls(
                original_size, (0, 0, width, height), (side, side), (left, top, left + paste_w, top + paste_h)
            )
        raise ValueError(f"fit must be 'crop' or 'pad', not {fit!r}")

    @classmethod
    def scaled(cls, original_size: tuple[int, int], size: tuple[int, int]) -> Placement:
        """The whole image scaled to ``size`` (no crop, no padding)."""
        width, height = original_size
        return cls(original_size, (0, 0, width, height), size, (0, 0, *size))

    # --- facts -------------------------------------------------------------------------------------

    @property
    def cropped(self) -> bool:
        return self.crop_box != (0, 0, *self.original_size)

    @property
    def padded(self) -> bool:
        return self.paste_box != (0, 0, *self.canvas_size)

    @property
    def scale(self) -> tuple[float, float]:
        """Canvas pixels per original pixel, horizontally and vertically."""
        left, top, right, bottom = self.crop_box
        p_left, p_top, p_right, p_bottom = self.paste_box
        return (p_right - p_left) / (right - left), (p_bottom - p_top) / (bottom - top)

    @property
    def padding(self) -> Box:
        """Transparent margins added on the (left, top, right, bottom)."""
        left, top, right, bottom = self.paste_box
        return left, top, self.canvas_size[0] - right, self.canvas_size[1] - bottom

    def map_point(self, x: float, y: float) -> tuple[float, float]:
        """Where the point (x, y) of the original lands on the canvas (may be outside when cropped)."""
        scale_x, scale_y = self.scale
        return (
            (x - self.crop_box[0]) * scale_x + self.paste_box[0],
            (y - self.crop_box[1]) * scale_y + self.paste_box[1],
        )

    # --- rendering ---------------------------------------------------------------------------------

    def apply(
        self,
        picture: Image.Image,
        *,
        resample: Image.Resampling = Image.Resampling.LANCZOS,
        mode: str | None = None,
        fill: int | tuple[int, ...] = 0,
    ) -> Image.Image:
        """Render ``picture`` (covering the whole original, at any resolution) onto the canvas.

        The result has ``mode`` (default: the picture's); the padding is ``fill``.
        """
        width, height = self.original_size
        scale_x, scale_y = picture.width / width, picture.height / height
        left, top, right, bottom = self.crop_box
        box = (left * scale_x, top * scale_y, right * scale_x, bottom * scale_y)
        p_left, p_top, p_right, p_bottom = self.paste_box
        size = (p_right - p_left, p_bottom - p_top)
        if size == picture.size and box == (0, 0, picture.width, picture.height):
            part = picture
        else:
            part = picture.resize(size, resample, box=box, reducing_gap=REDUCING_GAP)
        mode = mode or part.mode
        if not self.padded:
            return part if part.mode == mode else part.convert(mode)
        canvas = Image.new(mode, self.canvas_size, fill)
        canvas.paste(part if part.mode == mode else part.convert(mode), (p_left, p_top))
        return canvas
