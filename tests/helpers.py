"""Small helpers: reading what a user sees in SimCord; validating options as a command would."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from discord import app_commands
from PIL import Image

from bot.errors import BotError
from bot.images import Checked, ImageOptions, ModelSpec, validate
from bot.ui.error_handler import unwrap

#: the repository's root folder
REPO = Path(__file__).resolve().parent.parent


def answer_text(result) -> str:
    """The text the invoking user finally reads for an interaction (its last message)."""
    messages = [result.response, *result.followups]
    messages = [m for m in messages if m is not None]
    assert messages, "the interaction got no answer"
    return messages[-1].content


def labels(message) -> list[str]:
    """The labels of a message's buttons, in order."""
    return [
        c.label for row in message.components for c in getattr(row, "children", [row]) if hasattr(c, "label")
    ]


def answered_privately(result) -> bool:
    messages = [m for m in [result.response, *result.followups] if m is not None]
    return bool(messages) and messages[-1].ephemeral


async def images_of(message) -> list[Image.Image]:
    images = []
    for attachment in message.attachments:
        image = Image.open(io.BytesIO(await attachment.read()))
        image.load()
        images.append(image)
    return images


def everything_shown(env, channels) -> str:
    """Every message text and embed in ``channels``, plus interaction answers: for secret scans."""
    parts: list[str] = []
    for channel in channels:
        for message in channel.history():
            parts.append(message.content or "")
            parts.extend(json.dumps(embed.to_dict()) for embed in message.embeds)
    for request in env.http_requests:
        parts.append(json.dumps(request.json, default=str))
    return "\n".join(parts)


async def quota_of(bot, guild, member):
    return await bot.services.store.status(guild.id, member.id, now=datetime.now(UTC))


def image_bytes(
    width: int = 64,
    height: int = 64,
    *,
    fmt: str = "PNG",
    mode: str = "RGB",
    noise: bool = False,
    colour=(200, 80, 40),
) -> bytes:
    """A real image in ``fmt``; ``noise`` makes it incompressible (for size-limit tests)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).convert(mode)
    else:
        image = Image.new(mode, (width, height), colour if mode != "RGBA" else (*colour, 255))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def mask_bytes(width: int, height: int, box: tuple[int, int, int, int]) -> bytes:
    """A black-and-white mask, white inside ``box`` (the area to change)."""
    image = Image.new("L", (width, height), 0)
    image.paste(255, box)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def alpha_mask_bytes(width: int, height: int, transparent: tuple[int, int, int, int]) -> bytes:
    """A mask in the API's own convention: opaque, with the area to change transparent."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    image.paste((0, 0, 0, 0), transparent)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def generation(spec: ModelSpec, *, prompt: str, n: int, supporting=(), **options) -> Checked:
    """``validate`` for /imagine, with the options as keywords."""
    return validate(
        spec, "generations", prompt=prompt, n=n, options=ImageOptions(**options), supporting=supporting
    )


def edit(spec: ModelSpec, *, prompt: str, n: int, image_count=1, supporting=(), **options) -> Checked:
    """``validate`` for /edit, with the options as keywords."""
    return validate(
        spec,
        "edits",
        prompt=prompt,
        n=n,
        options=ImageOptions(**options),
        image_count=image_count,
        supporting=supporting,
    )


def variation(spec: ModelSpec, *, n: int, supporting=(), **options) -> Checked:
    """``validate`` for the variations endpoint, with the options as keywords."""
    return validate(spec, "variations", n=n, options=ImageOptions(**options), supporting=supporting)


def is_expected(error: BaseException) -> bool:
    """Refusals and upstream failures reach the error handler by design; anything else is a bug."""
    return isinstance(unwrap(error), BotError | app_commands.MissingPermissions)


def handled_errors(env) -> list[BaseException]:
    """The domain errors the bot's error handler reported, unwrapped."""
    return [unwrap(e) for e in env.errors]
