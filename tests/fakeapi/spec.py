"""The OpenAPI subset (official, plus ``x-added`` fields), loaded once, and JSON-Schema validators
for its request bodies."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

#: OpenAI's official OpenAPI description, Images subset (openai/openai-openapi, commit f85dbe2,
#: 2026-08-21), plus what OpenAI's API reference added after it (2026-12): quality ``xhigh``/``max``,
#: output_format ``gif``, and ``complexity``, ``frame_count``, ``frame_duration_ms`` on generations and
#: both edit bodies, each marked ``x-added`` (``x-added-enum`` for new enum values). A copy of
#: shared/reference/openai-images.openapi.yaml kept beside the fake so the tests run from any clone.
SPEC_PATH = Path(__file__).resolve().parent / "openai-images.openapi.yaml"

BINARY_PLACEHOLDER = "<binary>"


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"the fake Images API needs the OpenAPI spec at {path} (restore it from git)")
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _schemas() -> dict[str, Any]:
    return load_spec()["components"]["schemas"]


@functools.cache
def validator(schema_name: str) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<schema_name>`` with every ``$ref`` resolvable."""
    if schema_name not in _schemas():
        raise KeyError(f"no schema {schema_name!r} in {SPEC_PATH}")
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": load_spec()["components"]}
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return _resolve(_schemas()[ref.rsplit("/", 1)[1]])
    return schema


def properties(schema_name: str) -> dict[str, Any]:
    return {name: _resolve(value) for name, value in _resolve(_schemas()[schema_name])["properties"].items()}


def _types(schema: dict[str, Any]) -> set[str]:
    schema = _resolve(schema)
    found: set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(declared)
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            found |= _types(option)
    return found


_INT_RE = re.compile(r"^-?\d+$")


def coerce_form(schema_name: str, form: dict[str, str | list[str]]) -> dict[str, Any]:
    """Turn multipart text fields into the JSON types the schema declares (``"2"`` -> 2 for ``n``)."""
    props = properties(schema_name)
    out: dict[str, Any] = {}
    for name, value in form.items():
        types = _types(props[name]) if name in props else set()

        def convert(text: str, types: set[str] = types) -> Any:
            if "integer" in types and _INT_RE.match(text):
                return int(text)
            if "boolean" in types and text in ("true", "false"):
                return text == "true"
            return text

        out[name] = [convert(v) for v in value] if isinstance(value, list) else convert(value)
    return out


def schema_errors(schema_name: str, instance: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(param, message) for every schema violation and every property the schema does not define."""
    known = set(properties(schema_name))
    errors: list[tuple[str | None, str]] = [
        (key, f"Unrecognized request argument supplied: {key}") for key in instance if key not in known
    ]
    for error in sorted(validator(schema_name).iter_errors(instance), key=lambda e: list(e.path)):
        path = [str(part) for part in error.path]
        if error.validator == "required" and not path and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]
            errors += [(name, f"Missing required parameter: '{name}'.") for name in missing]
            continue
        param = path[0] if path else None
        where = ".".join(path) or "body"
        errors.append((param, f"Invalid value for '{where}': {error.message}"))
    return errors
