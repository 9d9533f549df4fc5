"""Requests to the fake as a client would make them, for the fake's own tests."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from PIL import Image

from tests.fakeapi import FakeImagesAPI
from tests.fakeapi import spec as fake_spec


def auth(fake: FakeImagesAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.api_key}"}


def png(width: int, height: int, *, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height)).save(out, "JPEG")
    return out.getvalue()


async def post_json(http, fake, endpoint: str, body: dict[str, Any], **kwargs) -> tuple[int, Any, Any]:
    headers = kwargs.pop("headers", auth(fake))
    async with http.post(f"{fake.base_url}/images/{endpoint}", json=body, headers=headers, **kwargs) as r:
        return r.status, await r.json(content_type=None), r.headers


async def post_form(
    http, fake, endpoint: str, fields: dict[str, str], files: list[tuple[str, str, bytes]]
) -> tuple[int, Any, Any]:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, filename, data in files:
        form.add_field(name, data, filename=filename, content_type="image/png")
    async with http.post(f"{fake.base_url}/images/{endpoint}", data=form, headers=auth(fake)) as r:
        return r.status, await r.json(content_type=None), r.headers


def assert_openai_error(payload: Any) -> dict[str, Any]:
    fake_spec.validator("ErrorResponse").validate(payload)
    assert set(payload["error"]) == {"message", "type", "param", "code"}
    return payload["error"]
