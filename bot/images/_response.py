"""Parsing a successful Images API body: JSON shape, base64 images, usage. Pure; raises BadResponse."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .datatypes import Usage
from .errors import BadResponse

__all__ = ["ParsedBody", "ParsedItem", "detect_image_format", "parse_images_body", "parse_usage"]


def detect_image_format(data: bytes) -> str | None:
    """``"png"``, ``"jpeg"``, ``"webp"`` or ``"gif"`` (GIF87a or GIF89a, animated or not, as
    gpt-image-2.6 returns for ``output_format: "gif"``) from the magic bytes; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    return None


@dataclass(frozen=True)
class ParsedItem:
    """One ``data`` entry: decoded image bytes, or a URL still to download."""

    data: bytes | None
    url: str | None
    revised_prompt: str | None


@dataclass(frozen=True)
class ParsedBody:
    items: tuple[ParsedItem, ...]
    created: int | None
    usage: Usage | None
    size: str | None
    quality: str | None


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_usage(raw: Any) -> Usage | None:
    """``usage`` of a GPT image response; None when absent or not the documented shape."""
    if not isinstance(raw, Mapping):
        return None
    input_tokens = _opt_int(raw.get("input_tokens"))
    output_tokens = _opt_int(raw.get("output_tokens"))
    if input_tokens is None or output_tokens is None:
        return None
    total = _opt_int(raw.get("total_tokens"))
    details = raw.get("input_tokens_details")
    details = details if isinstance(details, Mapping) else {}
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total if total is not None else input_tokens + output_tokens,
        input_text_tokens=_opt_int(details.get("text_tokens")),
        input_image_tokens=_opt_int(details.get("image_tokens")),
    )


def _decode_b64(text: str, *, status: int, request_id: str | None) -> bytes:
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadResponse(
            status=status, message="b64_json is not valid base64", request_id=request_id
        ) from None
    if detect_image_format(data) is None:
        raise BadResponse(
            status=status,
            message="b64_json does not decode to a PNG, JPEG, WebP or GIF",
            request_id=request_id,
        )
    return data


def parse_images_body(body: bytes, *, status: int, request_id: str | None) -> ParsedBody:
    """Validate and decode an ``ImagesResponse``; BadResponse when it is not usable."""

    def bad(message: str) -> BadResponse:
        return BadResponse(status=status, message=message, request_id=request_id)

    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad(f"body is not valid JSON ({len(body)} bytes)") from None
    if not isinstance(payload, Mapping):
        raise bad("body is not a JSON object")
    data = payload.get("data")
    if not isinstance(data, list) or not data:
        raise bad("body has no images in 'data'")
    items: list[ParsedItem] = []
    for index, entry in enumerate(data):
        if not isinstance(entry, Mapping):
            raise bad(f"data[{index}] is not an object")
        revised = _opt_str(entry.get("revised_prompt"))
        b64 = entry.get("b64_json")
        url = entry.get("url")
        if isinstance(b64, str) and b64:
            items.append(ParsedItem(_decode_b64(b64, status=status, request_id=request_id), None, revised))
        elif isinstance(url, str) and url:
            items.append(ParsedItem(None, url, revised))
        else:
            raise bad(f"data[{index}] has neither b64_json nor url")
    return ParsedBody(
        items=tuple(items),
        created=_opt_int(payload.get("created")),
        usage=parse_usage(payload.get("usage")),
        size=_opt_str(payload.get("size")),
        quality=_opt_str(payload.get("quality")),
    )
