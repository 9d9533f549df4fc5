"""Retired models, seen coming (the backend's GET /models) or not (an upstream 404 for a job)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.images import ModelRetired
from tests.helpers import answer_text, answered_privately, handled_errors, images_of, quota_of

TODAY = datetime.now(UTC).date()


def image_posts(api) -> list:
    return [r for r in api.requests if r.endpoint in ("generations", "edits", "variations")]


@pytest.fixture
def retired_gpt_image_2(api):
    api.shutdown_dates["gpt-image-2"] = (TODAY - timedelta(days=1)).isoformat()
    api.shutdown_dates["gpt-image-2.5-flare"] = (TODAY + timedelta(days=12)).isoformat()


async def test_a_model_past_its_shutdown_date_is_refused_naming_the_replacement(
    retired_gpt_image_2, world, api
):
    result = await world.alice.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2")

    assert answered_privately(result)
    text = answer_text(result)
    assert f"`gpt-image-2` was retired on {(TODAY - timedelta(days=1)).isoformat()}" in text
    assert "Use `gpt-image-2.6-flare` instead" in text and "Nothing was charged" in text
    assert image_posts(api) == []
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 0
    assert isinstance(handled_errors(world.env)[-1], ModelRetired)


async def test_a_model_within_thirty_days_is_served_and_marked_retiring(retired_gpt_image_2, world, api):
    choices = await world.alice.autocomplete(world.channel, "imagine", "model", "2.5-flare")
    labels = {c["value"]: c["name"] for c in choices}
    assert "retiring" in labels["gpt-image-2.5-flare"]
    assert "gpt-image-2" not in {
        c["value"] for c in await world.alice.autocomplete(world.channel, "imagine", "model", "")
    }

    await world.alice.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2.5-flare")

    assert len(await images_of(world.channel.last_message)) == 1


async def test_admin_models_lists_every_model_with_its_state(retired_gpt_image_2, world, api):
    result = await world.admin.slash(world.channel, "admin models show")

    assert answered_privately(result)
    text = result.response.embeds[0].description
    lines = {line.split("**")[1]: line for line in text.splitlines() if line.startswith("- **")}
    assert "retired" in lines["gpt-image-2"] and "use `gpt-image-2.6-flare` instead" in lines["gpt-image-2"]
    assert "retiring" in lines["gpt-image-2.5-flare"] and "in 12 days" in lines["gpt-image-2.5-flare"]
    assert lines["gpt-image-2.6-flare"].endswith("active")
    assert "active here (OpenAI's own API shut it down on 2026-05-12)" in lines["dall-e-3"]  # a gateway
    assert set(lines) >= {"dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-2.6-sunburst"}


async def test_the_start_up_log_names_each_affected_model_and_a_retired_default(
    bot_env, api, world, make_bot, caplog
):
    # The bot in `world` already started; start another whose default is retired, and read its log.
    bot_env["IMAGE_MODEL"] = "gpt-image-2"
    api.shutdown_dates["gpt-image-2"] = (TODAY - timedelta(days=3)).isoformat()
    caplog.set_level(logging.INFO, logger="bot.ui.client")
    await world.env.restart_bot(await make_bot())

    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "bot.ui.client"]
    shutdown = (TODAY - timedelta(days=3)).isoformat()
    line = f"model gpt-image-2 is retired (shutdown {shutdown}); use gpt-image-2.6-flare"
    assert (logging.WARNING, line) in messages
    assert any(level == logging.ERROR and "IMAGE_MODEL=gpt-image-2" in text for level, text in messages)
    # the other models keep working
    await world.alice.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2.6-sunburst")
    assert len(await images_of(world.channel.last_message)) == 1


async def test_a_backend_without_a_models_endpoint_changes_nothing(api, world, make_bot):
    api.models_endpoint = "missing"
    api.shutdown_dates["gpt-image-1"] = (TODAY - timedelta(days=3)).isoformat()  # never read
    await world.env.restart_bot(await make_bot())

    await world.alice.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-1")

    assert len(await images_of(world.channel.last_message)) == 1


async def test_the_lifecycle_is_read_again_once_a_day(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2")
    api.shutdown_dates["gpt-image-2"] = TODAY.isoformat()

    await world.env.advance_time(24 * 3600 + 1)

    result = await world.alice.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2")
    assert "was retired on" in answer_text(result)
    assert len(image_posts(api)) == 1


async def test_an_unseen_retirement_is_explained_costs_nothing_and_is_not_called_again(world, api):
    api.fail("model_not_found")

    result = await world.alice.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2")

    text = answer_text(result)
    assert "`gpt-image-2` is no longer available" in text and "Use `gpt-image-2.6-flare` instead" in text
    assert "Nothing was charged" in text
    assert len(image_posts(api)) == 1  # never retried
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 0

    again = await world.bob.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2")

    assert answered_privately(again) and "no longer available" in answer_text(again)
    assert len(image_posts(api)) == 1  # no more doomed calls
    await world.bob.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2.6-flare")
    assert len(image_posts(api)) == 2


async def test_redo_of_a_model_retired_since_is_refused_for_free(world, api, make_bot):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", model="gpt-image-2")
    result_message = world.channel.last_message
    api.shutdown_dates["gpt-image-2"] = TODAY.isoformat()
    await world.env.restart_bot(await make_bot())

    result = await world.alice.click(result_message, label="Redo")

    assert answered_privately(result) and "was retired on" in answer_text(result)
    assert len(image_posts(api)) == 1
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 1
