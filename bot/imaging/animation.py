"""Animated GIFs to a byte budget, still animated.

Why: ``encode_to_fit`` re-encodes a result that is over Discord's upload limit as a still WebP,
which for an animated GIF (gpt-image-2.6's ``output_format: "gif"``) would keep the first frame
only. ``fit_animation`` returns a smaller GIF instead: every frame, the same per-frame durations and
loop count, scaled down.

How, in one or two encodes rather than a search: a GIF's size grows roughly with its pixel count,
so the first scale is predicted as sqrt(budget / size) (fixed header bytes aside) with a safety
margin; if that GIF is still too large, the scale is corrected once from its measured size (and
also, upwards, if it used less than ``FULL_ENOUGH`` of the budget: the source's encoder may pack
pixels much less tightly than this one). Only if both are too large does it go on shrinking, by at
least ``FALLBACK_STEP`` a time, to ``MIN_SIDE``.

Frames are read as full canvases (Pillow applies each frame's own palette, offset and disposal),
"RGBA" if any pixel is transparent, else "RGB", and re-quantized (Floyd-Steinberg) to ONE palette,
made once from all frames. Not per-frame palettes: given those, a transparent colour and disposal
2, Pillow's writer crops each later frame by comparing it with the background in RGBA, and opaque
pixels of the transparent slot's colour at its edges turn transparent; with one palette it compares
indices, which is exact. It also saves 768 bytes a frame. Transparency is one palette slot (alpha
below 128). Every frame is written whole, with disposal 2. Pillow's writer merges consecutive
frames that come out identical (adding their durations): the frame count could drop only if two
frames of the source differed by less than the shrinking and re-quantizing keep.

Decompression bombs: as in ``intake.decode``, the GIF's own plugin class parses the bytes (never
``Image.open``) and sizes are checked before pixels are decoded: the canvas times the number of
frames (counted from the headers alone) is at most ``MAX_ANIMATION_PIXELS``, and again as each
frame is decoded, since a frame may enlarge the canvas.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import GifImagePlugin, Image

from .intake import _PIL_ERRORS, MAX_PIXELS

__all__ = [
    "GIF_FIT",
    "MAX_ANIMATION_PIXELS",
    "MAX_FRAMES",
    "Animation",
    "GifFit",
    "encode_gif",
    "fit_animation",
    "read_gif",
]

#: canvas pixels times frames: the same cap as one still image (``intake.MAX_PIXELS``)
MAX_ANIMATION_PIXELS = MAX_PIXELS
#: far more than the Images API makes (2-16); every frame costs Python work however small
MAX_FRAMES = 256
#: the smallest side an animation is shrunk to before giving up (as for stills)
MIN_SIDE = 16
#: the first scale, predicted from the source's size (another encoder's), is multiplied by this
FIT_MARGIN = 0.95
#: the correction, predicted from this module's own encode, needs less
REFIT_MARGIN = 0.97
#: a first encode this full of the budget is kept; one emptier is corrected upwards once, with a
#: wider margin (scaling down smooths grain away, so bytes grow faster than pixels scaling up)
FULL_ENOUGH = 0.85
GROW_MARGIN = 0.93
#: after the one correction, each further attempt shrinks the scale by at least this factor
FALLBACK_STEP = 0.85
#: bytes that do not shrink with the pixels: header, palette, loop block (and ~20 a frame)
FIXED_BYTES = 800
FRAME_BYTES = 20
#: the palette is made from all frames, each scaled so that they add up to about this many pixels


@dataclass(frozen=True)
class GifFit:
    """How an animation is fitted to a budget: the caps, the margins and the fallback's step (the
    constants above are the defaults; ``bench/gif_fit.py`` measures them)."""

    max_frames: int = MAX_FRAMES
    max_pixels: int = MAX_ANIMATION_PIXELS
    min_side: int = MIN_SIDE
    fit_margin: float = FIT_MARGIN
    refit_margin: float = REFIT_MARGIN
    full_enough: float = FULL_ENOUGH
    grow_margin: float = GROW_MARGIN
    fallback_step: float = FALLBACK_STEP


GIF_FIT = GifFit()

PALETTE_SAMPLE_PIXELS = 1_000_000
TRANSPARENT_INDEX = 255
_CLEAR = [255 if alpha < 128 else 0 for alpha in range(256)]


class _Refused(ValueError):
    """A cap exceeded: raised inside the decoding ``try`` and let through it as it is."""


@dataclass(frozen=True, eq=False)
class Animation:
    """A decoded animated GIF: full-canvas frames ("RGBA" when ``transparent``, else "RGB"), each
    frame's duration in milliseconds, ``loop`` as the file says (0: forever; None: no loop block,
    played once), whether any pixel is transparent, and the palette all frames share (a "P" image
    of at most 256 colours, at most 255 when ``transparent``: index 255 is then the clear one)."""

    frames: tuple[Image.Image, ...]
    durations: tuple[int, ...]
    loop: int | None
    transparent: bool
    palette: Image.Image

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].size


def fit_animation(data: bytes, budget: int, fit: GifFit = GIF_FIT) -> bytes | None:
    """``data`` (an animated GIF) itself when it is at most ``budget`` bytes, else a GIF of at most
    ``budget`` bytes with the same frames, durations and loop, scaled down; None when ``data`` is a
    GIF of one frame. ``ValueError`` when it is not a decodable GIF, is over the pixel or frame caps,
    or cannot fit even at ``MIN_SIDE``.

    Two encodes at most, as a rule: the predicted scale, then one correction from the measured size
    (down when it is over ``budget``; up when it is under ``FULL_ENOUGH`` of it, keeping the first
    should the larger one not fit). Only when both are over does ``_keep_shrinking`` take over."""
    animation = read_gif(data, fit)
    if animation is None:
        return None
    if len(data) <= budget:
        return data
    smallest = min(1.0, fit.min_side / min(animation.size))
    scale = _corrected(1.0, len(data), budget, animation, fit.fit_margin, smallest)
    first = encode_gif(animation, _scaled(animation.size, scale))
    fits = len(first) <= budget
    if fits and (len(first) >= fit.full_enough * budget or scale >= 1.0):
        return first
    if not fits and scale <= smallest:
        raise ValueError(f"cannot fit the animation into {budget} bytes")
    margin = fit.grow_margin if fits else fit.refit_margin
    scale = _corrected(scale, len(first), budget, animation, margin, smallest)
    second = encode_gif(animation, _scaled(animation.size, scale))
    if len(second) <= budget:
        return second
    if fits:
        return first  # the correction upwards overshot
    return _keep_shrinking(animation, budget, scale, len(second), smallest, fit)


def _corrected(
    scale: float, size: int, budget: int, animation: Animation, margin: float, smallest: float
) -> float:
    """``scale``, at which the GIF was ``size`` bytes, times the linear ratio that would make it
    ``budget`` bytes were the bytes beyond the fixed ones proportional to pixels, times ``margin``;
    kept within [smallest, 1]."""
    fixed = FIXED_BYTES + FRAME_BYTES * len(animation.frames)
    ratio = math.sqrt(max(budget - fixed, 1) / max(size - fixed, 1))
    return max(smallest, min(1.0, scale * margin * ratio))


def _keep_shrinking(
    animation: Animation, budget: int, scale: float, size: int, smallest: float, fit: GifFit
) -> bytes:
    """The fallback once two predictions were too large: on from the measured ratio, by at least
    ``FALLBACK_STEP`` a time, to the smallest scale."""
    while scale > smallest:
        corrected = _corrected(scale, size, budget, animation, fit.refit_margin, smallest)
        scale = max(smallest, min(corrected, scale * fit.fallback_step))
        out = encode_gif(animation, _scaled(animation.size, scale))
        if len(out) <= budget:
            return out
        size = len(out)
    raise ValueError(f"cannot fit the animation into {budget} bytes")


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def read_gif(data: bytes, fit: GifFit = GIF_FIT) -> Animation | None:
    """Decode an animated GIF; None when it has one frame. ``ValueError`` when it is not a GIF
    Pillow can decode, or exceeds ``fit``'s frame or pixel cap."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    try:
        with GifImagePlugin.GifImageFile(io.BytesIO(data)) as im:
            count = im.n_frames  # headers only: no pixel is decoded
            if count == 1:
                return None
            loop = im.info.get("loop")
            frames, durations = _decode_frames(im, count, fit)
    except _Refused:
        raise
    except _PIL_ERRORS as error:
        raise ValueError(f"cannot decode the GIF: {error}") from error
    transparent = any(frame.mode == "RGBA" and _lowest_alpha(frame) < 255 for frame in frames)
    mode = "RGBA" if transparent else "RGB"
    frames = [frame if frame.mode == mode else frame.convert(mode) for frame in frames]
    palette = _shared_palette(frames, transparent)
    return Animation(tuple(frames), tuple(durations), loop, transparent, palette)


