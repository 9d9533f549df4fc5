"""The fast Images body parser (bot/images/response.py) against the plain one.

``parse_images_body`` decodes each ``b64_json`` straight from the body's bytes and json-parses only
the rest; ``parse_plain`` is ``json.loads`` of the whole body, as the parser was before. On any
body, valid or not, both must return the same thing or raise the same BadResponse.
"""

from __future__ import annotations

import base64
import json
import os
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.images.errors import BadResponse
from bot.images.response import ParsedBody, parse_fast, parse_images_body, parse_plain

PNG = b"\x89PNG\r\n\x1a\n"
MAGICS = [PNG, b"\xff\xd8\xff", b"RIFF\x00\x00\x00\x00WEBP", b"GIF87a", b"GIF89a"]


def outcome(parse: Any, body: bytes | bytearray) -> ParsedBody | tuple[Any, ...]:
    try:
        return parse(body, status=200, request_id="req_p")
    except BadResponse as error:
        return ("BadResponse", error.message, error.status, error.request_id)


# -- writing JSON text by hand: whitespace, key order, repeated keys and escapes under our control ---


class Raw(str):
    """JSON text used as it is."""


class Obj(list):
    """An object as (key text, value) pairs: keys may repeat, and be spelt with escapes."""


def key(name: str) -> Raw:
    return Raw(json.dumps(name))


def render(draw: Any, value: Any, *, spacing: st.SearchStrategy[str]) -> str:
    def ws() -> str:
        return draw(spacing)

    if isinstance(value, Raw):
        return value
    if isinstance(value, Obj):
        pairs = [f"{ws()}{k}{ws()}:{ws()}{render(draw, v, spacing=spacing)}{ws()}" for k, v in value]
        return "{" + (",".join(pairs) or ws()) + "}"
    if isinstance(value, list):
        return "[" + (",".join(ws() + render(draw, v, spacing=spacing) + ws() for v in value) or ws()) + "]"
    text = json.dumps(value)
    if isinstance(value, str) and draw(st.booleans()):
        text = text.replace("/", "\\/")  # as PHP's json_encode writes strings
    return text


images = st.builds(lambda magic, tail: magic + tail, st.sampled_from(MAGICS), st.binary(max_size=48))
other_bytes = st.one_of(st.binary(max_size=40), st.just(b"BM" + b"\x00" * 20))

# Ways the text of a base64 value may be written that json.loads + str.split() still read as the
# same base64, and that the fast path cleans itself.
CLEAN_SPELLINGS = ["as is", "escaped slashes", "wrapped \\n", "wrapped \\r\\n", "spaces", "tabs \\t", "\\f"]
# Ways that are valid JSON but left to the plain parser, or broken.
OTHER_SPELLINGS = [
    "\\u escape",
    "raw non-ASCII space",
    "escaped quote",
    "escaped backslash",
    "escaped backslash, n before /",
    "\\b",
    "raw newline",
    "bad character",
    "one char less",
    "excess padding",
    "leading padding",
    "empty",
    "blank",
]


