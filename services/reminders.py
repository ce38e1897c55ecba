"""Reminders to those who were delivered an announcement and have not confirmed reading it.

A reminder is a run of its own (`BroadcastKind.REMINDER`, `parent_id` the announcement)
whose recipient rows are the announcement's delivered and unconfirmed rows at the moment
it starts, each pointing at its row (`source_id`), written in one INSERT ... SELECT. The
engine sends it like any broadcast (services/reminder_action.py makes the request); a
press of its button confirms the announcement's row (services/confirmations.py).

An admin asks for one from the details; an announcement may also carry an automatic one
(`auto_remind_after_minutes`), created `scheduled` when the announcement starts sending
and fired by the scheduler, which keeps it in the database like any scheduled broadcast.
Its recipients are written only when it fires, so whoever confirmed meanwhile is left
out. At most `MAX_REMINDERS` reminders per announcement, every one not cancelled
counting (a pending automatic one too), and never two sending at once: both are checked
under the announcement's row lock, so two admins pressing Yes together cannot pass both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Broadcast, BroadcastKind, BroadcastRecipient, BroadcastStatus, RecipientStatus
from db.session import SessionFactory
from db.types import utcnow
from services.audience import affected_rows
from services.confirmations import not_confirmed
from services.errors import (
    Action,
    AlreadyDeleted,
    BroadcastNotFound,
    ConfirmationNotAsked,
    InvalidStatus,
    NobodyToRemind,
    RemindedMeanwhile,
    ReminderInProgress,
    ReminderLimitReached,
)
from services.history import deleted_at
from services.results import ReminderRun, Reminders
from services.statuses import ALLOWED_STATUSES

logger = logging.getLogger(__name__)

MAX_REMINDERS = 3
AUTO_REMIND_CHOICES: tuple[int | None, ...] = (None, 120, 1440)
"""The options step's cycle for the automatic reminder: never, after 2 h, after 24 h."""


def next_auto_remind(current: int | None) -> int | None:
    """The choice after `current` in the options step's cycle (an unknown one: never)."""
    if current not in AUTO_REMIND_CHOICES:
        return None
    index = AUTO_REMIND_CHOICES.index(current)
    return AUTO_REMIND_CHOICES[(index + 1) % len(AUTO_REMIND_CHOICES)]


def reminders_received() -> ScalarSelect[Any]:
    """For a query on an announcement's recipient rows: how many reminders each row's
    person was sent (the sent reminder rows whose source it is; an index on source_id)."""
    reminder = aliased(BroadcastRecipient)
    return (
        select(func.count())
        .select_from(reminder)
        .join(Broadcast, Broadcast.id == reminder.broadcast_id)
        .where(
            reminder.source_id == BroadcastRecipient.id,
            reminder.status == RecipientStatus.SENT,
            Broadcast.kind == BroadcastKind.REMINDER,
        )
        .correlate(BroadcastRecipient)
        .scalar_subquery()
    )


@dataclass(frozen=True, slots=True)
class ReminderPreview:
    """What a reminder now would do, for the question asked first: how many it reaches
    and how many reminders came before (a Yes after another one is refused)."""

    broadcast_id: int
    unconfirmed: int
    sent: int


@dataclass(frozen=True, slots=True)
class ScheduledReminder:
    reminder_id: int
    at: datetime


async def reminders_of(
    session: AsyncSession, broadcast_id: int, limit: int = MAX_REMINDERS
) -> Reminders:
    """The announcement's reminders, oldest first."""
    rows = await session.execute(
        select(
            Broadcast.id,
            Broadcast.status,
            Broadcast.scheduled_at.is_not(None),
            Broadcast.scheduled_at,
            Broadcast.sent_at,
            Broadcast.recipient_count,
            Broadcast.sent_count,
        )
        .where(Broadcast.kind == BroadcastKind.REMINDER, Broadcast.parent_id == broadcast_id)
        .order_by(Broadcast.id)
    )
    return Reminders([ReminderRun(*row) for row in rows], limit)


