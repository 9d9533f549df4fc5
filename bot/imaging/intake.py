"""Users' files on their way in: identify them from their bytes and decode them defensively.

Nothing here trusts a filename or a content type. ``decode`` refuses, in this order and before any
pixel is decoded: a file over the byte limit, a type that is not accepted, a header that claims
more pixels than the cap. Pillow is driven through the four accepted formats' plugin classes
directly (not ``Image.open``), so no other format's parser ever sees the bytes and Pillow's
process-wide decompression-bomb setting is neither relied on nor changed: this module keeps no
global state and is safe to call from several threads at once.
"""

from __future__ import annotations

import codecs
import io
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import IO

from PIL import GifImagePlugin, Image, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from bot.images import detect_image_format

from .errors import CorruptImage, FileTooLarge, TooManyPixels, UnsupportedImageType

try:  # Pillow wheels ship LittleCMS; a source build may not
    from PIL import ImageCms
except ImportError:  # pragma: no cover - depends on the Pillow build
    ImageCms = None  # type: ignore[assignment]

__all__ = ["ACCEPTED_FORMATS", "MAX_PIXELS", "SNIFFED_TYPES", "Intake", "decode", "sniff"]

ACCEPTED_FORMATS = ("png", "jpeg", "webp", "gif")
#: decompression-bomb cap: a 12 MP photo is fine, 8K (33 MP) too
MAX_PIXELS = 40_000_000
#: everything ``sniff`` can answer besides the accepted formats
SNIFFED_TYPES = (
    "text",
    "html",
    "svg",
    "pdf",
    "bmp",
    "tiff",
    "heic",
    "avif",
    "jxl",
    "jpeg2000",
    "ico",
    "psd",
    "mp4",
    "mov",
    "webm",
    "unknown",
)

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_GENERIC = frozenset({b"mif1", b"msf1"})
_MOV_BRANDS = frozenset({b"qt  "})
_SNIFF_WINDOW = 4096


# --------------------------------------------------------------------------------------------------
# Identify
# --------------------------------------------------------------------------------------------------


