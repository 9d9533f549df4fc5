"""``python -m bot check``: one line per check, non-zero on a failure, no secret in what it prints.

The Images API is the fake on 127.0.0.1; Discord's REST API is a small fake on 127.0.0.1 too, put
where discord.py sends its requests (``Route.BASE``), so ``Client.login`` runs for real over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import sys

import discord
import pytest
from aiohttp import web

from bot.__main__ import main
from bot.config import VARIABLES
from tests.helpers import REPO

TOKEN = "discord-token-not-real-7f3a9c"
ANSWERS = [
    "configuration",
    "data folder",
    "database",
    "Images API key",
    "Discord token",
]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answer(payload: dict, status: int = 200) -> web.Response:
    """JSON as Discord sends it (discord.py reads a body as JSON only with exactly this type)."""
    return web.Response(body=json.dumps(payload).encode(), status=status, content_type="application/json")


@pytest.fixture
async def discord_rest(monkeypatch):
    """Discord's two login routes: the token's user, and the application."""

    async def me(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return answer({"message": "401: Unauthorized", "code": 0}, status=401)
        return answer({"id": "1234567890123", "username": "imagebot", "discriminator": "0", "avatar": None})

    async def application(request: web.Request) -> web.Response:
        owner = {"id": "42", "username": "owner", "discriminator": "0", "avatar": None}
        return answer(
            {
                "id": "1234567890123",
                "name": "imagebot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner,
                "verify_key": "00",
                "flags": 0,
            }
        )

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", me)
    app.router.add_get("/api/v10/oauth2/applications/@me", application)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    yield port
    await runner.cleanup()


@pytest.fixture
def environment(api, tmp_path, monkeypatch, discord_rest):
    """A working configuration, in the process environment (as .env would set it)."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    values = {
        "DISCORD_TOKEN": TOKEN,
        "OPENAI_API_KEY": api.api_key,
        "OPENAI_BASE_URL": api.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'bot.db'}",
        "IMAGE_MODEL": "gpt-image-2",
    }

    def apply(**changes: str) -> dict[str, str]:
        for name, value in (values | changes).items():
            monkeypatch.setenv(name, value)
        return values | changes

    apply()
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    return apply


async def check(capsys, *args: str) -> tuple[int, dict[str, str], str]:
    """Exit code, {check: what it said}, and everything printed. ``main`` runs its own event loop,
    so it runs in a thread while this test's loop serves the fake Discord."""
    code = await asyncio.wait_for(asyncio.to_thread(main, ["check", *args]), 60)
    out, err = capsys.readouterr()
    said = dict(line.split(": ", 1) for line in out.splitlines())
    return code, said, out + err


def no_secrets(printed: str, api) -> None:
    assert TOKEN not in printed and api.api_key not in printed


async def test_everything_ok_is_one_ok_line_per_check_and_exit_0(environment, capsys, api, tmp_path):
    code, said, printed = await check(capsys)
    assert code == 0
    assert list(said) == ANSWERS
    assert said["configuration"] == "ok" and said["database"] == "ok"
    assert said["data folder"] == f"ok ({tmp_path / 'data'} will be created)"
    assert said["Images API key"] == "ok"
    assert said["Discord token"] == "ok (logged in as imagebot)"
    assert (tmp_path / "data" / "bot.db").exists()  # opened and migrated
    assert [r.endpoint for r in api.all_requests] == ["models"]
    no_secrets(printed, api)


async def test_offline_leaves_out_the_network_checks(environment, capsys, api):
    code, said, _ = await check(capsys, "--offline")
    assert code == 0
    assert said["Images API key"] == said["Discord token"] == "skipped: --offline"
    assert api.all_requests == []


async def test_a_configuration_problem_fails_and_names_every_problem(environment, capsys, api):
    environment(DEFAULT_QUOTA="lots", SHARD_IDS="0")
    code, said, printed = await check(capsys)
    assert code == 1
    assert said["configuration"].startswith("failed: ")
    assert "DEFAULT_QUOTA must be a whole number from 0 to 1000000 (got 'lots')" in said["configuration"]
    assert "SHARD_IDS needs SHARD_COUNT" in said["configuration"]
    assert said["Discord token"] == "skipped: fix the configuration"
    no_secrets(printed, api)


async def test_a_data_folder_that_cant_be_is_named(environment, capsys, api, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    environment(DATABASE_URL=f"sqlite:///{tmp_path / 'afile' / 'data' / 'bot.db'}")
    code, said, _ = await check(capsys)
    assert code == 1
    afile = tmp_path / "afile"
    assert said["data folder"] == f"failed: {afile} is not a folder, so {afile / 'data'} can't be made"
    assert said["database"].startswith("failed: can't use the database at")


async def test_a_database_from_a_newer_version_fails_in_one_line(environment, capsys, api, tmp_path):
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "bot.db") as db:
        db.execute("PRAGMA user_version = 999")
    code, said, _ = await check(capsys)
    assert code == 1
    assert said["data folder"] == f"ok ({tmp_path / 'data'})"
    assert said["database"].startswith("failed: can't use the database at")
    assert "the database schema is version 999" in said["database"]


async def test_a_rejected_images_key_is_named_without_showing_it(environment, capsys, api):
    environment(OPENAI_API_KEY="sk-wrong-key-4d9e1b")
    code, said, printed = await check(capsys)
    assert code == 1
    assert said["Images API key"] == f"failed: OPENAI_API_KEY was rejected by {api.base_url} (HTTP 401)"
    assert "sk-wrong-key-4d9e1b" not in printed
    assert said["Discord token"].startswith("ok")


async def test_an_unreachable_images_api_is_a_network_error(environment, capsys, api):
    environment(OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1")
    code, said, printed = await check(capsys)
    assert code == 1
    assert said["Images API key"].startswith("failed: network error reaching http://127.0.0.1:")
    no_secrets(printed, api)


async def test_a_gateway_without_a_model_list_is_not_a_failure(environment, capsys, api):
    api.models_endpoint = "missing"
    code, said, _ = await check(capsys)
    assert code == 0
    assert said["Images API key"].startswith("skipped: ") and "no model list" in said["Images API key"]


async def test_a_rejected_discord_token_is_named_without_showing_it(environment, capsys, api):
    environment(DISCORD_TOKEN="wrong-token-88b2c1")
    code, said, printed = await check(capsys)
    assert code == 1
    assert said["Discord token"].startswith("failed: Discord rejected DISCORD_TOKEN")
    assert "wrong-token-88b2c1" not in printed
    no_secrets(printed, api)


async def test_an_unreachable_discord_is_a_network_error(environment, capsys, api, monkeypatch):
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{closed_port()}/api/v10")
    code, said, printed = await check(capsys)
    assert code == 1
    assert said["Discord token"].startswith("failed: network error reaching Discord (ClientConnectorError")
    no_secrets(printed, api)


def test_a_wrong_argument_prints_the_usage(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--online"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Usage: python -m bot check [--offline]" in result.stdout
