"""Checking a job's options against its model's row, before anything is charged or sent.

Each check raises a user-input error that names the option, the value and what is allowed; every
option left out resolves to the row's default (None where the model has no such option, so the
request omits it).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .catalogue import Endpoint, ModelSpec
from .errors import EmptyPrompt, EndpointNotSupported, OptionNotSupported, PromptTooLong
from .options import NO_OPTIONS, ImageOptions
from .sizes import normalize_size, parse_wxh

__all__ = [
    "MAX_IMAGES_PER_JOB",
    "Checked",
    "gif_size_allowed",
    "max_images",
    "request_batches",
    "size_allowed",
    "validate",
]

#: Discord allows 10 files per message; dall-e-3 reaches it by fanning out n=1 requests.
MAX_IMAGES_PER_JOB = 10


@dataclass(frozen=True)
class Checked:
    """A request checked against its model: the prompt cleaned (None for variations), every option
    left out resolved to the row's default (None where the model has no such option)."""

    model: str
    prompt: str | None
    n: int
    options: ImageOptions
    image_count: int = 0  # input images (edits and variations)


def max_images(spec: ModelSpec) -> int:
    """Images one job may ask for: 10 for every model (Discord's 10 files per message)."""
    return MAX_IMAGES_PER_JOB


def request_batches(spec: ModelSpec, n: int) -> tuple[int, ...]:
    """Split a job of ``n`` images into per-request counts: ``(1, 1, 1)`` for dall-e-3, ``(3,)`` else."""
    if n < 1:
        return ()
    per = max(1, spec.images_per_request)
    full, rest = divmod(n, per)
    return (per,) * full + ((rest,) if rest else ())


def size_allowed(spec: ModelSpec, size: str) -> bool:
    """True when the model accepts ``size`` (normalised first)."""
    size = normalize_size(size)
    if size in spec.sizes:
        return True
    if spec.custom_size_rule is None:
        return False
    parsed = parse_wxh(size)
    return parsed is not None and spec.custom_size_rule.accepts(*parsed)


def gif_size_allowed(spec: ModelSpec, size: str, frames: int) -> bool:
    """True when ``size`` is a size the model takes and ``frames`` such frames fit its GIF budget."""
    parsed = parse_wxh(normalize_size(size))
    return (
        spec.gif is not None
        and parsed is not None
        and size_allowed(spec, size)
        and spec.gif.fits(*parsed, frames)
    )


def _check_endpoint(spec: ModelSpec, endpoint: str, supporting: tuple[str, ...]) -> None:
    if not spec.supports(endpoint):
        raise EndpointNotSupported(spec.name, endpoint, supporting)


