"""Configuration and start-up as an operator meets them."""

from __future__ import annotations

import inspect
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import VARIABLES, ConfigError, load_config
from tests.helpers import REPO

MINIMAL = {"OPENAI_API_KEY": "test-key-not-real"}


def run_bot(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot`` in an empty folder (no .env) with only ``variables`` set."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    env |= variables | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_configuration_the_bot_exits_at_once_naming_what_is_missing(tmp_path):
    result = run_bot(tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_missing_api_key_is_named(tmp_path):
    result = run_bot(tmp_path, DISCORD_TOKEN="token-not-real")
    assert result.returncode == 2
    assert "OPENAI_API_KEY is not set" in result.stderr


def test_a_malformed_value_is_named_with_what_it_must_be(tmp_path):
    result = run_bot(tmp_path, DISCORD_TOKEN="token-not-real", OPENAI_API_KEY="k", DEFAULT_QUOTA="lots")
    assert result.returncode == 2
    assert "DEFAULT_QUOTA must be a whole number from 0 to 1000000 (got 'lots')" in result.stderr
    assert "token-not-real" not in result.stderr


def test_values_in_a_dotenv_file_are_read(tmp_path):
    (tmp_path / ".env").write_text("DISCORD_TOKEN=token-not-real\nIMAGE_MODEL=dall-e-4\n")
    result = run_bot(tmp_path, OPENAI_API_KEY="k")
    assert result.returncode == 2
    assert "IMAGE_MODEL must be one of" in result.stderr and "dall-e-4" in result.stderr


def test_defaults():
    config = load_config(MINIMAL)
    assert config.openai_base_url == "https://api.openai.com/v1"
    assert config.image_model == config.vary_model == "gpt-image-2.6-flare"
    assert (config.openai_api_type, config.azure_api_version, config.models_file) == (
        "openai",
        "2025-04-01-preview",
        None,
    )
    assert config.official_backend is True
    assert config.database == "data/bot.db"
    assert (config.default_quota, config.quota_period, config.openai_max_retries) == (25, "day", 2)
    assert config.message_content_intent is True and config.dev_guild_id is None
    assert (config.openai_images_per_minute, config.openai_max_concurrency, config.max_jobs_per_user) == (
        50,
        None,  # no cap on requests in flight: the rate limit and the response budget bound them
        2,
    )
    assert config.openai_max_inflight_mb == 64
    assert (config.openai_timeout, config.shutdown_grace, config.openai_rate_window) == (300, 60, 60)


def test_every_variable_is_read():
    config = load_config(
        MINIMAL
        | {
            "DISCORD_TOKEN": "t",
            "OPENAI_BASE_URL": "http://gateway.local:8080/v1/",
            "IMAGE_MODEL": "dall-e-3",
            "VARY_MODEL": "dall-e-2",
            "DATABASE_URL": "sqlite:////var/lib/bot/bot.db",
            "DEFAULT_QUOTA": "0",
            "QUOTA_PERIOD": "Month",
            "OPENAI_MAX_RETRIES": "5",
            "MESSAGE_CONTENT_INTENT": "false",
            "DEV_GUILD_ID": "123456789012345678",
            "OPENAI_TIMEOUT": "90",
            "OPENAI_IMAGES_PER_MINUTE": "120",
            "OPENAI_MAX_CONCURRENCY": "8",
            "OPENAI_MAX_INFLIGHT_MB": "256",
            "OPENAI_RATE_WINDOW_SECONDS": "30",
            "MAX_JOBS_PER_USER": "3",
            "SHUTDOWN_GRACE_SECONDS": "0",
            "OPENAI_API_TYPE": "Azure",
            "AZURE_API_VERSION": "2024-02-01",
        }
    )
    assert (config.openai_api_type, config.azure_api_version) == ("azure", "2024-02-01")
    assert config.official_backend is False
    assert (config.openai_timeout, config.openai_images_per_minute, config.openai_max_concurrency) == (
        90,
        120,
        8,
    )
    assert (config.openai_rate_window, config.max_jobs_per_user, config.shutdown_grace) == (30, 3, 0)
    assert config.openai_max_inflight_mb == 256
    assert config.openai_base_url == "http://gateway.local:8080/v1"
    assert (config.image_model, config.vary_model) == ("dall-e-3", "dall-e-2")
    assert config.database == "/var/lib/bot/bot.db"
    assert (config.default_quota, config.quota_period, config.openai_max_retries) == (0, "month", 5)
    assert config.message_content_intent is False and config.dev_guild_id == 123456789012345678


@pytest.mark.parametrize(
    "model", ["gpt-image-2.6-sunburst", "gpt-image-2.6-flare", "gpt-image-2.5-flare-2026-09-08"]
)
def test_todays_models_are_accepted(model):
    assert load_config(MINIMAL | {"IMAGE_MODEL": model}).image_model == model


def test_model_names_are_forgiving_about_case():
    assert (
        load_config(MINIMAL | {"IMAGE_MODEL": "GPT-Image-2.6-Sunburst"}).image_model
        == "gpt-image-2.6-sunburst"
    )


def test_azure_needs_its_resource_url():
    with pytest.raises(ConfigError) as caught:
        load_config(MINIMAL | {"OPENAI_API_TYPE": "azure"})
    assert caught.value.variable == "OPENAI_BASE_URL" and "openai.azure.com" in str(caught.value)


def test_a_gateway_is_not_openais_own_api():
    assert load_config(MINIMAL | {"OPENAI_BASE_URL": "http://litellm:4000/v1"}).official_backend is False


def test_a_models_file_adds_rows_that_image_model_can_name(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text('[models."house-model"]\nlike = "gpt-image-2"\nupstream = "gw/gpt-image-2"\n')
    config = load_config(MINIMAL | {"MODELS_FILE": str(path), "IMAGE_MODEL": "house-model"})
    assert config.image_model == "house-model"
    assert config.models["house-model"].upstream_id == "gw/gpt-image-2"
    assert config.models_file == str(path)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "models.toml"),
        ('[models."x"\nlike = 1', "models.toml"),
        ('[models."x"]\nlike = "gpt-image-9"', '"x"'),
        ('[models."x"]\nlike = "gpt-image-2"\ncolour = "blue"', "colour"),
    ],
)
def test_a_broken_models_file_stops_start_up_in_one_line(tmp_path, content, words):
    path = tmp_path / "models.toml"
    if content is not None:
        path.write_text(content)
    result = run_bot(tmp_path, DISCORD_TOKEN="token-not-real", OPENAI_API_KEY="k", MODELS_FILE=str(path))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Configuration error: MODELS_FILE"), result.stderr
    assert words in lines[0]
    assert "Traceback" not in result.stderr


