"""The pieces every sentence uses: what members typed, escaped; plurals, sizes, times."""

from __future__ import annotations

import re
from datetime import datetime

NOTHING_CHARGED = "Nothing was charged."
ACCEPTED = "PNG, JPEG, WebP or GIF (first frame)"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


#: every character Discord reads as markup: markdown, spoilers, quotes, headings and lists, masked
#: links (``[..](..)``), mentions and custom emoji (``<@..>``, ``@everyone``), and links (``https:``)
_MARKUP_CHARACTER = re.compile(r"([\\*_~|`>#\-+\[\]()<@:.!=])")


def echo(text: str, limit: int | None = None) -> str:
    """What a member typed, shown exactly as typed: every markup character backslash-escaped, so no
    link, mention, emoji or formatting renders; cut to ``limit`` characters (escapes included)
    without leaving half an escape."""
    escaped = _MARKUP_CHARACTER.sub(r"\\\1", text.strip())
    if limit is None or len(escaped) <= limit:
        return escaped
    cut = escaped[: max(0, limit - 1)].rstrip()
    if (len(cut) - len(cut.rstrip("\\"))) % 2:  # an escape cut in two
        cut = cut[:-1]
    return cut + "…"


def code(text: str) -> str:
    """``text`` in an inline code span (nothing renders inside one), which no backtick can close."""
    return "`" + text.replace("`", "ˋ").replace("\n", " ") + "`"


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def timestamp(moment: datetime, style: str = "R") -> str:
    """Discord renders ``<t:epoch:R>`` as "in 5 hours" in each reader's own language and zone."""
    return f"<t:{int(moment.timestamp())}:{style}>"
