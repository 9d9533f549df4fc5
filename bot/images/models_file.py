"""Operator rows for the model catalogue, read from the TOML file named by ``MODELS_FILE``.

Why a file: image models, their ids and their prices change faster than releases (OpenAI shut down
seven image model ids in 2026), and gateways serve models under names of their own (a LiteLLM
``model_name``, an Azure deployment, ``openai/gpt-image-2.6-sunburst``). A row starts from an
existing row (``like``) and overrides only what differs, so an operator writes the few facts they
know and inherits the rest. Every problem is a ``ModelsFileError`` naming the row and the field, so
a bad file stops the bot at start-up instead of turning into upstream 400s mid-job. The operator's
reference is docs/models-file.md. Pure apart from reading the file.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from .builtin_models import BUILTIN_MODELS
from .catalogue import ENDPOINTS, GifRule, ModelCatalogue, ModelSpec, Retirement
from .pricing import ImagePrice, PerImagePricing, Pricing, TokenPricing
from .sizes import CustomSizeRule, normalize_size, parse_wxh

__all__ = ["ModelsFileError", "load_models_file", "parse_models"]

MB = 1024 * 1024
NAME_MAX = 100  # Discord's limit for a choice value
UPSTREAM_MAX = 200
OUTPUT_FORMATS = ("png", "jpeg", "webp", "gif")
EDIT_FORMATS = ("png", "jpeg", "webp")
BACKGROUNDS = ("transparent", "opaque", "auto")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_WORD = re.compile(r"\S{1,50}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SIZE = 'a size such as "1024x1024" or "auto"'
_PRICES = "a table such as {per_image = 0.04} or {text_input = 5, image_input = 8, output = 30}"
#: (list field, its default): the default must be listed, or None when the list is empty
_DEFAULT_PAIRS = (
    ("qualities", "default_quality"),
    ("styles", "default_style"),
    ("output_formats", "default_output_format"),
    ("backgrounds", "default_background"),
)
_RULE_LIMITS = {
    "multiple": (1, 1024),
    "max_ratio": (1, 100),
    "max_edge": (1, 10**5),
    "max_pixels": (1, 10**10),
}
#: frames stop at 16: GifRule's sheet layouts go no further
_FRAMES = {"min_frames": (1, 16), "default_frames": (1, 16), "max_frames": (1, 16)}
_GIF_LIMITS = {**_FRAMES, "sheet_max_edge": (16, 10**5), "sheet_max_pixels": (256, 10**10)}
_RATES = {
    "text_input": "text_input_per_million",
    "image_input": "image_input_per_million",
    "output": "output_per_million",
}
#: read after the other fields of a row (they depend on the result)
_LATER = ("like", "prices", "shutdown_date", "replacement")


class ModelsFileError(Exception):
    """A problem in the models file, at ``models."<row>".<field>`` (``row``/``field`` None: above it)."""

    def __init__(self, problem: str, *, row: str | None = None, field: str | None = None) -> None:
        self.row, self.field, self.problem = row, field, problem
        super().__init__(f"{self.where}: {problem}")

    @property
    def where(self) -> str:
        parts = [] if self.row is None else [f"models.{json.dumps(self.row, ensure_ascii=False)}"]
        return ".".join([*parts, *([self.field] if self.field else [])]) or "file"


class _Bad(Exception):
    """A problem found while reading a value; ``path`` says where, below the row."""

    def __init__(self, problem: str, *path: str) -> None:
        super().__init__(problem)
        self.problem, self.path = problem, path


def _under(key: str, read: Callable[..., Any], *args: Any) -> Any:
    """``read(*args)``, with ``key`` prefixed to the path of any problem."""
    try:
        return read(*args)
    except _Bad as bad:
        raise _Bad(bad.problem, key, *bad.path) from None


def _key(*keys: str) -> str:
    return ".".join(key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False) for key in keys)


def _show(value: Any) -> str:
    """A value as the operator wrote it (near enough: TOML and JSON agree on scalars and lists)."""
    text = "a table" if isinstance(value, Mapping) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _alternatives(values: Any) -> str:
    shown = [_show(value) for value in values]
    return " or ".join(shown) if len(shown) < 3 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _find(rows: Mapping[str, Any], wanted: str) -> str | None:
    """The key of ``rows`` that is ``wanted``, exactly or else ignoring case."""
    if wanted in rows:
        return wanted
    return next((key for key in rows if key.lower() == wanted.lower()), None)


def _must(ok: Any, what: str, value: Any) -> Any:
    if not ok:
        raise _Bad(f"must be {what} (got {_show(value)})")
    return value


def _whole(value: Any, low: int, high: int) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    return _must(ok, f"a whole number from {low:,} to {high:,}", value)


def _number(value: Any, minimum: float, strict: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > minimum if strict else value >= minimum)
    return float(_must(ok, f"a number {'greater than' if strict else 'of at least'} {minimum}", value))


def _ident(value: Any, limit: int) -> str:
    ok = isinstance(value, str) and value.strip() == value and 0 < len(value) <= limit
    return _must(ok, f"a name of 1 to {limit} characters, without surrounding spaces", value)


def _flag(value: Any) -> bool:
    return _must(isinstance(value, bool), "true or false", value)


def _word(value: Any, allowed: tuple[str, ...] | None = None, what: str = "a word without spaces") -> str:
    ok = isinstance(value, str) and _WORD.fullmatch(value) and (allowed is None or value in allowed)
    return _must(ok, what, value)


def _words(value: Any, allowed: tuple[str, ...] | None = None, required: str = "") -> tuple[str, ...]:
    """A list of words (of ``allowed`` when given); ``required``: what an empty list lacks."""
    what = f"a list of {_alternatives(allowed) if allowed else 'words without spaces'}"
    items = tuple(_word(item, allowed, what) for item in _must(isinstance(value, list), what, value))
    return _unique(items, required)


def _unique(items: tuple[str, ...], required: str) -> tuple[str, ...]:
    if required and not items:
        raise _Bad(f"must list {required}")
    for index, item in enumerate(items):
        if item in items[:index]:
            raise _Bad(f"lists {_show(item)} twice")
    return items


def _size(value: Any, what: str = _SIZE) -> str:
    size = normalize_size(value) if isinstance(value, str) else ""
    parsed = parse_wxh(size)
    _must(size == "auto" or (parsed is not None and min(parsed) > 0), what, value)
    return size


def _date(value: Any) -> date:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise _Bad(f"must be a date such as 2027-01-31 (or false to clear it) (got {_show(value)})")


def _ints(table: Mapping[str, Any], limits: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    for key in table:
        if key not in limits:
            raise _Bad(f"is not a field here; use {_alternatives(limits)}", key)
    return {key: _under(key, _whole, value, *limits[key]) for key, value in table.items()}


def _sizes(value: Any, like: ModelSpec) -> dict[str, Any]:
    what = 'a list of sizes such as "1024x1024" or "auto"'
    items = tuple(_size(item, what) for item in _must(isinstance(value, list), what, value))
    return {"sizes": _unique(items, "at least one size")}


def _custom_sizes(value: Any, like: ModelSpec) -> dict[str, Any]:
    if value is False:
        return {"custom_size_rule": None, "suggested_sizes": ()}
    what = f"true, false or a table of {_alternatives(_RULE_LIMITS)}"
    table = _must(isinstance(value, bool | Mapping), what, value) if value is not True else {}
    start = CustomSizeRule() if value is True else (like.custom_size_rule or CustomSizeRule())
    rule = replace(start, **_ints(table, _RULE_LIMITS))
    suggested = tuple(filter(rule.accepts_text, like.suggested_sizes))
    return {"custom_size_rule": rule, "suggested_sizes": suggested}


def _gif(value: Any, like: ModelSpec) -> dict[str, Any]:
    if value is False:
        return {"gif": None}
    _must(isinstance(value, bool | Mapping), f"false or a table of {_alternatives(_GIF_LIMITS)}", value)
    table = {} if value is True else value
    changes: dict[str, Any] = _ints(table, _GIF_LIMITS)
    rule = replace(like.gif or GifRule(), **changes)
    frames = (rule.min_frames, rule.default_frames, rule.max_frames)
    if not frames[0] <= frames[1] <= frames[2]:
        problem = f"needs min_frames <= default_frames <= max_frames (got {', '.join(map(str, frames))})"
        raise _Bad(problem, next(key for key in _FRAMES if key in table))
    if rule.largest_square(rule.max_frames) < rule.multiple:
        blame = next(key for key in ("sheet_max_pixels", "sheet_max_edge", "max_frames") if key in table)
        raise _Bad(f"leaves no room for {rule.max_frames} frames on the sheet", blame)
    return {"gif": rule}


def _set(attr: str, read: Callable[[Any], Any]) -> Callable[[Any, ModelSpec], dict[str, Any]]:
    return lambda value, like: {attr: read(value)}


_FIELDS: dict[str, Callable[[Any, ModelSpec], dict[str, Any]]] = {
    "upstream": _set("upstream", lambda value: _ident(value, UPSTREAM_MAX)),
    "summary": _set("summary", lambda value: _must(isinstance(value, str), "a string", value)),
    "endpoints": _set("endpoints", lambda value: frozenset(_words(value, ENDPOINTS, "an endpoint"))),
    "sizes": _sizes,
    "default_size": _set("default_size", _size),
    "custom_sizes": _custom_sizes,
    "qualities": _set("qualities", _words),
    "styles": _set("styles", _words),
    "output_formats": _set("output_formats", lambda value: _words(value, OUTPUT_FORMATS)),
    "backgrounds": _set("backgrounds", lambda value: _words(value, BACKGROUNDS)),
    "transparent_formats": _set("transparent_formats", lambda value: _words(value, OUTPUT_FORMATS)),
    "complexities": _set("complexities", _words),
    "gif": _gif,
    "moderation": _set("moderation_levels", _words),
    "max_n": _set("images_per_request", lambda value: _whole(value, 1, 10)),
    "prompt_max": _set("max_prompt_chars", lambda value: _whole(value, 1, 1_000_000)),
    "response_format": _set("accepts_response_format", _flag),
    "revised_prompt": _set("returns_revised_prompt", _flag),
    "edit_max_images": _set("edit_max_images", lambda value: _whole(value, 0, 16)),
    "edit_max_input_mb": _set("edit_max_input_bytes", lambda value: round(_number(value, 0, True) * MB)),
    "edit_input_formats": _set("edit_input_formats", lambda value: _words(value, EDIT_FORMATS)),
    "edit_square_png": _set("edit_requires_square_png", _flag),
    "mask_max_mb": _set("mask_max_bytes", lambda value: round(_number(value, 0) * MB)),
    **{default: _set(default, _word) for _, default in _DEFAULT_PAIRS},
}


def _field(key: str, value: Any, like: ModelSpec) -> dict[str, Any]:
    """The ModelSpec changes one TOML field makes (those in ``_LATER`` are read elsewhere)."""
    if key in _FIELDS:
        return _FIELDS[key](value, like)
    if key in _LATER:
        return {}
    guess = difflib.get_close_matches(key, [*_FIELDS, *_LATER], n=1)
    raise _Bad(
        f'is not a field (did you mean "{guess[0]}"?)' if guess else "is not a field; see docs/models-file.md"
    )


def _quality(value: str, qualities: tuple[str, ...]) -> str:
    if value not in qualities:
        listed = f"one of the row's qualities ({_alternatives(qualities)})" if qualities else "a quality"
        raise _Bad(f"{_show(value)} is not {listed}")
    return value


def _image_price(key: str, usd: Any, qualities: tuple[str, ...]) -> ImagePrice:
    parts = key.split()
    if len(parts) not in (1, 2):
        raise _Bad('must be a quality or "quality size", such as "high 1024x1536"')
    quality = "*" if parts[0] == "*" else _quality(parts[0], qualities)
    size = "*" if parts[-1] == "*" or len(parts) == 1 else _size(parts[1], 'a quality or "quality WxH"')
    if size == "auto":
        raise _Bad('names size "auto"; name the sizes (or "*" for any)')
    return ImagePrice(quality, size, _number(usd, 0))


def _per_image(value: Any, qualities: tuple[str, ...]) -> PerImagePricing:
    if not isinstance(value, Mapping):
        return PerImagePricing((ImagePrice("*", "*", _number(value, 0)),))
    if not value:
        raise _Bad('lists no price; write per_image = 0.04 or per_image = {"high 1024x1024" = 0.17, ...}')
    entries = (_under(key, _image_price, key, usd, qualities) for key, usd in value.items())
    return PerImagePricing(tuple(entries))


def _estimate(value: Any, qualities: tuple[str, ...]) -> dict[str, int]:
    _must(isinstance(value, Mapping) and value, "a table of tokens by quality, such as {high = 1353}", value)
    for key in value:
        _under(key, _quality, key, qualities)
    return {key: _under(key, _whole, tokens, 1, 1_000_000) for key, tokens in value.items()}


def _token_pricing(value: Mapping[str, Any], inherited: Pricing, qualities: tuple[str, ...]) -> TokenPricing:
    for key in value:
        if key not in (*_RATES, "output_tokens_estimate"):
            raise _Bad("is not a price; use per_image, or text_input, image_input and output", key)
    rates: dict[str, Any] = {
        _RATES[key]: _under(key, _number, value[key], 0) for key in value if key in _RATES
    }
    if isinstance(inherited, TokenPricing):
        rates = {attr: getattr(inherited, attr) for attr in _RATES.values()} | rates
        rates["output_tokens_estimate"] = inherited.output_tokens_estimate
    elif missing := [key for key in _RATES if key not in value]:
        raise _Bad(
            f"needs text_input, image_input and output, as the row it is like is priced per image "
            f"(missing {', '.join(missing)})"
        )
    if "output_tokens_estimate" in value:
        estimate = value["output_tokens_estimate"]
        rates["output_tokens_estimate"] = _under("output_tokens_estimate", _estimate, estimate, qualities)
    return TokenPricing(**rates)


def _pricing(value: Any, inherited: Pricing, qualities: tuple[str, ...]) -> Pricing:
    _must(isinstance(value, Mapping), _PRICES, value)
    if "per_image" not in value:
        return _token_pricing(value, inherited, qualities)
    for key in value:
        if key != "per_image":
            raise _Bad("cannot be combined with per_image", key)
    return _under("per_image", _per_image, value["per_image"], qualities)


def _retirement(table: Mapping[str, Any], inherited: Retirement | None) -> Retirement | None:
    if "shutdown_date" not in table:
        if "replacement" in table:
            raise _Bad("needs a shutdown_date in the same row", "replacement")
        return inherited
    if table["shutdown_date"] is False:
        if "replacement" in table:
            raise _Bad("cannot be set when shutdown_date is false", "replacement")
        return None
    shutdown = _under("shutdown_date", _date, table["shutdown_date"])
    replacement = table.get("replacement")
    if replacement is not None:
        _under("replacement", _ident, replacement, NAME_MAX)
    return Retirement(shutdown, replacement, scope="operator")


def _like(name: str, table: Mapping[str, Any], rows: Mapping[str, ModelSpec]) -> ModelSpec:
    """The row this one starts from (``like``, else the base row of the same name); checks the name."""
    if not name or len(name) > NAME_MAX or any(char.isspace() for char in name):
        raise _Bad(f"a row name must be 1 to {NAME_MAX} characters without spaces")
    if (same := _find(rows, name)) not in (None, name):
        raise _Bad(f"differs from the row {_show(same)} only in case; write it exactly to override that row")
    if "like" not in table:
        if name in rows:
            return rows[name]
        raise _Bad("is required for a new row: name a built-in row, or a row defined above", "like")
    wanted = _under("like", _ident, table["like"], NAME_MAX)
    if (found := _find(rows, wanted)) is None:
        known = ", ".join(list(rows)[:20]) + (", ..." if len(rows) > 20 else "")
        raise _Bad(f"names no built-in row or row defined above (got {_show(wanted)}); rows: {known}", "like")
    return rows[found]


def _settle(changes: dict[str, Any], like: ModelSpec, table: Mapping[str, Any]) -> None:
    """GIF output and its rule go together; defaults follow their lists."""
    formats = changes.get("output_formats", like.output_formats)
    if "gif" in table and changes["gif"] is None and "gif" in formats and "output_formats" in table:
        raise _Bad('is false but output_formats lists "gif"', "gif")
    gif = changes["gif"] if "gif" in table else (like.gif or GifRule()) if "gif" in formats else None
    if gif is None or "gif" not in formats:
        formats = tuple(fmt for fmt in formats if fmt != "gif") + (() if gif is None else ("gif",))
    changes.update(gif=gif, output_formats=formats)
    for listed, default in _DEFAULT_PAIRS:
        values = changes.get(listed, getattr(like, listed))
        value = changes.get(default, getattr(like, default))
        if value is not None and value in values:
            continue
        if not values and default not in table:
            changes[default] = None
        elif default not in table:
            lacks = (
                "has no default" if value is None else f"leaves out {_show(value)}, the default it inherits"
            )
            raise _Bad(f"{lacks}; set {default} too", listed)
        elif not values:
            raise _Bad(f"cannot be set: {listed} is empty", default)
        else:
            raise _Bad(f"must be one of {listed} ({_alternatives(values)}) (got {_show(value)})", default)


def _check(spec: ModelSpec, table: Mapping[str, Any]) -> None:
    """What no single field can check: the default size, and what edits and variations need."""
    rule = spec.custom_size_rule
    if spec.default_size not in spec.sizes and not (rule and rule.accepts_text(spec.default_size)):
        blame = next((key for key in ("default_size", "sizes", "custom_sizes") if key in table), "sizes")
        refused = " and custom_sizes does not accept it" if rule else ""
        raise _Bad(f"default_size {_show(spec.default_size)} is not in sizes{refused}", blame)
    taker = '"edits"' if spec.supports("edits") else '"variations"' if spec.supports("variations") else ""
    for key, broken, requirement in (
        ("edit_max_images", spec.supports("edits") and spec.edit_max_images < 1, "at least 1"),
        ("edit_max_input_mb", taker and spec.edit_max_input_bytes <= 0, "greater than 0"),
        ("edit_input_formats", taker and not spec.edit_input_formats, "a non-empty list"),
    ):
        if broken and key in table:
            raise _Bad(f"must be {requirement} while endpoints include {taker}", key)
        if broken:
            raise _Bad(f"include {taker}, which needs {key} to be {requirement}; set it too", "endpoints")


def _build_row(name: str, table: Any, rows: Mapping[str, ModelSpec], base: ModelCatalogue) -> ModelSpec:
    if not isinstance(table, Mapping):
        raise _Bad(f'must be a table of fields, such as [models."{name}"] (got {_show(table)})')
    like = _like(name, table, rows)
    own = base.get(name)  # upstream and retirement belong to the name, never to ``like``
    changes: dict[str, Any] = {"name": name, "upstream": own.upstream if own else ""}
    for key, value in table.items():
        changes.update(_under(key, _field, key, value, like))
    _settle(changes, like, table)
    if "prices" in table:
        qualities = changes.get("qualities", like.qualities)
        changes["pricing"] = _under("prices", _pricing, table["prices"], like.pricing, qualities)
    changes["retirement"] = _retirement(table, own.retirement if own else None)
    spec = replace(like, **changes)
    _check(spec, table)
    return spec


def _resolve_replacements(tables: Mapping[str, Any], merged: dict[str, ModelSpec]) -> None:
    """Each written ``replacement`` must name another row of the final catalogue (any case)."""
    for name, table in tables.items():
        spec = merged[name]
        if "replacement" not in table or spec.retirement is None:
            continue
        target = _find(merged, table["replacement"])
        if target is None or target == name:
            problem = "cannot name the row itself" if target else "names no row of the catalogue"
            problem += f" (got {_show(table['replacement'])})"
            raise ModelsFileError(problem, row=name, field="replacement")
        merged[name] = replace(spec, retirement=replace(spec.retirement, replacement=target))


def _rows(data: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The ``models`` table and ``builtins`` flag, checked."""
    for key in data:
        if key not in ("models", "builtins"):
            raise ModelsFileError(
                'is not a top-level key; use [models."<name>"] and builtins', field=_key(key)
            )
    keep, tables = data.get("builtins", True), data.get("models", {})
    if not isinstance(keep, bool):
        raise ModelsFileError(f"must be true or false (got {_show(keep)})", field="builtins")
    if not isinstance(tables, Mapping):
        problem = f'must be a table of rows such as [models."house-model"] (got {_show(tables)})'
        raise ModelsFileError(problem, field="models")
    if not keep and not tables:
        raise ModelsFileError("is false, but the file defines no rows to offer", field="builtins")
    return tables, keep


