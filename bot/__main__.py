"""``python -m bot``: load .env, check the configuration, run until Ctrl-C or SIGTERM.

``python -m bot backup PATH``: a consistent copy of the SQLite database while the bot runs.
``python -m bot check [--offline]``: one line per check of what running needs (``bot.check``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
import discord
from dotenv import load_dotenv

from bot import logs
from bot.config import Config, ConfigError, database, load_config, misspelled
from bot.store import SchemaVersionError, StoreError, describe, is_postgres
from bot.store.sqlite import backup

log = logging.getLogger("bot")

INTENT_HELP = (
    "Discord refused the Message Content intent. Either enable it (Developer Portal › your app › Bot › "
    "Privileged Gateway Intents › Message Content Intent) or set MESSAGE_CONTENT_INTENT=false in .env "
    "(the reply-to-image trigger then stops working; slash commands and menus keep working)."
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    load_dotenv(Path.cwd() / ".env")  # the folder the operator runs the bot from
    if args[:1] == ["backup"]:
        return backup_command(args[1:])
    for name, meant in misspelled():
        print(
            f"Warning: {name} is set but the bot reads no such variable; did you mean {meant}?",
            file=sys.stderr,
        )
    if args[:1] == ["check"]:
        from bot.check import check_command  # imported late, like the bot itself

        return check_command(args[1:])
    try:
        config = load_config(require_token=True)
    except ConfigError as error:
        problems = getattr(error, "problems", [error])
        for number, problem in enumerate(problems, 1):
            see = " See README.md › Configuration." if number == len(problems) else ""
            print(f"Configuration error: {problem}.{see}", file=sys.stderr)
        return 2
    logs.configure(config.log_level, config.log_format)
    try:
        asyncio.run(_run(config))
    except Exception as error:
        explanation = start_failure_text(error)
        if explanation is None:
            raise
        print(explanation, file=sys.stderr)
        return 1
    return 0


def backup_command(args: list[str]) -> int:
    """``backup PATH``: copy the database named by DATABASE_URL to PATH (a new file)."""
    if len(args) != 1:
        print(
            "Usage: python -m bot backup PATH  (PATH: a new file, e.g. backups/bot-2026-12-03.db)",
            file=sys.stderr,
        )
        return 2
    try:
        source = database()
        if is_postgres(source):
            print(
                "DATABASE_URL is PostgreSQL: back it up with pg_dump (README.md › Backups), e.g. "
                f'pg_dump --format=custom --file {args[0]} "$DATABASE_URL"',
                file=sys.stderr,
            )
            return 2
        backup(source, args[0])
    except (ConfigError, OSError) as error:
        print(f"Backup failed: {error}", file=sys.stderr)
        return 1
    print(f"Backed up {source} to {args[0]}.")
    return 0


class DatabaseUnusable(Exception):
    """The database file couldn't be opened or created (a folder, a permission, a newer schema)."""

    def __init__(self, target: str, reason: BaseException) -> None:
        self.path = describe(target)  # never a password
        super().__init__(f"{self.path}: {reason}")
        self.target = target
        self.reason = reason


def start_failure_text(error: BaseException) -> str | None:
    """One line for the ways starting fails that an operator can fix; None for bugs."""
    if isinstance(error, DatabaseUnusable):
        if isinstance(error.reason, SchemaVersionError):
            return f"Can't use the database at {error.path}: {error.reason}."
        if is_postgres(error.target):
            return (
                f"Can't use the PostgreSQL database at {error.path} ({error.reason}). Check that the server "
                "is running and reachable from here, and that DATABASE_URL names its host, user, password "
                "and database rightly."
            )
        return (
            f"Can't use the database at {error.path} ({error.reason}). Check that its folder exists or can "
            "be created and that this user may write there, or point DATABASE_URL elsewhere."
        )
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return INTENT_HELP
    if isinstance(error, discord.LoginFailure):
        return "Discord rejected DISCORD_TOKEN: copy a fresh token from Developer Portal › your app › Bot."
    if isinstance(error, aiohttp.ClientConnectionError | OSError):
        return f"Couldn't reach Discord ({error}). Check this machine's internet connection."
    return None


async def _run(config: Config) -> None:
    from bot.app import create_bot  # imported late: the configuration check above stays fast

    try:
        bot = await create_bot(config)
    except (OSError, sqlite3.Error, StoreError) as error:  # the services open the database first
        raise DatabaseUnusable(config.database, error) from error
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no add_signal_handler
            loop.add_signal_handler(sig, stop.set)
    async with bot:
        runner = asyncio.create_task(bot.start(config.discord_token or ""))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            log.info("shutting down")
            await bot.close()
        stopper.cancel()
        await runner  # re-raises a login or intents failure


if __name__ == "__main__":
    sys.exit(main())
