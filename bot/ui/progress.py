"""A waiting job's placeholder: its place in the queue, a Cancel button for its owner, then "making it now".

The scheduler calls the display about a second apart at most. The button is drawn and sent once;
later updates change only the text, which keeps a long queue's updates cheap for the event loop and
for Discord.
"""

from __future__ import annotations

import contextlib

import discord
from discord.utils import MISSING

from bot.core import text
from bot.ui.controls import Controls


class QueueDisplay:
    def __init__(self, interaction: discord.Interaction, job_id: int, controls: Controls) -> None:
        self.interaction = interaction
        self.job_id = job_id
        self.controls = controls
        self.button_shown = False

    async def __call__(self, position: int) -> None:
        view: discord.ui.View | None = MISSING  # unchanged
        if position:
            content = text.queue_position(position)
            if not self.button_shown:
                view, self.button_shown = self.controls.while_waiting(self.job_id), True
        else:
            content, view = text.YOUR_TURN, None
        with contextlib.suppress(discord.HTTPException):
            await self.interaction.edit_original_response(content=content, view=view)
