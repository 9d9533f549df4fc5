"""/admin usage show and export: the numbers of the jobs actually run, a chart that is a real image,
and a CSV with one row per job."""

from __future__ import annotations

import csv
import io

import discord
import pytest

from tests.helpers import answered_privately, decode


async def run_some_jobs(world, api):
    await world.alice.slash(world.channel, "imagine", prompt="a kite", n=2)
    await world.alice.slash(world.channel, "imagine", prompt="a boat", model="gpt-image-2.6-flare")
    await world.bob.slash(world.channel, "imagine", prompt="a fox")
    api.fail("server_error", times=3)
    await world.bob.slash(world.channel, "imagine", prompt="refunded")  # fails: refunded, costs nothing


def report_of(result) -> discord.Embed:
    message = result.response
    assert message is not None and message.embeds
    return message.embeds[0]


async def test_the_report_adds_up_to_the_jobs_that_ran(world, api):
    await run_some_jobs(world, api)
    costs = [await world.bot.services.store.job_cost(job) for job in (1, 2, 3)]
    spent = sum(cost.usd for cost in costs if cost is not None)

    result = await world.admin.slash(world.channel, "admin usage show")

    assert answered_privately(result)
    embed = report_of(result)
    assert embed.title == "Image usage this month"
    assert f"**4 jobs · 4 images · ${spent:,.2f} spent** · 1 job refunded" in embed.description
    fields = {field.name: field.value for field in embed.fields}
    assert "`gpt-image-2`: 3 images" in fields["By model"]
    assert "`gpt-image-2.6-flare`: 1 image," in fields["By model"]
    assert fields["Top members"].startswith("1. ")
    assert world.alice.mention in fields["Top members"] and world.bob.mention in fields["Top members"]


async def test_the_chart_is_attached_and_decodes(world, api):
    await run_some_jobs(world, api)

    result = await world.admin.slash(world.channel, "admin usage show", period="week")

    embed = report_of(result)
    assert embed.image.url == "attachment://usage.png"
    [attachment] = result.response.attachments
    chart = decode(await attachment.read())
    assert chart.format == "PNG" and chart.size == (960, 400)
    assert len(chart.getcolors(maxcolors=100_000) or ()) > 3  # bars, a line, text: not a blank image


async def test_an_empty_period_says_so(world):
    result = await world.admin.slash(world.channel, "admin usage show", period="day")
    assert report_of(result).description == "No jobs today yet."


async def test_the_export_has_one_row_per_job(world, api):
    await run_some_jobs(world, api)

    result = await world.admin.slash(world.channel, "admin usage export")

    assert answered_privately(result)
    [attachment] = result.response.attachments
    assert attachment.filename.startswith(f"usage-{world.guild.id}-") and attachment.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO((await attachment.read()).decode())))
    assert [row["job"] for row in rows] == ["1", "2", "3", "4"]
    assert [row["member_id"] for row in rows] == [str(world.alice.id)] * 2 + [str(world.bob.id)] * 2
    assert [row["images"] for row in rows] == ["2", "1", "1", "0"]
    assert [row["state"] for row in rows] == ["committed", "committed", "committed", "refunded"]
    assert rows[0]["cost"] == "exact" and float(rows[0]["cost_usd"]) > 0
    assert rows[3]["cost"] == "" and rows[3]["cost_usd"] == ""
    assert "prompt" not in rows[0]["options"]  # what members typed stays out of the file
    assert rows[1]["model"] == "gpt-image-2.6-flare"


@pytest.mark.parametrize("command", ["admin usage show", "admin usage export"])
async def test_usage_is_admin_only(world, command):
    commands = await world.bot.tree.fetch_commands()
    admin = next(command for command in commands if command.name == "admin")
    world.guild.set_command_permissions(admin, {world.guild.default_role: True})
    result = await world.alice.slash(world.channel, command)
    assert "You need the Manage Server permission" in result.response.content
