"""Editing and deleting a sent announcement for everyone: the question's counts, and the
run of kind `edit` or `delete` (services/run_actions.py) that the engine then sends.

Each run is one transaction that takes the announcement's row first (so a run of the
engine writing results meanwhile either commits before, and its rows are copied, or
meets the new content revision after, and corrects what it sent: see
`DeliveryRecord.write`), checks the rules, writes the run's row and its recipient rows
in one INSERT ... SELECT from the announcement's delivered rows, and records the event
in the announcement's history (the text it replaced, for an edit).

* An edit changes the announcement's text too: those still pending get the corrected one.
* A delete cancels the announcement first (its pending recipients get nothing) and its
  automatic reminder, and leaves out messages older than Telegram's 48 hours, counted in
  the question; no reminder can be sent after it.
* Only one edit or delete of an announcement runs at a time (RunInProgress); nothing is
  edited or deleted once it was deleted (AlreadyDeleted), or when nothing was delivered
  (NothingDelivered), unless it is being sent: its messages in flight are then corrected
  or deleted by its own run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Broadcast,
    BroadcastEventKind,
    BroadcastKind,
    BroadcastRecipient,
    BroadcastStatus,
    ContentKind,
    RecipientStatus,
)
from db.session import SessionFactory
from db.types import utcnow
from services.audience import affected_rows
from services.content import BroadcastContent
from services.errors import (
    Action,
    AlreadyDeleted,
    BroadcastNotFound,
    InvalidStatus,
    NothingDelivered,
    RunInProgress,
)
from services.history import record
from services.reminders import cancel_automatic
from services.statuses import AMENDABLE_STATUSES

DELETE_WINDOW = timedelta(hours=48)
"""How long after delivery Telegram lets a bot delete a message for everyone."""

_ACTIONS = {BroadcastKind.EDIT: Action.EDIT, BroadcastKind.DELETE: Action.DELETE}


@dataclass(frozen=True, slots=True)
class AmendPreview:
    """What an edit or a delete would do now, for the question asked first."""

    broadcast_id: int
    kind: BroadcastKind
    status: BroadcastStatus
    content_kind: ContentKind
    count: int  # delivered messages it acts on
    too_old: int = 0  # a delete: delivered more than 48 hours ago, not attempted
    pending: int = 0  # still to be sent: get the corrected text / are cancelled


@dataclass(frozen=True, slots=True)
class RunCreated:
    """The run written, `sending`, for the engine."""

    broadcast_id: int
    run_id: int
    count: int
    too_old: int = 0
    cancelled: int = 0  # a delete: pending recipients who will not get it


def delivered(broadcast_id: int) -> list[ColumnElement[bool]]:
    """The announcement's rows whose message is in a chat."""
    return [
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.status == RecipientStatus.SENT,
        BroadcastRecipient.telegram_message_id.is_not(None),
    ]


class AmendService:
    """Edits and deletes of sent announcements, at the time `clock` says (UTC, aware)."""

    def __init__(
        self,
        session_factory: SessionFactory,
        message_max_length: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._session_factory = session_factory
        self._message_max_length = message_max_length
        self.clock = clock

    async def preview(self, broadcast_id: int, kind: BroadcastKind) -> AmendPreview:
        """The counts an edit or a delete would act on now; refused as it would be."""
        now = self.clock()
        async with self._session_factory() as session:
            announcement = await self._announcement(session, broadcast_id)
            await _check(session, announcement, kind)
            count, too_old = await _counts(session, broadcast_id, kind, now)
        if count == 0 and announcement.status is not BroadcastStatus.SENDING:
            raise NothingDelivered(broadcast_id, too_old)
        return AmendPreview(
            broadcast_id,
            kind,
            announcement.status,
            announcement.content_kind,
            count,
            too_old,
            announcement.pending_count if announcement.status is BroadcastStatus.SENDING else 0,
        )

    def check_content(self, content_kind: ContentKind, text: str, entities: Any) -> None:
        """A corrected text (or caption) is refused as the wizard refuses one."""
        file_id = None if content_kind is ContentKind.TEXT else "kept"
        BroadcastContent(content_kind, text, entities, file_id).validate(self._message_max_length)

    async def edit(
        self,
        broadcast_id: int,
        text: str,
        entities: list[dict[str, Any]] | None,
        actor_id: int | None,
    ) -> RunCreated:
        """Correct the announcement's text in every chat it was delivered to, and for
        everyone still pending."""
        now = self.clock()
        async with self._session_factory() as session, session.begin():
            announcement = await self._take(session, broadcast_id)
            await _check(session, announcement, BroadcastKind.EDIT)
            self.check_content(announcement.content_kind, text, entities)
            previous = announcement.message
            run = _run_of(announcement, BroadcastKind.EDIT, actor_id, now, text, entities)
            session.add(run)
            await session.flush()
            count = await _copy_rows(session, run.id, delivered(broadcast_id))
            if count == 0 and announcement.status is not BroadcastStatus.SENDING:
                raise NothingDelivered(broadcast_id)
            run.recipient_count = count
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(
                    message=text,
                    entities=entities,
                    content_revision=Broadcast.content_revision + 1,
                )
            )
            record(
                session,
                broadcast_id,
                BroadcastEventKind.EDITED,
                now,
                actor_id,
                previous_text=previous,
                run_id=run.id,
            )
        return RunCreated(broadcast_id, run.id, count)

    async def delete(self, broadcast_id: int, actor_id: int | None) -> RunCreated:
        """Delete the announcement in every chat it was delivered to within 48 hours; one
        still sending is cancelled first."""
        now = self.clock()
        async with self._session_factory() as session, session.begin():
            announcement = await self._take(session, broadcast_id)
            await _check(session, announcement, BroadcastKind.DELETE)
            await cancel_automatic(session, broadcast_id, now)  # no reminder of a deleted one
            cancelled = 0
            if announcement.status is BroadcastStatus.SENDING:
                cancelled = announcement.pending_count
                record(session, broadcast_id, BroadcastEventKind.CANCELLED, now, actor_id)
            # A cancelled run still records its messages in flight: the new revision
            # makes it delete those (services/broadcast_run.py).
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(content_revision=Broadcast.content_revision + 1)
            )
            if announcement.status is BroadcastStatus.SENDING:
                await session.execute(
                    update(Broadcast)
                    .where(Broadcast.id == broadcast_id)
                    .values(status=BroadcastStatus.CANCELLED, cancelled_at=now)
                )
            count, too_old = await _counts(session, broadcast_id, BroadcastKind.DELETE, now)
            if count == 0 and announcement.status is not BroadcastStatus.SENDING:
                raise NothingDelivered(broadcast_id, too_old)
            run = _run_of(announcement, BroadcastKind.DELETE, actor_id, now, "", None)
            session.add(run)
            await session.flush()
            recent = BroadcastRecipient.sent_at >= now - DELETE_WINDOW
            count = await _copy_rows(session, run.id, [*delivered(broadcast_id), recent])
            run.recipient_count = count
            record(session, broadcast_id, BroadcastEventKind.DELETED, now, actor_id, run_id=run.id)
        return RunCreated(broadcast_id, run.id, count, too_old, cancelled)

    async def _announcement(self, session: AsyncSession, broadcast_id: int) -> Broadcast:
        announcement = await session.get(Broadcast, broadcast_id, populate_existing=True)
        if announcement is None or announcement.kind is not BroadcastKind.ANNOUNCEMENT:
            raise BroadcastNotFound(broadcast_id)
        return announcement

    async def _take(self, session: AsyncSession, broadcast_id: int) -> Broadcast:
        """The announcement's row, taken first in the transaction (a write, so both
        PostgreSQL and SQLite hold it until the commit)."""
        await session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(updated_at=utcnow())
        )
        return await self._announcement(session, broadcast_id)


