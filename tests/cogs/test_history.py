"""/history lists a member's own jobs privately; /show posts one of their results again without a
new upstream call or charge, and refuses other members' jobs and results that are gone."""

from __future__ import annotations

from tests.helpers import answer_text, answered_privately, labels, quota_of


async def test_history_lists_my_jobs_newest_first_with_links_and_escaped_prompts(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a **bold** kite", n=2)
    api.fail("server_error", times=3)
    await world.alice.slash(world.channel, "imagine", prompt="a boat")
    await world.bob.slash(world.channel, "imagine", prompt="bob's fox")
    result_message = world.channel.history()[0]  # the kite: the first message of the channel

    result = await world.alice.slash(world.channel, "history")

    assert answered_privately(result)
    shown = answer_text(result)
    assert shown.index("**#2**") < shown.index("**#1**")
    assert "#3" not in shown and "bob's fox" not in shown
    assert "2 images" in shown and "failed, not charged" in shown
    assert f"/channels/{world.guild.id}/{world.channel.id}/{result_message.id})" in shown
    assert r"a \*\*bold\*\* kite" in shown


async def test_show_posts_my_result_again_for_free_with_its_buttons(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2)
    before = len(api.requests)
    used = (await quota_of(world.bot, world.guild, world.alice)).used

    await world.alice.slash(world.channel, "show", job=1)

    posted = world.channel.history()[-1]
    assert "Job #1, shown again" in posted.content
    assert len(posted.attachments) == 2
    assert labels(posted) == ["Vary 1", "Vary 2", "Redo"]
    assert len(api.requests) == before
    assert (await quota_of(world.bot, world.guild, world.alice)).used == used


async def test_show_refuses_another_members_job_privately(world, api):
    await world.bob.slash(world.channel, "imagine", prompt="bob's fox")
    count = len(world.channel.history())

    result = await world.alice.slash(world.channel, "show", job=1)

    assert answered_privately(result)
    assert "is another member's" in answer_text(result)
    assert len(world.channel.history()) == count


async def test_show_says_so_when_the_result_is_gone_or_never_was(world, api):
    api.fail("server_error", times=3)
    await world.alice.slash(world.channel, "imagine", prompt="a boat")
    assert "has no result to show" in answer_text(await world.alice.slash(world.channel, "show", job=1))
    assert "no job #99" in answer_text(await world.alice.slash(world.channel, "show", job=99))

    await world.alice.slash(world.channel, "imagine", prompt="a kite")
    posted = world.channel.history()[-1]
    await world.bot.get_channel(world.channel.id).get_partial_message(posted.id).delete()
    await world.env.settle()
    assert "was deleted from Discord" in answer_text(await world.alice.slash(world.channel, "show", job=2))
