"""Per-model request rules the real API enforces beyond its JSON schema.

Driven by the model table in ``bot.images.models``, but the checks are written here against the raw
request (no normalisation: the real API does not forgive ``"1024 X 1024"``).
"""

from __future__ import annotations

from typing import Any

from bot.images.models import MODELS, ModelSpec, models_supporting
from bot.images.sizes import parse_wxh

from .images import probe

Violation = tuple[str | None, str]
Files = dict[str, list[tuple[str, str, bytes]]]

#: what the real API assumes when a request names no model
DEFAULT_MODELS = {"generations": "dall-e-2", "edits": "gpt-image-1.5", "variations": "dall-e-2"}
#: parameters only GPT image models take
GPT_ONLY = ("output_format", "output_compression", "background", "moderation", "stream", "partial_images")


def model_name(endpoint: str, body: dict[str, Any]) -> str:
    value = body.get("model")
    return value if isinstance(value, str) and value else DEFAULT_MODELS[endpoint]


def size_ok(spec: ModelSpec, size: str) -> bool:
    if size in spec.sizes:
        return True
    parsed = parse_wxh(size)
    return spec.custom_size_rule is not None and parsed is not None and spec.custom_size_rule.accepts(*parsed)


def _check_prompt(spec: ModelSpec, body: dict[str, Any]) -> list[Violation]:
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        return []  # the schema reports it
    if not prompt.strip():
        return [("prompt", "Invalid 'prompt': empty string.")]
    if len(prompt) > spec.max_prompt_chars:
        return [
            (
                "prompt",
                f"Invalid 'prompt': string too long. Expected a string with maximum length "
                f"{spec.max_prompt_chars}, but got a string with length {len(prompt)} instead.",
            )
        ]
    return []


def _check_options(spec: ModelSpec, endpoint: str, body: dict[str, Any]) -> list[Violation]:
    out: list[Violation] = []
    n = body.get("n")
    if isinstance(n, int) and not 1 <= n <= spec.images_per_request:
        out.append(
            ("n", f"Invalid 'n': {spec.name} supports n from 1 to {spec.images_per_request}, got {n}.")
        )
    size = body.get("size")
    if isinstance(size, str) and not size_ok(spec, size):
        out.append(("size", f"Invalid value for 'size': {size!r} is not supported by {spec.name}."))
    quality = body.get("quality")
    if isinstance(quality, str) and quality not in spec.qualities:
        out.append(("quality", f"Invalid value for 'quality': {quality!r} is not supported by {spec.name}."))
    style = body.get("style")
    if style is not None and style not in spec.styles:
        out.append(("style", f"Invalid value for 'style': {style!r} is not supported by {spec.name}."))
    if "response_format" in body and not spec.accepts_response_format:
        out.append(
            ("response_format", f"Unknown parameter: 'response_format' is not supported by {spec.name}.")
        )
    if not spec.output_formats:
        out += [
            (name, f"Unknown parameter: '{name}' is not supported by {spec.name}.")
            for name in GPT_ONLY
            if name in body
        ]
    else:
        moderation = body.get("moderation")
        if moderation is not None and moderation not in spec.moderation_levels:
            out.append(("moderation", f"Invalid value for 'moderation': {moderation!r}."))
        if body.get("background") == "transparent" and body.get("output_format", "png") == "jpeg":
            out.append(("background", "Transparent background requires output_format png or webp."))
        if body.get("stream"):
            out.append(("stream", "the fake Images API does not implement streaming"))
    fidelity = body.get("input_fidelity")
    if fidelity is not None and (
        endpoint != "edits" or not spec.output_formats or spec.name.endswith("-mini")
    ):
        out.append(
            ("input_fidelity", f"Unknown parameter: 'input_fidelity' is not supported by {spec.name}.")
        )
    return out


def _check_uploads(spec: ModelSpec, endpoint: str, files: Files) -> list[Violation]:
    images = files.get("image", []) + files.get("image[]", [])
    if not images:
        return [("image", "Missing required parameter: 'image'.")]
    limit = spec.edit_max_images if endpoint == "edits" else 1
    if len(images) > limit:
        return [("image", f"{spec.name} accepts at most {limit} image(s) per request, got {len(images)}.")]
    square_png_only = spec.edit_requires_square_png or endpoint == "variations"
    max_bytes = spec.edit_max_input_bytes
    formats = ("png",) if square_png_only else spec.edit_input_formats
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
        if len(data) >= max_bytes:
            out.append(("image", f"Invalid image {index}: {len(data)} bytes, must be less than {max_bytes}."))
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
        if len(data) >= spec.mask_max_bytes:
            out.append(("mask", f"Invalid mask: {len(data)} bytes, must be less than {spec.mask_max_bytes}."))
        if first_size and (width, height) != first_size:
            out.append(("mask", f"Invalid mask: {width}x{height} differs from the image's {first_size}."))
        if "A" not in mode and "transparency" not in mode:
            out.append(("mask", "Invalid mask: it has no alpha channel."))
    return out


def check(endpoint: str, body: dict[str, Any], files: Files) -> tuple[ModelSpec | None, list[Violation]]:
    """(the model row or None if unknown, violations) for an already schema-checked request."""
    spec = MODELS.get(model_name(endpoint, body))
    if spec is None:
        return None, []
    if not spec.supports(endpoint):
        can = ", ".join(models_supporting(endpoint))
        return spec, [
            ("model", f"Invalid value for 'model': {spec.name} does not support {endpoint} ({can} do).")
        ]
    out: list[Violation] = []
    if endpoint != "variations":
        out += _check_prompt(spec, body)
    out += _check_options(spec, endpoint, body)
    if endpoint in ("edits", "variations") and "images" not in body:
        out += _check_uploads(spec, endpoint, files)
    return spec, out
