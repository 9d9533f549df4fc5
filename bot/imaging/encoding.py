"""Encoding images to a byte budget: the encoder ladders fitting and delivery share.

``encode_to_fit`` (delivery) leaves what fits alone and re-encodes the rest as a still WebP, except
an animated GIF: a still would silently drop the animation, so ``animation.fit_animation`` shrinks
it into a smaller GIF, every frame kept.

Speed notes (a photo at 1024x1024 RGBA, this Pillow/zlib-ng build): Pillow's default PNG
compression (level 6) takes ~400 ms; run-length deflate (zlib strategy Z_RLE) takes ~65 ms and is
only ~4 % larger on photos (and smaller than level 6 on flat images). PNGs are written with Z_RLE
first and re-compressed at the maximum level only when the fast result is near enough the limit
for that to help.

Delivery re-encodes a still as a WebP (method 4: ~180-230 ms for a 1536x1024 photo; methods 0-2
are faster but up to 1 dB worse at the same size on smooth images). The quality is predicted, not
searched for: a few encodes of a sample of the rows (an eighth of the cost each), then one encode
in full, corrected once from its size when it misses (``_best_webp``): ~0.28 s for a 1536x1024
photo into 400 KB, where a binary search over the qualities took ~0.95 s (bench/fit_still.py).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from PIL import Image

from .animation import GIF_FIT, GifFit, fit_animation
from .errors import ImageRejected
from .intake import decode, sniff

__all__ = [
    "CONTENT_TYPES",
    "EXTENSIONS",
    "MIN_BUDGET",
    "STILL_FIT",
    "StillFit",
    "encode",
    "encode_to_fit",
    "lossy_under",
    "png_under",
]

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
#: delivery: the WebP qualities ``encode_to_fit`` chooses from (every whole number between)
DELIVERY_QUALITY_MIN, DELIVERY_QUALITY_MAX = 40, 95
#: delivery: a re-encoded still is kept at once when it is at most the budget and at least this share
#: of it (or at DELIVERY_QUALITY_MAX); predictions aim at FIT_AIM, the middle of that window
FIT_FLOOR = 0.85
FIT_AIM = 0.93
#: delivery: how a typical photo's WebP size changes with quality, before anything is measured: the
#: slope of ln(bytes) against ``_compression(quality)`` from each quality up to the next (the median
#: of photo-like and real images; noise is flatter, about 1, and grainy gradients steeper, about 3)
PRIOR_SLOPES = ((40, 1.8), (85, 2.3), (90, 3.0))
#: delivery: a large image's qualities are first measured on a sample, bands of SAMPLE_BAND rows
#: (two macroblock rows) spread evenly down the image, 1 / SAMPLE_SHARE of its rows in all
SAMPLE_BAND = 32
SAMPLE_SHARE = 8
SAMPLE_MIN_BANDS = 3
SAMPLE_MIN_PIXELS = 512 * 512
#: delivery: the sample's seams make it cost a little more per row than the whole image (about 1 %
#: on noise, 3 % on grainy gradients, up to 25 % on real photos): its estimates are divided by this
SAMPLE_OVERESTIMATE = 1.03
#: delivery: at most this many sample encodes per size
SAMPLE_PROBES = 3
#: delivery: a sample estimate this close to the aim ends the sampling
SAMPLE_CLOSE = 0.05
#: delivery: the top quality is tried in full when the sample puts it within this share of the budget
#: (above FIT_AIM: the best quality there is is worth the risk of a second encode)
SAMPLE_TOP = 0.97
#: delivery: skip the full-size encode at the lowest quality when the sample says it is this far over
SAMPLE_HOPELESS = 1.3
#: delivery: each size tried is at most this share of the previous one's pixels
SHRINK_AT_LEAST = 0.95


@dataclass(frozen=True)
class StillFit:
    """How a still is re-encoded to a budget: the tolerance, the aim and what is assumed before
    anything is measured (the constants above are the defaults; ``bench/fit_still.py`` measures them)."""

    fit_floor: float = FIT_FLOOR
    fit_aim: float = FIT_AIM
    prior_slopes: tuple[tuple[int, float], ...] = PRIOR_SLOPES
    sample_overestimate: float = SAMPLE_OVERESTIMATE


STILL_FIT = StillFit()


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


def encode_to_fit(
    data: bytes, format: str, budget: int, *, still: StillFit = STILL_FIT, gif: GifFit = GIF_FIT
) -> tuple[bytes, str]:
    """``(data, format)`` unchanged when it is at most ``budget`` bytes. Otherwise an animated GIF
    (judged from the bytes, not ``format``) becomes a smaller animated GIF, ``"gif"``: every frame,
    the same durations and loop, scaled down (``animation.fit_animation``); anything else, a GIF of
    one frame included, a WebP (alpha kept) at the best quality that fits, within a tolerance
    (at least FIT_FLOOR of the budget, or quality DELIVERY_QUALITY_MAX), scaled down only when
    even quality DELIVERY_QUALITY_MIN is too large (to the size predicted to fit at that quality).

    The quality (or the scale) is predicted, not searched for: see ``_best_webp``. Never returns
    more than ``budget`` bytes. ``ValueError`` when ``budget`` is below ``MIN_BUDGET`` or ``data``
    is not a decodable image (or an animation over the pixel or frame caps).
    """
    if len(data) <= budget:
        return data, format
    if budget < MIN_BUDGET:
        raise ValueError(f"a budget of {budget} bytes is too small for an image")
    if sniff(data) == "gif":
        animated = fit_animation(data, budget, gif)
        if animated is not None:
            return animated, "gif"
    return _still_to_fit(data, budget, still), "webp"


def _still_to_fit(data: bytes, budget: int, still: StillFit) -> bytes:
    """``data`` decoded (the first frame of an animation) as the best WebP of at most ``budget``.

    Quality goes before size: the image is scaled down only when quality DELIVERY_QUALITY_MIN does
    not fit, to the size predicted (bytes roughly proportional to pixels; the exponent corrected from
    the sizes tried) to fit at that quality.
    """
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
    width, height = image.size
    factor, start = 1.0, DELIVERY_QUALITY_MAX
    tried: list[tuple[float, float]] = []  # (pixels, bytes at the lowest quality) per size tried
    while True:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        candidate = (
            image if size == image.size else image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        )
        best, lowest = _best_webp(candidate, budget, start, still)
        if best is not None:
            return best
        if min(size) <= MIN_SIDE:
            raise ValueError(f"cannot fit the image into {budget} bytes")
        pixels = float(size[0] * size[1])
        tried.append((pixels, lowest))
        exponent = 1.0  # bytes ~ pixels ** exponent
        if len(tried) >= 2:  # the exponent corrected from the last two sizes
            (p0, b0), (p1, b1) = tried[-2:]
            if p1 < p0 and b1 < b0:
                exponent = min(1.5, max(0.5, math.log(b1 / b0) / math.log(p1 / p0)))
        wanted = pixels * (still.fit_aim * budget / lowest) ** (1 / exponent)
        shrink = min(SHRINK_AT_LEAST, wanted / pixels)
        factor *= math.sqrt(shrink)
        factor = max(factor, MIN_SIDE / min(width, height))  # the smallest size allowed, last
        start = DELIVERY_QUALITY_MIN


def _compression(quality: float) -> float:
    """libwebp's linear compression factor for a quality (``QualityToCompression`` before its cube
    root): a WebP's size is closer to log-linear in it than in the quality itself."""
    q = quality / 100
    return q * 2 / 3 if q < 0.75 else 2 * q - 1