def test_the_readme_models_table_is_generated_from_the_rows():
    from bot.images.model_table import BEGIN, END, markdown_table

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = readme[readme.index(BEGIN) + len(BEGIN) : readme.index(END)].strip()
    assert shown == markdown_table(), "run: python -m bot.images.model_table --write README.md"


def test_vary_model_follows_image_model():
    assert load_config(MINIMAL | {"IMAGE_MODEL": "gpt-image-1"}).vary_model == "gpt-image-1"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("OPENAI_BASE_URL", "api.openai.com", "must be an http(s) URL"),
        ("DATABASE_URL", "mysql://x", "must look like sqlite:///data/bot.db"),
        ("DATABASE_URL", "postgresql:///nohost", "names no PostgreSQL host"),
        ("QUOTA_PERIOD", "hour", "must be one of day, week, month"),
        ("OPENAI_MAX_RETRIES", "-1", "from 0 to 10"),
        ("MESSAGE_CONTENT_INTENT", "maybe", "must be true or false"),
        ("DEV_GUILD_ID", "my-server", "must be a server id"),
        ("VARY_MODEL", "sdxl", "must be one of"),
        ("OPENAI_IMAGES_PER_MINUTE", "0", "from 1 to 100000"),
        ("OPENAI_MAX_CONCURRENCY", "many", "whole number"),
        ("OPENAI_MAX_INFLIGHT_MB", "8", "from 16 to 65536"),
        ("MAX_JOBS_PER_USER", "0", "from 1 to 100"),
        ("SHUTDOWN_GRACE_SECONDS", "-5", "from 0 to 3600"),
    ],
)
def test_malformed_values_name_the_variable(name, value, words):
    with pytest.raises(ConfigError) as caught:
        load_config(MINIMAL | {name: value})
    assert caught.value.variable == name
    assert words in str(caught.value)


def test_secrets_stay_out_of_the_config_repr():
    config = load_config({"OPENAI_API_KEY": "secret-key-value", "DISCORD_TOKEN": "secret-token-value"})
    assert "secret-key-value" not in repr(config) and "secret-token-value" not in repr(config)


def test_every_variable_read_is_listed_and_documented():
    import bot.config as config_module

    read = set(re.findall(r'(?:get|number|required)\("([A-Z_]+)"', inspect.getsource(config_module)))
    assert read == set(VARIABLES)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    for name in VARIABLES:
        assert f"`{name}`" in readme, f"{name} is missing from the README's configuration table"
        assert name in example, f"{name} is missing from .env.example"


