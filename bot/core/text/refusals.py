"""Why something didn't happen: every domain error, Discord's own refusals, and bugs.

Exceptions carry facts; ``describe_error`` turns them into plain sentences that say what happened
and what to change (a test fails when a ``BotError`` leaf has no case here). It never includes a
secret: upstream messages are already scrubbed by the client, and are shortened here."""

from __future__ import annotations

from bot.core.pipeline import JobGone
from bot.core.scheduling import JobCancelled, ShuttingDown, TooManyJobs
from bot.core.text.quotas import period_word
from bot.core.text.spending import budget_exhausted, unpriced_under_budget
from bot.core.text.writing import ACCEPTED, NOTHING_CHARGED, code, megabytes, plural, shorten, timestamp
from bot.errors import (
    BotError,
    BotLacksPermissions,
    ControlRefused,
    DeliveryFailed,
    NoSuchImage,
    NothingToVary,
    PastResultRefused,
    ServerRuleRefused,
    SourceUnavailable,
)
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
    ModelRetired,
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
from bot.store import BudgetExhausted, QuotaExceeded, UnpricedUnderBudget

_ENDPOINT_VERBS = {
    "generations": "make images from text",
    "edits": "edit images",
    "variations": "vary images",
}


def describe_error(error: BotError) -> str:
    """The message a user reads for a domain error: what happened and what to do about it."""
    match error:
        case QuotaExceeded():
            return _quota_exceeded(error)
        case BudgetExhausted():
            return budget_exhausted(error)
        case UnpricedUnderBudget():
            return unpriced_under_budget(error)
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
        case BotLacksPermissions(for_log=True):
            return (
                f"I can't post in that channel: I need {_permission_names(error.permissions)} there. "
                "Grant it in the channel's settings, or pick another channel."
            )
        case BotLacksPermissions():
            return (
                f"I can't post results in this channel: I need {_permission_names(error.permissions)} here. "
                f"Ask a server admin to grant it in the channel's settings, or use me in another channel. "
                f"{NOTHING_CHARGED}"
            )
        case ServerRuleRefused(what="model"):
            return (
                f"This server's admins don't allow {code(error.value)} here. Pick another model. "
                f"{NOTHING_CHARGED}"
            )
        case ServerRuleRefused():
            limit = f" (at most {error.limit})" if error.limit else ""
            return (
                f"This server's admins don't allow {error.what} {code(error.value)} here{limit}. "
                f"Ask for less. {NOTHING_CHARGED}"
            )
        case PastResultRefused(reason=PastResultRefused.NOT_FOUND):
            return f"There is no job #{error.job_id} in this server. /history lists yours."
        case PastResultRefused(reason=PastResultRefused.NOT_YOURS):
            return (
                f"Job #{error.job_id} is another member's: /show re-posts your own results. "
                "/history lists yours."
            )
        case PastResultRefused(reason=PastResultRefused.NO_RESULT):
            return f"Job #{error.job_id} has no result to show: it didn't finish (and cost nothing)."
        case PastResultRefused(reason=PastResultRefused.GONE):
            return (
                f"The result of job #{error.job_id} was deleted from Discord, so I can't show it again. "
                "/imagine makes a new one."
            )
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


# -- Discord's own refusals, and bugs ----------------------------------------------------------

SERVER_ONLY = "This command works in a server, not in direct messages."
_PERMISSION_NAMES = {"manage_guild": "Manage Server", "administrator": "Administrator"}


def _permission_names(permissions: list[str]) -> str:
    """``the Attach Files and Embed Links permissions``."""
    names = [_PERMISSION_NAMES.get(p, p.replace("_", " ").title()) for p in permissions]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"the {joined} permission{'s' if len(names) > 1 else ''}"


def missing_permissions(permissions: list[str]) -> str:
    return f"You need {_permission_names(permissions)} to use this command."


def slow_down(seconds: float) -> str:
    return f"Slow down: try again in {seconds:.0f} seconds."


def bug(incident: str) -> str:
    return f"Something went wrong on the bot's side (error id `{incident}`). {NOTHING_CHARGED}"
