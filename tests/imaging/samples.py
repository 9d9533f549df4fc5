"""Images made in code for the imaging tests (and byte-level files Pillow cannot write)."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image

from bot.images import BUILTIN_MODELS
from bot.imaging import Intake, decode

BIG = 64 * 1024 * 1024
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def encoded(im: Image.Image, fmt: str, **params: object) -> bytes:
    if fmt == "PNG" and "optimize" not in params:
        params.setdefault("compress_level", 1)  # fixtures: fast beats small
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    """Incompressible pixels (deterministic)."""
    bands = len(Image.new(mode, (1, 1)).getbands())
    return Image.frombytes(mode, size, random.Random(seed).randbytes(size[0] * size[1] * bands))


def photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Photo-like pixels: smooth gradients with fine grain (compresses like a photograph)."""
    width, height = size
    ramp = Image.linear_gradient("L").resize(size)
    blotches = noise((max(1, width // 16), max(1, height // 16)), "L", seed).resize(
        size, Image.Resampling.BICUBIC
    )
    grain = noise(size, "L", seed + 1).point(lambda v: v // 8)
    return Image.merge(
        "RGB",
        (
            Image.blend(ramp, blotches, 0.5),
            Image.blend(blotches, grain, 0.2),
            Image.blend(ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grain, 0.1),
        ),
    )


def quadrants(size: tuple[int, int], colours=(RED, BLUE, GREEN, YELLOW)) -> Image.Image:
    """Top-left, top-right, bottom-left, bottom-right in four colours."""
    width, height = size
    im = Image.new("RGB", size, colours[0])
    im.paste(colours[1], (width // 2, 0, width, height // 2))
    im.paste(colours[2], (0, height // 2, width // 2, height))
    im.paste(colours[3], (width // 2, height // 2, width, height))
    return im


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return len(actual) == len(expected) and all(
        abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height RGB pixels but holds a few bytes of image data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def webp_header_only(width: int, height: int) -> bytes:
    """An extended-format (VP8X) WebP header claiming a width x height canvas, and nothing else."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00" * 64


get_model = BUILTIN_MODELS.get_model
DALLE2 = get_model("dall-e-2")
GPT2 = get_model("gpt-image-2")
MB = 1024 * 1024


def intake_of(im: Image.Image, pil_format: str = "PNG", **params: object) -> Intake:
    return decode(encoded(im, pil_format, **params), max_bytes=BIG)
