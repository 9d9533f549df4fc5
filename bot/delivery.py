"""Turn a job's images into one Discord message: files plus an embed that fits every text limit.

An interaction's token lives 15 minutes; a result ready later goes out as a plain channel message
that mentions its owner, so it is never lost.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

import discord

from bot.errors import DeliveryFailed
from bot.images import EditRequest, GenerateRequest
from bot.jobs import Delivery
from bot.messages import describe_error, plural, quota_line, shorten

MAX_FILES = 10  # Discord: attachments per message
TOKEN_LIFETIME = 15 * 60
TOKEN_MARGIN = 60  # don't start a followup the token may not outlive
PROMPT_PREVIEW = 1000  # of the embed description's 4096: a prompt is shown, not archived
FIELD_LIMIT = 1024


@dataclass(frozen=True)
class Target:
    """Where a job's result goes: the interaction while its token lives, the channel after."""

    interaction: discord.Interaction
    acknowledged_at: float  # loop.time() when the interaction was acknowledged

    def token_alive(self) -> bool:
        return asyncio.get_running_loop().time() - self.acknowledged_at < TOKEN_LIFETIME - TOKEN_MARGIN


def image_files(delivery: Delivery) -> list[discord.File]:
    return [
        discord.File(io.BytesIO(image.data), filename=f"image_{index}.{image.format}")
        for index, image in enumerate(delivery.images[:MAX_FILES], start=1)
    ]


def result_embed(delivery: Delivery, owner: discord.abc.User) -> discord.Embed:
    request = delivery.job.request
    prompt = getattr(request, "prompt", None)
    embed = discord.Embed(
        description=f"**Prompt:** {shorten(prompt, PROMPT_PREVIEW)}" if prompt else None,
        colour=discord.Colour.blurple(),
    )
    embed.set_author(name=f"{owner.display_name}'s {_noun(delivery)}", icon_url=owner.display_avatar.url)
    embed.add_field(name="Model", value=request.model)
    if request.size:
        embed.add_field(name="Size", value=request.size)
    quality = getattr(request, "quality", None)
    if quality:
        embed.add_field(name="Quality", value=quality)
    style = getattr(request, "style", None)
    if style:
        embed.add_field(name="Style", value=style)
    background = getattr(request, "background", None)
    if background and background != "auto":
        embed.add_field(name="Background", value=background)
    if delivery.revised_prompt:
        embed.add_field(
            name="Revised prompt", value=shorten(delivery.revised_prompt, FIELD_LIMIT), inline=False
        )
    if delivery.failures:
        made, asked = len(delivery.images), delivery.job.n
        reason = describe_error(delivery.failures[0])
        embed.add_field(
            name=f"{made} of {plural(asked, 'image')} made",
            value=shorten(f"{asked - made} failed and cost nothing. {reason}", FIELD_LIMIT),
            inline=False,
        )
    embed.add_field(
        name="Quota", value=quota_line(delivery.quota, remaining=delivery.remaining_after), inline=False
    )
    return embed


def _noun(delivery: Delivery) -> str:
    request = delivery.job.request
    if isinstance(request, GenerateRequest):
        return "image" if delivery.job.n == 1 else "images"
    if isinstance(request, EditRequest):
        return "edit"
    return "variation" if delivery.job.n == 1 else "variations"


async def post(target: Target, delivery: Delivery) -> int:
    """Post the delivery; returns how many images reached the channel."""
    interaction = target.interaction
    embed = result_embed(delivery, interaction.user)
    files = image_files(delivery)
    try:
        if target.token_alive():
            await interaction.followup.send(embed=embed, files=files)
        else:
            channel = interaction.channel
            assert isinstance(channel, discord.abc.Messageable)
            await channel.send(
                content=f"{interaction.user.mention}, your {_noun(delivery)} finished:",
                embed=embed,
                files=files,
                allowed_mentions=discord.AllowedMentions(users=[interaction.user]),
            )
    except discord.HTTPException as error:
        raise DeliveryFailed(error.status, error.text or str(error)) from error
    return len(files)
