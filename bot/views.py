"""Buttons under every result: Vary (one per image, or a select when there are many) and Redo.

They survive restarts: each is a ``DynamicItem`` whose state (the job id, which image) lives in its
``custom_id``; Redo reads the rest of the job from the database. Pressing one starts a job like any
command: it is charged to whoever pressed it, and only members who may use the bot's commands in
that channel can press it. discord.py drops a dynamic item's errors on the floor, so every
refusal and failure here is answered through the one error handler.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import ControlRefused
from bot.jobs import CancelResult
from bot.replies import report_error

if TYPE_CHECKING:
    from bot.client import ImageBot

PREFIX = "ib"
MAX_BUTTONS = 4  # with Redo, one row of five; more images get a select instead


def result_view(job_id: int, first: int, count: int, *, redo: bool) -> discord.ui.View:
    """The controls for one result message holding images ``first`` .. ``first + count - 1``."""
    view = discord.ui.View(timeout=None)
    if count <= MAX_BUTTONS:
        for index in range(count):
            view.add_item(VaryButton(job_id, index, number=first + index))
    else:
        view.add_item(VarySelect(job_id, first, count))
    if redo:
        view.add_item(RedoButton(job_id))
    return view


async def _allowed(interaction: discord.Interaction) -> bool:
    if interaction.guild_id is not None and interaction.permissions.use_application_commands:
        return True
    await report_error(interaction, ControlRefused(ControlRefused.NOT_ALLOWED))
    return False


def _bot(interaction: discord.Interaction) -> ImageBot:
    return interaction.client  # type: ignore[return-value]


async def _vary_image(interaction: discord.Interaction, index: int) -> None:
    """Variations of the ``index``-th image on the message the control sits on."""
    try:
        message = interaction.message
        attachments = message.attachments if message is not None else []
        if not 0 <= index < len(attachments):
            raise ControlRefused(ControlRefused.IMAGE_GONE)
        await _bot(interaction).flow.vary_attachment(interaction, attachments[index])
    except Exception as error:
        await report_error(interaction, error)


class VaryButton(
    discord.ui.DynamicItem[discord.ui.Button], template=rf"{PREFIX}:vary:(?P<job>\d+):(?P<index>\d+)"
):
    def __init__(self, job_id: int, index: int, *, number: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Vary {number if number is not None else index + 1}",
                style=discord.ButtonStyle.secondary,
                emoji="🔀",
                custom_id=f"{PREFIX}:vary:{job_id}:{index}",
            )
        )
        self.job_id = job_id
        self.index = index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VaryButton:
        button = cls(int(match["job"]), int(match["index"]))
        if isinstance(item, discord.ui.Button):
            button.item.label = item.label
        return button

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _allowed(interaction)

    async def callback(self, interaction: discord.Interaction) -> Any:
        await _vary_image(interaction, self.index)


class VarySelect(
    discord.ui.DynamicItem[discord.ui.Select], template=rf"{PREFIX}:varysel:(?P<job>\d+):(?P<first>\d+)"
):
    def __init__(self, job_id: int, first: int, count: int) -> None:
        super().__init__(
            discord.ui.Select(
                placeholder="Vary an image…",
                custom_id=f"{PREFIX}:varysel:{job_id}:{first}",
                options=[
                    discord.SelectOption(label=f"Vary image {first + i}", value=str(i), emoji="🔀")
                    for i in range(count)
                ],
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VarySelect:
        options = item.options if isinstance(item, discord.ui.Select) else []
        return cls(int(match["job"]), int(match["first"]), len(options))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _allowed(interaction)

    async def callback(self, interaction: discord.Interaction) -> Any:
        await _vary_image(interaction, int(self.item.values[0]))


class RedoButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"{PREFIX}:redo:(?P<job>\d+)"):
    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Redo",
                style=discord.ButtonStyle.primary,
                emoji="🔁",
                custom_id=f"{PREFIX}:redo:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RedoButton:
        return cls(int(match["job"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _allowed(interaction)

    async def callback(self, interaction: discord.Interaction) -> Any:
        try:
            await _bot(interaction).flow.redo(interaction, self.job_id)
        except Exception as error:
            await report_error(interaction, error)


class CancelButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"{PREFIX}:cancel:(?P<job>\d+)"):
    """Withdraws a job waiting in the queue; only its owner may press it."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel", style=discord.ButtonStyle.danger, custom_id=f"{PREFIX}:cancel:{job_id}"
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CancelButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        try:
            result = _bot(interaction).jobs.cancel(self.job_id, interaction.user.id)
            if result is CancelResult.CANCELLED:
                await interaction.response.defer()  # the job's own message now says it was cancelled
            elif result is CancelResult.NOT_OWNER:
                raise ControlRefused(ControlRefused.NOT_OWNER)
            else:
                raise ControlRefused(ControlRefused.NOT_WAITING)
        except Exception as error:
            await report_error(interaction, error)


def cancel_view(job_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view


DYNAMIC_ITEMS = (VaryButton, VarySelect, RedoButton, CancelButton)