def sniff(data: bytes) -> str:
    """What ``data`` is, from its magic bytes only: an accepted format, a name from ``SNIFFED_TYPES``,
    or ``"unknown"`` (empty input included)."""
    head = data[:64]
    accepted = detect_image_format(head)  # the formats the Images API returns, told apart once
    if accepted is not None:
        return accepted
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(data)
    binary: tuple[tuple[tuple[bytes, ...], str], ...] = (
        ((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), "tiff"),
        ((b"%PDF-",), "pdf"),
        ((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n"), "jxl"),
        ((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51"), "jpeg2000"),
        ((b"8BPS",), "psd"),
        ((b"\x1a\x45\xdf\xa3",), "webm"),
    )
    for magics, name in binary:
        if head.startswith(magics):
            return name
    if _looks_like_bmp(head):
        return "bmp"
    if head[:4] == b"\x00\x00\x01\x00" and len(head) >= 6 and head[4:6] != b"\x00\x00":
        return "ico"
    text = _as_text(data[:_SNIFF_WINDOW])
    if text is None:
        return "unknown"
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if lowered.startswith("%pdf-"):
        return "pdf"
    if "<svg" in lowered and lowered.startswith(("<svg", "<?xml", "<!--", "<!doctype svg")):
        return "svg"
    if lowered.startswith(("<!doctype html", "<html")):
        return "html"
    return "text"


def _sniff_ftyp(data: bytes) -> str:
    """ISO base media files: HEIF/HEIC and AVIF photos, MP4/MOV videos."""
    box_size = int.from_bytes(data[:4], "big")
    major = data[8:12]
    end = min(len(data), box_size if 16 <= box_size <= 256 else 64)
    compatible = {data[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _AVIF_BRANDS or (major in _HEIF_GENERIC and compatible & _AVIF_BRANDS):
        return "avif"
    if major in _HEIC_BRANDS or major in _HEIF_GENERIC:
        return "heic"
    if major in _MOV_BRANDS:
        return "mov"
    return "mp4"


def _looks_like_bmp(head: bytes) -> bool:
    if len(head) < 18 or head[:2] != b"BM":
        return False
    return int.from_bytes(head[14:18], "little") in (12, 16, 40, 52, 56, 64, 108, 124)


def _as_text(sample: bytes) -> str | None:
    """``sample`` as text when it is plausibly a text file (UTF-8 or UTF-16 with a BOM)."""
    if not sample:
        return None
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return codecs.getincrementaldecoder("utf-16")().decode(sample, final=False)
        except UnicodeDecodeError:
            return None
    if b"\x00" in sample:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r\f\v\x1b")
    return text if controls <= len(text) // 100 else None


# --------------------------------------------------------------------------------------------------
# Decode
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Intake:
    """A decoded upload: ``image`` is "RGB", or "RGBA" only when some pixel is not fully opaque;
    upright (EXIF orientation applied); the first frame of an animation (``animated``).

    ``original_size`` is the upright image's full size. ``image`` may be smaller when ``decode`` was
    given a ``target_side`` (JPEG draft decoding): geometry (crops, masks) is always expressed in
    ``original_size`` coordinates and scaled to ``image`` as needed.
    """

    image: Image.Image
    source_format: str
    animated: bool
    original_size: tuple[int, int]


_Opener = Callable[[IO[bytes]], ImageFile.ImageFile]
_OPENERS: Mapping[str, _Opener] = MappingProxyType(
    {
        "png": PngImagePlugin.PngImageFile,
        "jpeg": JpegImagePlugin.JpegImageFile,
        "webp": WebPImagePlugin.WebPImageFile,
        "gif": GifImagePlugin.GifImageFile,
    }
)
#: what Pillow raises on hostile or damaged input (DecompressionBombError derives from Exception)
_PIL_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    AssertionError,
    Image.DecompressionBombError,
)

TRUNCATED = "the file ends too early (it was cut off)"
UNDECODABLE = "its image data can't be decoded"
EMPTY = "the file is empty"
NO_PIXELS = "it has zero width or height"

_TRANSPOSE = MappingProxyType(
    {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }
)
_ORIENTATION_TAG = 0x0112


def decode(
    data: bytes, *, max_bytes: int, max_pixels: int = MAX_PIXELS, target_side: int | None = None
) -> Intake:
    """Decode an upload, refusing what it can't use with an ``ImageRejected`` subclass.

    ``target_side``: a hint that the caller will scale the image down so that its shorter side is at
    most this many pixels (see ``fitting.target_side_for``). A JPEG is then decoded at the smallest
    1/2, 1/4 or 1/8 scale whose shorter side is still >= ``target_side`` (libjpeg draft mode), which
    is several times faster for a phone photo. Other formats ignore the hint.
    """
    size = len(data)
    if size > max_bytes:
        raise FileTooLarge(size=size, limit=max_bytes)
    if size == 0:
        raise CorruptImage(EMPTY)
    found = sniff(data)
    if found not in ACCEPTED_FORMATS:
        raise UnsupportedImageType(found=found)
    if found == "webp":
        # libwebp allocates the whole canvas when the file is opened: check the header first
        header = _webp_canvas_size(data)
        if header is None:
            raise CorruptImage(UNDECODABLE)
        _check_pixels(*header, max_pixels)
    try:
        im = _OPENERS[found](io.BytesIO(data))
    except _PIL_ERRORS as error:
        raise CorruptImage(_describe(error)) from error
    width, height = im.size
    _check_pixels(width, height, max_pixels)
    try:
        animated = bool(getattr(im, "is_animated", False))
        if animated:
            im.seek(0)
        if target_side is not None and target_side > 0 and found == "jpeg":
            im.draft(None, (target_side, target_side))
        im.load()
        orientation = _orientation(im)
        image = normalise(im)
        method = _TRANSPOSE.get(orientation)
        if method is not None:
            image = image.transpose(method)
    except _PIL_ERRORS as error:
        raise CorruptImage(_describe(error)) from error
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return Intake(image=image, source_format=found, animated=animated, original_size=(width, height))


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise CorruptImage(NO_PIXELS)
    if width * height > max_pixels:
        raise TooManyPixels(width=width, height=height, limit=max_pixels)


def _describe(error: BaseException) -> str:
    text = str(error).lower()
    if isinstance(error, EOFError) or "truncated" in text or "unexpected end" in text:
        return TRUNCATED
    return UNDECODABLE


def _webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP header declares (VP8X, lossy VP8 or lossless VP8L), or None."""
    if len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            return None
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8); 1 when absent or unreadable (a broken EXIF block is not fatal)."""
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except _PIL_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# --------------------------------------------------------------------------------------------------
# Mode normalisation
# --------------------------------------------------------------------------------------------------

_HIGH_DEPTH = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_KEYED_MODES = frozenset({"P", "L", "RGB"})


def normalise(im: Image.Image) -> Image.Image:
    """``im`` as "RGB", or "RGBA" when at least one pixel is not fully opaque; colours in sRGB."""
    mode = im.mode
    if mode in _HIGH_DEPTH:
        return _to_8bit(im).convert("RGB")
    if mode in _ALPHA_MODES or (mode in _KEYED_MODES and "transparency" in im.info):
        rgba = im.convert("RGBA")
        return rgba if _has_transparency(rgba) else rgba.convert("RGB")
    if mode in ("RGB", "CMYK"):
        converted = _icc_to_srgb(im)
        if converted is not None:
            return converted
    if mode == "RGB":
        return im
    if mode == "LAB":
        converted = _lab_to_srgb(im)
        if converted is not None:
            return converted
    return im.convert("RGB")


def _has_transparency(rgba: Image.Image) -> bool:
    low = rgba.getchannel("A").getextrema()[0]
    return (low[0] if isinstance(low, tuple) else low) < 255


def _to_8bit(im: Image.Image) -> Image.Image:
    """16/32-bit greyscale or float to 8-bit "L", scaling (not clipping) the value range."""
    if im.mode.startswith("I;16"):
        im = im.convert("I")
        low, high = 0.0, 65535.0
    else:
        extrema = im.getextrema()  # one band here: (low, high)
        lo, hi = extrema[0], extrema[1]
        if isinstance(lo, tuple) or isinstance(hi, tuple):
            raise ValueError(f"expected one band, not {im.mode}")
        low, high = float(lo), float(hi)
        if im.mode == "F" and low >= 0 and high <= 1.0:
            low, high = 0.0, 1.0
        elif low >= 0 and high <= 255:
            low, high = 0.0, 255.0
        elif low >= 0 and high <= 65535:
            low, high = 0.0, 65535.0
        elif high <= low:
            high = low + 1
    scale = 255.0 / (high - low)
    offset = -low * scale
    return im.point(lambda value: value * scale + offset).convert("L")


def _icc_to_srgb(im: Image.Image) -> Image.Image | None:
    """Convert with the embedded ICC profile (CMYK always; RGB unless it is already sRGB)."""
    icc = im.info.get("icc_profile")
    if not icc or ImageCms is None:
        return None
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode == "RGB" and "srgb" in ImageCms.getProfileDescription(source).lower():
            return None
        return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, *_PIL_ERRORS):
        return None


def _lab_to_srgb(im: Image.Image) -> Image.Image | None:
    if ImageCms is None:  # pragma: no cover - depends on the Pillow build
        return None
    try:
        return ImageCms.profileToProfile(
            im, ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, *_PIL_ERRORS):
        return None