@st.composite
def b64_value(draw: Any, spellings: list[str], data: st.SearchStrategy[bytes] = images) -> Raw:
    """The JSON text (quotes included) of a b64_json value."""
    text = base64.b64encode(draw(data)).decode("ascii")
    spelling = draw(st.sampled_from(spellings))
    at = draw(st.integers(0, len(text)))
    every = draw(st.integers(1, 76))
    if spelling == "escaped slashes":
        text = text.replace("/", "\\/")
    elif spelling.startswith("wrapped"):
        newline = "\\r\\n" if "\\r" in spelling else "\\n"
        text = newline.join(text[i : i + every] for i in range(0, len(text), every))
    elif spelling == "spaces":
        text = " ".join(text[i : i + every] for i in range(0, len(text), every)) + " "
    elif spelling == "tabs \\t":
        text = "\\t" + text[:at] + "\\t" + text[at:]
    elif spelling == "\\f":
        text = text[:at] + "\\f" + text[at:]
    elif spelling == "\\u escape" and text:
        text = text[:-1] + f"\\u{ord(text[-1]):04x}"
    elif spelling == "raw non-ASCII space":
        text = text[:at] + "\u00a0" + text[at:]
    elif spelling == "escaped quote":
        text = text[:at] + '\\"' + text[at:]
    elif spelling == "escaped backslash":
        text = text[:at] + "\\\\" + text[at:]
    elif spelling == "escaped backslash, n before /":  # \\n/ is no \n then \/
        quad = max(len(text) - 4, 0)  # before the last quad, so the magic bytes likely stay
        text = text[:quad] + "\\\\n/AAA" + text[quad:]
    elif spelling == "\\b":
        text = text[:at] + "\\b" + text[at:]
    elif spelling == "raw newline":
        text = text[:at] + "\n" + text[at:]
    elif spelling == "bad character":
        text = text[:at] + draw(st.sampled_from("!-_.*é")) + text[at:]
    elif spelling == "one char less" and text:
        text = text[:at] + text[at + 1 :]
    elif spelling == "excess padding":
        text += "="
    elif spelling == "leading padding":
        text = "==" + text
    elif spelling == "empty":
        text = ""
    elif spelling == "blank":
        text = "  "
    return Raw(f'"{text}"')


B64_KEY = key("b64_json")
ODDITIES = [
    "odd spelling",
    "not an image",
    "url and empty b64_json",
    "neither",
    "nested b64_json",
    "repeated b64_json",
    "escaped key",
    "quote-ended key",
    "not an object",
]


@st.composite
def entry(draw: Any, *, oddity: str | None = None) -> Any:
    """One ``data`` item: a well-formed one (that the fast path must handle itself), or one with
    ``oddity``."""
    pairs = Obj()
    if oddity == "not an object":
        return draw(
            st.sampled_from([1, "b64_json", None, [Obj([(B64_KEY, draw(b64_value(CLEAN_SPELLINGS)))])]])
        )
    if oddity == "odd spelling":
        pairs.append((B64_KEY, draw(b64_value(OTHER_SPELLINGS))))
    elif oddity == "not an image":
        pairs.append((B64_KEY, draw(b64_value(CLEAN_SPELLINGS, other_bytes))))
    elif oddity == "url and empty b64_json":
        pairs.append((key("url"), draw(st.sampled_from(["https://x.example/2.png", "", 7]))))
        pairs.append((B64_KEY, draw(st.sampled_from([Raw('""'), None, 0, Raw('"  "')]))))
    elif oddity != "neither":
        if draw(st.integers(0, 2)):
            pairs.append((B64_KEY, draw(b64_value(CLEAN_SPELLINGS))))
        else:
            pairs.append((key("url"), "https://files.example/img/1.png"))
    if oddity in ("nested b64_json", "repeated b64_json", "escaped key", "quote-ended key"):
        value = draw(b64_value(CLEAN_SPELLINGS + OTHER_SPELLINGS, images | other_bytes))
        if oddity == "nested b64_json":
            pairs.append((key("meta"), Obj([(B64_KEY, value)])))
        elif oddity == "repeated b64_json":
            pairs.append((B64_KEY, value))
        elif oddity == "escaped key":
            pairs.append((Raw('"b64\\u005fjson"'), value))
        else:
            pairs.append((Raw('"x \\"b64_json"'), value))
    if draw(st.booleans()):
        pairs.append((key("revised_prompt"), draw(st.one_of(st.text(max_size=12), st.none()))))
    if draw(st.booleans()):
        pairs.append((key("extra"), Obj([(key("n"), draw(st.integers())), (key("s"), 'a/b "c"')])))
    return Obj(draw(st.permutations(pairs)))