def _decode_frames(
    im: GifImagePlugin.GifImageFile, count: int, fit: GifFit
) -> tuple[list[Image.Image], list[int]]:
    """Every frame composited by Pillow, "RGBA" if it may have transparent pixels, else "RGB", at
    the canvas size of the header (a frame reaching past it is clipped, as browsers do)."""
    canvas = im.size
    frames, durations = [], []
    for index in range(count):
        im.seek(index)
        _check(im.size, count, fit)  # before decoding; a frame reaching past the canvas enlarges Pillow's
        alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
        frame = im.convert("RGBA" if alpha else "RGB")
        frames.append(frame if frame.size == canvas else frame.crop((0, 0, *canvas)))
        durations.append(int(im.info.get("duration", 0)))
    return frames, durations


def _check(size: tuple[int, int], count: int, fit: GifFit) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise _Refused("the GIF has zero width or height")
    if count > fit.max_frames:
        raise _Refused(f"the GIF has {count} frames, more than {fit.max_frames}")
    if width * height * count > fit.max_pixels:
        raise _Refused(f"the GIF's {count} frames of {width}x{height} exceed {fit.max_pixels} pixels in all")


def _shared_palette(frames: list[Image.Image], transparent: bool) -> Image.Image:
    """One palette for every frame: fast octree over a strip of all frames, scaled down (fully
    transparent pixels count as black); 255 colours when index 255 must be the transparent one."""
    width, height = frames[0].size
    factor = min(1.0, math.sqrt(PALETTE_SAMPLE_PIXELS / (width * height * len(frames))))
    thumb = (max(1, round(width * factor)), max(1, round(height * factor)))
    strip = Image.new("RGB", (thumb[0], thumb[1] * len(frames)))
    for index, frame in enumerate(frames):
        small = frame.resize(thumb, Image.Resampling.BOX)
        strip.paste(small, (0, thumb[1] * index), mask=small.getchannel("A") if transparent else None)
    return strip.quantize(255 if transparent else 256, method=Image.Quantize.FASTOCTREE)


