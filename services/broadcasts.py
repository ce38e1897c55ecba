"""BroadcastService: create, schedule, start, cancel and retry broadcasts (and, from
`BroadcastReads`, look at them).

Each method owns one short transaction from the injected session factory. Status changes
are conditional UPDATEs (`WHERE status IN (...)`), so two callers can never both start,
cancel or retry the same broadcast; a refused change raises an error that names the
broadcast, the action and the status it found (`services.errors`). The counters on
`broadcasts` (recipient, sent, failed) always agree with the recipient rows: whoever
changes rows changes the counters in the same transaction. Handing a started broadcast
to the engine is `services.launcher`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Broadcast,
    BroadcastEventKind,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    TargetGroup,
    User,
)
from db.session import SessionFactory
from db.types import utcnow
from services.audience import affected_rows, materialise_recipients, validate_target
from services.broadcast_reads import BroadcastReads, count_retryable, retryable_failures
from services.content import BroadcastContent
from services.error_log import ErrorEvent, merge_error_log
from services.errors import (
    Action,
    BroadcastNotFound,
    InvalidStatus,
    NoRecipients,
    NothingToRetry,
    RetriedMeanwhile,
    RetryLimitReached,
    StatusChanged,
    ValidationFailed,
)
from services.history import record
from services.options import NO_OPTIONS, BroadcastOptions
from services.quiet_hours import QuietGate, waits_for_quiet_hours
from services.reminders import cancel_automatic, schedule_automatic
from services.results import CancelAsked, Cancelled, Retried, RetryPreview, RunOf
from services.statuses import (
    ALLOWED_STATUSES,
    CANCELLABLE_STATUSES,
    RETRYABLE_STATUSES,
    STARTABLE_STATUSES,
)

RETRY_LOG_CODE = "retry"
"""The error_log code under which manual retries are counted (`services.error_log`)."""
DEFAULT_RETRY_ROUNDS = 3
"""How many times a broadcast may be retried by hand (`retry_failed`'s max_retries)."""


@dataclass(frozen=True, slots=True)
class BroadcastRules:
    """The settings the broadcast service needs: the longest text, the school's zone."""

    message_max_length: int
    tz: ZoneInfo


def retry_rounds(error_log: list[dict[str, Any]] | None) -> int:
    """How many times the broadcast was retried by `retry_failed`."""
    return sum(
        int(entry.get("count", 0))
        for entry in error_log or []
        if entry.get("code") == RETRY_LOG_CODE
    )


def log_retry(
    error_log: list[dict[str, Any]] | None, retried: int, at: datetime
) -> list[dict[str, Any]]:
    """`error_log` with one more retry counted in its retry entry."""
    event = ErrorEvent(RETRY_LOG_CODE, f"Retried {retried} failed recipients", at)
    return merge_error_log(error_log, [event])


def check_scheduled_at(scheduled_at: datetime) -> None:
    """A time to schedule a broadcast for must be aware and in the future."""
    if scheduled_at.tzinfo is None:
        raise ValidationFailed("scheduled_at must carry a time zone")
    if scheduled_at <= utcnow():
        raise ValidationFailed("scheduled_at must be in the future")


def check_retry(
    broadcast: Broadcast,
    max_retries: int,
    expected: BroadcastStatus | None = None,
    expected_rounds: int | None = None,
) -> int:
    """How many times the broadcast was retried, if it may be retried once more now; else
    the refusal with its facts. `expected` and `expected_rounds` are what a confirmation
    was asked about: a broadcast retried or changed since is refused (RetriedMeanwhile,
    StatusChanged)."""
    broadcast_id, status = broadcast.id, broadcast.status
    if status not in RETRYABLE_STATUSES:
        raise InvalidStatus(broadcast_id, Action.RETRY, status)
    rounds = retry_rounds(broadcast.error_log)
    if expected_rounds is not None and rounds != expected_rounds:
        raise RetriedMeanwhile(broadcast_id, expected_rounds, rounds)
    if expected is not None and status is not expected:
        raise StatusChanged(broadcast_id, Action.RETRY, expected, status)
    if rounds >= max_retries:
        raise RetryLimitReached(broadcast_id, rounds, max_retries)
    return rounds


async def refuse(
    session: AsyncSession,
    broadcast_id: int,
    action: Action,
    expected: BroadcastStatus | None = None,
) -> None:
    """After a guarded UPDATE matched nothing: raise what is wrong, with its facts (the id
    is unknown; the status does not allow it; it changed since a confirmation asked)."""
    status = await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
    if status is None:
        raise BroadcastNotFound(broadcast_id)
    allowed = ALLOWED_STATUSES.get(action, frozenset())
    if expected is not None and status is not expected and status in allowed:
        raise StatusChanged(broadcast_id, action, expected, status)
    raise InvalidStatus(broadcast_id, action, status)


def _still(expected: BroadcastStatus | None, allowed: frozenset[BroadcastStatus]) -> Any:
    """The WHERE condition for a status change: an allowed status, and the one a
    confirmation was asked about when there was one."""
    if expected is None:
        return Broadcast.status.in_(allowed)
    return Broadcast.status == expected if expected in allowed else Broadcast.status.in_(())


class BroadcastService(BroadcastReads):
    def __init__(self, session_factory: SessionFactory, rules: BroadcastRules) -> None:
        super().__init__(session_factory, rules.tz)
        self._rules = rules

    async def create(
        self,
        *,
        target_group: TargetGroup | str,
        target_filter: Mapping[str, Any] | None = None,
        content: BroadcastContent,
        created_by_id: int | None = None,
        scheduled_at: datetime | None = None,
        options: BroadcastOptions = NO_OPTIONS,
        auto_remind_after_minutes: int | None = None,
    ) -> int:
        """Store a draft (or a scheduled broadcast when `scheduled_at` is given) with its
        delivery options, and its automatic reminder (only when it asks to confirm); its
        id."""
        content.validate(self._rules.message_max_length)
        if scheduled_at is not None:
            check_scheduled_at(scheduled_at)
        async with self._session_factory() as session, session.begin():
            group, parsed = await validate_target(session, target_group, target_filter)
            if created_by_id is not None and await session.get(User, created_by_id) is None:
                raise ValidationFailed(f"User {created_by_id} (created_by) not found")
            broadcast = Broadcast(
                created_by_id=created_by_id,
                target_group=group,
                target_filter=parsed,
                content_kind=content.kind,
                message=content.text,
                entities=content.entities,
                file_id=content.file_id,
                **options.columns(),
                auto_remind_after_minutes=(
                    auto_remind_after_minutes if options.ask_confirmation else None
                ),
                scheduled_at=scheduled_at,
                status=BroadcastStatus.DRAFT if scheduled_at is None else BroadcastStatus.SCHEDULED,
            )
            session.add(broadcast)
            await session.flush()
            record(
                session,
                broadcast.id,
                BroadcastEventKind.CREATED,
                broadcast.created_at,
                created_by_id,
            )
            if scheduled_at is not None:
                record(
                    session,
                    broadcast.id,
                    BroadcastEventKind.SCHEDULED,
                    broadcast.created_at,
                    created_by_id,
                )
            return broadcast.id

    async def status_for(self, broadcast_id: int, action: Action) -> BroadcastStatus:
        """The broadcast's status, if it allows `action` now; else the refusal with facts.
        For a question asked before acting (a confirmation shows the status it asks about)."""
        async with self._session_factory() as session:
            status = await session.scalar(
                select(Broadcast.status).where(Broadcast.id == broadcast_id)
            )
        if status is None:
            raise BroadcastNotFound(broadcast_id)
        if status not in ALLOWED_STATUSES[action]:
            raise InvalidStatus(broadcast_id, action, status)
        return status

    async def cancel_asked(self, broadcast_id: int) -> CancelAsked:
        """What a question before cancelling the broadcast is about (its status, and for a
        run over an announcement, which one), if it can be cancelled now."""
        status = await self.status_for(broadcast_id, Action.CANCEL)
        return CancelAsked(broadcast_id, status, await self.run_of(broadcast_id))

    async def run_of(self, broadcast_id: int) -> RunOf | None:
        """The announcement a run (a reminder, an edit, a delete) acts on; None for an
        announcement, or a broadcast that does not exist."""
        async with self._session_factory() as session:
            row = (
                await session.execute(
                    select(Broadcast.kind, Broadcast.parent_id).where(Broadcast.id == broadcast_id)
                )
            ).one_or_none()
        return None if row is None else RunOf.of(*row)

    async def update_target(
        self,
        broadcast_id: int,
        target_group: TargetGroup | str,
        target_filter: Mapping[str, Any] | None = None,
    ) -> None:
        """Point a draft or scheduled broadcast at another audience."""
        async with self._session_factory() as session, session.begin():
            group, parsed = await validate_target(session, target_group, target_filter)
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status.in_(STARTABLE_STATUSES))
                .values(target_group=group, target_filter=parsed)
            )
            if affected_rows(result) == 0:
                await refuse(session, broadcast_id, Action.RETARGET)

    async def schedule(
        self, broadcast_id: int, scheduled_at: datetime, *, actor_id: int | None = None
    ) -> None:
        """draft -> scheduled at `scheduled_at` (aware, in the future; stored as UTC).

        Only the row changes: the caller arms its timer (`BroadcastScheduler.arm`), as
        after `create(scheduled_at=...)`. A broadcast that is no longer a draft is refused
        (InvalidStatus), so an already scheduled one keeps its time.
        """
        check_scheduled_at(scheduled_at)
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.DRAFT)
                .values(status=BroadcastStatus.SCHEDULED, scheduled_at=scheduled_at)
            )
            if affected_rows(result) == 0:
                await refuse(session, broadcast_id, Action.SCHEDULE)
            record(session, broadcast_id, BroadcastEventKind.SCHEDULED, utcnow(), actor_id)

    async def start_sending(
        self,
        broadcast_id: int,
        expected: BroadcastStatus | None = None,
        *,
        actor_id: int | None = None,
        quiet: QuietGate | None = None,
    ) -> int:
        """draft|scheduled -> sending: resolve the audience into recipients now.

        Re-validates the target, writes its reachable users as pending recipients, sets
        recipient_count and sent_at, and schedules its automatic reminder if it has one:
        its delay counts from when delivery really starts, the end of `quiet` hours for
        one that waits for them. Returns the recipient count. With nobody reachable it
        raises NoRecipients and changes nothing. `expected` is the status a confirmation
        showed: a broadcast that has changed since is refused with StatusChanged.
        """
        async with self._session_factory() as session, session.begin():
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise BroadcastNotFound(broadcast_id)
            group, parsed = await validate_target(
                session, broadcast.target_group, broadcast.target_filter
            )
            started_at = utcnow()
            claimed = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, _still(expected, STARTABLE_STATUSES))
                .values(status=BroadcastStatus.SENDING, sent_at=started_at)
            )
            if affected_rows(claimed) == 0:
                await refuse(session, broadcast_id, Action.START, expected)
            written = await materialise_recipients(session, broadcast_id, group, parsed)
            total = broadcast.recipient_count + written
            if total == 0:
                raise NoRecipients(group.value)
            await session.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id).values(recipient_count=total)
            )
            delivery_starts = started_at
            if quiet is not None and waits_for_quiet_hours(broadcast.kind, broadcast.urgent):
                delivery_starts = quiet.start_of(False) or started_at
            await schedule_automatic(session, broadcast, delivery_starts)
            record(session, broadcast_id, BroadcastEventKind.SENT, started_at, actor_id)
        return total

    async def cancel_broadcast(
        self,
        broadcast_id: int,
        expected: BroadcastStatus | None = None,
        *,
        actor_id: int | None = None,
    ) -> Cancelled:
        """Stop a draft, scheduled or sending broadcast; pending recipients stay pending.
        `expected` is the status the confirmation asked about (StatusChanged if it moved)."""
        cancelled_at = utcnow()
        async with self._session_factory() as session, session.begin():
            found = (
                await session.execute(
                    select(Broadcast.status, Broadcast.kind, Broadcast.parent_id)
                    .where(Broadcast.id == broadcast_id)
                    .with_for_update()
                )
            ).one_or_none()
            previous = None if found is None else found.status
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, _still(expected, CANCELLABLE_STATUSES))
                .values(status=BroadcastStatus.CANCELLED, cancelled_at=cancelled_at)
            )
            if affected_rows(result) == 0 or previous is None:
                await refuse(session, broadcast_id, Action.CANCEL, expected)
            await cancel_automatic(session, broadcast_id, cancelled_at)
            record(session, broadcast_id, BroadcastEventKind.CANCELLED, cancelled_at, actor_id)
        assert found is not None and previous is not None
        run = RunOf.of(found.kind, found.parent_id)
        return Cancelled(broadcast_id, cancelled_at, previous, run)

    async def retry_preview(
        self, broadcast_id: int, max_retries: int = DEFAULT_RETRY_ROUNDS
    ) -> RetryPreview:
        """What `retry_failed` would do now, for the question asked first; refused as it
        would be (InvalidStatus, RetryLimitReached, NothingToRetry)."""
        async with self._session_factory() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise BroadcastNotFound(broadcast_id)
            rounds = check_retry(broadcast, max_retries)
            retryable = await count_retryable(session, broadcast_id)
        if retryable == 0:
            raise NothingToRetry(broadcast_id)
        run = RunOf.of(broadcast.kind, broadcast.parent_id)
        return RetryPreview(broadcast_id, broadcast.status, rounds, retryable, run)

    async def retry_failed(
        self,
        broadcast_id: int,
        max_retries: int = DEFAULT_RETRY_ROUNDS,
        *,
        expected: BroadcastStatus | None = None,
        expected_rounds: int | None = None,
    ) -> Retried:
        """Put retryable failed recipients back to pending; a finished broadcast goes back
        to sending. `max_retries` caps how many times a broadcast may be retried this way
        (each retry is recorded in error_log): RetryLimitReached past it, NothingToRetry
        when no failure is worth another try. `expected` and `expected_rounds` are the
        status and the retries a confirmation showed (`retry_preview`): a broadcast that
        changed or was retried since is refused (StatusChanged, RetriedMeanwhile)."""
        if max_retries < 0:
            raise ValidationFailed(f"max_retries must be 0 or more, got {max_retries}")
        async with self._session_factory() as session, session.begin():
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise BroadcastNotFound(broadcast_id)
            check_retry(broadcast, max_retries, expected, expected_rounds)
            reset = await session.execute(
                update(BroadcastRecipient)
                .where(retryable_failures(broadcast_id))
                .values(
                    status=RecipientStatus.PENDING,
                    attempts=0,
                    error_code=None,
                    telegram_error=None,
                    next_attempt_at=None,
                )
            )
            retried = affected_rows(reset)
            if retried == 0:
                raise NothingToRetry(broadcast_id)
            # Rows first, then the broadcast row (locked), in the engine's order.
            error_log = await session.scalar(
                select(Broadcast.error_log).where(Broadcast.id == broadcast_id).with_for_update()
            )
            relaunched = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == broadcast.status)
                .values(
                    status=BroadcastStatus.SENDING,
                    completed_at=None,
                    failed_count=Broadcast.failed_count - retried,
                    error_log=log_retry(error_log, retried, utcnow()),
                )
            )
            if affected_rows(relaunched) == 0:
                await refuse(session, broadcast_id, Action.RETRY)
        return Retried(broadcast_id, retried)
