"""Every word a user reads about refusals, failures and quotas, in one place.

Exceptions carry facts; this module turns them into plain sentences that say what happened and
what to change. It never includes a secret: upstream messages are already scrubbed by the client,
and are shortened here. Nothing here imports discord (timestamps use Discord's ``<t:…>`` markup,
which is just text).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, datetime

from bot.errors import BotError, ControlRefused, DeliveryFailed, NoSuchImage, NothingToVary, SourceUnavailable
from bot.images import (
    APIConnectionError,
    APITimeout,
    AuthenticationFailed,
    BadResponse,
    EmptyPrompt,
    EndpointNotSupported,
    ImagesAPIError,
    InvalidRequest,
    ModelNotFound,
    ModelRegistry,
    ModelRetired,
    ModelSpec,
    ModelState,
    OptionNotSupported,
    OutOfCredit,
    PermissionDenied,
    PromptTooLong,
    RateLimited,
    SafetyRejected,
    ServerError,
    UnknownModel,
)
from bot.imaging import CorruptImage, FileTooLarge, InvalidMask, TooManyPixels, UnsupportedImageType
from bot.jobs import JobGone
from bot.scheduling import JobCancelled, ShuttingDown, TooManyJobs
from bot.store import QuotaExceeded, QuotaStatus

NOTHING_CHARGED = "Nothing was charged."
ACCEPTED = "PNG, JPEG, WebP or GIF (first frame)"

_PERIOD_WORDS = {"day": "today", "week": "this week", "month": "this month"}
_PERIOD_ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}
_ENDPOINT_VERBS = {
    "generations": "make images from text",
    "edits": "edit images",
    "variations": "vary images",
}


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


def reply_help(name: str) -> str:
    """How the reply trigger works, for a member who mentioned the bot without an image."""
    return (
        "Reply to a message that has an image and mention me to get variations of it: "
        f"`@{name}` for one, `@{name} 3` for three, `@{name} image 2` to pick the second image."
    )


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def timestamp(moment: datetime, style: str = "R") -> str:
    """Discord renders ``<t:epoch:R>`` as "in 5 hours" in each reader's own language and zone."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def period_word(period: str) -> str:
    return _PERIOD_WORDS.get(period, f"this {period}")


def period_adjective(period: str) -> str:
    return _PERIOD_ADJECTIVE.get(period, period)


def quota_line(status: QuotaStatus, *, remaining: int | None = None) -> str:
    """``22 of 25 images left today · resets in 5 hours``."""
    left = status.remaining if remaining is None else remaining
    allowance = status.limit + status.granted
    when = timestamp(status.resets_at)
    return f"{left} of {plural(allowance, 'image')} left {period_word(status.period)} · resets {when}"


def quota_report(status: QuotaStatus, *, whose: str = "You have") -> str:
    """The body of ``/quota`` and ``/admin quota show user``."""
    lines = [
        f"{whose} **{plural(status.remaining, 'image')}** left {period_word(status.period)}.",
        f"- Limit: {plural(status.limit, 'image')} {period_adjective(status.period)}"
        + (" (set for this member)" if status.limit_source == "user" else ""),
    ]
    if status.granted:
        lines.append(f"- Extra granted {period_word(status.period)}: {status.granted}")
    lines.append(f"- Used: {status.used}" + (f", {status.reserved} in progress" if status.reserved else ""))
    lines.append(f"- Resets {timestamp(status.resets_at)} ({timestamp(status.resets_at, 'f')})")
    return "\n".join(lines)


