"""The one error handler: every failure of a command (or, later, a button) ends here as a message.

Domain errors (``BotError``) are described by ``bot.messages``; a few discord.py errors (missing
permissions, a command used outside a server) get their own words; anything else is a bug: it is
logged with an id the user can quote, and the user is told plainly.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.errors import BotError
from bot.messages import NOTHING_CHARGED, describe_error

log = logging.getLogger(__name__)

_PERMISSION_NAMES = {"manage_guild": "Manage Server", "administrator": "Administrator"}


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        original = error.__cause__ if isinstance(error, app_commands.TransformerError) else error.original
        if original is None:
            break
        error = original
    return error


def error_text(error: BaseException) -> str:
    """The words for ``error``; logs the ones that are bugs."""
    error = _unwrap(error)
    if isinstance(error, BotError):
        return describe_error(error)
    if isinstance(error, app_commands.MissingPermissions):
        names = ", ".join(
            _PERMISSION_NAMES.get(p, p.replace("_", " ").title()) for p in error.missing_permissions
        )
        return f"You need the {names} permission to use this command."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in a server, not in direct messages."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} seconds."
    incident = secrets.token_hex(4)
    log.error("unexpected error %s", incident, exc_info=error)
    return f"Something went wrong on the bot's side (error id `{incident}`). {NOTHING_CHARGED}"


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user who triggered ``interaction`` what went wrong."""
    await answer(interaction, error_text(error))


async def answer(interaction: discord.Interaction, text: str) -> None:
    """Answer an interaction with ``text``, whatever state it is in.

    Before the acknowledgement (refusals from cheap checks) the answer is private. After a public
    "thinking…" acknowledgement Discord gives the first answer the placeholder's visibility, so the
    placeholder itself becomes the explanation: nothing is left spinning. If the interaction's token
    has expired, the text goes to the channel with a mention, so it is not lost.
    """
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
        else:
            await interaction.edit_original_response(content=text, embed=None, attachments=[], view=None)
    except discord.NotFound:
        channel = interaction.channel
        if isinstance(channel, discord.abc.Messageable):
            await channel.send(
                f"{interaction.user.mention} {text}",
                allowed_mentions=discord.AllowedMentions(users=[interaction.user]),
            )
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", interaction.user.id, exc_info=True)
