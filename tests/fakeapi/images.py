"""Cheap, real, distinct images for the fake: a solid colour and a shape (or an animated GIF of
such frames), cached by their parameters."""

from __future__ import annotations

import functools
import io
import os

from PIL import Image, ImageChops, ImageDraw

_PALETTE = (
    (220, 60, 60),
    (60, 160, 90),
    (50, 90, 200),
    (230, 180, 40),
    (150, 70, 190),
    (40, 170, 180),
    (240, 120, 40),
    (120, 120, 120),
    (200, 80, 150),
    (90, 60, 30),
)
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


@functools.lru_cache(maxsize=128)
def make_image(
    width: int,
    height: int,
    image_format: str = "png",
    index: int = 0,
    transparent: bool = False,
    noise: bool = False,
    photo: bool = False,
) -> bytes:
    """A ``width`` x ``height`` image in ``image_format``; ``index`` picks the colour and shape.

    ``noise`` makes it random pixels instead (incompressible: the worst case for upload limits).
    ``photo`` makes it a gradient with grain, which compresses like a real picture (a 1536x1024 PNG
    is about 3 MB, as the GPT image models' are).
    """
    if photo and not noise:
        return _photo(width, height, image_format, index, transparent)
    if noise:
        random = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        out = io.BytesIO()
        random.save(
            out, _PIL_FORMATS[image_format], **({"compress_level": 1} if image_format == "png" else {})
        )
        return out.getvalue()
    colour = _PALETTE[index % len(_PALETTE)]
    mode = "RGBA" if transparent and image_format != "jpeg" else "RGB"
    fill = (*colour, 0) if mode == "RGBA" else colour
    image = Image.new(mode, (width, height), fill)
    draw = ImageDraw.Draw(image)
    inset_x, inset_y = width // 4, height // 4
    box = (inset_x, inset_y, width - inset_x, height - inset_y)
    shape = (255, 255, 255, 255) if mode == "RGBA" else (255, 255, 255)
    if index % 2:
        draw.rectangle(box, fill=shape)
    else:
        draw.ellipse(box, fill=shape)
    out = io.BytesIO()
    options = {"compress_level": 1} if image_format == "png" else {"quality": 80}
    if image_format == "webp":
        options["method"] = 0
    image.save(out, _PIL_FORMATS[image_format], **options)
    return out.getvalue()


@functools.lru_cache(maxsize=32)
def make_gif(width: int, height: int, frames: int, duration_ms: int, index: int = 0) -> bytes:
    """An animated GIF of ``frames`` distinct frames (the shape moves and the colour changes each
    frame, so no encoder can merge two), each shown ``duration_ms``, looping forever (``loop=0``).

    GIF stores delays in hundredths of a second: ``duration_ms`` is rounded to the nearest 10 ms, as
    the real API does.
    """
    step = max(1, width // (2 * frames))
    images = []
    for frame in range(frames):
        colour = _PALETTE[(index + frame) % len(_PALETTE)]
        image = Image.new("RGB", (width, height), colour)
        inset_x, inset_y = width // 4, height // 4
        left = inset_x // 2 + frame * step
        box = (left, inset_y, left + width // 2, height - inset_y)
        draw = ImageDraw.Draw(image)
        if (index + frame) % 2:
            draw.rectangle(box, fill=(255, 255, 255))
        else:
            draw.ellipse(box, fill=(255, 255, 255))
        images.append(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16))
    out = io.BytesIO()
    delay = max(10, (duration_ms + 5) // 10 * 10)
    images[0].save(
        out, "GIF", save_all=True, append_images=images[1:], duration=delay, loop=0, optimize=False
    )
    return out.getvalue()


def _photo(width: int, height: int, image_format: str, index: int, transparent: bool) -> bytes:
    across = Image.linear_gradient("L").resize((width, height))
    down = Image.linear_gradient("L").rotate(90 * (index % 4 + 1)).resize((width, height))
    grain = Image.effect_noise((width, height), 24)
    red = ImageChops.add(across, grain, offset=-100)
    green = ImageChops.add(down, grain.transpose(Image.Transpose.ROTATE_180), offset=-100)
    blue = ImageChops.blend(across, down, 0.5)
    image = Image.merge("RGB", (red, green, blue))
    if transparent and image_format != "jpeg":
        image.putalpha(down)
    out = io.BytesIO()
    options = {"compress_level": 1} if image_format == "png" else {"quality": 90}
    image.save(out, _PIL_FORMATS[image_format], **options)
    return out.getvalue()


def probe(data: bytes) -> tuple[str, int, int, str] | None:
    """(format, width, height, mode) of an uploaded image, or None when Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = (image.format or "").lower()
            mode = image.mode
            if "transparency" in image.info and "A" not in mode:
                mode += "+transparency"
            return image_format, image.width, image.height, mode
    except Exception:
        return None