def describe_error(error: BotError) -> str:
    """The message a user reads for a domain error: what happened and what to do about it."""
    match error:
        case QuotaExceeded():
            return _quota_exceeded(error)
        case UnknownModel():
            return f"{code(error.name)} isn't a model this bot offers. Pick one of: {', '.join(error.known)}."
        case EmptyPrompt():
            return "The prompt is empty: describe the image you want."
        case PromptTooLong():
            return (
                f"Your prompt is {error.length:,} characters long; {error.model} accepts at most "
                f"{error.limit:,}. Shorten it and try again."
            )
        case ModelRetired():
            return _retired(error)
        case OptionNotSupported() if error.option == "frames" and not error.allowed:
            return "`frames` makes an animated GIF: set `format` to `gif` too, or leave `frames` out."
        case OptionNotSupported() if error.reason:
            return (
                f"{error.model} doesn't support {error.option} {code(str(error.value))} with {error.reason}. "
                f"Allowed: {error.allowed_text}."
            )
        case OptionNotSupported():
            return (
                f"{error.model} doesn't support {error.option} {code(str(error.value))}. "
                f"Allowed: {error.allowed_text}."
            )
        case EndpointNotSupported():
            verb = _ENDPOINT_VERBS.get(error.endpoint, error.endpoint)
            others = ", ".join(error.models_that_can) or "none of the configured models"
            return f"{error.model} can't {verb}. Models that can: {others}."
        case UnsupportedImageType():
            kind = _kind(error.found)
            return f"That file is {kind}, not an image I can use. Send a {ACCEPTED}. {NOTHING_CHARGED}"
        case FileTooLarge():
            return (
                f"That file is {megabytes(error.size)}; this model takes images up to "
                f"{megabytes(error.limit)}. Send a smaller image. {NOTHING_CHARGED}"
            )
        case TooManyPixels():
            return (
                f"That image is {error.width:,}x{error.height:,} pixels, more than the "
                f"{error.limit / 1_000_000:.0f} megapixels I accept. Send a smaller image. {NOTHING_CHARGED}"
            )
        case CorruptImage():
            return (
                "I couldn't read that image: the file looks damaged or incomplete "
                f"({shorten(error.detail, 120)}). "
                f"Save it again, or send another {ACCEPTED}. {NOTHING_CHARGED}"
            )
        case InvalidMask():
            return (
                f"That mask doesn't work: {error.reason}. Paint the area to change white (or make it "
                f"transparent) and leave the rest black. {NOTHING_CHARGED}"
            )
        case SourceUnavailable():
            name = shorten(error.filename, 80)
            return f"I couldn't download `{name}` from Discord. Upload it again. {NOTHING_CHARGED}"
        case ImagesAPIError():
            return f"{_upstream(error)} {NOTHING_CHARGED}"
        case DeliveryFailed():
            why = f"{error.status}: " if error.status else ""
            return (
                f"The images were made, but Discord didn't take them ({why}{shorten(error.detail, 200)}), "
                f"even after retrying. Try again. {NOTHING_CHARGED}"
            )
        case TooManyJobs():
            return (
                f"You already have {plural(error.limit, 'job')} queued or running, the most allowed at once. "
                f"Wait for one to finish, then try again. {NOTHING_CHARGED}"
            )
        case JobCancelled():
            return f"Cancelled. {NOTHING_CHARGED}"
        case ShuttingDown():
            return (
                "The bot is restarting, so this job was stopped before it finished. Try again in a minute. "
                f"{NOTHING_CHARGED}"
            )
        case NothingToVary(hidden=True):
            return (
                "I can't see other members' attachments here: my Message Content intent is off. Use the "
                "**Vary image** menu instead (right-click the message › Apps › Vary image), or ask the "
                "bot's operator to enable the intent."
            )
        case NothingToVary(from_menu=True):
            return (
                "That message has no image attachment to vary. Use the menu on a message with an image, "
                "or upload one with /vary."
            )
        case NothingToVary():
            return "That message has no image I can vary."
        case NoSuchImage(count=1):
            return "That message has 1 image; ask for image 1."
        case NoSuchImage():
            return f"That message has {error.count} images; ask for image 1 to {error.count}."
        case ControlRefused(reason=ControlRefused.NOT_ALLOWED):
            return "You can't use this bot's commands in this channel, so you can't use its buttons here."
        case ControlRefused(reason=ControlRefused.IMAGE_GONE):
            return "That image is no longer on this message."
        case ControlRefused(reason=ControlRefused.NOT_OWNER):
            return "Only the member who asked for this job can cancel it."
        case ControlRefused(reason=ControlRefused.NOT_WAITING):
            return "That job has already started or finished, so it can't be cancelled."
        case JobGone():
            return f"That result is too old for this button: run the command again. {NOTHING_CHARGED}"
    return f"{error} {NOTHING_CHARGED}"


def _kind(found: str) -> str:
    if found.startswith(("text/", "application/", "video/", "audio/")):
        return f"a {found} file"
    named = {"text": "a text file", "pdf": "a PDF", "svg": "an SVG drawing", "unknown": "not a format I know"}
    return named.get(found, f"a {found.upper()} file")


def _quota_exceeded(error: QuotaExceeded) -> str:
    status = error.status
    when = timestamp(status.resets_at)
    if status.limit + status.granted == 0:
        return (
            f"This server's quota gives you no images {period_word(status.period)}. A server admin can "
            f"give you some with /admin quota grant. {NOTHING_CHARGED}"
        )
    if status.remaining <= 0:
        return (
            f"You've used all {plural(status.limit + status.granted, 'image')} of your quota "
            f"{period_word(status.period)}. It resets {when}. {NOTHING_CHARGED}"
        )
    return (
        f"You asked for {plural(error.requested, 'image')} but have {status.remaining} left "
        f"{period_word(status.period)}. Ask for {status.remaining} or fewer, or wait until it resets {when}. "
        f"{NOTHING_CHARGED}"
    )


