"""Small helpers for reading what a user sees in SimCord."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from PIL import Image


def answer_text(result) -> str:
    """The text the invoking user finally reads for an interaction (its last message)."""
    messages = [result.response, *result.followups]
    messages = [m for m in messages if m is not None]
    assert messages, "the interaction got no answer"
    return messages[-1].content


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
    return await bot.store.status(guild.id, member.id, now=datetime.now(UTC))
