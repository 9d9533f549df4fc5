"""Deliveries that always fit: re-encoded or split to the upload limit, and late results not lost."""

from __future__ import annotations

import discord
import pytest
from simcord.backend.errors import BackendError
from simcord.http import router

from bot.ui.delivery import batches
from tests.helpers import images_of, quota_of


@pytest.fixture
def upload_limit(monkeypatch):
    """Advertise ``limit`` bytes as this server's upload limit and refuse bigger messages with 413.

    SimCord advertises 25 MiB and enforces nothing; Discord answers an oversized upload with
    413 Request Entity Too Large (code 40005).
    """
    refused: list[int] = []

    def apply(limit: int) -> list[int]:
        original_from_data = discord.Interaction._from_data
        original_dispatch = router.dispatch

        def from_data(self, data):
            original_from_data(self, data)
            self.filesize_limit = limit

        def dispatch(backend, method, path, *, files=None, **kwargs):
            total = sum(len(f.fp.getbuffer()) for f in files or ())
            if total > limit:
                refused.append(total)
                raise BackendError(413, 40005, "Request entity too large")
            return original_dispatch(backend, method, path, files=files, **kwargs)

        monkeypatch.setattr(discord.Interaction, "_from_data", from_data)
        monkeypatch.setattr(discord.Guild, "filesize_limit", property(lambda self: limit))
        monkeypatch.setattr(router, "dispatch", dispatch)
        return refused

    return apply


#: The slash command's settle includes re-encoding four 1024x1024 noise PNGs for the limit: native
#: work in asyncio.to_thread, which SimCord counts as busy (~1 s here, several times that with every
#: core busy). Under SimCord's default settle_timeout (5 s) the outcome depended on the machine's
#: load; 14 s leaves room for any load, yet stays under the 15 s keep-alive timer of the bot's aiohttp
#: connection to the fake, which a longer settle would wait out in real time (30 s for this test).
SLOW_NATIVE_WORK = pytest.mark.simcord(settle_timeout=14)


@SLOW_NATIVE_WORK
async def test_a_result_too_large_for_the_limit_is_delivered_in_full(world, api, upload_limit):
    refused = upload_limit(400 * 1024)
    api.noise = True  # incompressible images: each PNG is far over the limit

    await world.alice.slash(world.channel, "imagine", prompt="static", n=4, size="1024x1024")

    messages = [m for m in world.channel.history() if m.author.id == world.bot.user.id]
    images = [image for message in messages for image in await images_of(message)]
    assert len(images) == 4 and all(image.size[0] >= 256 for image in images)
    assert refused == []  # never a 413
    for message in messages:
        assert sum(a.size for a in message.attachments) <= 400 * 1024
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 4


def test_files_are_grouped_by_count_and_by_size():
    assert batches([1] * 12, budget=100) == [range(0, 10), range(10, 12)]
    assert batches([60, 60, 30, 100], budget=100) == [range(0, 1), range(1, 3), range(3, 4)]
    assert batches([], budget=100) == []


@pytest.mark.bot_env(OPENAI_MAX_RETRIES="10")
async def test_a_result_ready_after_the_interaction_expired_goes_to_the_channel(world, api):
    # Eight rate limits of 110 s: the job finishes about 15 minutes after the command.
    api.fail("rate_limit", times=8, retry_after=110)

    await world.alice.slash(world.channel, "imagine", prompt="patience")
    await world.env.advance_time(8 * 111)

    message = world.channel.last_message
    assert message.content.startswith(f"{world.alice.mention}, your result is ready")
    assert len(await images_of(message)) == 1
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 1


async def test_where_a_png_would_not_fit_the_image_is_asked_for_as_webp(world, api, upload_limit):
    upload_limit(1024 * 1024)  # a 1024x1024 PNG is about 2 MB

    await world.alice.slash(world.channel, "imagine", prompt="a harbour", size="1024x1024")

    sent = api.requests[0].json
    assert (sent["output_format"], sent["output_compression"]) == ("webp", 90)
    message = world.channel.last_message
    assert [a.filename.rsplit(".", 1)[1] for a in message.attachments] == ["webp"]


async def test_where_a_png_fits_or_the_member_chose_a_format_nothing_is_changed(world, api, upload_limit):
    await world.alice.slash(world.channel, "imagine", prompt="a harbour", size="1024x1024")
    upload_limit(1024 * 1024)
    await world.alice.slash(world.channel, "imagine", prompt="a harbour", size="1024x1024", format="png")

    roomy, chosen = (request.json for request in api.requests)
    assert "output_format" not in roomy and "output_compression" not in roomy
    assert chosen["output_format"] == "png" and "output_compression" not in chosen