def _retired(error: ModelRetired) -> str:
    when = f"was retired on {error.shutdown.isoformat()}" if error.shutdown else "is no longer available"
    instead = (
        f" Use `{error.replacement}` instead (pick it in the `model` option)."
        if error.replacement
        else " Pick another model."
    )
    return f"`{error.model}` {when}.{instead} {NOTHING_CHARGED}"


_STATE_WORDS = {
    "active": "active",
    "retiring": "retiring",
    "retired": "retired",
    "gone": "unavailable (the image service answered that it no longer has it)",
}


def model_line(state: ModelState, spec: ModelSpec, *, default: str, today: date) -> str:
    """One line of ``/admin models``: name, state, dates, replacement."""
    parts = [f"**{state.model}**" + (" (default)" if state.model == default else "")]
    if spec.upstream_id != state.model:
        parts.append(f"sent as `{spec.upstream_id}`")
    words = _STATE_WORDS[state.state]
    if state.shutdown is not None:
        days = (state.shutdown - today).days
        words += (
            f", shuts down {state.shutdown.isoformat()}" if days > 0 else f" on {state.shutdown.isoformat()}"
        )
        words += f" (in {plural(days, 'day')})" if days > 0 else ""
    elif spec.retirement is not None and state.state == "active":
        words += f" here (OpenAI's own API shut it down on {spec.retirement.shutdown.isoformat()})"
    parts.append(words)
    if state.replacement and state.state != "active":
        parts.append(f"use `{state.replacement}` instead")
    return "- " + " · ".join(parts)


def models_report(models: ModelRegistry, *, today: date) -> str:
    """The body of ``/admin models``: every model the bot offers, retiring and retired ones first."""
    order = {"retired": 0, "gone": 1, "retiring": 2, "active": 3}
    states = sorted(models.states(today=today), key=lambda state: order[state.state])
    lines = [
        model_line(state, models.get(state.model), default=models.default_model, today=today)
        for state in states
    ]
    head = f"**Models** ({len(states)}; default `{models.default_model}`)"
    return shorten("\n".join([head, *lines]), 4000)


def lifecycle_log_lines(
    models: ModelRegistry, listed: Mapping[str, date | None] | None, *, today: date
) -> list[tuple[int, str]]:
    """(log level, line) for the operator after a lifecycle refresh: one per model that is retired,
    gone or retiring, the default's state, and configured models the backend doesn't list."""
    out: list[tuple[int, str]] = []
    for state in models.states(today=today):
        if state.state == "active":
            continue
        instead = f"; use {state.replacement}" if state.replacement else ""
        when = f" (shutdown {state.shutdown.isoformat()})" if state.shutdown else ""
        out.append((logging.WARNING, f"model {state.model} is {state.state}{when}{instead}"))
    default = models.state(models.default_model, today=today)
    if not default.usable:
        out.append(
            (
                logging.ERROR,
                f"IMAGE_MODEL={default.model} can't be used any more: members who don't pick a model "
                f"are refused. Set IMAGE_MODEL={default.replacement or 'another model'}; "
                "the other models still work.",
            )
        )
    upstream = models.get(models.default_model).upstream_id
    if listed is not None and upstream not in listed:
        out.append((logging.WARNING, f"the backend's model list doesn't name {upstream} (IMAGE_MODEL)"))
    return out


def _upstream(error: ImagesAPIError) -> str:
    match error:
        case SafetyRejected():
            return (
                "The image service's safety system rejected this request, so no image was made. "
                "Rephrase the prompt (or use a different image) and try again."
            )
        case OutOfCredit():
            return (
                "The bot's image-service account has run out of credit, so no images can be made until "
                "the bot's operator adds more."
            )
        case RateLimited():
            wait = f" in about {round(error.retry_after)} seconds" if error.retry_after else " in a minute"
            return f"The image service is busy right now (rate limit reached). Try again{wait}."
        case AuthenticationFailed():
            return (
                "The image service rejected the bot's API key. The bot's operator needs to check "
                "OPENAI_API_KEY."
            )
        case PermissionDenied():
            return (
                "The image service refused this bot's account access to that model (the account may need "
                "to be verified). Try another model, or tell the bot's operator."
            )
        case ModelNotFound():
            return (
                "The image service doesn't offer that model (it may have been retired). Pick another "
                "model, or ask the bot's operator to change IMAGE_MODEL."
            )
        case InvalidRequest():
            detail = f": {shorten(error.message, 300)}" if error.message else "."
            return f"The image service refused the request{detail}"
        case ServerError():
            status = f" ({error.status})" if error.status else ""
            return f"The image service had an internal error{status}, even after retrying. Try again shortly."
        case APITimeout():
            return (
                "The image service didn't answer in time. Try again; a smaller or lower-quality "
                "image is faster."
            )
        case APIConnectionError():
            return "The bot couldn't reach the image service. Try again in a moment."
        case BadResponse():
            return "The image service sent back something that isn't a usable image. Try again."
    return "The image service failed to make the image."
