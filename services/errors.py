"""Domain errors: each refusal carries its facts, so whoever shows it can say it in the
reader's language (`handlers/errors.py` is the one place that does), and callers never
have to check a status first to know what went wrong.

They subclass ValueError, as the original service document's methods raise ValueError
("Broadcast 99999 not found", "Cannot cancel broadcast with status sent"); the English
message stays for logs and for the document's callers.
"""

from __future__ import annotations

import enum
from datetime import datetime

from db.models import BroadcastKind, BroadcastStatus


class Action(enum.StrEnum):
    """What was asked of a broadcast; the value names it in message ids (`cannot-cancel`;
    starting is what admins call Send now: `cannot-send`)."""

    START = "send"
    CANCEL = "cancel"
    RETRY = "retry"
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    RETARGET = "retarget"
    ADD_RECIPIENTS = "add-recipients"
    DELIVER = "deliver"
    """The engine was handed a broadcast that is not `sending`."""
    REMIND = "remind"
    """A reminder to those who have not confirmed (services/reminders.py)."""
    EDIT = "edit"
    """Edit a sent announcement for everyone."""
    DELETE = "delete"
    """Delete a sent announcement for everyone."""

    @property
    def verb(self) -> str:
        """The English phrase for log lines: `Cannot <verb> broadcast with status ...`."""
        return _VERBS.get(self, self.value)


_VERBS = {Action.START: "start", Action.ADD_RECIPIENTS: "add recipients to", Action.DELIVER: "send"}


class DomainError(ValueError):
    """A request the domain refuses, with a message for the person who made it."""

    code = "INVALID"


class BroadcastNotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(f"Broadcast {broadcast_id} not found")
        self.broadcast_id = broadcast_id


class InvalidStatus(DomainError):
    """The broadcast's status does not allow `action` (e.g. cancelling a sent one)."""

    code = "INVALID_STATUS"

    def __init__(self, broadcast_id: int, action: Action, status: BroadcastStatus) -> None:
        super().__init__(f"Cannot {action.verb} broadcast with status {status.value}")
        self.broadcast_id = broadcast_id
        self.action = action
        self.status = status


class StatusChanged(InvalidStatus):
    """A confirmation was asked while the broadcast was `expected`; it is `status` now,
    which would still allow `action`, but the admin agreed to something else."""

    code = "STATUS_CHANGED"

    def __init__(
        self,
        broadcast_id: int,
        action: Action,
        expected: BroadcastStatus,
        status: BroadcastStatus,
    ) -> None:
        super().__init__(broadcast_id, action, status)
        self.args = (f"Broadcast {broadcast_id} is {status.value} now, no longer {expected.value}",)
        self.expected = expected


class RetryLimitReached(DomainError):
    code = "RETRY_LIMIT"

    def __init__(self, broadcast_id: int, rounds: int, limit: int) -> None:
        super().__init__(
            f"Broadcast {broadcast_id} was already retried {rounds} times (limit {limit})"
        )
        self.broadcast_id = broadcast_id
        self.rounds = rounds
        self.limit = limit


class RetriedMeanwhile(DomainError):
    """A retry was confirmed after `expected` retries, but the broadcast was retried again
    since (it has had `rounds`): the admin agreed to a retry that already happened."""

    code = "RETRIED_MEANWHILE"

    def __init__(self, broadcast_id: int, expected: int, rounds: int) -> None:
        super().__init__(
            f"Broadcast {broadcast_id} was retried since the question was asked "
            f"({rounds} retries now, {expected} then)"
        )
        self.broadcast_id = broadcast_id
        self.expected = expected
        self.rounds = rounds


class NothingToRetry(DomainError):
    """No failed recipient of the broadcast is worth another try."""

    code = "NOTHING_TO_RETRY"

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(f"Broadcast {broadcast_id} has no failed recipients worth another try")
        self.broadcast_id = broadcast_id


class ConfirmationNotAsked(DomainError):
    """Who has not confirmed was asked of a broadcast that does not ask for confirmation."""

    code = "CONFIRMATION_NOT_ASKED"

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(f"Broadcast {broadcast_id} does not ask recipients to confirm reading")
        self.broadcast_id = broadcast_id


