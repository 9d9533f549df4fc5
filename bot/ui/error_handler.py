"""The one error handler: every failure of a command, menu, button or reply ends here as a message.

Domain errors (``BotError``) are described by ``bot.core.text``; a few discord.py errors (missing
permissions, a command used outside a server) get their own words; anything else is a bug: it is
logged with an id the user can quote, and the user is told plainly.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.core import text
from bot.errors import BotError

log = logging.getLogger(__name__)


def unwrap(error: BaseException) -> BaseException:
    """The exception a command raised, from inside discord.py's wrappers."""
    while isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        original = error.__cause__ if isinstance(error, app_commands.TransformerError) else error.original
        if original is None:
            break
        error = original
    return error


def error_text(error: BaseException) -> str:
    """The words for ``error``; logs the ones that are bugs."""
    error = unwrap(error)
    if isinstance(error, BotError):
        return text.describe_error(error)
    if isinstance(error, app_commands.MissingPermissions):
        return text.missing_permissions(error.missing_permissions)
    if isinstance(error, app_commands.NoPrivateMessage):
        return text.SERVER_ONLY
    if isinstance(error, app_commands.CommandOnCooldown):
        return text.slow_down(error.retry_after)
    incident = secrets.token_hex(4)
    log.error("unexpected error %s", incident, exc_info=error)
    return text.bug(incident)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user who triggered ``interaction`` what went wrong."""
    await answer(interaction, error_text(error))


async def report_to_message(message: discord.Message, error: BaseException) -> None:
    """Tell the member who asked by a message (the reply trigger) what went wrong, in a reply."""
    try:
        await message.reply(error_text(error), mention_author=False)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", message.author.id, exc_info=True)


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
