"""Reading an image request's body (JSON, multipart or urlencoded) into what the rules check.

Separate from the server so the OpenAI and the Azure routes read bodies the same way, and so the
shape decisions (which schema, which placeholders) stay in ``rules`` where ``check_request`` uses
them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from . import rules


@dataclass
class Parsed:
    """A request body: ``body`` is what the schema and rules see, ``error`` a refusal before them."""

    body: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    form: dict[str, str | list[str]] = field(default_factory=dict)
    files: dict[str, list[tuple[str, str, bytes]]] = field(default_factory=dict)
    schema: str | None = None
    error: str | None = None


async def parse(request: web.Request, endpoint: str) -> Parsed:
    parsed = Parsed()
    content_type = request.content_type
    if content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            parsed.error = "We could not parse the JSON body of your request."
            return parsed
        if not isinstance(data, dict):
            parsed.error = "The JSON body of your request must be an object."
            return parsed
        parsed.json = data
        parsed.body = dict(data)
        parsed.schema, parsed.error = rules.json_request(endpoint)
        return parsed
    if content_type == "application/x-www-form-urlencoded":
        for name, value in (await request.post()).items():
            add_field(parsed.form, name, str(value))
    elif content_type != "multipart/form-data":
        parsed.error = f"Unsupported content type {content_type!r}."
        return parsed
    reader = await request.multipart() if content_type == "multipart/form-data" else None
    while reader is not None:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name is None:
            parsed.error = "Malformed multipart body."
            return parsed
        if part.filename is not None:
            content = await part.read()
            ctype = part.headers.get("Content-Type", "application/octet-stream")
            parsed.files.setdefault(part.name, []).append((part.filename, ctype, bytes(content)))
        else:
            add_field(parsed.form, part.name, await part.text())
    parsed.schema, parsed.body, parsed.error = rules.form_request(endpoint, parsed.form, parsed.files)
    return parsed


def add_field(form: dict[str, str | list[str]], name: str, value: str) -> None:
    """Add a text field; a repeated name becomes a list."""
    existing = form.get(name)
    if existing is None:
        form[name] = value
    elif isinstance(existing, list):
        existing.append(value)
    else:
        form[name] = [existing, value]
