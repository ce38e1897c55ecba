"""What a failed Telegram request means for one broadcast recipient.

The engine needs one decision per exception: retry now after a flood wait, resend to a
migrated chat, retry later (transient), give up on this recipient (permanent), stop
the whole broadcast (the token is no longer valid), or count it done (an edit that
changes nothing: the message already reads so). The error codes are the ones stored
in `broadcast_recipients.error_code` and labelled by `services.broadcasts.ERROR_LABELS`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)


class ErrorCode(enum.StrEnum):
    BLOCKED = "blocked"
    DEACTIVATED = "deactivated"
    CANT_INITIATE = "cant_initiate"
    CHAT_NOT_FOUND = "chat_not_found"
    SERVER_ERROR = "server_error"
    NETWORK = "network"
    TIMEOUT = "timeout"
    UNAUTHORIZED = "unauthorized"
    NOT_NEEDED = "not_needed"
    MESSAGE_GONE = "message_gone"  # an edit or delete found no message: the recipient deleted it
    TOO_OLD = "too_old"  # Telegram deletes a message for everyone only within 48 hours
    OTHER = "other"


class Disposition(enum.Enum):
    """What the engine does with the recipient after the error."""

    FLOOD_WAIT = "flood_wait"  # 429: pause everything, resend; not a failure, not a retry
    MIGRATED = "migrated"  # the chat moved: store the new id and resend
    TRANSIENT = "transient"  # retry later, up to MAX_RETRIES times
    PERMANENT = "permanent"  # the recipient fails now
    FATAL = "fatal"  # the bot itself is rejected: stop the broadcast
    DONE = "done"  # an edit to what the message already says: as good as made


class Unreachable(enum.Enum):
    """Why the person cannot receive anything from the bot until they come back; kept on
    their users row (services/delivery_record.py) and counted apart in previews."""

    BLOCKED = "blocked"  # their choice: blocked or never started the bot
    DEACTIVATED = "deactivated"  # their Telegram account is deleted


@dataclass(frozen=True, slots=True)
class DeliveryError:
    disposition: Disposition
    code: ErrorCode | None
    description: str
    unreachable: Unreachable | None = None  # a mark to set on the user
    retry_after: float = 0.0
    migrate_to_chat_id: int | None = None


class NotNeeded(Exception):
    """A run's request that is no longer needed, made by no one (a reminder to someone
    who has confirmed meanwhile): the recipient is recorded with `not_needed`."""


# Forbidden descriptions that mean "this person cannot receive messages from the bot".
_FORBIDDEN_CODES = (
    ("blocked by the user", ErrorCode.BLOCKED, Unreachable.BLOCKED),
    ("user is deactivated", ErrorCode.DEACTIVATED, Unreachable.DEACTIVATED),
    ("can't initiate conversation", ErrorCode.CANT_INITIATE, Unreachable.BLOCKED),
)


# Bad Request descriptions of edits and deletes, and what they mean.
_NOT_MODIFIED = "message is not modified"
_MESSAGE_GONE = ("message to edit not found", "message to delete not found")
_TOO_OLD = "message can't be deleted for everyone"


def _description(error: BaseException) -> str:
    if isinstance(error, TelegramAPIError):
        return error.message
    return str(error) or type(error).__name__


def classify(error: BaseException) -> DeliveryError:
    """The engine's decision for an exception raised by a send call."""
    text = _description(error)
    lowered = text.lower()
    if isinstance(error, NotNeeded):
        return DeliveryError(Disposition.PERMANENT, ErrorCode.NOT_NEEDED, text)
    if isinstance(error, TelegramRetryAfter):
        return DeliveryError(
            Disposition.FLOOD_WAIT, None, text, retry_after=float(error.retry_after)
        )
    if isinstance(error, TelegramMigrateToChat):
        return DeliveryError(
            Disposition.MIGRATED,
            ErrorCode.OTHER,  # recorded only if the new chat cannot be reached either
            text,
            migrate_to_chat_id=error.migrate_to_chat_id,
        )
    if isinstance(error, TelegramUnauthorizedError):
        return DeliveryError(Disposition.FATAL, ErrorCode.UNAUTHORIZED, text)
    if isinstance(error, TelegramForbiddenError):
        for fragment, code, unreachable in _FORBIDDEN_CODES:
            if fragment in lowered:
                return DeliveryError(Disposition.PERMANENT, code, text, unreachable=unreachable)
        return DeliveryError(Disposition.PERMANENT, ErrorCode.OTHER, text)
    if isinstance(error, TelegramBadRequest | TelegramNotFound) and "chat not found" in lowered:
        return DeliveryError(Disposition.PERMANENT, ErrorCode.CHAT_NOT_FOUND, text)
    if isinstance(error, TelegramBadRequest):
        if _NOT_MODIFIED in lowered:
            return DeliveryError(Disposition.DONE, None, text)
        if any(fragment in lowered for fragment in _MESSAGE_GONE):
            return DeliveryError(Disposition.PERMANENT, ErrorCode.MESSAGE_GONE, text)
        if _TOO_OLD in lowered:
            return DeliveryError(Disposition.PERMANENT, ErrorCode.TOO_OLD, text)
    if isinstance(error, TelegramServerError):
        return DeliveryError(Disposition.TRANSIENT, ErrorCode.SERVER_ERROR, text)
    if isinstance(error, TelegramEntityTooLarge):  # a network error subclass, but permanent
        return DeliveryError(Disposition.PERMANENT, ErrorCode.OTHER, text)
    if isinstance(error, TelegramNetworkError):
        code = ErrorCode.TIMEOUT if "timeout" in lowered else ErrorCode.NETWORK
        return DeliveryError(Disposition.TRANSIENT, code, text)
    if isinstance(error, TimeoutError):
        return DeliveryError(Disposition.TRANSIENT, ErrorCode.TIMEOUT, text)
    if isinstance(error, ConnectionError):
        return DeliveryError(Disposition.TRANSIENT, ErrorCode.NETWORK, text)
    return DeliveryError(Disposition.PERMANENT, ErrorCode.OTHER, text)
