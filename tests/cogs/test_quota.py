"""Quotas as members and admins meet them: /quota, exhaustion, every /admin quota command, scoping."""

from __future__ import annotations

import pytest
from simcord import SetupError

from tests.helpers import answer_text, answered_privately, images_of, quota_of


async def test_quota_shows_what_is_left_the_limit_and_the_reset(world):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2)

    result = await world.alice.slash(world.channel, "quota")

    assert answered_privately(result)
    text = answer_text(result)
    assert "**3 images** left today" in text
    assert "Limit: 5 images daily" in text
    assert "Used: 2" in text
    assert "Resets <t:" in text


async def test_an_exhausted_quota_refuses_privately_without_calling_upstream(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=4)
    api.reset()

    too_many = await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2)
    assert answered_privately(too_many)
    assert "asked for 2 images but have 1 left today" in answer_text(too_many)

    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    spent = await world.alice.slash(world.channel, "imagine", prompt="a kite")
    assert "used all 5 images of your quota today" in answer_text(spent)
    assert "Nothing was charged" in answer_text(spent)
    assert len(api.requests) == 1  # only the one that fitted
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 5


@pytest.mark.bot_env(DEFAULT_QUOTA="3", QUOTA_PERIOD="week")
async def test_the_environment_sets_the_default_quota_and_period(world):
    text = answer_text(await world.alice.slash(world.channel, "quota"))
    assert "**3 images** left this week" in text and "weekly" in text


async def test_admin_sets_a_members_own_limit_and_clears_it(world):
    result = await world.admin.slash(world.channel, "admin quota set", user=world.alice, limit=12)
    assert answered_privately(result)
    assert "own limit of 12 images daily" in answer_text(result)
    assert "**12 images** left today" in answer_text(await world.alice.slash(world.channel, "quota"))
    assert "**5 images**" in answer_text(await world.bob.slash(world.channel, "quota"))

    await world.admin.slash(world.channel, "admin quota set", user=world.alice)
    assert "**5 images** left today" in answer_text(await world.alice.slash(world.channel, "quota"))


async def test_admin_resets_a_members_usage(world):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=5)

    result = await world.admin.slash(world.channel, "admin quota reset", user=world.alice)

    assert "Cleared" in answer_text(result)
    assert (await quota_of(world.bot, world.guild, world.alice)).remaining == 5
    await world.alice.slash(world.channel, "imagine", prompt="again")
    assert len(await images_of(world.channel.last_message)) == 1


async def test_admin_grants_extra_images_for_this_period(world):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=5)

    await world.admin.slash(world.channel, "admin quota grant", user=world.alice, amount=3)

    text = answer_text(await world.alice.slash(world.channel, "quota"))
    assert "**3 images** left today" in text and "Extra granted today: 3" in text


async def test_admin_sets_the_server_default_and_period(world):
    result = await world.admin.slash(world.channel, "admin quota default", limit=40, period="month")
    assert "40 images per member, monthly" in answer_text(result)
    assert "**40 images** left this month" in answer_text(await world.bob.slash(world.channel, "quota"))

    await world.admin.slash(world.channel, "admin quota default", limit=10)
    assert "**10 images** left this month" in answer_text(await world.bob.slash(world.channel, "quota"))


async def test_admin_shows_a_member_and_the_server(world):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2)
    await world.admin.slash(world.channel, "admin quota set", user=world.bob, limit=1)

    member = answer_text(await world.admin.slash(world.channel, "admin quota show", user=world.alice))
    assert "alice" in member and "**3 images** left today" in member

    server = answer_text(await world.admin.slash(world.channel, "admin quota show"))
    assert "Default:** 5 images per member, daily (the bot's default)" in server
    assert f"<@{world.alice.id}>: 2 used, 3 left of 5" in server
    assert f"<@{world.bob.id}>: 0 used, 1 left of 1 (own limit)" in server


async def test_admin_commands_are_hidden_from_members_by_default(world):
    assert "admin quota set" not in world.alice.available_commands(world.channel)
    assert "admin quota set" in world.admin.available_commands(world.channel)
    with pytest.raises(SetupError):
        await world.alice.slash(world.channel, "admin quota grant", user=world.alice, amount=100)


async def test_a_member_is_refused_even_when_the_server_opens_the_admin_commands_to_everyone(world):
    commands = await world.bot.tree.fetch_commands()
    admin_command = next(command for command in commands if command.name == "admin")
    world.guild.set_command_permissions(admin_command, {world.guild.default_role: True})
    assert "admin quota grant" in world.alice.available_commands(world.channel)

    result = await world.alice.slash(world.channel, "admin quota grant", user=world.alice, amount=100)

    assert answered_privately(result)
    assert "You need the Manage Server permission" in answer_text(result)
    assert (await quota_of(world.bot, world.guild, world.alice)).granted == 0


async def test_quota_changes_are_scoped_to_the_server_they_were_made_in(world):
    carol = world.env.create_user("carol")
    carol_here = world.guild.add_member(carol)
    other = world.env.create_guild(name="Elsewhere")
    other_channel = other.create_text_channel("general")
    carol_there = other.add_member(carol)

    await world.admin.slash(world.channel, "admin quota default", limit=1)
    await world.admin.slash(world.channel, "admin quota grant", user=carol_here, amount=2)
    await carol_here.slash(world.channel, "imagine", prompt="here", n=3)

    assert "**0 images** left today" in answer_text(await carol_here.slash(world.channel, "quota"))
    there = answer_text(await carol_there.slash(other_channel, "quota"))
    assert "**5 images** left today" in there and "Extra granted" not in there


async def test_a_members_name_is_shown_as_typed_with_no_link_or_formatting(world):
    trickster = world.guild.add_member(world.env.create_user("[admin](https://evil.example)_x_"))

    shown = answer_text(await world.admin.slash(world.channel, "admin quota show", user=trickster))

    assert shown.startswith(r"**\[admin\]\(https\://evil\.example\)\_x\_**")
