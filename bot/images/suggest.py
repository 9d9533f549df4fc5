"""Sizes for Discord autocomplete: every value proposed is one the model accepts.

Listed sizes first, then completions of what the member is typing for custom-size models, then (for
an animated GIF) only sizes whose frames fit the model's GIF budget.
"""

from __future__ import annotations

import re

from .catalogue import ModelSpec
from .sizes import CustomSizeRule, normalize_size, parse_wxh
from .validation import gif_size_allowed, size_allowed

__all__ = ["suggest_sizes"]

#: aspect ratios (w, h) proposed when completing a typed width
_RATIOS = ((1, 1), (16, 9), (9, 16), (4, 3), (3, 4), (3, 2), (2, 3), (2, 1), (1, 2), (3, 1), (1, 3))
_PARTIAL_RE = re.compile(r"^(\d+)(x(\d*))?$")


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def _nearest_multiples(value: int, multiple: int) -> tuple[int, ...]:
    low = value // multiple * multiple
    return (value,) if low == value else (low, low + multiple)


def _custom_completions(rule: CustomSizeRule, typed: str) -> list[str]:
    """Valid WxH sizes that complete a partly typed one ("2048", "2048x", "2048x11", "1000x1000")."""
    match = _PARTIAL_RE.match(typed)
    if not match:
        return []
    width = int(match.group(1))
    height_text = match.group(3)
    out: list[str] = []
    if match.group(2) and height_text:
        height = int(height_text)
        if rule.accepts(width, height):
            out.append(f"{width}x{height}")
        # heights that start with what was typed, nice ratios first
        by_ratio = [_round_to(width * h / w, rule.multiple) for w, h in _RATIOS]
        out += [f"{width}x{h}" for h in by_ratio if str(h).startswith(height_text)]
        out += [
            f"{width}x{h}"
            for h in range(rule.multiple, rule.max_edge + 1, rule.multiple)
            if str(h).startswith(height_text)
        ]
        # the nearest valid sizes to a complete but refused WxH (e.g. 1000x1000 -> 992x992, 1008x1008)
        for w in _nearest_multiples(width, rule.multiple):
            for h in _nearest_multiples(height, rule.multiple):
                out.append(f"{w}x{h}")
    else:
        out += [f"{width}x{_round_to(width * h / w, rule.multiple)}" for w, h in _RATIOS]
    return [size for size in out if (parsed := parse_wxh(size)) is not None and rule.accepts(*parsed)]


def suggest_sizes(
    spec: ModelSpec, typed: str, limit: int = 25, *, gif_frames: int | None = None
) -> list[str]:
    """Sizes for Discord autocomplete, best first; every value is one the model accepts (and, with
    ``gif_frames``, one whose frames fit the model's GIF budget)."""
    query = normalize_size(typed)
    catalogue = list(dict.fromkeys(spec.sizes + spec.suggested_sizes))
    candidates: list[str] = []
    if not query:
        candidates = catalogue
    else:
        rule = spec.custom_size_rule
        if rule is not None and rule.accepts_text(query):
            candidates.append(query)
        candidates += [size for size in catalogue if size.startswith(query)]
        if rule is not None:
            candidates += _custom_completions(rule, query)
        candidates += [size for size in catalogue if query in size]
    if gif_frames is not None:
        candidates = _gif_sizes(spec, gif_frames) + candidates
        unique = [size for size in dict.fromkeys(candidates) if gif_size_allowed(spec, size, gif_frames)]
        if query:
            unique = [size for size in unique if query in size]
    else:
        unique = [size for size in dict.fromkeys(candidates) if size_allowed(spec, size)]
    return unique[: max(limit, 0)]


def _gif_sizes(spec: ModelSpec, frames: int) -> list[str]:
    """The largest frame of each common shape that fits ``frames`` frames in the GIF budget."""
    if spec.gif is None:
        return []
    side = spec.gif.largest_square(frames)
    out = [f"{side}x{side}"]
    for w, h in _RATIOS[1:5]:
        for step in range(side * 2, 0, -spec.gif.multiple):
            width = step
            height = _round_to(width * h / w, spec.gif.multiple)
            if spec.gif.fits(width, height, frames):
                out.append(f"{width}x{height}")
                break
    return out