class ReminderLimitReached(DomainError):
    """The announcement has had its `limit` reminders (`sent`, the automatic one included)."""

    code = "REMINDER_LIMIT"

    def __init__(self, broadcast_id: int, sent: int, limit: int) -> None:
        super().__init__(f"Broadcast {broadcast_id} already has {sent} reminders (limit {limit})")
        self.broadcast_id = broadcast_id
        self.sent = sent
        self.limit = limit


class ReminderInProgress(DomainError):
    """Another reminder of the announcement (`reminder_id`) is still being sent."""

    code = "REMINDER_IN_PROGRESS"

    def __init__(self, broadcast_id: int, reminder_id: int) -> None:
        super().__init__(f"Broadcast {broadcast_id}: reminder #{reminder_id} is still being sent")
        self.broadcast_id = broadcast_id
        self.reminder_id = reminder_id


class RemindedMeanwhile(DomainError):
    """A reminder was confirmed when the announcement had `expected` reminders; it has
    `sent` now: the admin agreed to a reminder that another one has taken the place of."""

    code = "REMINDED_MEANWHILE"

    def __init__(self, broadcast_id: int, expected: int, sent: int) -> None:
        super().__init__(
            f"Broadcast {broadcast_id} got another reminder since the question was asked "
            f"({sent} now, {expected} then)"
        )
        self.broadcast_id = broadcast_id
        self.expected = expected
        self.sent = sent


class NobodyToRemind(DomainError):
    """Everyone delivered the announcement has confirmed reading it."""

    code = "NOBODY_TO_REMIND"

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(f"Broadcast {broadcast_id}: everyone delivered has confirmed reading")
        self.broadcast_id = broadcast_id


class ValidationFailed(DomainError):
    """Bad input: an over-long message, a wrong filter, unknown user ids..."""

    code = "VALIDATION"


class ContentTooLong(ValidationFailed):
    def __init__(self, length: int, limit: int, what: str = "Message") -> None:
        super().__init__(f"{what} is {length} characters long; the limit is {limit}")
        self.length = length
        self.limit = limit


class ContentInvisible(ValidationFailed):
    """The message (or a media caption, `what="Caption"`) has no character a reader would
    see: it is empty, or only whitespace, zero-width and other invisible characters."""

    def __init__(self, what: str = "Message") -> None:
        super().__init__(f"{what} is empty or invisible: it has no visible characters")
        self.what = what


class NoRecipients(DomainError):
    code = "NO_RECIPIENTS"

    def __init__(self, target_group: str) -> None:
        super().__init__(f"No recipients found for group {target_group}")
        self.target_group = target_group


class NothingDelivered(DomainError):
    """An edit or a delete for everyone was asked of an announcement nobody received, or
    a delete of one whose messages are all older than Telegram's 48 hours (`too_old`)."""

    code = "NOTHING_DELIVERED"

    def __init__(self, broadcast_id: int, too_old: int = 0) -> None:
        reason = f"its {too_old} messages are too old to delete" if too_old else "delivered"
        super().__init__(f"Broadcast {broadcast_id}: nothing {reason}")
        self.broadcast_id = broadcast_id
        self.too_old = too_old


class RunInProgress(DomainError):
    """An edit or a delete of the announcement (`kind`, run `run_id`) is still being
    sent: another one would race it in every chat."""

    code = "RUN_IN_PROGRESS"

    def __init__(self, broadcast_id: int, kind: BroadcastKind, run_id: int) -> None:
        super().__init__(
            f"Broadcast {broadcast_id}: its {kind.value} #{run_id} is still being sent"
        )
        self.broadcast_id = broadcast_id
        self.kind = kind
        self.run_id = run_id


class AlreadyDeleted(DomainError):
    """The announcement was deleted for everyone (at `deleted_at`): nothing to edit or
    delete any more."""

    code = "ALREADY_DELETED"

    def __init__(self, broadcast_id: int, deleted_at: datetime) -> None:
        super().__init__(f"Broadcast {broadcast_id} was deleted for everyone at {deleted_at}")
        self.broadcast_id = broadcast_id
        self.deleted_at = deleted_at
