"""Results and the way to them: the controls' labels, the queue, the result embed, restarts, help."""

from __future__ import annotations

from bot.core.text.writing import NOTHING_CHARGED, echo, plural, shorten


def reply_help(name: str) -> str:
    """How the reply trigger works, for a member who mentioned the bot without an image."""
    return (
        "Reply to a message that has an image and mention me to get variations of it: "
        f"`@{name}` for one, `@{name} 3` for three, `@{name} image 2` to pick the second image."
    )


# -- the controls and the queue ----------------------------------------------------------------

VARY_PLACEHOLDER = "Vary an image…"
REDO_LABEL = "Redo"
CANCEL_LABEL = "Cancel"
YOUR_TURN = "🎨 Your turn: making it now…"


def vary_label(number: int) -> str:
    return f"Vary {number}"


def vary_option(number: int) -> str:
    return f"Vary image {number}"


def queue_position(position: int) -> str:
    return f"⏳ Waiting for the image service: you're **#{position}** in the queue."


def images_range(first: int, last: int, total: int) -> str:
    """The line on the second and later messages of a result split over several."""
    return f"Images {first}–{last} of {total}"


def result_ready(mention: str, content: str | None) -> str:
    """A result posted to the channel once the interaction's 15 minutes were over (it mentions its owner)."""
    return f"{mention}, your result is ready" + (f" — {content}" if content else ":")


def restart_notice(user_id: int, count: int) -> str:
    """To a member whose jobs a restart cut off, mentioning them."""
    what = "your request" if count == 1 else f"your {count} requests"
    return (
        f"<@{user_id}> the bot restarted before {what} could finish. {NOTHING_CHARGED} Please run it again."
    )


# -- the result embed --------------------------------------------------------------------------

_NOUNS = {"imagine": ("image", "images"), "edit": ("edit", "edits"), "vary": ("variation", "variations")}
OPTION_LABELS = {
    "model": "Model",
    "size": "Size",
    "quality": "Quality",
    "style": "Style",
    "complexity": "Complexity",
    "format": "Format",
    "background": "Background",
}
REVISED_PROMPT = "Revised prompt"
QUOTA = "Quota"


def result_author(name: str, kind: str, count: int) -> str:
    """``Alice's images``: the embed's author line (Discord renders no markup there)."""
    singular, many = _NOUNS[kind]
    return f"{name}'s {singular if count == 1 else many}"


def prompt_line(kind: str, prompt: str, limit: int) -> str:
    return f"**{'Guided by' if kind == 'vary' else 'Prompt'}:** {echo(prompt, limit)}"


def gif_format(frames: int) -> str:
    return f"GIF, {frames} frames"


def partly_made(made: int, asked: int, reason: str, limit: int) -> tuple[str, str]:
    """(field name, value) on a result some of whose images failed."""
    return f"{made} of {plural(asked, 'image')} made", shorten(
        f"{asked - made} failed and cost nothing. {reason}", limit
    )
