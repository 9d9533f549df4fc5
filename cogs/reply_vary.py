"""Reply to any image and mention the bot to get variations: ``@bot``, ``@bot 3``, ``@bot image 2``.

Discord shows a bot the text of messages that mention it, but another member's attachments only
with the privileged Message Content intent (MESSAGE_CONTENT_INTENT=true and enabled in the
Developer Portal). Without it the bot says so and points to the "Vary image" menu.
"""

from __future__ import annotations

import re

import discord
from discord.ext import commands

from bot.core.text import reply_help
from bot.errors import NoSuchImage, NothingToVary
from bot.ui import attachments
from bot.ui.entry import JobEntry
from bot.ui.error_handler import report_to_message

_WHICH = re.compile(r"\b(?:image|img|picture|pic)\s*#?\s*(\d+)|#(\d+)", re.IGNORECASE)
_COUNT = re.compile(r"(?<![\w#])x?(\d+)x?\b", re.IGNORECASE)
#: Discord's markup, whose ids must never be read as a count or an image number: user, role and
#: channel mentions, custom (animated) emoji, timestamps, slash-command mentions, server guide links
_MARKUP = re.compile(r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:-?\d+(?::[tTdDfFR])?|/[^<>:]+:\d+|id:\w+)>")


def parse_request(text: str) -> tuple[int, int]:
    """(how many variations, which image, 1-based) from the text of a reply; defaults (1, 1)."""
    text = _MARKUP.sub(" ", text)
    which = 1
    found = _WHICH.search(text)
    if found:
        which = int(found.group(1) or found.group(2))
        text = text[: found.start()] + " " + text[found.end() :]
    count = _COUNT.search(text)
    return (int(count.group(1)) if count else 1), which


class ReplyVaryCog(commands.Cog):
    def __init__(self, bot: commands.Bot, entry: JobEntry) -> None:
        self.bot = bot
        self.entry = entry

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.guild is None or message.author.bot or me is None:
            return
        if not re.search(rf"<@!?{me.id}>", message.content):
            return  # a reply to the bot without an explicit mention is conversation, not a request
        source = await self._source(message)
        if source is None:
            await message.reply(reply_help(me.display_name), mention_author=False)
            return
        try:
            n, which = parse_request(message.content)
            images = [a for a in source.attachments if attachments.looks_like_image(a)]
            if not images:
                raise NothingToVary(hidden=not self.bot.intents.message_content and source.author.id != me.id)
            if which > len(images):
                raise NoSuchImage(which, len(images))
            await self.entry.vary_for_reply(message, images[which - 1], n=n)
        except Exception as error:  # the reply path's one error handler (slash commands have the tree's)
            await report_to_message(message, error)

    async def _source(self, message: discord.Message) -> discord.Message | None:
        """The message whose image to vary: the one replied to, or this one if it carries an image."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return message if any(attachments.looks_like_image(a) for a in message.attachments) else None
        if isinstance(reference.resolved, discord.Message):
            return reference.resolved
        try:
            return await message.channel.fetch_message(reference.message_id)
        except discord.HTTPException:
            return None
