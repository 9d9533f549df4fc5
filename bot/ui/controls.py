"""The controls a message carries, as the Discord side draws them (``bot.ui.buttons`` draws ours).

``bot.ui.delivery`` and ``bot.ui.progress`` put controls on the messages they post, and the buttons'
handlers start jobs through ``bot.ui.entry``, which uses both. So the drawing is handed to the job
entry when the bot is wired (``bot.app``) instead of imported, and no module imports one that
imports it back.
"""

from __future__ import annotations

from typing import Protocol

import discord


class Controls(Protocol):
    def under_result(self, job_id: int, first: int, count: int, *, redo: bool) -> discord.ui.View:
        """The controls under one result message holding images ``first`` .. ``first + count - 1``."""
        ...

    def while_waiting(self, job_id: int) -> discord.ui.View:
        """The controls on a job's placeholder while it waits in the queue."""
        ...
