"""What the broadcast services return: typed, so callers read fields mypy can check.

The original service document's dict shapes (`get_progress` keys, the pagination
envelope...) are built from these in one place, `services.contract`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from db.models import (
    BroadcastEventKind,
    BroadcastKind,
    BroadcastStatus,
    ContentKind,
    RecipientStatus,
    Role,
    TargetGroup,
)
from services.history import HistoryEntry
from services.options import NO_OPTIONS, BroadcastOptions

Item = TypeVar("Item")
Mapped = TypeVar("Mapped")


@dataclass(frozen=True, slots=True)
class Page(Generic[Item]):
    """One page of a longer list; pages are numbered from 1."""

    items: list[Item]
    count: int
    page: int
    page_size: int

    @property
    def total_pages(self) -> int:
        return max(1, -(-self.count // self.page_size))

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.total_pages else None

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    def map(self, convert: Callable[[Item], Mapped]) -> Page[Mapped]:
        return Page([convert(item) for item in self.items], self.count, self.page, self.page_size)


@dataclass(frozen=True, slots=True)
class BroadcastSummary:
    """A broadcast as lists show it: who made it, for whom, its counters and times."""

    id: int
    created_by: int | None
    created_by_name: str | None
    target_group: TargetGroup
    target_filter: dict[str, Any] | None
    content_kind: ContentKind
    message: str
    status: BroadcastStatus
    recipient_count: int
    sent_count: int
    failed_count: int
    pending_count: int
    scheduled_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    target_name: str | None = None
    """The subject, tutor or teacher the filter names; None for the other groups."""
    reachable_now: int | None = None
    """For a draft or a scheduled broadcast: how many its audience reaches now."""
    options: BroadcastOptions = NO_OPTIONS
    auto_remind_after_minutes: int | None = None
    """An automatic reminder this long after it starts sending (None: none)."""
    kind: BroadcastKind = BroadcastKind.ANNOUNCEMENT


@dataclass(frozen=True, slots=True)
class RecipientRow:
    """One recipient of a broadcast, with what happened to their message."""

    id: int
    user_id: int
    external_id: str
    user_name: str
    email: str | None
    telegram_id: int | None
    telegram_sent: bool
    error_message: str | None
    sent_at: datetime | None
    status: RecipientStatus
    error_code: str | None
    role: Role
    confirmed_at: datetime | None = None
    # Of an announcement edited or deleted for everyone (the CSV export reads them): when
    # its message here was last edited, deleted, or why the last of those failed.
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    amend_error_code: str | None = None
    """When they pressed "I have read it" (broadcasts that ask for it only)."""
    reminders: int = 0
    """How many reminders they were sent (the not-confirmed list and the CSV only)."""


@dataclass(frozen=True, slots=True)
class ReminderRun:
    """One reminder of an announcement: when it went (or goes) out, and how far it got."""

    id: int
    status: BroadcastStatus
    automatic: bool
    scheduled_at: datetime | None
    sent_at: datetime | None
    recipient_count: int
    sent_count: int


@dataclass(frozen=True, slots=True)
class Reminders:
    """An announcement's reminders, oldest first, against the limit."""

    runs: list[ReminderRun]
    limit: int

    @property
    def counted(self) -> int:
        """Those that count toward the limit: every one not cancelled."""
        return sum(1 for run in self.runs if run.status is not BroadcastStatus.CANCELLED)

    @property
    def left(self) -> int:
        return max(self.limit - self.counted, 0)

    @property
    def next_automatic(self) -> ReminderRun | None:
        return next((run for run in self.runs if run.status is BroadcastStatus.SCHEDULED), None)

    @property
    def sending(self) -> ReminderRun | None:
        return next((run for run in self.runs if run.status is BroadcastStatus.SENDING), None)


