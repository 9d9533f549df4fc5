"""The fake's successful answers: real images (or animated GIFs), and the GPT image models' report
of what they did (size, quality, background, output_format) with a plausible token ``usage``.

Separate from the server: what a success looks like is a model of the real API, the server only
decides when to send one.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .catalog import ModelCaps, parse_wxh
from .images import make_gif, make_image

if TYPE_CHECKING:
    from .parsing import Parsed
    from .server import FakeImagesAPI

__all__ = ["download", "request_tokens", "success", "usage"]

#: Output tokens of one 1024x1024 image by quality. low/medium/high are gpt-image-1's published
#: counts (272 / 1056 / 4160). No count is published for xhigh and max (2.5/2.6): the fake uses 1.5x
#: and 2x high (6240 / 8320), so a client that bills from ``usage`` sees them cost more than high.
#: Scaled by pixels; a GIF is billed as frame_count images of its frame size (the frames are rendered
#: on one sheet of frame_count frames), so 9 frames cost about 9 images. Plausible, not measured.
OUTPUT_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 6240, "max": 8320, "auto": 1056}
#: input tokens per input image (a plausible constant; the real count depends on the image)
INPUT_IMAGE_TOKENS = 323


async def success(fake: FakeImagesAPI, endpoint: str, caps: ModelCaps, parsed: Parsed) -> web.Response:
    body = parsed.body
    n = body.get("n") or 1
    size = body.get("size") or caps.default_size
    width, height = parse_wxh("1024x1024" if size == "auto" else size) or (1024, 1024)
    image_format = (body.get("output_format") or "png") if caps.gpt_image else "png"
    transparent = body.get("background") == "transparent"
    frames = 1
    if image_format == "gif" and caps.gif is not None:
        frames = body.get("frame_count") or caps.gif.default_frames
        duration = body.get("frame_duration_ms") or caps.gif.default_duration_ms
        images = [
            await asyncio.to_thread(make_gif, width, height, frames, duration, index) for index in range(n)
        ]
    else:
        images = [
            await asyncio.to_thread(
                make_image, width, height, image_format, index, transparent, fake.noise, fake.photo
            )
            for index in range(n)
        ]
    use_url = fake.url_results or (
        caps.accepts_response_format and body.get("response_format", "url") == "url"
    )
    items: list[dict[str, Any]] = []
    for data in images:
        item: dict[str, Any]
        if use_url:
            item = {"url": fake._store_file(data, image_format)}
        else:
            item = {"b64_json": base64.b64encode(data).decode("ascii")}
        if caps.returns_revised_prompt:
            item["revised_prompt"] = f"A detailed, vivid rendering of: {body.get('prompt', '')}"
        items.append(item)
    payload: dict[str, Any] = {"created": int(time.time()), "data": items}
    if caps.gpt_image:  # the GPT image family reports what it did, and its token usage
        quality = body.get("quality") or "auto"
        payload.update(
            size=f"{width}x{height}",
            quality="medium" if quality == "auto" else quality,
            background="transparent" if transparent else "opaque",
            output_format=image_format,
            usage=usage(body, parsed.files, width * height, n, frames),
        )
        if fake.usage_answer is False:
            del payload["usage"]
        elif isinstance(fake.usage_answer, dict):
            payload["usage"] = fake.usage_answer
    return web.json_response(payload, headers=fake._headers())


def usage(
    body: dict[str, Any], files: dict[str, list[Any]], pixels: int, n: int, frames: int = 1
) -> dict[str, Any]:
    """``usage`` of a GPT image answer: text tokens ~ prompt length / 4, a constant per input image,
    output tokens per ``OUTPUT_TOKENS_1024`` scaled by pixels, images and GIF frames."""
    prompt = body.get("prompt") or ""
    text_tokens = max(1, len(prompt) // 4)
    image_count = len(files.get("image", [])) + len(files.get("image[]", []))
    image_count += len(body.get("images", []) or [])
    image_tokens = INPUT_IMAGE_TOKENS * image_count
    per_image = OUTPUT_TOKENS_1024.get(body.get("quality") or "auto", 1056) * pixels // (1024 * 1024)
    output_tokens = max(1, per_image) * frames * n
    return {
        "input_tokens": text_tokens + image_tokens,
        "output_tokens": output_tokens,
        "total_tokens": text_tokens + image_tokens + output_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
    }


def request_tokens(body: dict[str, Any], files: dict[str, list[Any]]) -> int:
    """The tokens a request is counted for at arrival against a tokens-per-minute limit: the
    ``total_tokens`` its answer reports (as for a GPT image model)."""
    size = body.get("size")
    width, height = parse_wxh(size if isinstance(size, str) and size != "auto" else "1024x1024") or (
        1024,
        1024,
    )
    n = body.get("n") if isinstance(body.get("n"), int) and body["n"] > 0 else 1
    frames = 1
    if body.get("output_format") == "gif":
        count = body.get("frame_count")
        frames = count if isinstance(count, int) and count > 0 else 9
    return usage(body, files, width * height, n, frames)["total_tokens"]


async def download(fake: FakeImagesAPI, request: web.Request) -> web.StreamResponse:
    """``GET /v1/_files/{token}``: a ``url`` result (must be fetched without the API key)."""
    token = request.match_info["token"].split(".", 1)[0]
    if "Authorization" in request.headers:
        fake._record_violation(f"GET {request.path}: a url download sent an Authorization header")
    with fake._lock:
        fake._downloads.append(request.path)
        entry = fake._files.get(token)
    if entry is None:
        return web.Response(status=404, text="expired or unknown file")
    data, content_type = entry
    if not fake.url_chunked:
        return web.Response(body=data, content_type=content_type)
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, len(data), 16 * 1024):
        await response.write(data[start : start + 16 * 1024])
    await response.write_eof()
    return response
