"""Post a job's images so they always arrive: sized to the channel's upload limit, split as needed.

Each file over the limit is re-encoded (WebP at the best quality that fits, smaller if it must);
files are grouped so no message carries more than 10 or more bytes than the limit. The first
message has the embed; every message has the controls for its own images. Where the result goes
is a ``Target``: the interaction while its 15-minute token lives (then the channel, mentioning its
owner), or a reply to the message that asked.
"""

from __future__ import annotations

import asyncio
import io
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import discord

from bot.core import text
from bot.core.pipeline import Delivery, Posted
from bot.errors import DeliveryFailed
from bot.imaging import encode_to_fit
from bot.metrics import Metrics
from bot.ui.controls import Controls

log = logging.getLogger(__name__)

MAX_FILES = 10  # Discord: attachments per message
TOKEN_LIFETIME = 15 * 60
TOKEN_MARGIN = 60  # don't start a followup the token may not outlive
PROMPT_PREVIEW = 1000  # of the embed description's 4096: a prompt is shown, not archived
FIELD_LIMIT = 1024
REQUEST_OVERHEAD = 64 * 1024  # the embed, JSON and multipart framing travel in the same request
DELIVERY_BACKOFF = (1.0, 3.0)  # pauses before the 2nd and 3rd attempt at a message Discord failed


class Target(ABC):
    """Where a result goes."""

    user: discord.abc.User

    @property
    @abstractmethod
    def upload_limit(self) -> int:
        """Bytes Discord accepts in one message here."""

    @abstractmethod
    async def send(
        self,
        *,
        content: str | None,
        embed: discord.Embed | None,
        files: list[discord.File],
        view: discord.ui.View,
    ) -> discord.Message:
        """Post one message of the result; the message as posted."""


@dataclass
class InteractionTarget(Target):
    interaction: discord.Interaction
    acknowledged_at: float  # loop.time() when the interaction was acknowledged

    def __post_init__(self) -> None:
        self.user = self.interaction.user
        self.replaced_placeholder = False

    @property
    def upload_limit(self) -> int:
        return self.interaction.filesize_limit

    def token_alive(self) -> bool:
        return asyncio.get_running_loop().time() - self.acknowledged_at < TOKEN_LIFETIME - TOKEN_MARGIN

    async def send(
        self,
        *,
        content: str | None,
        embed: discord.Embed | None,
        files: list[discord.File],
        view: discord.ui.View,
    ) -> discord.Message:
        if self.token_alive():
            if not self.replaced_placeholder:  # the "thinking…" or queue message becomes the result
                message = await self.interaction.edit_original_response(
                    content=content or "", embed=embed, attachments=files, view=view
                )
                self.replaced_placeholder = True
                return message
            return await self.interaction.followup.send(
                content=content or "", embed=embed or discord.utils.MISSING, files=files, view=view, wait=True
            )
        channel = self.interaction.channel
        assert isinstance(channel, discord.abc.Messageable)
        return await channel.send(
            content=text.result_ready(self.user.mention, content),
            embeds=[embed] if embed else [],
            files=files,
            view=view,
            allowed_mentions=discord.AllowedMentions(users=[self.user]),
        )


@dataclass
class ReplyTarget(Target):
    message: discord.Message

    def __post_init__(self) -> None:
        self.user = self.message.author

    @property
    def upload_limit(self) -> int:
        guild = self.message.guild
        return guild.filesize_limit if guild is not None else 10 * 1024 * 1024

    async def send(
        self,
        *,
        content: str | None,
        embed: discord.Embed | None,
        files: list[discord.File],
        view: discord.ui.View,
    ) -> discord.Message:
        return await self.message.reply(
            content=content, embeds=[embed] if embed else [], files=files, view=view, mention_author=False
        )


def result_embed(delivery: Delivery, owner: discord.abc.User) -> discord.Embed:
    recipe = delivery.job.recipe
    labels = text.OPTION_LABELS
    embed = discord.Embed(
        description=text.prompt_line(recipe.kind, recipe.prompt, PROMPT_PREVIEW) if recipe.prompt else None,
        colour=discord.Colour.blurple(),
    )
    embed.set_author(
        name=text.result_author(owner.display_name, recipe.kind, delivery.job.n),
        icon_url=owner.display_avatar.url,
    )
    embed.add_field(name=labels["model"], value=recipe.model)
    chosen = recipe.options
    shown = (
        ("size", chosen.size),
        ("quality", chosen.quality),
        ("style", chosen.style),
        ("complexity", chosen.complexity),
        ("format", text.gif_format(chosen.frames) if chosen.frames else chosen.output_format),
    )
    for option, value in shown:
        if value:
            embed.add_field(name=labels[option], value=value)
    if chosen.background and chosen.background != "auto":
        embed.add_field(name=labels["background"], value=chosen.background)
    if delivery.revised_prompt:
        embed.add_field(
            name=text.REVISED_PROMPT, value=text.echo(delivery.revised_prompt, FIELD_LIMIT), inline=False
        )
    if delivery.failures:
        name, value = text.partly_made(
            len(delivery.images), delivery.job.n, text.describe_error(delivery.failures[0]), FIELD_LIMIT
        )
        embed.add_field(name=name, value=value, inline=False)
    quota = text.quota_line(delivery.quota, remaining=delivery.remaining_after)
    embed.add_field(name=text.QUOTA, value=quota, inline=False)
    return embed


