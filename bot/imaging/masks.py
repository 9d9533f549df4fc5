"""Masks for edits: accept what users actually have, send what the API wants.

Two conventions are accepted:

(a) an image with an alpha channel where at least one pixel is not fully opaque: its TRANSPARENT
    pixels mark the area to edit (the API's own convention). Soft edges are kept as drawn.
(b) anything else (black-and-white, greyscale, colour, JPEG...): WHITE marks the area to edit. The
    luminance is binarised at 50 % after scaling, so JPEG noise leaves no half-transparent specks.

A mask of another size than the original image is stretched over it (a mask drawn on a thumbnail
works; a mask of another shape is refused), then put through the image's own ``Placement``, so it
lands on exactly the same pixels as the image. Padding added by ``fit="pad"`` is marked editable
(alpha 0): the padding is transparent in the image too, and leaving it editable lets the model
paint the new margins (outpainting) instead of leaving empty bands.

The result is an RGBA PNG of the fitted image's size (RGB black, alpha 0 = edit), strictly smaller
than the model's mask limit carried by the ``Fitted`` image.
"""

from __future__ import annotations

from PIL import Image, ImageChops

from .encoding import encode, png_under
from .errors import ImageRejected, InvalidMask
from .fitting import Fitted
from .intake import MAX_PIXELS, Intake, decode
from .placement import Placement

__all__ = ["prepare_mask"]

NOTHING_MARKED = "it marks no area to change"
OUTSIDE_CROP = "the area it marks is outside the square the image is cropped to"
TOO_SMALL = "the area it marks is too small to survive scaling the image down"
TOO_DETAILED = "it is too detailed to send as a mask"
#: aspect ratios of mask and image may differ by this much (beyond a pixel of rounding)
SHAPE_TOLERANCE = 0.01
#: an "edit" value (255 = edit) at or above this marks the pixel as editable
THRESHOLD = 128


def prepare_mask(
    data: bytes, image: Intake, fitted: Fitted, *, max_bytes: int, max_pixels: int = MAX_PIXELS
) -> Fitted:
    """The mask ``data`` for ``image`` (fitted as ``fitted``), as the API wants it (module docstring).

    Refusals are ``ImageRejected`` with ``subject == "mask"``: the ``decode`` refusals, and
    ``InvalidMask`` for a mask of another shape, one that marks nothing, or whose marked area does
    not survive the crop or the downscale.
    """
    placement = fitted.placement
    if placement.original_size != image.original_size:
        raise ValueError("the fitted image was not made from this image")
    try:
        mask = decode(data, max_bytes=max_bytes, max_pixels=max_pixels)
    except ImageRejected as error:
        error.subject = "mask"
        raise
    source = mask.image
    _check_shape(source.size, image.original_size)
    uses_alpha = source.mode == "RGBA"
    # one convention internally: an "edit" band where 255 = edit
    edit = ImageChops.invert(source.getchannel("A")) if uses_alpha else source.convert("L")
    marked_box = _marked(edit).getbbox()
    if marked_box is None:
        raise InvalidMask(NOTHING_MARKED)
    fitted_edit = placement.apply(edit, resample=Image.Resampling.BILINEAR, fill=255)
    if _marked(fitted_edit.crop(placement.paste_box)).getbbox() is None:
        raise InvalidMask(OUTSIDE_CROP if _outside_crop(marked_box, source.size, placement) else TOO_SMALL)
    alpha = ImageChops.invert(fitted_edit) if uses_alpha else _binary_alpha(fitted_edit)
    return Fitted(
        _encode_mask(alpha, fitted.mask_max_bytes, soft=uses_alpha),
        "png",
        fitted.width,
        fitted.height,
        placement,
        stem="mask",
        mask_max_bytes=fitted.mask_max_bytes,
    )


def _check_shape(mask_size: tuple[int, int], original_size: tuple[int, int]) -> None:
    mask_w, mask_h = mask_size
    width, height = original_size
    expected_h = mask_w * height / width
    # a scaled copy rounds both sides: up to half a pixel each, the width's scaled by height/width
    rounding = 0.5 + 0.5 * height / width + 1e-9
    if abs(mask_h - expected_h) > max(rounding, SHAPE_TOLERANCE * expected_h):
        raise InvalidMask(f"its shape ({mask_w}x{mask_h}) doesn't match the image's ({width}x{height})")


def _marked(edit: Image.Image) -> Image.Image:
    return edit.point(lambda value: 255 if value >= THRESHOLD else 0)


def _binary_alpha(edit: Image.Image) -> Image.Image:
    return edit.point(lambda value: 0 if value >= THRESHOLD else 255)


def _outside_crop(
    marked_box: tuple[int, int, int, int], mask_size: tuple[int, int], placement: Placement
) -> bool:
    """True when the marked area (mask pixels) lies wholly outside the part of the original kept."""
    scale_x = placement.original_size[0] / mask_size[0]
    scale_y = placement.original_size[1] / mask_size[1]
    left, top, right, bottom = marked_box
    c_left, c_top, c_right, c_bottom = placement.crop_box
    return (
        right * scale_x <= c_left
        or left * scale_x >= c_right
        or bottom * scale_y <= c_top
        or top * scale_y >= c_bottom
    )


def _encode_mask(alpha: Image.Image, limit: int, *, soft: bool) -> bytes:
    rgba = Image.new("RGBA", alpha.size, (0, 0, 0, 0))
    rgba.putalpha(alpha)
    if limit <= 0:
        return encode(rgba, "png")
    data = png_under(rgba, limit)
    if data is None and soft:
        rgba.putalpha(_binary_alpha(ImageChops.invert(alpha)))
        data = png_under(rgba, limit)
    if data is None:
        raise InvalidMask(TOO_DETAILED)
    return data
