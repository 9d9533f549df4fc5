"""Encoding images to a byte budget: the encoder ladders fitting and delivery share.

``encode_to_fit`` (delivery) leaves what fits alone and re-encodes the rest as a still WebP, except
an animated GIF: a still would silently drop the animation, so ``animation.fit_animation`` shrinks
it into a smaller GIF, every frame kept.

Speed notes (a photo at 1024x1024 RGBA, this Pillow/zlib-ng build): Pillow's default PNG
compression (level 6) takes ~400 ms; run-length deflate (zlib strategy Z_RLE) takes ~65 ms and is
only ~4 % larger on photos (and smaller than level 6 on flat images). PNGs are written with Z_RLE
first and re-compressed at the maximum level only when the fast result is near enough the limit
for that to help.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from PIL import Image

from .animation import fit_animation
from .errors import ImageRejected
from .intake import decode, sniff

__all__ = ["CONTENT_TYPES", "EXTENSIONS", "MIN_BUDGET", "encode", "encode_to_fit", "lossy_under", "png_under"]

CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
)
EXTENSIONS: Mapping[str, str] = MappingProxyType({"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif"})
#: below this a delivery budget is a bug, not a constraint
MIN_BUDGET = 10 * 1024
#: the smallest side the ladders will shrink an image to before giving up
MIN_SIDE = 16
#: PNG: try the slow maximum compression only when the fast one is within this factor of the limit
PNG_RETRY_MARGIN = 1.5
#: zlib's Z_RLE strategy: fast, and close to full deflate on photographs
Z_RLE = 3
WEBP_MAX_SIDE = 16383
DELIVERY_QUALITIES = tuple(range(40, 96, 5))  # 40, 45, ... 95
DELIVERY_SCALE_STEP = 0.8


def encode(
    im: Image.Image,
    fmt: str,
    *,
    quality: int | None = None,
    optimize: bool = False,
) -> bytes:
    """``im`` encoded as ``fmt`` ("png", "jpeg" or "webp"), without metadata: the pixels are sRGB by
    now, and Pillow's PNG writer would otherwise copy an ICC profile or a tRNS key from ``im.info``."""
    buffer = io.BytesIO()
    if fmt == "png":
        bare = {"icc_profile": None, "transparency": None}
        if optimize:
            im.save(buffer, "PNG", optimize=True, **bare)
        else:
            im.save(buffer, "PNG", compress_level=1, compress_type=Z_RLE, **bare)
    elif fmt == "jpeg":
        im.save(buffer, "JPEG", quality=95 if quality is None else quality)
    elif fmt == "webp":
        im.save(buffer, "WEBP", quality=95 if quality is None else quality, method=4)
    else:
        raise ValueError(f"cannot encode {fmt!r}")
    return buffer.getvalue()


def png_under(im: Image.Image, limit: int) -> bytes | None:
    """A PNG strictly smaller than ``limit`` bytes, or None: fast compression first, then (only when it
    might help) maximum compression."""
    data = encode(im, "png")
    if len(data) < limit:
        return data
    if len(data) < limit * PNG_RETRY_MARGIN:
        data = encode(im, "png", optimize=True)
        if len(data) < limit:
            return data
    return None


def lossy_under(im: Image.Image, fmt: str, limit: int, qualities: tuple[int, ...]) -> bytes | None:
    """The first of ``qualities`` (best first) whose encoding is strictly smaller than ``limit``."""
    for quality in qualities:
        data = encode(im, fmt, quality=quality)
        if len(data) < limit:
            return data
    return None


def scaled_sizes(size: tuple[int, int], step: float) -> Iterator[tuple[int, int]]:
    """``size``, then shrunk by ``step`` again and again while the shorter side stays >= MIN_SIDE."""
    width, height = size
    factor = 1.0
    while True:
        current = (max(1, round(width * factor)), max(1, round(height * factor)))
        if factor < 1.0 and min(current) < MIN_SIDE:
            return
        yield current
        if min(current) <= MIN_SIDE:
            return
        factor *= step


# --------------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------------


def encode_to_fit(data: bytes, format: str, budget: int) -> tuple[bytes, str]:
    """``(data, format)`` unchanged when it is at most ``budget`` bytes. Otherwise an animated GIF
    (judged from the bytes, not ``format``) becomes a smaller animated GIF, ``"gif"``: every frame,
    the same durations and loop, scaled down (``animation.fit_animation``); anything else, a GIF of
    one frame included, a WebP (alpha kept) at the best quality that fits, shrunk by steps of 0.8
    when even quality 40 is too large.

    Never returns more than ``budget`` bytes. ``ValueError`` when ``budget`` is below ``MIN_BUDGET``
    or ``data`` is not a decodable image (or an animation over the pixel or frame caps).
    """
    if len(data) <= budget:
        return data, format
    if budget < MIN_BUDGET:
        raise ValueError(f"a budget of {budget} bytes is too small for an image")
    if sniff(data) == "gif":
        animated = fit_animation(data, budget)
        if animated is not None:
            return animated, "gif"
    return _still_to_fit(data, budget), "webp"


def _still_to_fit(data: bytes, budget: int) -> bytes:
    """``data`` decoded (the first frame of an animation) as the best WebP of at most ``budget``."""
    try:
        image = decode(data, max_bytes=len(data)).image
    except ImageRejected as error:
        raise ValueError(f"cannot re-encode the image: {error}") from error
    if max(image.size) > WEBP_MAX_SIDE:
        factor = WEBP_MAX_SIDE / max(image.size)
        image = image.resize(
            (max(1, int(image.width * factor)), max(1, int(image.height * factor))),
            Image.Resampling.LANCZOS,
            reducing_gap=3.0,
        )
    for size in scaled_sizes(image.size, DELIVERY_SCALE_STEP):
        candidate = (
            image if size == image.size else image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        )
        best = _best_webp(candidate, budget)
        if best is not None:
            return best
    raise ValueError(f"cannot fit the image into {budget} bytes")


def _best_webp(im: Image.Image, budget: int) -> bytes | None:
    """The highest of DELIVERY_QUALITIES whose WebP is at most ``budget`` bytes (binary search)."""
    qualities = DELIVERY_QUALITIES
    top = encode(im, "webp", quality=qualities[-1])
    if len(top) <= budget:
        return top
    best = encode(im, "webp", quality=qualities[0])
    if len(best) > budget:
        return None
    low, high = 0, len(qualities) - 2  # qualities[low] fits, qualities[-1] does not
    while low < high:
        middle = (low + high + 1) // 2
        data = encode(im, "webp", quality=qualities[middle])
        if len(data) <= budget:
            low, best = middle, data
        else:
            high = middle - 1
    return best
