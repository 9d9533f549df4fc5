"""Parsing a successful Images API body: JSON shape, base64 images, usage. Pure; raises BadResponse.

A four-image 1536x1024 body is ~18 MB, almost all of it the ``b64_json`` strings. ``json.loads`` of
the whole body would build a str of each (as much again as the body), and decoding a str makes an
ASCII copy of it first. So :func:`parse_images_body` decodes each ``b64_json`` value straight from
the body's bytes and parses only the rest of the document as JSON (each value replaced by a short
marker): the images and the body are the only large buffers. Where that fast path can't be sure it
gives the same answer as ``json.loads`` would (a value with an escape other than ``\\/`` ``\\n``
``\\r`` ``\\t`` ``\\f``, any ``b64_json`` value that doesn't decode to an image, a body that isn't
UTF-8 JSON), it steps aside and :func:`parse_plain` parses the body as before: the same result and
the same errors, which tests/images/test_response_parsing.py checks on random bodies.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
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


def parse_images_body(body: bytes | bytearray, *, status: int, request_id: str | None) -> ParsedBody:
    """Validate and decode an ``ImagesResponse``; BadResponse when it is not usable.

    ``body`` may be a bytearray (the client reads into one); it isn't changed or kept.
    """
    parsed = parse_fast(body, status=status, request_id=request_id)
    if parsed is None:
        parsed = parse_plain(body, status=status, request_id=request_id)
    return parsed


def parse_plain(body: bytes | bytearray, *, status: int, request_id: str | None) -> ParsedBody:
    """The reference parser: ``json.loads`` of the whole body, then each ``b64_json`` str decoded."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadResponse(
            status=status, message=f"body is not valid JSON ({len(body)} bytes)", request_id=request_id
        ) from None
    return _parsed_body(payload, {}, status=status, request_id=request_id)


def _parsed_body(
    payload: Any, decoded: Mapping[str, bytes], *, status: int, request_id: str | None
) -> ParsedBody:
    """The checks and fields of a parsed document. A ``b64_json`` that is a key of ``decoded`` (a
    fast-path marker) stands for that image, already decoded and checked; any other is decoded here."""

    def bad(message: str) -> BadResponse:
        return BadResponse(status=status, message=message, request_id=request_id)

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
            image = decoded.get(b64)
            if image is None:
                image = _decode_b64(b64, status=status, request_id=request_id)
            items.append(ParsedItem(image, None, revised))
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


# -- the fast path ---------------------------------------------------------------------------------

_KEY = b'"b64_json"'
_JSON_SPACE = b" \t\n\r"
_COLON, _QUOTE = ord(":"), ord('"')
# The escapes json.loads turns into whitespace, which _decode_b64 then drops (as it drops spaces):
# line-wrapped base64 has them; \/ is what PHP's json_encode writes for a slash.
_BLANK_ESCAPES = (b"\\n", b"\\r", b"\\t", b"\\f")


def parse_fast(body: bytes | bytearray, *, status: int, request_id: str | None) -> ParsedBody | None:
    """What :func:`parse_plain` returns or raises, without a str of any ``b64_json`` value; None
    when it can't be sure of that (the caller then runs the plain parser)."""
    if json.detect_encoding(body[:4]) not in ("utf-8", "utf-8-sig"):
        return None  # json.loads reads UTF-16 and UTF-32 too; the spans below are UTF-8 bytes
    spans = _b64_value_spans(body)
    if not spans:
        return None  # nothing to gain (url results, small or odd bodies)
    view = memoryview(body)
    nonce = secrets.token_hex(8)  # no body can hold a marker by chance (or design)
    decoded: dict[str, bytes] = {}
    pieces: list[bytes | memoryview] = []
    done = 0
    for index, (start, end) in enumerate(spans):
        image = _decode_value(body, view, start, end)
        if image is None:
            return None  # the plain parser says what is wrong, or decodes what this can't
        marker = f"b64 {nonce} {index}"
        decoded[marker] = image
        pieces += (view[done:start], marker.encode("ascii"))
        done = end
    pieces.append(view[done:])
    rest = b"".join(pieces)
    try:
        payload = json.loads(rest)
    except ValueError:
        return None  # not JSON (nor is the body): the plain parser's error names the body's size
    return _parsed_body(payload, decoded, status=status, request_id=request_id)


def _b64_value_spans(body: bytes | bytearray) -> list[tuple[int, int]]:
    """``(start, end)`` of the text of every non-empty string value after a ``"b64_json":`` in the
    body: from after its opening quote to the next quote (base64 holds none); [] when there is no
    next quote (not JSON).

    Each span whose text :func:`_decode_value` accepts (base64, spaces, ``\\/`` ``\\n`` ``\\r``
    ``\\t`` ``\\f``; no ``\\"``, so that quote did end the string) is a whole JSON string: the
    quote before ``b64_json`` either opens that key or is an escaped one ending a longer key, and in
    a body that isn't JSON the parse fails before the span either way. So a marker in its place
    changes nothing else in the document, and json.loads of the rest fails exactly when json.loads
    of the body would. A span that is the value of some other key (a ``b64_json`` nested in an extra
    field, a repeated key, a key ending in ``\\"b64_json``) is decoded and left unused, as the plain
    parser ignores it; if it doesn't decode, the plain parser runs."""
    spans: list[tuple[int, int]] = []
    length = len(body)
    at = body.find(_KEY)
    while at != -1:
        value = _skip_space(body, at + len(_KEY))
        if value < length and body[value] == _COLON:
            value = _skip_space(body, value + 1)
            if value < length and body[value] == _QUOTE:
                start = value + 1
                end = body.find(b'"', start)
                if end == -1:
                    return []
                if end > start:  # "" is no image: the plain rules (then url) apply to it as it is
                    spans.append((start, end))
                at = body.find(_KEY, end + 1)
                continue
        at = body.find(_KEY, at + 1)
    return spans


def _skip_space(body: bytes | bytearray, at: int) -> int:
    while at < len(body) and body[at] in _JSON_SPACE:
        at += 1
    return at


def _decode_value(body: bytes | bytearray, view: memoryview, start: int, end: int) -> bytes | None:
    """The image in ``body[start:end]``, decoded exactly as ``_decode_b64`` decodes the str that
    json.loads makes of that text; None when that fails or when the text needs more than this reads."""
    try:
        # b64decode(validate=True) is a2b_base64(strict_mode=True): the same bytes, and no copies
        image = binascii.a2b_base64(view[start:end], strict_mode=True)
    except binascii.Error:
        if body.find(b"\\\\", start, end) != -1:
            return None  # an escaped backslash: and \\n would read as an escape below
        # With no \\, every backslash starts an escape: drop the blank ones and the spaces and
        # unescape \/; any other escape (\u, \") leaves a backslash, which a2b_base64 refuses.
        text = bytes(view[start:end])
        for escape in _BLANK_ESCAPES:
            text = text.replace(escape, b"")
        text = text.replace(b"\\/", b"/").translate(None, b" ")
        try:
            image = binascii.a2b_base64(text, strict_mode=True)
        except binascii.Error:
            return None
    return image if detect_image_format(image) is not None else None
