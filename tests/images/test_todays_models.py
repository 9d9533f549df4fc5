"""Today's models end to end: the 2.5/2.6 options, animated GIFs, an operator's own rows, Azure.

A member runs the commands in SimCord; the fake Images API (its own model table, written from the
reference) answers over HTTP and refuses anything the real API would.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.images import OptionNotSupported
from tests.helpers import answer_text, answered_privately, handled_errors, images_of, quota_of

V26 = "gpt-image-2.6-flare"
MODELS_TOML = """
[models."house-model"]
like = "gpt-image-2"
upstream = "my-gateway/gpt-image-2"
summary = "the house gateway's gpt-image-2"

[models."studio"]
like = "gpt-image-2.6-sunburst"
upstream = "studio-deployment"
"""


def models_file(tmp_path: Path) -> str:
    path = tmp_path / "models.toml"
    path.write_text(MODELS_TOML, encoding="utf-8")
    return str(path)


def image_posts(api) -> list:
    return [r for r in api.requests if r.endpoint in ("generations", "edits", "variations")]


async def test_a_26_model_takes_xhigh_quality_and_complexity(world, api):
    result = await world.alice.slash(
        world.channel, "imagine", prompt="a harbour at dawn", model=V26, quality="xhigh", complexity="high"
    )

    assert not answered_privately(result)
    sent = image_posts(api)[0].json
    assert (sent["model"], sent["quality"], sent["complexity"]) == (V26, "xhigh", "high")
    assert "frame_count" not in sent and "output_format" not in sent
    message = world.channel.last_message
    assert len(await images_of(message)) == 1
    fields = {field.name: field.value for field in message.embeds[0].fields}
    assert (fields["Quality"], fields["Complexity"]) == ("xhigh", "high")


async def test_an_animated_gif_is_posted_as_a_gif_that_plays(world, api):
    await world.alice.slash(
        world.channel, "imagine", prompt="a cat blinking", model=V26, format="gif", frames=12
    )

    sent = image_posts(api)[0].json
    assert (sent["output_format"], sent["frame_count"], sent["size"]) == ("gif", 12, "816x816")
    message = world.channel.last_message
    (attachment,) = message.attachments
    assert attachment.filename.endswith(".gif")
    gif = Image.open(io.BytesIO(await attachment.read()))
    assert gif.format == "GIF" and gif.is_animated and gif.n_frames == 12
    fields = {field.name: field.value for field in message.embeds[0].fields}
    assert fields["Format"] == "GIF, 12 frames" and fields["Size"] == "816x816"
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 1


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"model": "gpt-image-2", "complexity": "low"}, "complexity"),
        ({"model": "gpt-image-2", "quality": "max"}, "quality"),
        ({"model": "gpt-image-2.5-flare", "format": "gif"}, "format `gif`"),
        ({"model": V26, "frames": 4}, "`frames` makes an animated GIF"),
        ({"model": V26, "format": "gif", "size": "1024x1024"}, "960x960"),
        ({"model": V26, "format": "gif", "background": "transparent"}, "png or webp"),
    ],
)
async def test_an_option_the_model_does_not_take_is_refused_privately_for_free(world, api, options, words):
    result = await world.alice.slash(world.channel, "imagine", prompt="a kite", **options)

    assert answered_privately(result)
    assert words in answer_text(result)
    assert image_posts(api) == []
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 0
    assert isinstance(handled_errors(world.env)[-1], OptionNotSupported)


async def test_edit_passes_complexity_on_a_26_model(world, api):
    from tests.helpers import image_bytes

    await world.alice.slash(
        world.channel,
        "edit",
        image=("photo.png", image_bytes(64, 64)),
        prompt="make it night",
        model="gpt-image-2.6-sunburst",
        complexity="medium",
    )

    (sent,) = image_posts(api)
    assert sent.form["complexity"] == "medium" and sent.form["model"] == "gpt-image-2.6-sunburst"
    assert len(await images_of(world.channel.last_message)) == 1


async def test_autocomplete_offers_only_what_the_chosen_model_takes(world, api):
    alice, channel = world.alice, world.channel
    formats = await alice.autocomplete(channel, "imagine", "format", "", model="gpt-image-2.5-flare")
    assert [c["value"] for c in formats] == ["png", "jpeg", "webp"]
    formats = await alice.autocomplete(channel, "imagine", "format", "", model=V26)
    assert [c["value"] for c in formats] == ["png", "jpeg", "webp", "gif"]
    assert await alice.autocomplete(channel, "imagine", "complexity", "", model="gpt-image-2") == []
    qualities = await alice.autocomplete(channel, "imagine", "quality", "", model=V26)
    assert {"xhigh", "max"} <= {c["value"] for c in qualities}
    sizes = await alice.autocomplete(channel, "imagine", "size", "", model=V26, format="gif", frames=16)
    assert sizes and sizes[0]["value"] == "720x720"
    assert all(int(w) * int(h) <= 720 * 720 for w, h in (c["value"].split("x") for c in sizes))


# -- an operator's own rows --------------------------------------------------------------------------


@pytest.fixture
def house_env(bot_env, tmp_path, api):
    api.aliases["my-gateway/gpt-image-2"] = "gpt-image-2"
    bot_env |= {"MODELS_FILE": models_file(tmp_path), "IMAGE_MODEL": "house-model"}
    return bot_env


async def test_a_models_file_row_is_offered_and_sent_as_its_upstream_id(house_env, world, api):
    choices = await world.alice.autocomplete(world.channel, "imagine", "model", "house")
    assert [c["value"] for c in choices] == ["house-model"]
    assert "default" in choices[0]["name"]

    await world.alice.slash(world.channel, "imagine", prompt="a lantern", size="2048x1152")

    sent = image_posts(api)[0]
    assert sent.json["model"] == "my-gateway/gpt-image-2" and sent.model == "my-gateway/gpt-image-2"
    message = world.channel.last_message
    assert [image.size for image in await images_of(message)] == [(2048, 1152)]
    assert {f.name: f.value for f in message.embeds[0].fields}["Model"] == "house-model"


# -- Azure OpenAI --------------------------------------------------------------------------------------


@pytest.fixture
def azure_env(bot_env, tmp_path, api):
    api.azure_deployments["studio-deployment"] = "gpt-image-2.6-sunburst"
    bot_env |= {
        "OPENAI_API_TYPE": "azure",
        "OPENAI_BASE_URL": api.azure_base_url,
        "AZURE_API_VERSION": "2025-04-01-preview",
        "MODELS_FILE": models_file(tmp_path),
        "IMAGE_MODEL": "studio",
    }
    return bot_env


async def test_azure_gets_its_deployment_url_api_version_and_api_key(azure_env, world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse", quality="high")

    (sent,) = image_posts(api)
    assert sent.path == "/openai/deployments/studio-deployment/images/generations"
    assert sent.query == {"api-version": "2025-04-01-preview"}
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert "api-key" in headers and "authorization" not in headers
    assert "model" not in sent.json  # the deployment selects the model
    assert len(await images_of(world.channel.last_message)) == 1


async def test_azures_content_filter_is_a_safety_rejection(azure_env, world, api):
    api.fail("content_filter")

    result = await world.alice.slash(world.channel, "imagine", prompt="something")

    assert "safety system" in answer_text(result)
    assert len(image_posts(api)) == 1  # never retried
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 0


# -- what a job cost -----------------------------------------------------------------------------------


async def test_an_edits_cost_is_recorded_exactly_with_text_and_image_input_priced_apart(world, api):
    from tests.helpers import image_bytes

    api.usage_answer = {
        "input_tokens": 1_300,
        "output_tokens": 4_000,
        "total_tokens": 5_300,
        "input_tokens_details": {"text_tokens": 300, "image_tokens": 1_000},
    }
    await world.alice.slash(
        world.channel, "edit", image=("photo.png", image_bytes(64, 64)), prompt="make it night", model=V26
    )

    cost = await world.bot.services.store.job_cost(1)
    assert cost is not None and cost.exact is True
    assert cost.usd == pytest.approx((300 * 5 + 1_000 * 8 + 4_000 * 30) / 1_000_000)
    shown = answer_text_everywhere(world)
    assert "$" not in shown and "0.12" not in shown  # members don't see it


async def test_without_usage_the_cost_is_an_estimate(world, api):
    api.usage_answer = False

    await world.alice.slash(
        world.channel, "imagine", prompt="a kite", model=V26, size="1536x1024", quality="low"
    )

    cost = await world.bot.services.store.job_cost(1)
    assert cost is not None and cost.exact is False and cost.usd > 0


async def test_a_job_whose_upstream_call_failed_costs_nothing_and_records_no_cost(world, api):
    api.fail("server_error", times=3)

    await world.alice.slash(world.channel, "imagine", prompt="a kite", model=V26)

    assert await world.bot.services.store.job_cost(1) is None


def answer_text_everywhere(world) -> str:
    parts = []
    for message in world.channel.history():
        parts.append(message.content or "")
        parts += [str(embed.to_dict()) for embed in message.embeds]
    return "\n".join(parts)
