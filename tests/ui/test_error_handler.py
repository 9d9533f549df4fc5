"""Every upstream failure class through the real bot: the right words, nothing charged, no secret shown."""

from __future__ import annotations

import logging

import pytest

from bot import images
from tests.helpers import answer_text, everything_shown, images_of, quota_of

FAILURES = [
    # (fake's failure kind, options, exception class, words the user must read, attempts made)
    ("content_policy", {}, images.SafetyRejected, "safety system rejected", 1),
    ("moderation_blocked", {}, images.SafetyRejected, "safety system rejected", 1),
    ("invalid_request", {}, images.InvalidRequest, "refused the request", 1),
    ("auth", {}, images.AuthenticationFailed, "OPENAI_API_KEY", 1),
    ("forbidden", {}, images.PermissionDenied, "refused this bot's account", 1),
    ("model_not_found", {}, images.ModelRetired, "is no longer available", 1),
    ("insufficient_quota", {}, images.OutOfCredit, "run out of credit", 1),
    ("billing_hard_limit", {}, images.OutOfCredit, "run out of credit", 1),
    ("rate_limit", {"retry_after_ms": 10}, images.RateLimited, "rate limit", 3),
    ("server_error", {"status": 503}, images.ServerError, "internal error (503)", 3),
    ("html_error", {}, images.ServerError, "internal error (502)", 3),
    ("drop", {}, images.APIConnectionError, "couldn't reach", 3),
]


@pytest.mark.parametrize(("kind", "options", "exception", "words", "attempts"), FAILURES)
async def test_each_failure_class_gets_its_own_message_and_costs_nothing(
    world, api, caplog, kind, options, exception, words, attempts
):
    caplog.set_level(logging.DEBUG)
    api.fail(kind, times=attempts, **options)

    result = await world.alice.slash(world.channel, "imagine", prompt="a harbour")

    text = answer_text(result)
    message = world.channel.last_message  # the "thinking…" placeholder, now the explanation
    assert message.id == result.response.id and message.content == text and not message.attachments
    assert words in text and "Nothing was charged" in text
    if exception is not images.SafetyRejected:
        assert "safety" not in text
    assert isinstance(world.env.errors[-1].original, exception)
    assert len(api.requests) == attempts
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved, status.remaining) == (0, 0, 5)
    assert api.api_key not in text
    assert api.api_key not in everything_shown(world.env, [world.channel])
    assert api.api_key not in caplog.text
    assert world.bot.services.config.openai_api_key not in repr(world.bot.services.config)


async def test_a_transient_failure_is_retried_and_then_charged_once(world, api):
    api.fail("server_error", times=1, status=500)
    api.fail("rate_limit", times=1, retry_after=0.05)

    await world.alice.slash(world.channel, "imagine", prompt="a harbour", n=2)

    assert len(api.requests) == 3
    assert len(await images_of(world.channel.last_message)) == 2
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (2, 0)


async def test_a_long_retry_after_waits_in_virtual_time_and_the_user_is_not_charged_meanwhile(world, api):
    api.fail("rate_limit", times=1, retry_after=90)

    await world.alice.slash(world.channel, "imagine", prompt="a harbour")
    assert len(api.requests) == 1
    assert (await quota_of(world.bot, world.guild, world.alice)).reserved == 1  # held, not charged

    await world.env.advance_time(91)

    assert len(api.requests) == 2
    assert len(await images_of(world.channel.last_message)) == 1
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (1, 0)


@pytest.mark.bot_env(OPENAI_MAX_RETRIES="0")
async def test_retries_follow_openai_max_retries(world, api):
    api.fail("server_error", times=1)

    result = await world.alice.slash(world.channel, "imagine", prompt="a harbour")

    assert "internal error" in answer_text(result)
    assert len(api.requests) == 1


async def test_malformed_success_bodies_cost_nothing(world, api):
    api.fail("malformed_json", times=3)

    result = await world.alice.slash(world.channel, "imagine", prompt="a harbour")

    assert "isn't a usable image" in answer_text(result)
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (0, 0)


async def test_a_gateway_that_only_returns_urls_still_gets_images_posted_as_files(world, api):
    api.url_results = True

    await world.alice.slash(world.channel, "imagine", prompt="a harbour", n=2)

    message = world.channel.last_message
    assert len(await images_of(message)) == 2
    assert "http" not in (message.content or "")
    assert all("/_files/" not in str(embed.to_dict()) for embed in message.embeds)