@dataclass(frozen=True, slots=True)
class BroadcastDetails:
    """A broadcast with its content, the name its filter points at, and recipients."""

    summary: BroadcastSummary
    entities: list[dict[str, Any]] | None
    file_id: str | None
    recipients: Page[RecipientRow]
    retryable: int = 0
    """Failed recipients a retry would send to again (not those who blocked the bot)."""
    confirmed: int | None = None
    """Recipients who confirmed reading, when the broadcast asks them to."""
    history: list[HistoryEntry] = field(default_factory=list)
    """What happened to it, oldest first (services/history.py)."""
    unreachable: int = 0
    """Who of its audience cannot be reached (`services.unreachable`'s rule)."""
    reminders: Reminders | None = None
    """Its reminders to those who have not confirmed, when it asks them to."""

    @property
    def unconfirmed(self) -> int | None:
        """Delivered and not confirmed, when the broadcast asks for confirmation: the
        difference of the two numbers the details show (only a delivered message can be
        confirmed)."""
        if self.confirmed is None:
            return None
        return max(0, self.summary.sent_count - self.confirmed)

    @property
    def deleted(self) -> bool:
        """Deleted for everyone: nothing left to edit, delete or remind of."""
        return any(entry.kind == BroadcastEventKind.DELETED for entry in self.history)


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a broadcast has got; `progress_pct` counts sent and failed as processed."""

    id: int
    status: BroadcastStatus
    total_recipients: int
    sent_count: int
    failed_count: int
    pending_count: int
    progress_pct: int
    error_summary: str | None
    created_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Stats:
    """The monitoring numbers over all broadcasts."""

    status_distribution: dict[BroadcastStatus, int]
    total_recipients: int
    failed_recipients: int
    finished_broadcasts: int
    average_processing_seconds: float | None

    @property
    def total_broadcasts(self) -> int:
        return sum(self.status_distribution.values())

    @property
    def failed_rate(self) -> float:
        """Failed recipients as a percentage of all recipients, two decimals."""
        if not self.total_recipients:
            return 0.0
        return round(self.failed_recipients / self.total_recipients * 100, 2)


@dataclass(frozen=True, slots=True)
class Cancelled:
    broadcast_id: int
    cancelled_at: datetime
    previous_status: BroadcastStatus
    run: RunOf | None = None


@dataclass(frozen=True, slots=True)
class CancelAsked:
    """What the question asked before a cancel is about."""

    broadcast_id: int
    status: BroadcastStatus
    run: RunOf | None = None


@dataclass(frozen=True, slots=True)
class RunOf:
    """A run over an announcement (a reminder, an edit, a delete) as admins know it:
    what it does, and the announcement's number (the run's own is in no list)."""

    kind: BroadcastKind
    announcement_id: int

    @classmethod
    def of(cls, kind: BroadcastKind, parent_id: int | None) -> RunOf | None:
        """The run a broadcast row is, by its kind and parent; None: an announcement."""
        return None if parent_id is None else cls(kind, parent_id)


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """What cancelling did. For a broadcast that was sending: the counts once the messages
    in flight at the cancel are recorded (`settled`), or as far as they were when the
    wait for them ran out; a draft or a scheduled one had no recipients yet."""

    broadcast_id: int
    previous_status: BroadcastStatus
    sent: int = 0
    """Delivered: before the cancel, or in flight at the cancel and delivered since."""
    failed: int = 0
    stopped: int = 0
    """Still pending: they will not get it."""
    settled: bool = True
    run: RunOf | None = None
    """What it stopped, when it was a run over an announcement."""


@dataclass(frozen=True, slots=True)
class RetryPreview:
    """What retrying a broadcast now would do: for the question asked first. `rounds` is
    how many times it was retried before, so a Yes given after another retry is refused."""

    broadcast_id: int
    status: BroadcastStatus
    rounds: int
    retryable: int
    run: RunOf | None = None


@dataclass(frozen=True, slots=True)
class Retried:
    """Failed recipients put back to pending; the broadcast is `sending` again."""

    broadcast_id: int
    retried_count: int


@dataclass(frozen=True, slots=True)
class Started:
    """A broadcast now `sending`: its recipients are written and the engine has it."""

    broadcast_id: int
    recipient_count: int
    task_id: str
    progress_message_id: int | None = None
    """The live progress message posted for it, if one could be posted."""


@dataclass(frozen=True, slots=True)
class RecipientsAdded:
    """What `create_broadcast_recipients_batch` did."""

    created_count: int
    total_count: int
    batches_processed: int
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class InvitesIssued:
    """What one run of issuing invite links did, and whom it left out and why."""

    issued: int
    skipped_linked: int
    """Active people whose Telegram is linked already (issued to only when asked for all)."""
    skipped_inactive: int


class ConfirmOutcome(enum.StrEnum):
    """What a press of "I have read it" did (`services.confirmations`)."""

    CONFIRMED = "confirmed"  # recorded now
    ALREADY = "already"  # recorded by an earlier press; nothing changed
    REFUSED = "refused"  # not the recipient's own delivered message; nothing recorded


@dataclass(frozen=True, slots=True)
class Confirmation:
    outcome: ConfirmOutcome
    broadcast_id: int | None = None
    confirmed_at: datetime | None = None
    """When the recipient confirmed (the first press), for CONFIRMED and ALREADY."""
    original_message_id: int | None = None
    """A press on a reminder: the announcement's message in that chat (its button too)."""