async def schedule_automatic(
    session: AsyncSession, announcement: Broadcast, start: datetime
) -> None:
    """In the transaction that starts an announcement sending: its automatic reminder, if
    it asks for one, `scheduled` at `start` plus the delay (the scheduler fires it)."""
    delay = announcement.auto_remind_after_minutes
    if not delay or not announcement.ask_confirmation:
        return
    if announcement.kind is not BroadcastKind.ANNOUNCEMENT:
        return
    session.add(
        _reminder_row(announcement, BroadcastStatus.SCHEDULED, start + timedelta(minutes=delay))
    )
    await session.flush()


async def cancel_automatic(session: AsyncSession, broadcast_id: int, at: datetime) -> None:
    """In the transaction that cancels an announcement: its automatic reminder that has
    not fired yet is cancelled too (its timer then does nothing)."""
    await session.execute(
        update(Broadcast)
        .where(
            Broadcast.kind == BroadcastKind.REMINDER,
            Broadcast.parent_id == broadcast_id,
            Broadcast.status == BroadcastStatus.SCHEDULED,
        )
        .values(status=BroadcastStatus.CANCELLED, cancelled_at=at)
    )


def _reminder_row(
    announcement: Broadcast,
    status: BroadcastStatus,
    scheduled_at: datetime | None = None,
    *,
    author_id: int | None = None,
) -> Broadcast:
    """A reminder of the announcement; its author (the admin who asked for it, else the
    announcement's) is who the history says reminded."""
    return Broadcast(
        kind=BroadcastKind.REMINDER,
        parent_id=announcement.id,
        created_by_id=announcement.created_by_id if author_id is None else author_id,
        target_group=announcement.target_group,
        target_filter={},
        message="",
        silent=announcement.silent,
        protected=announcement.protected,
        status=status,
        scheduled_at=scheduled_at,
        sent_at=utcnow() if status is BroadcastStatus.SENDING else None,
    )


async def _materialise(session: AsyncSession, reminder_id: int, announcement_id: int) -> int:
    """The announcement's delivered and unconfirmed rows as the reminder's pending rows,
    in one INSERT ... SELECT; sets the reminder's recipient_count; how many. A row that
    another reminder still sending has (an automatic one firing while an admin's is
    going out) is left to that one: nobody gets two reminders within moments."""
    run, other = aliased(BroadcastRecipient), aliased(Broadcast)
    being_reminded = (
        select(run.source_id)
        .join(other, other.id == run.broadcast_id)
        .where(
            other.parent_id == announcement_id,
            other.kind == BroadcastKind.REMINDER,
            other.status == BroadcastStatus.SENDING,
            other.id != reminder_id,
            run.source_id.is_not(None),  # NOT IN over a NULL would leave nobody
        )
    )
    rows = select(
        literal(reminder_id), BroadcastRecipient.recipient_id, BroadcastRecipient.id
    ).where(*not_confirmed(announcement_id), BroadcastRecipient.id.not_in(being_reminded))
    written = affected_rows(
        await session.execute(
            insert(BroadcastRecipient).from_select(
                ["broadcast_id", "recipient_id", "source_id"], rows
            )
        )
    )
    await session.execute(
        update(Broadcast).where(Broadcast.id == reminder_id).values(recipient_count=written)
    )
    return written


