"""The controls under every result — Vary (one per image, or a select when there are many) and
Redo — and Cancel on a job waiting in the queue. ``ResultControls`` draws them on messages;
``RESULT_CONTROLS`` are their handlers, which ``bot.app`` registers with the bot.

They survive restarts: each is a ``DynamicItem`` whose state (the job id, which image) lives in its
``custom_id``, and discord.py rebuilds the pressed one with ``from_custom_id``, which hands it the
bot's services. Redo reads the rest of the job from the database. Pressing one starts a job like
any command: it is charged to whoever pressed it, and only members who may use the bot's commands
in that channel can press it. discord.py drops a dynamic item's errors on the floor, so every
refusal and failure here goes to the one error handler.
"""

from __future__ import annotations

import re
from typing import Any, Self

import discord

from bot.core import text
from bot.core.pipeline import CancelResult
from bot.errors import ControlRefused
from bot.ui.client import ImageBot, Services
from bot.ui.error_handler import report_error

PREFIX = "ib"
MAX_BUTTONS = 4  # with Redo, one row of five; more images get a select instead


class ResultControls:
    """Draws the controls (``bot.ui.controls.Controls``); presses reach the handlers below."""

    def under_result(self, job_id: int, first: int, count: int, *, redo: bool) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        if count <= MAX_BUTTONS:
            for index in range(count):
                view.add_item(VaryButton(job_id, index, number=first + index))
        else:
            view.add_item(VarySelect(job_id, first, count))
        if redo:
            view.add_item(RedoButton(job_id))
        return view

    def while_waiting(self, job_id: int) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        view.add_item(CancelButton(job_id))
        return view


class _Handler:
    """What every control shares: the services of the bot a press reached (a control drawn on a
    message has none: it is only drawn), and who may press it."""

    _services: Services | None = None

    def bound(self, interaction: discord.Interaction) -> Self:
        # discord.py types from_custom_id for any client (its ClientT is the method's own type
        # variable), so a subclass can't declare Interaction[ImageBot]; the bot is checked here once.
        bot = interaction.client
        if not isinstance(bot, ImageBot):
            raise TypeError(f"result controls belong to an ImageBot, not {type(bot).__name__}")
        self._services = bot.services
        return self

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("only controls rebuilt by from_custom_id handle presses")
        return self._services

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is not None and interaction.permissions.use_application_commands:
            return True
        await report_error(interaction, ControlRefused(ControlRefused.NOT_ALLOWED))
        return False

    async def vary_image(self, interaction: discord.Interaction, index: int) -> None:
        """Variations of the ``index``-th image on the message the control sits on."""
        try:
            message = interaction.message
            attachments = message.attachments if message is not None else []
            if not 0 <= index < len(attachments):
                raise ControlRefused(ControlRefused.IMAGE_GONE)
            await self.services.entry.vary_attachment(interaction, attachments[index])
        except Exception as error:
            await report_error(interaction, error)


class VaryButton(
    _Handler,
    discord.ui.DynamicItem[discord.ui.Button],
    template=rf"{PREFIX}:vary:(?P<job>\d+):(?P<index>\d+)",
):
    def __init__(self, job_id: int, index: int, *, number: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=text.vary_label(number if number is not None else index + 1),
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
        button = cls(int(match["job"]), int(match["index"])).bound(interaction)
        if isinstance(item, discord.ui.Button):
            button.item.label = item.label
        return button

    async def callback(self, interaction: discord.Interaction) -> Any:
        await self.vary_image(interaction, self.index)


class VarySelect(
    _Handler,
    discord.ui.DynamicItem[discord.ui.Select],
    template=rf"{PREFIX}:varysel:(?P<job>\d+):(?P<first>\d+)",
):
    def __init__(self, job_id: int, first: int, count: int) -> None:
        super().__init__(
            discord.ui.Select(
                placeholder=text.VARY_PLACEHOLDER,
                custom_id=f"{PREFIX}:varysel:{job_id}:{first}",
                options=[
                    discord.SelectOption(label=text.vary_option(first + i), value=str(i), emoji="🔀")
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
        return cls(int(match["job"]), int(match["first"]), len(options)).bound(interaction)

    async def callback(self, interaction: discord.Interaction) -> Any:
        await self.vary_image(interaction, int(self.item.values[0]))


class RedoButton(
    _Handler, discord.ui.DynamicItem[discord.ui.Button], template=rf"{PREFIX}:redo:(?P<job>\d+)"
):
    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=text.REDO_LABEL,
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
        return cls(int(match["job"])).bound(interaction)

    async def callback(self, interaction: discord.Interaction) -> Any:
        try:
            await self.services.entry.redo(interaction, self.job_id)
        except Exception as error:
            await report_error(interaction, error)


class CancelButton(
    _Handler, discord.ui.DynamicItem[discord.ui.Button], template=rf"{PREFIX}:cancel:(?P<job>\d+)"
):
    """Withdraws a job waiting in the queue; only its owner may press it."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=text.CANCEL_LABEL,
                style=discord.ButtonStyle.danger,
                custom_id=f"{PREFIX}:cancel:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CancelButton:
        return cls(int(match["job"])).bound(interaction)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return True  # the owner check is the press's own

    async def callback(self, interaction: discord.Interaction) -> Any:
        try:
            result = self.services.runner.cancel(self.job_id, interaction.user.id)
            if result is CancelResult.CANCELLED:
                await interaction.response.defer()  # the job's own message now says it was cancelled
            elif result is CancelResult.NOT_OWNER:
                raise ControlRefused(ControlRefused.NOT_OWNER)
            else:
                raise ControlRefused(ControlRefused.NOT_WAITING)
        except Exception as error:
            await report_error(interaction, error)


RESULT_CONTROLS = (VaryButton, VarySelect, RedoButton, CancelButton)