@st.composite
def document(draw: Any, *, odd: bool) -> Any:
    """A body's document; ``odd``: with one oddity in one place (an item, the top level), or many."""
    where = draw(st.sampled_from(["item", "item", "top", "anywhere"])) if odd else None
    count = draw(st.integers(1, 4))
    oddities: list[str | None] = [None] * count
    if where == "item":
        oddities[draw(st.integers(0, count - 1))] = draw(st.sampled_from(ODDITIES))
    elif where == "anywhere":
        oddities = [draw(st.sampled_from([None, *ODDITIES])) for _ in range(count)]
    pairs = Obj()
    data: Any = [draw(entry(oddity=oddity)) for oddity in oddities]
    top = (
        draw(st.sampled_from(["no data", "odd data", "a list", "none"]))
        if where in ("top", "anywhere")
        else None
    )
    if top == "odd data":
        data = draw(st.sampled_from([[], {}, "x", None]))
    if top != "no data":
        pairs.append((key("data"), data))
    if draw(st.booleans()):
        pairs.append((key("created"), draw(st.sampled_from([1_700_000_000, "1700000000", True, None]))))
    if draw(st.booleans()):
        usage = Obj([(key("input_tokens"), 12), (key("output_tokens"), draw(st.sampled_from([30, "30"])))])
        if draw(st.booleans()):
            usage.append((key("input_tokens_details"), Obj([(key("text_tokens"), 12)])))
        pairs.append((key("usage"), usage))
    for name in ("size", "quality"):
        if draw(st.booleans()):
            pairs.append((key(name), draw(st.sampled_from(["1536x1024", "high", "", 3]))))
    if draw(st.booleans()):
        pairs.append((key("background"), "opaque"))
    doc = Obj(draw(st.permutations(pairs)))
    return [doc] if top == "a list" else doc


@st.composite
def bodies(draw: Any, *, odd: bool) -> bytes:
    spacing = st.text(alphabet=" \t\n\r", max_size=2)
    text = render(draw, draw(document(odd=odd)), spacing=spacing)
    body = text.encode("utf-8")
    damage = draw(st.sampled_from(["none"] * 5 + ["truncated", "byte dropped", "bad UTF-8", "BOM", "UTF-16"]))
    if not odd or damage == "none":
        return body
    if damage == "truncated":
        return body[: draw(st.integers(0, len(body) - 1))]
    if damage == "byte dropped":
        at = draw(st.integers(0, len(body) - 1))
        return body[:at] + body[at + 1 :]
    if damage == "bad UTF-8":
        at = draw(st.integers(0, len(body)))
        return body[:at] + b"\xff" + body[at:]
    if damage == "BOM":
        return b"\xef\xbb\xbf" + body
    return text.encode("utf-16-le")


# -- the properties ----------------------------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(bodies(odd=True))
def test_the_fast_parser_agrees_with_the_plain_one_on_any_body(body: bytes) -> None:
    expected = outcome(parse_plain, body)
    assert outcome(parse_images_body, body) == expected
    assert outcome(parse_images_body, bytearray(body)) == expected


@settings(max_examples=300, deadline=None)
@given(bodies(odd=False))
def test_well_formed_bodies_take_the_fast_path(body: bytes) -> None:
    """Whitespace, key orders, escaped slashes, wrapped or spaced base64, url items, extra fields:
    the fast path decodes these itself (and gets what the plain parser gets)."""
    fast = parse_fast(body, status=200, request_id="req_p")
    if b'"b64_json"' in body:
        assert fast is not None
        assert fast == parse_plain(body, status=200, request_id="req_p")
    else:
        assert fast is None  # nothing to gain: the plain parser reads url-only bodies


# -- examples ----------------------------------------------------------------------------------------


def image(size: int = 64) -> bytes:
    return PNG + os.urandom(size)


def test_line_wrapped_base64_with_escaped_slashes_is_decoded_by_the_fast_path() -> None:
    data = image(3000)
    wrapped = base64.encodebytes(data).decode("ascii")  # a newline every 76 characters
    body = json.dumps({"data": [{"b64_json": wrapped, "revised_prompt": "a/b"}]}).replace("/", "\\/")
    assert "\\n" in body and "\\/" in body
    parsed = parse_fast(body.encode(), status=200, request_id=None)
    assert parsed is not None
    assert parsed.items[0].data == data and parsed.items[0].revised_prompt == "a/b"


