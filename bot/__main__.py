"""``python -m bot``: load .env, check the configuration, run until Ctrl-C or SIGTERM.

``python -m bot backup PATH``: a consistent copy of the SQLite database while the bot runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import aiohttp
import discord
from dotenv import load_dotenv

from bot.config import Config, ConfigError, database_path, load_config
from bot.store.database import backup

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
    try:
        config = load_config(require_token=True)
    except ConfigError as error:
        print(f"Configuration error: {error}. See README.md › Configuration.", file=sys.stderr)
        return 2
    discord.utils.setup_logging(level=logging.INFO)
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
        source = database_path()
        backup(source, args[0])
    except (ConfigError, OSError) as error:
        print(f"Backup failed: {error}", file=sys.stderr)
        return 1
    print(f"Backed up {source} to {args[0]}.")
    return 0


def start_failure_text(error: BaseException) -> str | None:
    """One line for the ways connecting to Discord fails that an operator can fix; None for bugs."""
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return INTENT_HELP
    if isinstance(error, discord.LoginFailure):
        return "Discord rejected DISCORD_TOKEN: copy a fresh token from Developer Portal › your app › Bot."
    if isinstance(error, aiohttp.ClientConnectionError | OSError):
        return f"Couldn't reach Discord ({error}). Check this machine's internet connection."
    return None


async def _run(config: Config) -> None:
    from bot.app import create_bot  # imported late: the configuration check above stays fast

    bot = await create_bot(config)
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
