"""/imagine end to end: a member runs the command in SimCord; the fake Images API answers over HTTP."""

from __future__ import annotations

import re

import pytest

from bot.core.text import echo
from bot.images import SafetyRejected
from tests.helpers import answer_text, answered_privately, images_of, quota_of


async def test_imagine_posts_one_message_with_all_images_and_a_full_embed(world, api):
    result = await world.alice.slash(
        world.channel, "imagine", prompt="a lighthouse at dusk", n=3, size="1536x1024"
    )

    assert result.acknowledged and not answered_privately(result)
    message = world.channel.last_message
    assert message.author.id == world.bot.user.id
    images = await images_of(message)
    assert [image.size for image in images] == [(1536, 1024)] * 3
    assert len(api.requests) == 1
    sent = api.requests[0]
    assert sent.path == "/v1/images/generations"
    assert sent.json["model"] == "gpt-image-2" and sent.json["n"] == 3 and sent.json["size"] == "1536x1024"
    assert "response_format" not in sent.json  # GPT image models refuse it
    assert sent.json["user"].startswith("u-") and str(world.alice.id) not in sent.json["user"]

    embed = message.embeds[0]
    assert "a lighthouse at dusk" in embed.description
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Model"] == "gpt-image-2"
    assert fields["Size"] == "1536x1024"
    assert fields["Quality"] == "auto"
    assert fields["Quota"].startswith("2 of 5 images left today")
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved, status.remaining) == (3, 0, 2)


async def test_the_user_hash_is_stable_per_user_and_distinct_between_users(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="one")
    await world.alice.slash(world.channel, "imagine", prompt="two")
    await world.bob.slash(world.channel, "imagine", prompt="three")
    users = [request.json["user"] for request in api.requests]
    assert users[0] == users[1] != users[2]


