"""Buttons under results: Vary and Redo, charged to whoever presses them, alive after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord

from bot.core.recipes import VARY_INSTRUCTION
from tests.helpers import answer_text, answered_privately, decode, image_bytes, images_of, labels, quota_of


async def test_every_result_has_a_vary_button_per_image_and_redo(world):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=3)
    assert labels(world.channel.last_message) == ["Vary 1", "Vary 2", "Vary 3", "Redo"]


async def test_many_images_get_a_select_instead_of_buttons(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=5)
    result = world.channel.last_message
    assert labels(result) == ["Redo"]

    await world.bob.select(result, ["4"])

    assert api.requests[-1].endpoint == "edits"
    sent = decode(api.requests[-1].files["image"][0][2])
    original = (await images_of(result))[4]
    assert sent.size == original.size
    assert (await quota_of(world.bot, world.guild, world.bob)).used == 1


async def test_vary_varies_that_image_and_charges_the_member_who_pressed(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2, size="1536x1024")
    result = world.channel.last_message

    await world.bob.click(result, label="Vary 2")

    request = api.requests[-1]
    assert request.endpoint == "edits" and request.form["prompt"] == VARY_INSTRUCTION
    assert decode(request.files["image"][0][2]).size == (1536, 1024)
    assert len(await images_of(world.channel.last_message)) == 1
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 2
    assert (await quota_of(world.bot, world.guild, world.bob)).used == 1


async def test_redo_makes_the_same_request_again(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", model="dall-e-3", n=2, quality="hd")

    await world.bob.click(world.channel.last_message, label="Redo")

    first, again = api.requests[:2], api.requests[2:]
    assert [r.json | {"user": None} for r in again] == [r.json | {"user": None} for r in first]
    assert len(await images_of(world.channel.last_message)) == 2
    assert (await quota_of(world.bot, world.guild, world.bob)).used == 2


async def test_buttons_keep_working_after_a_restart(world, api, make_bot):
    await world.alice.slash(
        world.channel, "edit", image=("p.png", image_bytes(320, 200)), prompt="add snow", n=1
    )
    result = world.channel.last_message

    await world.env.restart_bot(await make_bot())
    await world.alice.click(result, label="Redo")
    await world.alice.click(result, label="Vary 1")

    redo, vary = api.requests[1], api.requests[2]
    assert redo.endpoint == "edits" and redo.form["prompt"] == "add snow"
    assert decode(redo.files["image"][0][2]).size == (320, 200)  # the stored input, no re-download
    assert vary.form["prompt"] == VARY_INSTRUCTION
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 3


async def test_a_button_press_over_quota_is_refused_privately(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=5)

    result = await world.alice.click(world.channel.last_message, label="Redo")

    assert answered_privately(result) and "used all 5 images" in answer_text(result)
    assert len(api.requests) == 1


async def test_members_who_cannot_use_commands_here_cannot_press_buttons(world, api):
    gallery = world.guild.create_text_channel(
        "gallery", overwrites={world.bob: discord.PermissionOverwrite(use_application_commands=False)}
    )
    await world.alice.slash(gallery, "imagine", prompt="a kite")

    result = await world.bob.click(gallery.last_message, label="Vary 1")

    assert answered_privately(result) and "can't use this bot's commands in this channel" in answer_text(
        result
    )
    assert len(api.requests) == 1


async def test_redo_of_a_job_whose_details_were_purged_is_refused_for_free(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    result_message = world.channel.last_message
    later = datetime.now(UTC) + timedelta(days=31)
    assert await world.bot.services.store.purge(before=later) == 1  # JOB_RETENTION_DAYS passed

    redo = await world.bob.click(result_message, label="Redo")

    assert "too old for this button" in answer_text(redo)
    assert len(api.requests) == 1
    assert (await quota_of(world.bot, world.guild, world.bob)).used == 0
