"""Variations from every entry point: /vary, the "Vary image" menu and a reply that mentions the bot."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot.core.recipes import VARY_INSTRUCTION
from bot.core.text import describe_error
from bot.errors import NothingToVary
from cogs.reply_vary import parse_request
from tests.helpers import answer_text, answered_privately, decode, image_bytes, images_of, quota_of


@pytest.mark.bot_env(VARY_MODEL="dall-e-2")
async def test_vary_uses_the_variations_endpoint_where_the_model_has_one(world, api):
    await world.alice.slash(world.channel, "vary", image=("cat.jpg", image_bytes(900, 600, fmt="JPEG")), n=2)

    (request,) = api.requests
    assert (
        request.endpoint == "variations" and request.form["model"] == "dall-e-2" and request.form["n"] == "2"
    )
    sent = decode(request.files["image"][0][2])
    assert sent.format == "PNG" and sent.width == sent.height
    assert len(await images_of(world.channel.last_message)) == 2
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 2


async def test_vary_on_a_gpt_image_model_is_an_edit_asked_for_a_variation(world, api):
    await world.alice.slash(
        world.channel, "vary", image=("cat.png", image_bytes(300, 200)), prompt="in winter"
    )

    (request,) = api.requests
    assert request.endpoint == "edits" and request.form["model"] == "gpt-image-2"
    assert request.form["prompt"] == f"{VARY_INSTRUCTION} in winter"
    message = world.channel.last_message
    assert len(await images_of(message)) == 1
    assert "in winter" in message.embeds[0].description and "variation" in message.embeds[0].author.name


async def test_the_vary_image_menu_works_on_another_members_upload(world, api):
    upload = await world.bob.send(world.channel, "my dog", attachments=[("dog.png", image_bytes(256, 256))])

    result = await world.alice.context_menu(world.channel, "Vary image", upload)

    assert not answered_privately(result)
    assert api.requests[0].endpoint == "edits"
    assert len(await images_of(world.channel.last_message)) == 1
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 1  # the one who asked pays


async def test_the_menu_on_a_message_without_an_image_explains_itself(world, api):
    text = await world.bob.send(world.channel, "just words")

    result = await world.alice.context_menu(world.channel, "Vary image", text)

    assert answered_privately(result) and "no image attachment" in answer_text(result)
    assert api.requests == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@1>", (1, 1)),
        ("<@1> 3", (3, 1)),
        ("<@!1> image 2", (1, 2)),
        ("<@1> 4 of image #2", (4, 2)),
        ("<@1> x2 please", (2, 1)),
        ("<@1> #3", (1, 3)),
        ("make 2 variations of pic 2 <@1>", (2, 2)),
        ("<@1> vary this for <@&1456074443980800016>", (1, 1)),
        ("<@1> post it in <#1456074443980800016>", (1, 1)),
        ("<@1> 2 like <:blob:1456074443980800016> <a:dance:1456074443980800017>", (2, 1)),
        ("<@1> by <t:1767225600:R>, image 2", (1, 2)),
        ("<@1> as </imagine:1456074443980800016> would", (1, 1)),
        ("<@1> see <id:guide>", (1, 1)),
    ],
)
def test_reply_requests_are_understood(text, expected):
    assert parse_request(text) == expected


async def test_replying_to_an_image_with_a_mention_posts_variations_as_a_reply(world, api):
    upload = await world.bob.send(
        world.channel,
        "two shots",
        attachments=[("a.png", image_bytes(200, 200)), ("b.png", image_bytes(300, 100))],
    )

    await world.alice.send(world.channel, f"{world.bot.user.mention} 2 image 2", reply_to=upload)

    (request,) = api.requests
    assert request.form["n"] == "2"
    assert decode(request.files["image"][0][2]).size == (300, 100)  # the second image was used
    answer = world.channel.last_message
    assert answer.reference is not None and answer.reference.message_id != upload.id  # replies to alice
    assert len(await images_of(answer)) == 2
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 2


async def test_a_reply_refusal_is_a_reply_too_and_costs_nothing(world, api):
    await world.admin.slash(world.channel, "admin quota default", limit=1)
    upload = await world.bob.send(world.channel, "pic", attachments=[("a.png", image_bytes())])

    await world.alice.send(world.channel, f"{world.bot.user.mention} 3", reply_to=upload)

    assert "asked for 3 images but have 1 left" in world.channel.last_message.content
    assert api.requests == []


async def test_a_reply_without_a_mention_is_ignored(world, api):
    upload = await world.bob.send(world.channel, "pic", attachments=[("a.png", image_bytes())])
    before = len(world.channel.history())

    await world.alice.send(world.channel, "nice picture", reply_to=upload)

    assert len(world.channel.history()) == before + 1 and api.requests == []


@pytest.mark.bot_env(MESSAGE_CONTENT_INTENT="false")
async def test_without_the_intent_the_reply_trigger_explains_and_the_menu_still_works(make_bot, api):
    async with simcord.run((await make_bot()), approved_intents=discord.Intents.default()) as env:
        channel = env.create_guild().create_text_channel("art")
        alice = env.guild.add_member(env.create_user("alice"))
        bob = env.guild.add_member(env.create_user("bob"))
        upload = await bob.send(channel, "pic", attachments=[("a.png", image_bytes())])

        await alice.send(channel, f"{env.bot.user.mention} 2", reply_to=upload)
        assert channel.last_message.content == describe_error(NothingToVary(hidden=True))
        assert api.requests == []

        await alice.context_menu(channel, "Vary image", upload)
        assert len(channel.last_message.attachments) == 1


async def test_asking_for_an_image_a_message_does_not_have_says_which_exist(world, api):
    upload = await world.bob.send(
        world.channel, "two", attachments=[("a.png", image_bytes()), ("b.png", image_bytes())]
    )

    await world.alice.send(world.channel, f"{world.bot.user.mention} image 3", reply_to=upload)

    assert world.channel.last_message.content == "That message has 2 images; ask for image 1 to 2."
    assert api.requests == []
    assert (await quota_of(world.bot, world.guild, world.alice)).reserved == 0