class ReminderService:
    def __init__(self, session_factory: SessionFactory, limit: int = MAX_REMINDERS) -> None:
        self._session_factory = session_factory
        self.limit = limit

    async def preview(self, broadcast_id: int) -> ReminderPreview:
        """What `remind` would do now; refused as it would be."""
        async with self._session_factory() as session:
            return await self._check(session, broadcast_id, None)

    async def remind(
        self, broadcast_id: int, expected: int | None = None, *, actor_id: int | None = None
    ) -> tuple[int, int]:
        """A reminder now to those delivered who have not confirmed: the reminder's id and
        how many it goes to; it is `sending`, for the launcher to hand over. `expected`
        is how many reminders the question showed (RemindedMeanwhile if more now);
        `actor_id` the admin who asked, for the history."""
        async with self._session_factory() as session, session.begin():
            # The announcement's row first: the lock every reminder of it takes, so the
            # checks below see every other reminder committed before this one.
            touched = await session.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id).values(updated_at=utcnow())
            )
            if affected_rows(touched) == 0:
                raise BroadcastNotFound(broadcast_id)
            await self._check(session, broadcast_id, expected)
            announcement = await session.get(Broadcast, broadcast_id)
            assert announcement is not None
            reminder = _reminder_row(announcement, BroadcastStatus.SENDING, author_id=actor_id)
            session.add(reminder)
            await session.flush()
            count = await _materialise(session, reminder.id, broadcast_id)
            return reminder.id, count

    async def start_scheduled(self, reminder_id: int) -> int:
        """An automatic reminder's time has come: scheduled -> sending, its recipients
        those delivered and still unconfirmed now. With nobody left it is finished at once
        (sent to nobody) and 0 returned: the caller hands nothing to the engine."""
        async with self._session_factory() as session, session.begin():
            claimed = await session.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == reminder_id,
                    Broadcast.kind == BroadcastKind.REMINDER,
                    Broadcast.status == BroadcastStatus.SCHEDULED,
                )
                .values(status=BroadcastStatus.SENDING, sent_at=utcnow())
                .returning(Broadcast.parent_id)
            )
            parent_id = claimed.scalar_one_or_none()
            if parent_id is None:
                status = await session.scalar(
                    select(Broadcast.status).where(Broadcast.id == reminder_id)
                )
                if status is None:
                    raise BroadcastNotFound(reminder_id)
                raise InvalidStatus(reminder_id, Action.START, status)
            count = await _materialise(session, reminder_id, parent_id)
            if count == 0:
                await session.execute(
                    update(Broadcast)
                    .where(Broadcast.id == reminder_id)
                    .values(status=BroadcastStatus.SENT, completed_at=utcnow())
                )
        if count == 0:
            logger.info(
                "Reminder %s of broadcast %s: everyone delivered has confirmed, nothing sent",
                reminder_id,
                parent_id,
            )
        return count

    async def pending_automatic(self, broadcast_id: int) -> ScheduledReminder | None:
        """The announcement's automatic reminder still to fire, if it has one."""
        async with self._session_factory() as session:
            upcoming = (await reminders_of(session, broadcast_id)).next_automatic
        if upcoming is None or upcoming.scheduled_at is None:
            return None
        return ScheduledReminder(upcoming.id, upcoming.scheduled_at)

    async def _check(
        self, session: AsyncSession, broadcast_id: int, expected: int | None
    ) -> ReminderPreview:
        announcement = await session.get(Broadcast, broadcast_id, populate_existing=True)
        if announcement is None:
            raise BroadcastNotFound(broadcast_id)
        if not announcement.ask_confirmation or announcement.kind is not BroadcastKind.ANNOUNCEMENT:
            raise ConfirmationNotAsked(broadcast_id)
        if announcement.status not in ALLOWED_STATUSES[Action.REMIND]:
            raise InvalidStatus(broadcast_id, Action.REMIND, announcement.status)
        if (deleted := await deleted_at(session, broadcast_id)) is not None:
            raise AlreadyDeleted(broadcast_id, deleted)  # nothing left to confirm
        reminders = await reminders_of(session, broadcast_id, self.limit)
        if (sending := reminders.sending) is not None:
            raise ReminderInProgress(broadcast_id, sending.id)
        if expected is not None and reminders.counted != expected:
            raise RemindedMeanwhile(broadcast_id, expected, reminders.counted)
        if reminders.counted >= self.limit:
            raise ReminderLimitReached(broadcast_id, reminders.counted, self.limit)
        unconfirmed = await session.scalar(
            select(func.count(BroadcastRecipient.id)).where(*not_confirmed(broadcast_id))
        )
        if not unconfirmed:
            raise NobodyToRemind(broadcast_id)
        return ReminderPreview(broadcast_id, unconfirmed, reminders.counted)
