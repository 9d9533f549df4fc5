"""Per-model request rules the real API enforces beyond its JSON schema, and ``check_request``.

Driven by the fake's own table (``catalog.py``, written from shared/reference/openai-images.md), never
by the bot's: an oracle that reads the code under test cannot catch its mistakes. The checks are
written against the raw request (no normalisation: the real API does not forgive ``"1024 X 1024"``).
``validate`` is the one entry point: the server calls it for every image request, and
``check_request`` calls it for a body built in a test, so both always run exactly the same checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .catalog import CATALOG, ModelCaps, parse_wxh, resolve
from .images import probe
from .spec import BINARY_PLACEHOLDER, coerce_form, schema_errors

__all__ = ["ENDPOINTS", "Files", "Violation", "check_request", "form_request", "json_request", "validate"]

Violation = tuple[str | None, str]
Files = dict[str, list[tuple[str, str, bytes]]]

ENDPOINTS = ("generations", "edits", "variations")
#: generations and edits must name their model ("must be specified explicitly" [O-gen]); only
#: variations, a dall-e-2-only endpoint, still defaults
DEFAULT_MODELS = {"variations": "dall-e-2"}
#: parameters only GPT image models take (refused even when null, as before)
GPT_ONLY = ("output_format", "output_compression", "background", "moderation", "stream", "partial_images")
#: parameters accepted only with ``output_format: "gif"``
GIF_ONLY = ("frame_count", "frame_duration_ms")
_JSON_SCHEMAS = {"generations": "CreateImageRequest", "edits": "EditImageBodyJsonParam"}
_FORM_SCHEMAS = {"edits": "CreateImageEditRequest", "variations": "CreateImageVariationRequest"}


# -- request shapes ---------------------------------------------------------------------------------


def json_request(endpoint: str) -> tuple[str | None, str | None]:
    """(schema name, None) for a JSON body on ``endpoint``, or (None, the API's refusal)."""
    schema = _JSON_SCHEMAS.get(endpoint)
    return (schema, None) if schema else (None, "This endpoint takes multipart/form-data.")


def form_request(
    endpoint: str, form: dict[str, str | list[str]], files: Files
) -> tuple[str | None, dict[str, Any], str | None]:
    """(schema name, the body the schema sees, refusal or None) for a multipart body: text fields
    typed as the schema declares (``"2"`` -> 2), each file a ``"<binary>"`` placeholder."""
    schema = _FORM_SCHEMAS.get(endpoint)
    if schema is None:
        return None, {}, "This endpoint takes a JSON body."
    body = coerce_form(schema, form)
    for name, items in files.items():
        key = "image" if name == "image[]" else name
        placeholders = [BINARY_PLACEHOLDER] * len(items)
        body[key] = placeholders if name == "image[]" or len(items) > 1 else placeholders[0]
    return schema, body, None


def sent_model(endpoint: str, body: Mapping[str, Any]) -> str | None:
    """The model a request names, or the endpoint's default (variations only), or None."""
    value = body.get("model")
    return value if isinstance(value, str) and value else DEFAULT_MODELS.get(endpoint)


# -- the entry points -------------------------------------------------------------------------------


def validate(
    endpoint: str,
    schema: str,
    body: dict[str, Any],
    files: Files,
    *,
    aliases: Mapping[str, str] | None = None,
    deployment: ModelCaps | None = None,
) -> tuple[ModelCaps | None, list[Violation]]:
    """(the model's row or None, every violation) for a parsed request: schema, then model rules.

    ``deployment``: the model an Azure deployment serves; it selects the model, so the body may
    omit ``model``, and a body naming another model is a violation.
    """
    out = schema_errors(schema, body)
    named = body.get("model") if isinstance(body.get("model"), str) and body.get("model") else None
    if deployment is not None:
        caps: ModelCaps | None = deployment
        other = resolve(named, aliases) if named else deployment
        if other is None or other.id != deployment.id:
            out.append(
                ("model", f"Invalid value for 'model': {named!r} is not this deployment's {deployment.id}.")
            )
    else:
        name = sent_model(endpoint, body)
        if name is None:
            return None, [*out, ("model", "Missing required parameter: 'model'.")]
        caps = resolve(name, aliases)
        if caps is None:
            return None, [*out, ("model", f"Invalid value for 'model': unknown model {name!r}.")]
    return caps, out + check(caps, endpoint, body, files, json_body=schema in _JSON_SCHEMAS.values())


def check_request(
    endpoint: str,
    body: Mapping[str, Any],
    files: Files | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[Violation]:
    """Would the real API refuse this request? Its violations, exactly as the fake's server finds them.

    ``files`` None: ``body`` is a JSON body. Otherwise the request is multipart: ``body`` holds its text
    fields (str, int, bool or lists of them: they are sent as text) and ``files`` maps a field name
    (``image``, ``image[]``, ``mask``) to ``[(filename, content_type, bytes), ...]``. ``aliases`` maps
    a gateway's model names to catalog ids, as ``FakeImagesAPI.aliases`` does.
    """
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
    if files is None:
        schema, refusal = json_request(endpoint)
        full = dict(body)
    else:
        form = {name: _as_text(value) for name, value in body.items() if value is not None}
        schema, full, refusal = form_request(endpoint, form, files)
    if refusal is not None or schema is None:
        return [(None, refusal or "unsupported request")]
    return validate(endpoint, schema, full, files or {}, aliases=aliases)[1]


def _as_text(value: Any) -> str | list[str]:
    if isinstance(value, list | tuple):
        return [_as_text(item) for item in value]  # type: ignore[misc]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- the model rules --------------------------------------------------------------------------------


def _set(body: Mapping[str, Any], name: str) -> bool:
    return body.get(name) is not None


def _unknown(name: str, caps: ModelCaps) -> Violation:
    return (name, f"Unknown parameter: '{name}' is not supported by {caps.id}.")


def _invalid(name: str, value: Any, caps: ModelCaps) -> Violation:
    return (name, f"Invalid value for '{name}': {value!r} is not supported by {caps.id}.")


def check(
    caps: ModelCaps, endpoint: str, body: dict[str, Any], files: Files, *, json_body: bool
) -> list[Violation]:
    """The violations of the model's own rules (the schema is checked separately)."""
    if not caps.supports(endpoint):
        can = ", ".join(name for name, row in CATALOG.items() if row.supports(endpoint))
        return [("model", f"Invalid value for 'model': {caps.id} does not support {endpoint} ({can} do).")]
    out: list[Violation] = []
    if endpoint != "variations":
        out += _check_prompt(caps, body)
    out += _check_basics(caps, body)
    out += _check_gpt_options(caps, endpoint, body)
    out += _check_gif(caps, body)
    if endpoint in ("edits", "variations"):
        if json_body:
            if caps.edit is None or not caps.edit.json_body:
                out.append(("images", f"JSON edits take GPT image models only; {caps.id} needs multipart."))
        else:
            out += _check_uploads(caps, endpoint, files)
    return out


def _check_prompt(caps: ModelCaps, body: dict[str, Any]) -> list[Violation]:
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        return []  # the schema reports it
    if not prompt.strip():
        return [("prompt", "Invalid 'prompt': empty string.")]
    if len(prompt) > caps.max_prompt_chars:
        return [
            (
                "prompt",
                f"Invalid 'prompt': string too long. Expected a string with maximum length "
                f"{caps.max_prompt_chars}, but got a string with length {len(prompt)} instead.",
            )
        ]
    return []


def size_ok(caps: ModelCaps, size: str) -> bool:
    if size in caps.sizes:
        return True
    parsed = parse_wxh(size)
    return caps.custom_size is not None and parsed is not None and caps.custom_size.accepts(*parsed)


def _check_basics(caps: ModelCaps, body: dict[str, Any]) -> list[Violation]:
    out: list[Violation] = []
    n = body.get("n")
    if isinstance(n, int) and not 1 <= n <= caps.max_n:
        out.append(("n", f"Invalid 'n': {caps.id} supports n from 1 to {caps.max_n}, got {n}."))
    size = body.get("size")
    if isinstance(size, str) and not size_ok(caps, size):
        out.append(("size", f"Invalid value for 'size': {size!r} is not supported by {caps.id}."))
    quality = body.get("quality")
    if isinstance(quality, str) and quality not in caps.qualities:
        out.append(_invalid("quality", quality, caps))
    style = body.get("style")
    if style is not None and style not in caps.styles:
        out.append(_invalid("style", style, caps))
    if "response_format" in body and not caps.accepts_response_format:
        out.append(_unknown("response_format", caps))
    return out


def _check_gpt_options(caps: ModelCaps, endpoint: str, body: dict[str, Any]) -> list[Violation]:
    out: list[Violation] = []
    if not caps.gpt_image:
        out += [_unknown(name, caps) for name in GPT_ONLY if name in body]
    else:
        image_format = body.get("output_format")
        if isinstance(image_format, str) and image_format not in caps.output_formats:
            out.append(_invalid("output_format", image_format, caps))
        moderation = body.get("moderation")
        if moderation is not None and moderation not in caps.moderation_levels:
            out.append(("moderation", f"Invalid value for 'moderation': {moderation!r}."))
        background = body.get("background")
        if background is not None and background not in caps.backgrounds:
            out.append(_invalid("background", background, caps))
        if background == "transparent" and (image_format or "png") not in ("png", "webp"):
            # the official rule is png or webp; gif transparency is [3P] only, so the fake refuses it
            out.append(("background", "Transparent background requires output_format png or webp."))
        compression = body.get("output_compression")
        if isinstance(compression, int) and not 0 <= compression <= 100:
            out.append(
                ("output_compression", f"Invalid 'output_compression': {compression}, expected 0-100.")
            )
        if body.get("stream") and image_format != "gif":  # gif + stream: refused by _check_gif
            out.append(("stream", "the fake Images API does not implement streaming"))
    complexity = body.get("complexity")
    if complexity is not None and complexity not in caps.complexities:
        out.append(
            _invalid("complexity", complexity, caps) if caps.complexities else _unknown("complexity", caps)
        )
    fidelity = body.get("input_fidelity")
    if fidelity is not None and (endpoint != "edits" or fidelity not in caps.input_fidelities):
        accepted = endpoint == "edits" and caps.input_fidelities
        out.append(
            _invalid("input_fidelity", fidelity, caps) if accepted else _unknown("input_fidelity", caps)
        )
    return out


def _check_gif(caps: ModelCaps, body: dict[str, Any]) -> list[Violation]:
    """GIF output [O-edit]: frame_count / frame_duration_ms only with gif; with gif no stream, no
    partial images, no mask, no output_compression, and the size must fit the frame sheet."""
    if body.get("output_format") != "gif":
        return [
            (name, f"Invalid parameter: '{name}' is only accepted with output_format 'gif'.")
            for name in GIF_ONLY
            if _set(body, name)
        ]
    rule = caps.gif
    if rule is None:
        return []  # output_format: gif is already refused for this model
    out: list[Violation] = []
    if body.get("stream"):
        out.append(("stream", "GIF output does not support streaming."))
    for name, what in (
        ("partial_images", "partial images"),
        ("mask", "a mask"),
        ("output_compression", "a custom output_compression"),
    ):
        if _set(body, name):
            out.append((name, f"GIF output does not support {what}."))
    frames = body.get("frame_count")
    frames = frames if isinstance(frames, int) else rule.default_frames
    size = body.get("size") if _set(body, "size") else "auto"
    dims = rule.auto_size if size == "auto" else parse_wxh(size) if isinstance(size, str) else None
    if rule.min_frames <= frames <= rule.max_frames and dims is not None and not rule.fits(*dims, frames):
        columns, rows = rule.grid(frames)
        out.append(
            (
                "size",
                f"Invalid value for 'size': {size!r} does not fit {caps.id}'s GIF size limits for "
                f"{frames} frames (a {columns}x{rows} sheet of {columns * dims[0]}x{rows * dims[1]}).",
            )
        )
    return out


def _check_uploads(caps: ModelCaps, endpoint: str, files: Files) -> list[Violation]:
    images = files.get("image", []) + files.get("image[]", [])
    if not images:
        return [("image", "Missing required parameter: 'image'.")]
    limits = caps.edit
    assert limits is not None  # every model that takes edits or variations has edit limits
    limit = limits.max_images if endpoint == "edits" else 1
    if len(images) > limit:
        return [("image", f"{caps.id} accepts at most {limit} image(s) per request, got {len(images)}.")]
    square_png_only = limits.square_png or endpoint == "variations"
    formats = ("png",) if square_png_only else limits.formats
    out: list[Violation] = []
    first_size: tuple[int, int] | None = None
    for index, (_name, _ctype, data) in enumerate(images, start=1):
        info = probe(data)
        if info is None:
            out.append(("image", f"Invalid image file for image {index}: not a readable image."))
            continue
        image_format, width, height, _mode = info
        first_size = first_size or (width, height)
        if image_format not in formats:
            out.append(
                ("image", f"Invalid image {index}: format {image_format} not in {', '.join(formats)}.")
            )
        if len(data) >= limits.max_bytes:
            out.append(
                ("image", f"Invalid image {index}: {len(data)} bytes, must be less than {limits.max_bytes}.")
            )
        if square_png_only and width != height:
            out.append(("image", f"Invalid image {index}: must be square, got {width}x{height}."))
    for _name, _ctype, data in files.get("mask", []):
        if endpoint != "edits":
            out.append(("mask", "Unrecognized request argument supplied: mask"))
            continue
        info = probe(data)
        if info is None or info[0] != "png":
            out.append(("mask", "Invalid mask: must be a PNG file."))
            continue
        _fmt, width, height, mode = info
        if len(data) >= limits.mask_max_bytes:
            out.append(
                ("mask", f"Invalid mask: {len(data)} bytes, must be less than {limits.mask_max_bytes}.")
            )
        if first_size and (width, height) != first_size:
            out.append(("mask", f"Invalid mask: {width}x{height} differs from the image's {first_size}."))
        if "A" not in mode and "transparency" not in mode:
            out.append(("mask", "Invalid mask: it has no alpha channel."))
    return out