#: characters that draw nothing though Unicode calls them letters or symbols (Hangul fillers, the
#: blank Braille pattern): the usual ways of typing an "invisible" message
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: categories that draw nothing: format characters (zero-width space, joiners, direction marks),
#: controls, separators, unassigned and private-use, and combining marks with nothing to combine with
_BLANK_CATEGORIES = frozenset({"Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def has_visible_text(text: str) -> bool:
    """Whether ``text`` has at least one character that shows (a combining mark counts only on a
    character that shows)."""
    return any(ch not in _BLANK_GLYPHS and unicodedata.category(ch) not in _BLANK_CATEGORIES for ch in text)


def _check_prompt(spec: ModelSpec, prompt: str) -> str:
    prompt = prompt.strip()
    if not has_visible_text(prompt):
        raise EmptyPrompt(spec.name)
    if len(prompt) > spec.max_prompt_chars:
        raise PromptTooLong(spec.name, len(prompt), spec.max_prompt_chars)
    return prompt


def _check_size(spec: ModelSpec, size: str | None) -> str:
    if size is None:
        return spec.default_size
    normalised = normalize_size(size)
    if not size_allowed(spec, normalised):
        extra = spec.custom_size_rule.describe() if spec.custom_size_rule else None
        raise OptionNotSupported(spec.name, "size", size, spec.sizes, extra=extra)
    return normalised


def _check_choice(
    spec: ModelSpec, option: str, value: str | None, allowed: tuple[str, ...], default: str | None
) -> str | None:
    if value is None:
        return default
    normalised = value.strip().lower()
    if normalised not in allowed:
        raise OptionNotSupported(spec.name, option, value, allowed)
    return normalised


def _check_n(spec: ModelSpec, n: int, limit: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
        raise OptionNotSupported(spec.name, "n", str(n), tuple(str(i) for i in range(1, limit + 1)))
    return n


def _check_output(
    spec: ModelSpec, background: str | None, output_format: str | None
) -> tuple[str | None, str | None]:
    """Background and output format, resolved to defaults and checked together."""
    resolved_background = _check_choice(
        spec, "background", background, spec.backgrounds, spec.default_background
    )
    resolved_format = _check_choice(
        spec, "format", output_format, spec.output_formats, spec.default_output_format
    )
    if resolved_background == "transparent" and resolved_format not in (None, *spec.transparent_formats):
        allowed = tuple(fmt for fmt in spec.output_formats if fmt in spec.transparent_formats)
        raise OptionNotSupported(
            spec.name, "format", resolved_format or "", allowed, reason="background=transparent"
        )
    return resolved_background, resolved_format


def _check_frames(spec: ModelSpec, output_format: str | None, frames: int | None) -> int | None:
    """The frame count of a GIF (its default when left out); frames without a GIF are refused."""
    if output_format != "gif" or spec.gif is None:
        if frames is not None:
            raise OptionNotSupported(spec.name, "frames", str(frames), (), reason="a format other than gif")
        return None
    rule = spec.gif
    if frames is None:
        return rule.default_frames
    allowed = tuple(str(i) for i in range(rule.min_frames, rule.max_frames + 1))
    if isinstance(frames, bool) or not rule.min_frames <= frames <= rule.max_frames:
        raise OptionNotSupported(spec.name, "frames", str(frames), allowed)
    return frames


def _check_gif_size(spec: ModelSpec, size: str | None, frames: int) -> str:
    """A GIF's size: the largest square frame that fits when left out; else it must fit the budget."""
    assert spec.gif is not None
    if size is None:
        side = spec.gif.largest_square(frames)
        return f"{side}x{side}"
    normalised = normalize_size(size)
    if not gif_size_allowed(spec, normalised, frames):
        raise OptionNotSupported(
            spec.name, "size", size, (), extra=spec.gif.describe(frames), reason="format gif"
        )
    return normalised


def validate(
    spec: ModelSpec,
    endpoint: Endpoint,
    *,
    n: int,
    prompt: str | None = None,
    options: ImageOptions = NO_OPTIONS,
    image_count: int = 1,
    supporting: tuple[str, ...] = (),
) -> Checked:
    """Check a job for ``endpoint`` against the model; ``n`` may go up to ``max_images`` (fan-out).

    Options the endpoint doesn't take are left out. Edits take ``image_count`` input images and no
    GIF output (OpenAI allows it without a mask; no command asks for it yet). ``supporting`` names
    the models that have the endpoint, for the refusal's words.
    """
    _check_endpoint(spec, endpoint, supporting)
    if endpoint == "variations":
        n = _check_n(spec, n, max_images(spec))
        return Checked(spec.name, None, n, ImageOptions(size=_check_size(spec, options.size)), 1)
    clean_prompt = _check_prompt(spec, prompt or "")
    if endpoint == "edits" and not 1 <= image_count <= spec.edit_max_images:
        allowed = tuple(str(i) for i in range(1, spec.edit_max_images + 1))
        raise OptionNotSupported(spec.name, "images", str(image_count), allowed)
    gif = spec.gif is not None and (options.output_format or "").strip().lower() == "gif"
    size = None if gif else _check_size(spec, options.size)  # a GIF's size depends on its frames
    quality = _check_choice(spec, "quality", options.quality, spec.qualities, spec.default_quality)
    style = None
    if endpoint == "generations":
        style = _check_choice(spec, "style", options.style, spec.styles, spec.default_style)
    background, output_format = _check_output(spec, options.background, options.output_format)
    if endpoint == "edits" and output_format == "gif":
        still = tuple(fmt for fmt in spec.output_formats if fmt != "gif")
        raise OptionNotSupported(spec.name, "format", "gif", still, reason="an edit")
    frames = _check_frames(spec, output_format, options.frames)
    if size is None:
        assert frames is not None
        size = _check_gif_size(spec, options.size, frames)
    resolved = ImageOptions(
        size=size,
        quality=quality,
        style=style,
        background=background,
        output_format=output_format,
        output_compression=options.output_compression,
        complexity=_check_choice(spec, "complexity", options.complexity, spec.complexities, None),
        frames=frames,
    )
    n = _check_n(spec, n, max_images(spec))
    return Checked(spec.name, clean_prompt, n, resolved, image_count if endpoint == "edits" else 0)
