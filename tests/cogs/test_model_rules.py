"""/admin models deny|allow|limit: a server keeps members to the models and options it pays for —
refused before anything is charged, capped where members leave the choice to the model, and not
offered in autocomplete."""

from __future__ import annotations

from tests.helpers import answer_text, answered_privately, quota_of

FLARE = "gpt-image-2.6-flare"


async def test_a_denied_model_is_refused_for_free_and_not_offered(world, api):
    denied = await world.admin.slash(world.channel, "admin models deny", model=FLARE)
    assert f"`{FLARE}` is denied here now" in answer_text(denied)

    refused = await world.alice.slash(world.channel, "imagine", prompt="a kite", model=FLARE)

    assert answered_privately(refused)
    assert f"don't allow `{FLARE}` here" in answer_text(refused)
    assert api.requests == [] and (await quota_of(world.bot, world.guild, world.alice)).reserved == 0
    offered = await world.alice.autocomplete(world.channel, "imagine", "model", "")
    assert FLARE not in [choice["value"] for choice in offered] and "gpt-image-2" in [
        c["value"] for c in offered
    ]

    await world.admin.slash(world.channel, "admin models allow", model=FLARE)
    await world.alice.slash(world.channel, "imagine", prompt="a kite", model=FLARE)
    assert len(api.requests) == 1


async def test_redo_of_a_job_on_a_model_denied_since_is_refused(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", model=FLARE)
    result_message = world.channel.last_message
    await world.admin.slash(world.channel, "admin models deny", model=FLARE)

    redo = await world.alice.click(result_message, label="Redo")

    assert "don't allow" in answer_text(redo)
    assert len(api.requests) == 1


async def test_a_quality_ceiling_refuses_more_and_caps_auto(world, api):
    await world.admin.slash(world.channel, "admin models limit", quality="medium")

    refused = await world.alice.slash(world.channel, "imagine", prompt="a kite", quality="high")
    assert "don't allow quality `high` here (at most medium)" in answer_text(refused)
    assert api.requests == []

    await world.alice.slash(world.channel, "imagine", prompt="a kite")  # quality left to the model
    assert api.requests[0].json["quality"] == "medium"
    offered = [c["value"] for c in await world.alice.autocomplete(world.channel, "imagine", "quality", "")]
    assert "high" not in offered and "medium" in offered and "low" in offered


async def test_a_size_ceiling_refuses_larger_sizes_and_caps_auto(world, api):
    answer = await world.admin.slash(world.channel, "admin models limit", size="1024x1024")
    assert "Largest size: 1.0 megapixels" in answer_text(answer)

    refused = await world.alice.slash(world.channel, "imagine", prompt="a kite", size="1536x1024")
    assert "don't allow size `1536x1024` here" in answer_text(refused)

    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    assert api.requests[0].json["size"] == "1024x1024"
    offered = [c["value"] for c in await world.alice.autocomplete(world.channel, "imagine", "size", "")]
    assert "1536x1024" not in offered and "1024x1024" in offered


async def test_rules_are_shown_logged_and_lifted(world):
    logs = world.guild.create_text_channel("bot-log")
    await world.admin.slash(world.channel, "admin log channel", channel=logs)
    await world.admin.slash(world.channel, "admin models deny", model=FLARE)
    await world.admin.slash(world.channel, "admin models limit", quality="high")

    shown = await world.admin.slash(world.channel, "admin models show")
    rules = shown.response.embeds[0].fields[0].value
    assert f"Denied models: `{FLARE}`" in rules and "Highest quality: high" in rules

    await world.admin.slash(world.channel, "admin models limit")
    lines = [message.content for message in logs.history()]
    assert any(f"denied the model `{FLARE}`" in line for line in lines)
    assert any("set the ceilings to quality high" in line for line in lines)
    assert any("lifted the ceilings" in line for line in lines)


async def test_an_unknown_model_name_is_refused(world):
    result = await world.admin.slash(world.channel, "admin models deny", model="gpt-9000")
    assert "isn't a model this bot offers" in answer_text(result)
