"""The roots of the domain exception tree.

Every failure that should end in a message to a Discord user derives from ``BotError``. Exceptions
carry the facts the message needs (as attributes); ``bot.core.text.describe_error`` turns them into
words in one place. Nothing here imports discord.
"""

from __future__ import annotations


class BotError(Exception):
    """A failure that ends in a message to the user. Nothing is charged for it."""


class UserInputError(BotError):
    """The user asked for something the bot refuses; the message says what to change."""


class UpstreamError(BotError):
    """Something outside the bot failed (the Images API, Discord); the message says what happened."""


class DeliveryFailed(UpstreamError):
    """Discord refused to take the finished images (after they were made; nothing is charged)."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(f"Discord refused the delivery ({status}): {detail}")
        self.status = status
        self.detail = detail


class SourceUnavailable(UpstreamError):
    """An image to work from could not be downloaded from Discord."""

    def __init__(self, filename: str, detail: str) -> None:
        super().__init__(f"could not download {filename}: {detail}")
        self.filename = filename
        self.detail = detail


class NothingToVary(UserInputError):
    """The message a member pointed at has no image the bot can vary."""

    def __init__(self, *, hidden: bool = False, from_menu: bool = False) -> None:
        super().__init__("that message has no image to vary")
        self.hidden = hidden  # it may have one, but the Message Content intent hides it
        self.from_menu = from_menu


class NoSuchImage(UserInputError):
    """A reply asked for image ``asked`` of a message that has ``count``."""

    def __init__(self, asked: int, count: int) -> None:
        super().__init__(f"image {asked} asked for, the message has {count}")
        self.asked = asked
        self.count = count


class ControlRefused(UserInputError):
    """A button or menu on a result can't do what was pressed; ``reason`` says why."""

    NOT_ALLOWED = "not_allowed"  # the member may not use the bot's commands in this channel
    IMAGE_GONE = "image_gone"  # the image the control refers to is no longer on the message
    NOT_OWNER = "not_owner"  # only the member who asked may cancel a job
    NOT_WAITING = "not_waiting"  # the job already started or finished

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BotLacksPermissions(UserInputError):
    """The bot may not do in this channel what it would have to (post the result, or log there):
    refused before anything is spent. ``permissions`` are discord.py's names (``attach_files``)."""

    def __init__(self, permissions: list[str], *, for_log: bool = False) -> None:
        super().__init__(f"the bot lacks {', '.join(permissions)} in this channel")
        self.permissions = permissions
        self.for_log = for_log  # the channel chosen as the server's log channel


class PastResultRefused(UserInputError):
    """``/show`` can't re-post that job; ``reason`` says why."""

    NOT_FOUND = "not_found"  # no such job in this server
    NOT_YOURS = "not_yours"  # another member's job
    NO_RESULT = "no_result"  # it failed, was refunded or is still running
    GONE = "gone"  # its result message was deleted

    def __init__(self, reason: str, job_id: int) -> None:
        super().__init__(f"job {job_id}: {reason}")
        self.reason = reason
        self.job_id = job_id


class ServerRuleRefused(UserInputError):
    """The server's admins don't allow this ``what`` (``model``, ``quality``, ``size``) here."""

    def __init__(self, what: str, value: str, *, limit: str | None = None) -> None:
        super().__init__(f"this server doesn't allow {what} {value}")
        self.what = what
        self.value = value
        self.limit = limit