def test_a_value_only_json_can_unescape_goes_to_the_plain_parser() -> None:
    data = image()
    text = base64.b64encode(data).decode("ascii")
    body = f'{{"data": [{{"b64_json": "{text[:-1]}\\u{ord(text[-1]):04x}"}}]}}'.encode()
    assert parse_fast(body, status=200, request_id=None) is None
    assert parse_images_body(body, status=200, request_id=None).items[0].data == data


def test_an_empty_b64_json_beside_a_url_stays_on_the_fast_path() -> None:
    data = image()
    body = json.dumps(
        {"data": [{"b64_json": base64.b64encode(data).decode()}, {"b64_json": "", "url": "https://x/1.png"}]}
    ).encode()
    parsed = parse_fast(body, status=200, request_id=None)
    assert parsed is not None
    assert [(item.data, item.url) for item in parsed.items] == [(data, None), (None, "https://x/1.png")]


def test_an_unused_b64_json_elsewhere_is_ignored_as_json_loads_would() -> None:
    data, other = image(), image()
    body = json.dumps(
        {
            "data": [{"meta": {"b64_json": base64.b64encode(other).decode()}, "url": "https://x/1.png"}],
            "extra": {"b64_json": "not base64 at all"},
        }
    ).encode()
    assert outcome(parse_images_body, body) == outcome(parse_plain, body)
    assert parse_images_body(body, status=200, request_id=None).items[0].url == "https://x/1.png"
    body = json.dumps({"data": [{"b64_json": base64.b64encode(other).decode(), "b64_json2": 1}]}).encode()
    body = body.replace(b'"b64_json2": 1', b'"b64_json": "%s"' % base64.b64encode(data))  # repeated key
    parsed = parse_images_body(body, status=200, request_id=None)
    assert parsed.items[0].data == data  # the last one wins, as in json.loads


def test_a_utf16_body_is_left_to_the_plain_parser() -> None:
    """json.loads reads UTF-16 too, where the fast path's byte positions mean nothing: here a
    base64 value spelt in ASCII inside a UTF-16 string makes the body undecodable (an odd number
    of bytes), which a marker of even length in its place would hide."""
    value = base64.b64encode(image(30)).decode("ascii") + " "  # 4k + 1 characters, cleanable
    ascii_run = f'a"b64_json":"{value}"'.encode("ascii")
    body = (
        '{"data": [{"url": "https://x/1.png"}], "k": "'.encode("utf-16-le")
        + ascii_run
        + '"}'.encode("utf-16-le")
    )
    assert len(body) % 2 == 1
    assert outcome(parse_images_body, body) == outcome(parse_plain, body)
    assert outcome(parse_images_body, body)[0] == "BadResponse"


def test_a_bytearray_body_is_read_not_changed() -> None:
    data = image()
    body = bytearray(json.dumps({"data": [{"b64_json": base64.b64encode(data).decode()}]}).encode())
    before = bytes(body)
    assert parse_images_body(body, status=200, request_id=None).items[0].data == data
    assert body == before
    body += b" "  # not left locked by a memoryview
    assert body.endswith(b"} ")


@pytest.mark.parametrize("wrapped", [False, True])
def test_no_str_of_the_base64_is_made(wrapped: bool) -> None:
    """Python memory held while parsing a body of a 2 MB image: the image, not also the 2.7 MB
    text of its base64 as a str and then as ASCII bytes (as json.loads + b64decode hold)."""
    data = image(2 * 1024 * 1024)
    text = base64.encodebytes(data).decode() if wrapped else base64.b64encode(data).decode()
    body = json.dumps({"created": 1, "data": [{"b64_json": text}]}).encode()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        parsed = parse_images_body(body, status=200, request_id=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed.items[0].data == data
    # wrapped base64 is first cleaned into a copy of its text (two while cleaning); the plain
    # parser holds the str, its split pieces and joined text, and ASCII bytes: over 5x the image
    limit = len(data) + (2 * len(body) if wrapped else 256 * 1024)
    assert peak - before < limit