def parse_models(data: Mapping[str, Any], base: ModelCatalogue = BUILTIN_MODELS) -> ModelCatalogue:
    """The catalogue an already-parsed models file describes: its new rows first (file order), then
    ``base``'s rows in their order, overridden where the file names them (only the file's rows when
    it says ``builtins = false``)."""
    tables, keep = _rows(data)
    rows: dict[str, ModelSpec] = {}
    for name, table in tables.items():
        try:
            rows[name] = _build_row(name, table, {**base, **rows}, base)
        except _Bad as bad:
            field = _key(*bad.path) if bad.path else None
            raise ModelsFileError(bad.problem, row=name, field=field) from None
    merged = {name: spec for name, spec in rows.items() if name not in base}
    merged.update({name: rows.get(name, spec) for name, spec in base.items() if keep or name in rows})
    _resolve_replacements(tables, merged)
    return ModelCatalogue(merged)


def load_models_file(path: str | os.PathLike[str], base: ModelCatalogue = BUILTIN_MODELS) -> ModelCatalogue:
    """The catalogue the TOML file at ``path`` describes (see ``parse_models``)."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise ModelsFileError(f"cannot be read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise ModelsFileError(f"is not UTF-8 text ({error.reason} at byte {error.start})") from error
    except tomllib.TOMLDecodeError as error:
        raise ModelsFileError(f"is not valid TOML: {error}") from error
    return parse_models(data, base)
