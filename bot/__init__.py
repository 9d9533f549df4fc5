"""Discord image-generation bot: ``from bot import create_bot``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.client import ImageBot
    from bot.config import Config


def create_bot(config: Config | None = None) -> ImageBot:
    """The fully wired bot from the environment (or ``config``), not yet connected."""
    from bot.client import create_bot as _create_bot

    return _create_bot(config)