def encode_gif(animation: Animation, size: tuple[int, int]) -> bytes:
    """``animation`` scaled to ``size`` (LANCZOS) and written as a GIF with the shared palette,
    Floyd-Steinberg dithering, each frame's duration, the loop block only when the source had one,
    and disposal 2 (every frame is a full canvas)."""
    colours = animation.palette.getpalette() or []
    table = colours + [0] * (768 - len(colours))
    indexed = [_indexed(frame, size, animation, table) for frame in animation.frames]
    loop = {} if animation.loop is None else {"loop": animation.loop}
    buffer = io.BytesIO()
    indexed[0].save(
        buffer,
        "GIF",
        save_all=True,
        append_images=indexed[1:],
        duration=list(animation.durations),
        disposal=2,
        optimize=False,
        palette=table,
        **loop,
    )
    return buffer.getvalue()


def _indexed(
    frame: Image.Image, size: tuple[int, int], animation: Animation, table: list[int]
) -> Image.Image:
    """``frame`` at ``size``, mapped to the shared palette; alpha below 128 to the transparent slot."""
    if frame.size != size:
        frame = frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    indexed = (frame.convert("RGB") if animation.transparent else frame).quantize(palette=animation.palette)
    indexed.putpalette(table)
    if animation.transparent:
        indexed.paste(TRANSPARENT_INDEX, mask=frame.getchannel("A").point(_CLEAR, "1"))
        indexed.info["transparency"] = TRANSPARENT_INDEX
    return indexed


def _lowest_alpha(frame: Image.Image) -> float:
    low = frame.getchannel("A").getextrema()[0]  # one band: (min, max)
    return low[0] if isinstance(low, tuple) else low