def run_backup(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    env |= variables | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "backup", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_backup_copies_the_live_database_and_never_overwrites(tmp_path):
    from datetime import UTC, datetime

    from bot.store import QuotaPolicy, Store

    store = await Store.open(tmp_path / "data" / "bot.db", default_policy=QuotaPolicy(5, "day"))
    try:
        made = await store.reserve(1, 2, 3, now=datetime.now(UTC))  # open, WAL not checkpointed
        result = run_backup(tmp_path, "backups/copy.db")  # DATABASE_URL's default: data/bot.db
        assert result.returncode == 0, result.stderr
        assert "Backed up data/bot.db to backups/copy.db." in result.stdout
        with sqlite3.connect(tmp_path / "backups" / "copy.db") as copy:
            assert copy.execute("SELECT id, amount FROM jobs").fetchall() == [(made.id, 3)]
        again = run_backup(tmp_path, "backups/copy.db")
        assert again.returncode == 1 and "exists already" in again.stderr
    finally:
        await store.close()


def test_backup_says_what_is_wrong(tmp_path):
    assert "Usage: python -m bot backup PATH" in run_backup(tmp_path).stderr
    missing = run_backup(tmp_path, "copy.db", DATABASE_URL="sqlite:///nowhere/bot.db")
    assert missing.returncode == 1 and "there is no database at nowhere/bot.db" in missing.stderr


def test_every_configuration_problem_is_told_in_one_run(tmp_path):
    result = run_bot(tmp_path, DISCORD_TOKEN="token-not-real", DEFAULT_QUOTA="lots", QUOTA_PERIOD="year")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("Configuration error:")]
    assert len(lines) == 3
    assert any("OPENAI_API_KEY is not set" in line for line in lines)
    assert any(line.startswith("Configuration error: DEFAULT_QUOTA") for line in lines)
    assert any(line.startswith("Configuration error: QUOTA_PERIOD") for line in lines)
    assert "Traceback" not in result.stderr


def test_a_misspelled_variable_is_pointed_out(tmp_path):
    result = run_bot(tmp_path, DEFAULT_QOUTA="5", OPENAI_API_KEY="x")
    assert (
        "Warning: DEFAULT_QOUTA is set but the bot reads no such variable; did you mean DEFAULT_QUOTA?"
        in (result.stderr)
    )
    assert "PATH" not in result.stderr.split("Warning:")[1].split("\n")[0].replace("DEFAULT_QOUTA", "")


def test_a_database_path_that_cannot_be_created_is_named_as_such(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    result = run_bot(
        tmp_path, DISCORD_TOKEN="token-not-real", OPENAI_API_KEY="x", DATABASE_URL="sqlite:///afile/bot.db"
    )
    assert result.returncode == 1
    assert "Can't use the database at afile/bot.db" in result.stderr
    assert "internet" not in result.stderr and "Traceback" not in result.stderr


def test_a_postgresql_url_is_the_store_and_its_password_never_shown():
    url = "postgresql://bot:s3cret-pw@db.internal:5432/bot"
    config = load_config({"OPENAI_API_KEY": "x", "DATABASE_URL": url})
    assert config.database == url
    with pytest.raises(ConfigError) as refused:
        load_config({"OPENAI_API_KEY": "x", "DATABASE_URL": "mysql://bot:s3cret-pw@db/bot"})
    assert "s3cret-pw" not in str(refused.value) and "bot:***@db" in str(refused.value)


def test_an_unreachable_postgresql_is_named_as_such_without_its_password(tmp_path):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://bot:s3cret-pw@127.0.0.1:{port}/bot"
    result = run_bot(tmp_path, DISCORD_TOKEN="token-not-real", OPENAI_API_KEY="x", DATABASE_URL=url)
    assert result.returncode == 1
    assert f"Can't use the PostgreSQL database at postgresql://bot:***@127.0.0.1:{port}/bot" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "internet" not in result.stderr and "Traceback" not in result.stderr


def test_logs_are_plain_off_a_terminal_and_json_when_asked(capsys):
    import json
    import logging

    from bot import logs

    root = logging.getLogger()
    before = list(root.handlers)
    try:
        logs.configure("info", "text")
        logging.getLogger("bot.test").info("hello %s", "there")
        plain = capsys.readouterr().err
        assert "INFO     bot.test: hello there" in plain and "\x1b[" not in plain
        for handler in root.handlers[len(before) :]:
            root.removeHandler(handler)
        logs.configure("warning", "json")
        logging.getLogger("bot.test").info("not shown")
        logging.getLogger("bot.test").warning("shown")
        [line] = capsys.readouterr().err.splitlines()
        assert json.loads(line) | {"time": ""} == {
            "time": "",
            "level": "WARNING",
            "logger": "bot.test",
            "message": "shown",
        }
    finally:
        for handler in root.handlers[len(before) :]:
            root.removeHandler(handler)
        root.setLevel(logging.WARNING)


def test_a_database_from_a_newer_version_is_one_line(tmp_path):
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "bot.db") as db:
        db.execute("PRAGMA user_version = 99")
    result = run_bot(tmp_path, DISCORD_TOKEN="token-not-real", OPENAI_API_KEY="x")
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("Can't use the database at data/bot.db: the database schema is version 99")