async def _check(session: AsyncSession, announcement: Broadcast, kind: BroadcastKind) -> None:
    """The rules: a status that allows it, not deleted, no edit or delete running."""
    broadcast_id = announcement.id
    if announcement.status not in AMENDABLE_STATUSES:
        raise InvalidStatus(broadcast_id, _ACTIONS[kind], announcement.status)
    runs = await session.execute(
        select(Broadcast.id, Broadcast.kind, Broadcast.status, Broadcast.created_at)
        .where(
            Broadcast.parent_id == broadcast_id,
            Broadcast.kind.in_((BroadcastKind.EDIT, BroadcastKind.DELETE)),
        )
        .order_by(Broadcast.id)
    )
    for run_id, run_kind, status, created_at in runs:
        if run_kind is BroadcastKind.DELETE:
            raise AlreadyDeleted(broadcast_id, created_at)
        if status is BroadcastStatus.SENDING:
            raise RunInProgress(broadcast_id, run_kind, run_id)


async def _counts(
    session: AsyncSession, broadcast_id: int, kind: BroadcastKind, now: datetime
) -> tuple[int, int]:
    """(messages it acts on, messages too old for a delete)."""
    if kind is not BroadcastKind.DELETE:
        count = await session.scalar(select(func.count()).where(*delivered(broadcast_id)))
        return count or 0, 0
    cutoff = now - DELETE_WINDOW
    recent, old = (
        await session.execute(
            select(
                func.count().filter(BroadcastRecipient.sent_at >= cutoff),
                func.count().filter(
                    and_(
                        BroadcastRecipient.sent_at.is_not(None), BroadcastRecipient.sent_at < cutoff
                    )
                ),
            ).where(*delivered(broadcast_id))
        )
    ).one()
    return recent or 0, old or 0


def _run_of(
    announcement: Broadcast,
    kind: BroadcastKind,
    actor_id: int | None,
    now: datetime,
    text: str,
    entities: list[dict[str, Any]] | None,
) -> Broadcast:
    return Broadcast(
        kind=kind,
        parent_id=announcement.id,
        created_by_id=actor_id,
        target_group=announcement.target_group,
        target_filter=announcement.target_filter,
        content_kind=announcement.content_kind,
        message=text,
        entities=entities,
        file_id=announcement.file_id,
        status=BroadcastStatus.SENDING,
        sent_at=now,
        created_at=now,
    )


async def _copy_rows(
    session: AsyncSession, run_id: int, conditions: list[ColumnElement[bool]]
) -> int:
    """The run's recipient rows, one per announcement row that meets `conditions`."""
    source = select(literal(run_id), BroadcastRecipient.recipient_id, BroadcastRecipient.id).where(
        *conditions
    )
    statement = insert(BroadcastRecipient).from_select(
        ["broadcast_id", "recipient_id", "source_id"], source
    )
    return affected_rows(await session.execute(statement))
