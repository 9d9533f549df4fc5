"""Which result bytes the Images API client accepts (bot/images/response.py), GIF included."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from bot.images.errors import BadResponse
from bot.images.response import detect_image_format, parse_images_body


def written(fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 80, 40)).save(out, fmt, **params)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def body(*images: bytes) -> bytes:
    data = [{"b64_json": base64.b64encode(image).decode()} for image in images]
    return json.dumps({"created": 1, "data": data}).encode()


@pytest.mark.parametrize(
    ("fmt", "expected"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("GIF", "gif")]
)
def test_detects_what_pillow_writes(fmt: str, expected: str) -> None:
    assert detect_image_format(written(fmt)) == expected


def test_detects_both_gif_versions() -> None:
    plain, animated = written("GIF"), animated_gif()
    assert plain[:6] == b"GIF87a" and animated[:6] == b"GIF89a"  # what Pillow picks for each
    assert detect_image_format(plain) == detect_image_format(animated) == "gif"
    assert detect_image_format(b"GIF87a") == detect_image_format(b"GIF89a") == "gif"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF",
        b"GIF8",
        b"GIF88a" + b"\x00" * 20,
        b"GIF89b" + b"\x00" * 20,
        b"gif89a" + b"\x00" * 20,
        b" GIF89a",
        b"\x89PNG\r\n",
        b"\xff\xd8",
        b"RIFF\x00\x00\x00\x00WAVE",
        b"BM" + b"\x00" * 40,
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b'{"error": "not an image"}',
    ],
)
def test_anything_else_is_not_an_image(data: bytes) -> None:
    assert detect_image_format(data) is None


def test_a_b64_json_gif_is_accepted() -> None:
    gif = animated_gif()
    parsed = parse_images_body(body(written("PNG"), gif), status=200, request_id="req_gif")
    assert [item.data for item in parsed.items] == [written("PNG"), gif]
    assert detect_image_format(parsed.items[1].data or b"") == "gif"


def test_a_b64_json_that_is_no_image_is_refused_naming_gif() -> None:
    with pytest.raises(BadResponse, match="PNG, JPEG, WebP or GIF") as info:
        parse_images_body(body(b"BM" + b"\x00" * 40), status=200, request_id="req_bad")
    assert info.value.request_id == "req_bad"
