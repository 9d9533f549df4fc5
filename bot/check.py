"""``python -m bot check [--offline]``: is this installation ready to run? One line per check.

In order: the configuration (every problem, as start-up tells them), the data folder (for SQLite:
it exists or can be made, and this user may write there), the database (opened and migrated the way
the bot opens it, ``bot.app.open_store``), the Images API key (one authenticated ``GET /models``),
and the Discord token (a login over REST, no gateway connection). ``--offline`` leaves out the two
that need the network (a container build checks its image so). The exit code is 1 when any check
failed. Secrets are never printed: the key is redacted from upstream errors and the token is never
part of a reason.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import discord

from bot.app import open_store
from bot.config import Config, ConfigError, load_config
from bot.images import (
    APIConnectionError,
    APITimeout,
    AuthenticationFailed,
    ImagesAPIError,
    ImagesClient,
    ModelNotFound,
    redact,
)
from bot.store import StoreError, describe, is_postgres
from bot.store.sqlite import is_memory

__all__ = ["check_command", "run_checks"]


class Skipped(Exception):
    """The check could not be made, and that is no failure (say why)."""


Check = Callable[[Config], Awaitable[str | None]]  # None or a detail to show after "ok"


def check_command(args: list[str], environ: Mapping[str, str] | None = None) -> int:
    """Print one line per check; 0 when none failed, 1 when one did, 2 for a wrong argument."""
    if args not in ([], ["--offline"]):
        print("Usage: python -m bot check [--offline]  (--offline: no Images API or Discord call)")
        return 2
    lines = asyncio.run(run_checks(environ, offline=bool(args)))
    for line in lines:
        print(line)
    return 1 if any(": failed: " in line for line in lines) else 0


async def run_checks(environ: Mapping[str, str] | None = None, *, offline: bool = False) -> list[str]:
    """``name: ok``, ``name: failed: reason`` or ``name: skipped: reason``, one per check."""
    try:
        config = load_config(environ, require_token=True)
    except ConfigError as error:
        problems = getattr(error, "problems", [error])
        reason = "; ".join(str(problem) for problem in problems)
        later = ("data folder", "database", "Images API key", "Discord token")
        return [f"configuration: failed: {reason}"] + [
            f"{name}: skipped: fix the configuration" for name in later
        ]
    checks: list[tuple[str, Check]] = [("data folder", _data_folder), ("database", _database)]
    if not offline:
        checks += [("Images API key", _images_key), ("Discord token", _discord_token)]
    lines = ["configuration: ok"]
    for name, check in checks:
        lines.append(f"{name}: {await _outcome(check, config)}")
    if offline:
        lines += ["Images API key: skipped: --offline", "Discord token: skipped: --offline"]
    secrets = (config.openai_api_key, config.discord_token or "", urlsplit(config.database).password or "")
    return [redact(line, secrets) for line in lines]


async def _outcome(check: Check, config: Config) -> str:
    try:
        detail = await check(config)
    except Skipped as skipped:
        return f"skipped: {skipped}"
    except Failed as failed:
        return f"failed: {failed}"
    return "ok" if detail is None else f"ok ({detail})"


class Failed(Exception):
    """The check failed; the message is the reason an operator reads."""


async def _data_folder(config: Config) -> str | None:
    if is_postgres(config.database):
        return "none needed: the database is PostgreSQL"
    if is_memory(config.database):
        return "the database is in memory"
    return await asyncio.to_thread(_writable_folder, Path(config.database))


def _writable_folder(database: Path) -> str:
    """Where the database file goes, if that folder exists or can be made and may be written in."""
    folder = database.absolute().parent
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise Failed(f"{existing} is not a folder, so {folder} can't be made")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise Failed(f"this user may not write in {existing} ({error.strerror or error})") from None
    return str(folder) if existing == folder else f"{folder} will be created"


async def _database(config: Config) -> str | None:
    try:
        store = await open_store(config)
    except (OSError, sqlite3.Error, StoreError) as error:
        raise Failed(f"can't use the database at {describe(config.database)}: {error}") from None
    await store.close()
    return None


async def _images_key(config: Config) -> str | None:
    client = ImagesClient(
        api_key=config.openai_api_key,
        base_url=config.openai_base_url,
        api_type="azure" if config.openai_api_type == "azure" else "openai",
        azure_api_version=config.azure_api_version,
    )
    try:
        await client.check_key()
    except AuthenticationFailed as error:
        raise Failed(
            f"OPENAI_API_KEY was rejected by {config.openai_base_url} (HTTP {error.status})"
        ) from None
    except ModelNotFound:
        raise Skipped(f"{config.openai_base_url} has no model list to ask (many gateways don't)") from None
    except (APITimeout, APIConnectionError) as error:
        raise Failed(f"network error reaching {config.openai_base_url}: {error.message}") from None
    except ImagesAPIError as error:
        raise Failed(f"{config.openai_base_url} answered: {error}") from None
    finally:
        await client.aclose()
    return None


async def _discord_token(config: Config) -> str | None:
    client = discord.Client(intents=discord.Intents.default())
    try:
        await client.login(config.discord_token or "")
        return f"logged in as {client.user}"
    except discord.LoginFailure:
        raise Failed(
            "Discord rejected DISCORD_TOKEN (copy a fresh one: Developer Portal › your app › Bot)"
        ) from None
    except discord.HTTPException as error:
        raise Failed(f"Discord answered HTTP {error.status} to the login") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise Failed(f"network error reaching Discord ({type(error).__name__}: {error})") from None
    finally:
        await client.close()
