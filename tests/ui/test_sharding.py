"""SHARD_COUNT and SHARD_IDS: the same bot as an AutoShardedBot on the shards it is given, in SimCord
(which routes each server's events to the shard that owns it, as Discord does)."""

from __future__ import annotations

import logging

import aiohttp
import discord
import pytest
import simcord
from discord.ext import commands

from bot.ui.client import ImageBot
from tests.helpers import images_of


async def healthz(bot) -> tuple[int, str]:
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"http://127.0.0.1:{bot.services.monitor.port}/healthz") as response,
    ):
        return response.status, await response.text()


async def test_unsharded_the_bot_keeps_one_connection(make_bot):
    bot = await make_bot()
    assert isinstance(bot, ImageBot) and not isinstance(bot, discord.AutoShardedClient)
    assert bot.shard_count is None


@pytest.mark.bot_env(SHARD_COUNT="2", SHARD_IDS="0,1")
async def test_with_shards_the_bot_is_an_auto_sharded_bot_for_those_shards(make_bot):
    bot = await make_bot()
    assert isinstance(bot, commands.AutoShardedBot) and isinstance(bot, ImageBot)
    assert (bot.shard_count, bot.shard_ids) == (2, [0, 1])
    assert bot.services.config.instance_name.endswith("-shards-0-1")


@pytest.mark.bot_env(SHARD_COUNT="2", SHARD_IDS="0,1", METRICS_PORT="0")
async def test_both_shards_serve_their_servers_and_healthz_needs_every_shard(make_bot, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    bot = await make_bot()
    async with simcord.run(bot) as env:
        guilds = [env.create_guild(f"server {shard}", shard_id=shard) for shard in (0, 1)]
        for guild in guilds:
            channel = guild.create_text_channel("art")
            member = guild.add_member(env.create_user(f"member-{guild.id}"))
            await member.slash(channel, "imagine", prompt="a kite")
            assert len(await images_of(channel.last_message)) == 1
        assert {bot.get_guild(g.id).shard_id for g in guilds} == {0, 1}
        assert await healthz(bot) == (200, "ok\n")

        await bot.shards[1].disconnect()

        assert await healthz(bot) == (503, "shard(s) 1 not connected to Discord\n")
    [ready] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ready as")]
    assert " on shard(s) 0, 1 of 2;" in ready


@pytest.mark.bot_env(SHARD_COUNT="2", SHARD_IDS="1")
async def test_a_process_running_one_shard_sees_only_that_shards_servers(make_bot):
    bot = await make_bot()
    async with simcord.run(bot) as env:
        mine = env.create_guild("mine", shard_id=1)
        theirs = env.create_guild("theirs", shard_id=0)
        await env.settle()
        assert bot.get_guild(mine.id) is not None and bot.get_guild(theirs.id) is None
        assert list(bot.shards) == [1]
