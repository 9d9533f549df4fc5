"""Logging for ``python -m bot``: the level and format operators choose, colour only on a terminal.

discord.py colours its log lines whenever it guesses the output can show colour, Docker included,
which fills log collectors with escape codes; here colour is used only when stderr is a terminal.
``LOG_FORMAT=json`` writes one JSON object per line (time, level, logger, message, exception).
"""

from __future__ import annotations

import json
import logging
import sys

import discord

PLAIN = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, form: str) -> None:
    """Log to stderr at ``level`` (``debug|info|warning|error``) as ``text`` or ``json``."""
    handler = logging.StreamHandler(sys.stderr)
    number = getattr(logging, level.upper())
    if form != "json" and sys.stderr.isatty():
        discord.utils.setup_logging(handler=handler, level=number)  # discord.py's own, coloured
        return
    formatter = JsonFormatter() if form == "json" else logging.Formatter(PLAIN, "%Y-%m-%d %H:%M:%S")
    discord.utils.setup_logging(handler=handler, formatter=formatter, level=number)