def _prior(quality: int, slopes: tuple[tuple[int, float], ...]) -> float:
    """ln(bytes at ``quality``) - ln(bytes at DELIVERY_QUALITY_MAX) for a typical photo (PRIOR_SLOPES)."""
    total, upper = 0.0, DELIVERY_QUALITY_MAX
    for start, slope in reversed(slopes):
        if quality < upper:
            lower = max(start, quality)
            total -= slope * (_compression(upper) - _compression(lower))
            upper = lower
    return total


class _Sizes:
    """WebP sizes measured at some qualities of one image, times ``scale``, and the sizes they predict
    at the others: the prior curve (``_prior``) through the nearest measurement, its steepness fitted
    to the two nearest measurements (those either side, when there are)."""

    def __init__(self, slopes: tuple[tuple[int, float], ...], scale: float = 1.0) -> None:
        self.points: dict[int, float] = {}
        self.slopes = slopes
        self.scale = scale

    def add(self, quality: int, size: float) -> None:
        self.points[quality] = size

    def at(self, quality: int) -> float:
        """The measured or predicted size at ``quality``."""
        known = sorted(self.points)
        above = next((q for q in known if q >= quality), None)
        if above is None:
            pair = known[-2:]
        elif above == known[0]:
            pair = known[:2]
        else:
            pair = [known[known.index(above) - 1], above]
        anchor = min(pair, key=lambda q: abs(q - quality))
        steepness = 1.0
        if len(pair) == 2:
            low, high = pair
            rise = math.log(self.points[high] / self.points[low]) / (self._prior(high) - self._prior(low))
            steepness = min(4.0, max(0.25, rise))
        change = self._prior(quality) - self._prior(anchor)
        return self.points[anchor] * self.scale * math.exp(steepness * change)

    def _prior(self, quality: int) -> float:
        return _prior(quality, self.slopes)

    def pins(self, quality: int, size: float) -> bool:
        """Whether ``quality`` lies between measurements: one at most ``quality`` within ``size`` and
        one above it over ``size`` (an end of the range, measured, needs only the one side)."""
        below = any(q <= quality and self.at(q) <= size for q in self.points)
        above = any(q > quality and self.at(q) > size for q in self.points)
        return (below or (quality == DELIVERY_QUALITY_MIN and quality in self.points)) and (
            above or (quality == DELIVERY_QUALITY_MAX and quality in self.points)
        )

    def quality_for(self, size: float) -> int:
        """The best quality predicted to encode to at most ``size`` bytes (the lowest, when none)."""
        for quality in range(DELIVERY_QUALITY_MAX, DELIVERY_QUALITY_MIN, -1):
            if self.at(quality) <= size:
                return quality
        return DELIVERY_QUALITY_MIN


