"""Connecting, the Message Content intent, and closing cleanly."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot.__main__ import INTENT_HELP, start_failure_text

WITHOUT_MESSAGE_CONTENT = discord.Intents.default()


async def test_a_refused_message_content_intent_is_explained(make_bot):
    bot = await make_bot()
    with pytest.raises(discord.PrivilegedIntentsRequired) as caught:
        async with simcord.run(bot, approved_intents=WITHOUT_MESSAGE_CONTENT):
            pass
    text = start_failure_text(caught.value)
    assert text == INTENT_HELP
    assert "Message Content Intent" in text and "MESSAGE_CONTENT_INTENT=false" in text


@pytest.mark.bot_env(MESSAGE_CONTENT_INTENT="false")
async def test_without_the_intent_the_bot_runs_and_serves_slash_commands(make_bot):
    bot = await make_bot()
    assert not bot.intents.message_content
    async with simcord.run(bot, approved_intents=WITHOUT_MESSAGE_CONTENT) as env:
        channel = env.create_guild().create_text_channel("art")
        alice = env.guild.add_member(env.create_user("alice"))
        await alice.slash(channel, "imagine", prompt="a kite")
        assert len(channel.last_message.attachments) == 1


def test_login_and_network_failures_get_one_line_and_bugs_are_not_hidden():
    assert "DISCORD_TOKEN" in start_failure_text(discord.LoginFailure("Improper token has been passed."))
    assert "Couldn't reach Discord" in start_failure_text(OSError("Name or service not known"))
    assert start_failure_text(ValueError("a bug")) is None


async def test_closing_the_bot_closes_its_http_session_and_database(world):
    bot = world.bot
    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    session = bot.services.images.session
    assert session is not None and not session.closed

    await bot.close()

    assert session.closed
    with pytest.raises(Exception, match="closed"):
        await bot.services.store.status(world.guild.id, world.alice.id, now=discord.utils.utcnow())


async def test_the_bot_logs_who_it_is_and_its_invite_link_when_ready(world, caplog):
    import logging

    from bot.ui.client import INVITE_PERMISSIONS

    caplog.set_level(logging.INFO, logger="bot")
    await world.bot.on_ready()

    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ready as")]
    assert f"in {len(world.bot.guilds)} server(s)" in line
    assert f"client_id={world.bot.application_id}" in line and "permissions=117824" in line
    assert "scope=bot+applications.commands" in line
    assert INVITE_PERMISSIONS.value == 117824  # the README's integer


async def test_leaving_development_mode_removes_the_development_servers_copy(world, make_bot, bot_env):
    guild_path = f"/guilds/{world.guild.id}/commands"

    def guild_syncs():
        return [r for r in world.env.http_requests if r.method == "PUT" and r.path.endswith(guild_path)]

    bot_env["DEV_GUILD_ID"] = str(world.guild.id)
    await world.env.restart_bot(await make_bot())
    assert len(guild_syncs()) == 1 and guild_syncs()[-1].json  # the commands, copied to the server

    bot_env["DEV_GUILD_ID"] = ""  # unset (empty counts as not set)
    await world.env.restart_bot(await make_bot())
    assert len(guild_syncs()) == 2 and guild_syncs()[-1].json == []  # the copy removed

    await world.env.restart_bot(await make_bot())
    assert len(guild_syncs()) == 2  # once is enough
