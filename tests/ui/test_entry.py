"""Before anything is held or spent, the channel is checked: where the bot couldn't post the result,
the member is told which permission is missing, for free (never generate, then fail to post)."""

from __future__ import annotations

import discord

from tests.helpers import answer_text, answered_privately, image_bytes, quota_of


def channel_without(world, **denied: bool):
    overwrite = discord.PermissionOverwrite(**{name: False for name in denied})
    return world.guild.create_text_channel("no-results", overwrites={world.env.bot.user: overwrite})


async def test_a_channel_where_the_bot_cannot_attach_files_is_refused_before_anything_is_spent(world, api):
    closed = channel_without(world, attach_files=True, embed_links=True)

    result = await world.alice.slash(closed, "imagine", prompt="a kite")

    assert answered_privately(result)
    assert "I need the Attach Files and Embed Links permissions here" in answer_text(result)
    assert "Nothing was charged" in answer_text(result)
    assert api.requests == []
    assert (await quota_of(world.bot, world.guild, world.alice)).reserved == 0


async def test_the_reply_trigger_says_so_too(world, api):
    closed = channel_without(world, attach_files=True)
    upload = await world.bob.send(closed, "my dog", attachments=[("dog.png", image_bytes(64, 64))])

    await world.alice.send(closed, f"{world.bot.user.mention}", reply_to=upload)

    replies = [m for m in closed.history() if m.author.id == world.bot.user.id]
    assert replies and "I need the Attach Files permission here" in replies[-1].content
    assert api.requests == []


async def test_a_channel_with_every_permission_is_served(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    assert len(api.requests) == 1