async def test_dall_e_3_fans_out_into_parallel_single_image_requests(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a fox", model="dall-e-3", n=3, style="natural")

    assert len(api.requests) == 3
    for request in api.requests:
        assert request.json["model"] == "dall-e-3" and request.json["n"] == 1
        assert request.json["response_format"] == "b64_json" and request.json["style"] == "natural"
    message = world.channel.last_message
    assert len(await images_of(message)) == 3
    fields = {field.name: field.value for field in message.embeds[0].fields}
    assert fields["Style"] == "natural" and fields["Quality"] == "standard"
    assert "Revised prompt" in fields  # dall-e-3 rewrites prompts and says so
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 3


async def test_a_fan_out_part_failing_delivers_the_rest_and_charges_only_those(world, api):
    api.fail("content_policy", times=1)

    await world.alice.slash(world.channel, "imagine", prompt="a fox", model="dall-e-3", n=3)

    message = world.channel.last_message
    assert len(await images_of(message)) == 2
    fields = {field.name: field.value for field in message.embeds[0].fields}
    assert "safety system" in fields["2 of 3 images made"]
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (2, 0)


async def test_dall_e_2_is_asked_for_base64_and_returns_real_pngs(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a cube", model="dall-e-2", size="256x256", n=2)

    assert api.requests[0].json["response_format"] == "b64_json"
    images = await images_of(world.channel.last_message)
    assert [(image.format, image.size) for image in images] == [("PNG", (256, 256))] * 2


REFUSALS = [
    ({"size": "4000x1000"}, ["size", "1024x1024", "1536x1024", "1024x1536", "auto", "3:1"]),
    ({"model": "dall-e-3", "size": "512x512"}, ["size", "1024x1024", "1792x1024", "1024x1792"]),
    ({"quality": "hd"}, ["quality", "low", "medium", "high", "auto"]),
    ({"model": "dall-e-3", "quality": "high"}, ["quality", "standard", "hd"]),
    ({"style": "vivid"}, ["style"]),
    ({"model": "dall-e-2", "background": "transparent"}, ["background"]),
    ({"model": "dall-e-2", "prompt": "x" * 1001}, ["1,001", "1,000"]),
    ({"model": "midjourney"}, ["midjourney", "gpt-image-2", "dall-e-3"]),
    ({"prompt": "   "}, ["empty"]),
    ({"prompt": "\u200b\u200d\u2060 \ufeff"}, ["empty"]),  # zero-width characters only
    ({"prompt": "\u3164\u2800\u0301"}, ["empty"]),  # a Hangul filler, blank Braille, a lone accent
    ({"size": "1000x1000"}, ["size", "multiples of 16"]),
]


@pytest.mark.parametrize(("options", "named"), REFUSALS)
async def test_unsupported_options_are_refused_privately_before_anything_is_charged_or_sent(
    world, api, options, named
):
    options = {"prompt": "a cat"} | options

    result = await world.alice.slash(world.channel, "imagine", **options)

    assert answered_privately(result)
    text = answer_text(result)
    for word in named:
        assert word in text
    assert api.requests == []
    assert world.channel.last_message is None
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (0, 0)


async def test_the_bot_keeps_serving_after_a_refusal(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a cat", quality="hd")
    await world.alice.slash(world.channel, "imagine", prompt="a cat")
    assert len(await images_of(world.channel.last_message)) == 1


async def test_autocomplete_offers_only_what_the_chosen_model_supports(world):
    sizes = await world.alice.autocomplete(world.channel, "imagine", "size", "", model="dall-e-3")
    assert [choice["value"] for choice in sizes] == ["1024x1024", "1792x1024", "1024x1792"]

    default_sizes = await world.alice.autocomplete(world.channel, "imagine", "size", "")
    assert {"1024x1024", "1536x1024", "1024x1536", "auto"} <= {c["value"] for c in default_sizes}
    assert "1792x1024" not in {c["value"] for c in default_sizes}

    qualities = await world.alice.autocomplete(world.channel, "imagine", "quality", "", model="dall-e-3")
    assert [choice["value"] for choice in qualities] == ["standard", "hd"]

    styles = await world.alice.autocomplete(world.channel, "imagine", "style", "", model="gpt-image-2")
    assert styles == []

    models = await world.alice.autocomplete(world.channel, "imagine", "model", "dall")
    assert sorted(choice["value"] for choice in models) == ["dall-e-2", "dall-e-3"]


async def test_a_safety_rejection_is_reported_as_one_and_costs_nothing(world, api):
    api.fail("moderation_blocked")

    result = await world.alice.slash(world.channel, "imagine", prompt="something rejected")

    # The public "thinking…" placeholder becomes the explanation: nothing is left spinning.
    message = world.channel.last_message
    assert message.id == result.response.id and not message.attachments and not message.embeds
    assert "safety system rejected" in message.content and "Nothing was charged" in message.content
    assert len(api.requests) == 1  # never retried
    assert isinstance(world.env.errors[-1].original, SafetyRejected)
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (0, 0)


PHISHING = "[free nitro](https://evil.example) **now** @everyone <@&1456074443980800016> <:blob:1> || # hi"


def unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


async def test_a_prompt_is_shown_exactly_as_typed_with_no_link_mention_or_formatting(world, api):
    result = await world.alice.slash(world.channel, "imagine", prompt=PHISHING)

    description = result.response.message.embeds[0].description
    assert unescaped(description) == f"**Prompt:** {PHISHING}"
    shown = description.removeprefix("**Prompt:** ")
    assert re.search(r"(?<!\\)[\[\]()<>@*|#:]", shown) is None  # every markup character escaped
    assert api.requests[0].json["prompt"] == PHISHING  # upstream gets the words as typed


def test_an_echo_cut_short_never_ends_in_half_an_escape():
    for limit in range(2, 40):
        cut = echo("*" * 50, limit)
        assert len(cut) <= limit and cut.endswith("…")
        assert (len(cut[:-1]) - len(cut[:-1].rstrip("\\"))) % 2 == 0