def _sample(im: Image.Image) -> tuple[Image.Image, float] | None:
    """Bands of SAMPLE_BAND rows spread evenly down ``im``, stacked, and the share of its rows they
    hold; None when ``im`` is too small for a sample to be worth it (or to be representative)."""
    bands = round(im.height / SAMPLE_SHARE / SAMPLE_BAND)
    if bands < SAMPLE_MIN_BANDS or im.width * im.height < SAMPLE_MIN_PIXELS:
        return None
    sample = Image.new(im.mode, (im.width, bands * SAMPLE_BAND))
    for index in range(bands):
        top = (2 * index + 1) * im.height // (2 * bands) - SAMPLE_BAND // 2
        top -= top % 16  # on the macroblock grid, as the bands are in the sample
        sample.paste(im.crop((0, top, im.width, top + SAMPLE_BAND)), (0, index * SAMPLE_BAND))
    return sample, bands * SAMPLE_BAND / im.height


def _best_webp(im: Image.Image, budget: int, start: int, still: StillFit) -> tuple[bytes | None, float]:
    """``(webp, its size)``: ``im`` as a WebP of at most ``budget`` bytes, at the best quality within
    the tolerance (at least FIT_FLOOR of the budget, or DELIVERY_QUALITY_MAX) or, failing that, the
    best quality tried that fits; ``(None, bytes)`` when even DELIVERY_QUALITY_MIN is over the
    budget, with that quality's size (or the sample's estimate of it).

    Predicted, not searched. A large image is first encoded as a sample (``_sample``: an eighth of
    its rows, a few encodes at an eighth of the cost each) at ``start`` and at the quality that
    predicts, until the quality for FIT_AIM of the budget lies between two sample measurements (or
    SAMPLE_PROBES); then in full at that quality. A miss is corrected once, from the full encode's
    size: the sample's curve scaled to it (a small image, not sampled, is first encoded at ``start``
    and then at the quality the prior curve through that encode predicts, which that prediction's
    size corrects). Only when the correction misses too do further steps follow: an interpolation
    between the last two full encodes, then bisection between the best quality known to fit and the
    lowest known not to.
    """
    aim = still.fit_aim * budget
    quality = start
    sampled = _sample(im)
    curve: _Sizes | None = None
    if sampled is not None:
        sample, share = sampled
        curve = _Sizes(still.prior_slopes, 1 / (share * still.sample_overestimate))
        for _ in range(SAMPLE_PROBES):
            curve.add(quality, len(encode(sample, "webp", quality=quality)))
            predicted = curve.quality_for(aim)
            close = abs(curve.at(quality) / aim - 1) <= SAMPLE_CLOSE
            if close or predicted in curve.points or curve.pins(predicted, aim):
                break
            quality = predicted
        quality = predicted
        if curve.at(DELIVERY_QUALITY_MAX) <= SAMPLE_TOP * budget:
            quality = DELIVERY_QUALITY_MAX
        if (
            quality == DELIVERY_QUALITY_MIN
            and quality in curve.points
            and curve.at(quality) > SAMPLE_HOPELESS * budget
        ):
            return None, curve.at(quality)
    full = _Sizes(still.prior_slopes)
    fits: dict[int, bytes] = {}
    low, high = DELIVERY_QUALITY_MIN - 1, DELIVERY_QUALITY_MAX + 1  # fits at low, too large at high
    while True:
        data = encode(im, "webp", quality=quality)
        full.add(quality, len(data))
        if len(data) <= budget:
            if len(data) >= still.fit_floor * budget or quality == DELIVERY_QUALITY_MAX:
                return data, len(data)
            fits[quality] = data
            low = max(low, quality)
        else:
            high = min(high, quality)
        if high - low <= 1:
            break
        if len(full.points) == 1 and curve is not None:  # the correction: the sample's curve, rescaled
            curve.scale *= len(data) / curve.at(quality)
            quality = curve.quality_for(aim)
        elif len(full.points) <= 2:  # the prior through a first encode, or through the last two
            quality = full.quality_for(aim)
        else:  # the prediction and its correction both missed: bisect
            quality = (low + high) // 2
        quality = min(high - 1, max(low + 1, quality))
    if fits:
        return fits[low], len(fits[low])
    return None, full.at(DELIVERY_QUALITY_MIN)