def _fit_files(delivery: Delivery, budget: int) -> list[tuple[bytes, str]]:
    """Every image as (bytes, format), each re-encoded if it alone is over ``budget`` (CPU: a thread)."""
    return [encode_to_fit(image.data, image.format, budget) for image in delivery.images]


def batches(sizes: list[int], budget: int) -> list[range]:
    """Consecutive groups of at most MAX_FILES files whose sizes add up to at most ``budget``."""
    groups: list[range] = []
    start, total = 0, 0
    for index, size in enumerate(sizes):
        if index > start and (index - start == MAX_FILES or total + size > budget):
            groups.append(range(start, index))
            start, total = index, 0
        total += size
    if sizes:
        groups.append(range(start, len(sizes)))
    return groups


async def with_retries(
    send: Callable[[], Awaitable[None]],
    pauses: tuple[float, ...] = DELIVERY_BACKOFF,
    metrics: Metrics | None = None,
) -> None:
    """Retry what Discord failed transiently (5xx, timeouts); anything else is final at once.

    Raises DeliveryFailed when the message could not be posted. Each retry is counted in ``metrics``.
    """
    for attempt, pause in enumerate((*pauses, None)):
        try:
            await send()
            return
        except (discord.HTTPException, TimeoutError, aiohttp.ClientError) as error:
            transient = not isinstance(error, discord.HTTPException) or error.status >= 500
            if not transient or pause is None:
                raise _failed(error) from error
            log.warning(
                "Discord failed a delivery (attempt %d), retrying in %.0fs: %s", attempt + 1, pause, error
            )
            if metrics is not None:
                metrics.delivery_retried()
            await asyncio.sleep(pause)


def _failed(error: Exception) -> DeliveryFailed:
    if isinstance(error, discord.HTTPException):
        return DeliveryFailed(error.status, error.text or str(error))
    return DeliveryFailed(None, f"{type(error).__name__} while talking to Discord")


def file_budget(target: Target) -> int:
    """The bytes one file (or one message's files together) may have at ``target``."""
    return max(target.upload_limit - REQUEST_OVERHEAD, 1)


async def post(
    target: Target,
    controls: Controls,
    delivery: Delivery,
    *,
    pauses: tuple[float, ...] = DELIVERY_BACKOFF,
    metrics: Metrics | None = None,
) -> Posted:
    """Post the delivery; how many images reached the channel (only those are charged), and where
    the result's first message is."""
    budget = file_budget(target)
    files = await asyncio.to_thread(_fit_files, delivery, budget)
    groups = batches([len(data) for data, _ in files], budget)
    posted = 0
    first_message: list[discord.Message] = []
    for number, group in enumerate(groups):
        first = number == 0

        async def send_group(first: bool = first, group: range = group) -> None:
            # new file objects each attempt: a failed upload has consumed the last ones; closed here,
            # since discord.py's own close leaves a reference cycle that holds the image bytes until
            # the cycle collector happens to run
            buffers = {i: io.BytesIO(files[i][0]) for i in group}
            try:
                message = await target.send(
                    content=None if first else text.images_range(group.start + 1, group.stop, len(files)),
                    embed=result_embed(delivery, target.user) if first else None,
                    files=[discord.File(buffers[i], filename=f"image_{i + 1}.{files[i][1]}") for i in group],
                    view=controls.under_result(delivery.job_id, group.start + 1, len(group), redo=first),
                )
                if first:
                    first_message.append(message)
            finally:
                for buffer in buffers.values():
                    buffer.close()

        try:
            await with_retries(send_group, pauses, metrics)
        except DeliveryFailed as error:
            if posted == 0:
                raise
            log.warning(
                "job %s: posted %d image(s), then Discord refused the rest: %s",
                delivery.job_id,
                posted,
                error,
            )
            break
        posted += len(group)
    where = first_message[0] if first_message else None
    return Posted(posted, where.channel.id if where else None, where.id if where else None)
