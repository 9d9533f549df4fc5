"""Quotas by role: a member's limit is their own override if set, else the highest limit among their
roles, else the server's default; /quota says which applies; a deleted role breaks nothing."""

from __future__ import annotations

from tests.helpers import answer_text, quota_of


async def tiers(world):
    artists = world.guild.create_role("Artists")
    patrons = world.guild.create_role("Patrons")
    await world.admin.slash(world.channel, "admin quota role", role=artists, limit=10)
    result = await world.admin.slash(world.channel, "admin quota role", role=patrons, limit=20)
    return artists, patrons, answer_text(result)


async def test_the_highest_limit_among_a_members_roles_applies_and_quota_says_so(world, api):
    artists, patrons, answer = await tiers(world)
    assert "**Limits by role:**" in answer
    assert answer.index(patrons.mention) < answer.index(artists.mention)  # highest first
    carol = world.guild.add_member(world.env.create_user("carol"), roles=[artists, patrons])

    shown = answer_text(await carol.slash(world.channel, "quota"))

    assert "**20 images** left today" in shown
    assert f"Limit: 20 images daily (from the {patrons.mention} role)" in shown
    await carol.slash(world.channel, "imagine", prompt="a kite", n=8)  # more than the default 5
    assert len(api.requests) == 1
    assert (await quota_of(world.bot, world.guild, carol)).used == 8


async def test_a_members_own_limit_wins_over_their_roles_and_others_keep_the_default(world):
    artists, _, _ = await tiers(world)
    dave = world.guild.add_member(world.env.create_user("dave"), roles=[artists])
    await world.admin.slash(world.channel, "admin quota set", user=dave, limit=3)

    assert "Limit: 3 images daily (set for this member)" in answer_text(
        await dave.slash(world.channel, "quota")
    )
    assert "Limit: 5 images daily" in answer_text(await world.bob.slash(world.channel, "quota"))


async def test_a_role_tier_is_enforced_when_reserving(world, api):
    low = world.guild.create_role("Trial")
    await world.admin.slash(world.channel, "admin quota role", role=low, limit=1)
    erin = world.guild.add_member(world.env.create_user("erin"), roles=[low])

    refused = await erin.slash(world.channel, "imagine", prompt="a kite", n=2)

    assert "asked for 2 images but have 1 left today" in answer_text(refused)
    assert api.requests == []


async def test_removing_a_roles_limit_and_deleting_the_role_break_nothing(world):
    artists, patrons, _ = await tiers(world)
    carol = world.guild.add_member(world.env.create_user("carol"), roles=[artists, patrons])

    removed = await world.admin.slash(world.channel, "admin quota role", role=patrons)
    assert "no longer has a limit of its own" in answer_text(removed)
    assert "Limit: 10 images daily" in answer_text(await carol.slash(world.channel, "quota"))

    role = world.bot.get_guild(world.guild.id).get_role(artists.id)
    await role.delete()
    await world.env.settle()
    assert await world.bot.services.store.role_limits(world.guild.id) == {}
    assert "Limit: 5 images daily" in answer_text(await carol.slash(world.channel, "quota"))


async def test_admin_quota_show_counts_role_limits(world):
    artists, _, _ = await tiers(world)
    carol = world.guild.add_member(world.env.create_user("carol"), roles=[artists])
    await carol.slash(world.channel, "imagine", prompt="a kite", n=2)

    shown = answer_text(await world.admin.slash(world.channel, "admin quota show"))
    assert f"- {carol.mention}: 2 used, 8 left of 10 ({artists.mention})" in shown
    one = answer_text(await world.admin.slash(world.channel, "admin quota show", user=carol))
    assert f"(from the {artists.mention} role)" in one
