"""A broadcast's delivery record in the database: who is still due, and what each send did.

The run loop in services/sender.py decides what to send and when; here it finds the
recipients that are due and records results. A batch of them is written in one transaction:
the recipient rows, the broadcast's counters and error log, users who blocked the bot or
whose account is deleted, and group chats that moved to a new id. When nothing is pending
the broadcast gets its final status, or it fails when Telegram rejected the bot itself.
Keeping the SQL apart lets the loop read as sending, and keeps every change a send makes to
the database in one place.

Every write is made only while this instance holds the broadcast's lease
(services/lease.py), checked and renewed in the same transaction: an instance that lost
its lease (another one took the broadcast over) gets LeaseLost and records nothing, so
two instances never both count a recipient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, Update, bindparam, case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Base, Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus, User
from db.session import SessionFactory
from db.types import utcnow
from services.audience import affected_rows
from services.confirmations import confirmed_column
from services.delivery_errors import DeliveryError, Unreachable
from services.error_log import ErrorEvent, merge_error_log
from services.lease import NO_LEASE, LeaseLost, Leases

UNREACHABLE_MARKS = {
    Unreachable.BLOCKED: User.bot_blocked_at,
    Unreachable.DEACTIVATED: User.telegram_deactivated_at,
}
"""The users column each kind of unreachable person is marked in, with the time."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """A pending recipient row as the engine reads it."""

    row_id: int
    user_id: int
    chat_id: int | None
    attempts: int
    language_code: str | None = None  # the user's, for the "I have read it" button
    source_message_id: int | None = None  # a run over an announcement: its message here
    source_confirmed_at: datetime | None = None  # ...and when its recipient confirmed it


@dataclass(slots=True)
class DeliveryResult:
    """How one send to a recipient ended: sent, failed, or pending again for a retry."""

    recipient: Recipient
    status: RecipientStatus
    attempts: int
    at: datetime
    message_id: str | None = None
    error: DeliveryError | None = None
    next_attempt_at: datetime | None = None
    new_chat_id: int | None = None
    revision: int = 0  # the content revision the action that made it sent


Counts = Row[BroadcastStatus, int, int, int, datetime | None, datetime | None, int | None]
"""What a progress snapshot needs from the broadcast row (see `counts_query`)."""


def counts_query(
    broadcast_id: int,
) -> Select[BroadcastStatus, int, int, int, datetime | None, datetime | None, int | None]:
    """What a progress snapshot needs from the broadcast row: status, counters, when
    sending started and finished, and its confirmations when it asks for them (else
    NULL)."""
    return select(
        Broadcast.status,
        Broadcast.recipient_count,
        Broadcast.sent_count,
        Broadcast.failed_count,
        Broadcast.sent_at,
        Broadcast.completed_at,
        confirmed_column(broadcast_id),
    ).where(Broadcast.id == broadcast_id)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a broadcast stands, for the log: its status, counters and times."""

    status: BroadcastStatus
    total: int
    sent: int
    failed: int
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def pending(self) -> int:
        return max(self.total - self.sent - self.failed, 0)


class ContentRevised(Exception):
    """The broadcast's content was corrected since the run loaded it: nothing of the
    batch was written; the run loads it again and corrects what it sent meanwhile."""


class DeliveryRecord:
    """One broadcast's deliveries in the database: who is due, what each send did, and
    the broadcast's final status, written under this instance's lease."""

    def __init__(self, session_factory: SessionFactory, broadcast_id: int, leases: Leases) -> None:
        self._session_factory = session_factory
        self._broadcast_id = broadcast_id
        self._leases = leases

    async def outcome(self) -> Outcome | None:
        async with self._session_factory() as session:
            row = (
                await session.execute(
                    select(
                        Broadcast.status,
                        Broadcast.recipient_count,
                        Broadcast.sent_count,
                        Broadcast.failed_count,
                        Broadcast.sent_at,
                        Broadcast.completed_at,
                    ).where(Broadcast.id == self._broadcast_id)
                )
            ).one_or_none()
        return None if row is None else Outcome(*row)

    async def due(self, now: datetime, *, after_id: int, limit: int) -> list[Recipient]:
        """Up to `limit` pending recipients due by `now` with a row id above `after_id`,
        in id order (a keyset page), each with its user's chat id and, in a run over an
        announcement, the id of the announcement's message in that chat."""
        recipient = BroadcastRecipient
        source = aliased(BroadcastRecipient)
        async with self._session_factory() as session:
            rows = (
                await session.execute(
                    select(
                        recipient.id,
                        recipient.recipient_id,
                        User.telegram_id,
                        recipient.attempts,
                        User.language_code,
                        source.telegram_message_id,
                        source.confirmed_at,
                    )
                    .join(User, User.id == recipient.recipient_id)
                    .outerjoin(source, source.id == recipient.source_id)
                    .where(
                        recipient.broadcast_id == self._broadcast_id,
                        recipient.status == RecipientStatus.PENDING,
                        or_(
                            recipient.next_attempt_at.is_(None),
                            recipient.next_attempt_at <= now,
                        ),
                        recipient.id > after_id,
                    )
                    .order_by(recipient.id)
                    .limit(limit)
                )
            ).all()
        return [
            Recipient(
                *row[:5],
                source_message_id=None if row[5] is None else int(row[5]),
                source_confirmed_at=row[6],
            )
            for row in rows
        ]

    async def next_due(self) -> datetime | None:
        """When the earliest pending recipient may be sent; None when nothing is pending."""
        recipient = BroadcastRecipient
        async with self._session_factory() as session:
            waiting, scheduled, earliest = (
                await session.execute(
                    select(
                        func.count(),
                        func.count(recipient.next_attempt_at),
                        func.min(recipient.next_attempt_at),
                    ).where(
                        recipient.broadcast_id == self._broadcast_id,
                        recipient.status == RecipientStatus.PENDING,
                    )
                )
            ).one()
        if not waiting:
            return None
        if waiting > scheduled or earliest is None:
            return utcnow()
        return earliest

    async def write(
        self, results: list[DeliveryResult], *, read_counts: bool, revision: int | None = None
    ) -> Counts | None:
        """Record a batch of results in one transaction, renewing the lease; with
        `read_counts`, return the broadcast's status and counters as this transaction
        leaves them. LeaseLost (and nothing written) when the lease is another's;
        ContentRevised (nothing written) when the broadcast's content revision is no longer
        `revision`. A correction of the text takes the broadcast row first, then copies the
        rows sent so far: a batch committed before it is copied, one after it meets this
        check, so every message sent with the previous text is corrected exactly once.

        Writing a batch again records it once: a retry after a commit whose answer was
        lost with the connection must not count anyone twice."""
        sent = sum(1 for r in results if r.status is RecipientStatus.SENT)
        failed = sum(1 for r in results if r.status is RecipientStatus.FAILED)
        events = [
            ErrorEvent(r.error.code, r.error.description, r.at)
            for r in results
            if r.error is not None and r.error.code is not None
        ]
        marked: dict[Unreachable, list[int]] = {}
        for r in results:
            if r.error is not None and r.error.unreachable is not None:
                marked.setdefault(r.error.unreachable, []).append(r.recipient.user_id)
        table = Base.metadata.tables[BroadcastRecipient.__tablename__]
        async with self._session_factory() as session, session.begin():
            changes: dict[str, Any] = self._leases.renewal()
            if not await _already_written(session, results[0]):
                connection = await session.connection()
                await connection.execute(
                    update(table).where(table.c.id == bindparam("row_id")),
                    [_row_values(r) for r in results],
                )
                if marked:
                    await session.execute(_marking(marked, utcnow()))
                for result in results:
                    if result.new_chat_id is not None:
                        await _move_chat(session, result.recipient.user_id, result.new_chat_id)
                if sent:
                    changes["sent_count"] = Broadcast.sent_count + sent
                if failed:
                    changes["failed_count"] = Broadcast.failed_count + failed
                if events:
                    changes["error_log"] = await self._merged_error_log(session, events)
            # The broadcast row last, as everywhere: recipient rows first, then the broadcast.
            current = [] if revision is None else [Broadcast.content_revision == revision]
            counted = await session.execute(
                update(Broadcast)
                .where(self._leases.held(self._broadcast_id), *current)
                .values(**changes)
            )
            if affected_rows(counted) == 0:  # rolls the whole batch back
                if current and await session.scalar(
                    select(Broadcast.id).where(self._leases.held(self._broadcast_id))
                ):
                    raise ContentRevised(self._broadcast_id)
                raise LeaseLost(self._broadcast_id)
            if not read_counts:
                return None
            return (await session.execute(counts_query(self._broadcast_id))).one()

    async def finish(self) -> None:
        """Set the final status if nothing is pending and nobody cancelled meanwhile (and
        give the lease up with it)."""
        pending = exists().where(
            BroadcastRecipient.broadcast_id == self._broadcast_id,
            BroadcastRecipient.status == RecipientStatus.PENDING,
        )
        final_status = case(
            (Broadcast.failed_count == 0, BroadcastStatus.SENT.value),
            (Broadcast.sent_count == 0, BroadcastStatus.FAILED.value),
            else_=BroadcastStatus.COMPLETED.value,
        )
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(Broadcast)
                .where(
                    self._leases.held(self._broadcast_id),
                    Broadcast.status == BroadcastStatus.SENDING,
                    ~pending,
                )
                .values(status=final_status, completed_at=utcnow(), **NO_LEASE)
            )

    async def fail(self, error: DeliveryError) -> None:
        """Stop the broadcast as failed: the bot itself was rejected (token revoked)."""
        assert error.code is not None
        event = ErrorEvent(
            error.code,
            f"Sending stopped: Telegram rejected the bot token ({error.description})",
            utcnow(),
        )
        async with self._session_factory() as session, session.begin():
            log = await self._merged_error_log(session, [event])
            await session.execute(
                update(Broadcast)
                .where(
                    self._leases.held(self._broadcast_id),
                    Broadcast.status == BroadcastStatus.SENDING,
                )
                .values(
                    status=BroadcastStatus.FAILED, completed_at=utcnow(), error_log=log, **NO_LEASE
                )
            )

    async def _merged_error_log(
        self, session: AsyncSession, events: Iterable[ErrorEvent]
    ) -> list[dict[str, Any]]:
        current = await session.scalar(
            select(Broadcast.error_log).where(Broadcast.id == self._broadcast_id).with_for_update()
        )
        return merge_error_log(current, events)


async def _already_written(session: AsyncSession, result: DeliveryResult) -> bool:
    """Whether the batch holding `result` is recorded already. Every result changes the
    row it was read from (pending with `attempts`): to another status, or to one more
    attempt. So a row that shows the result's status and attempts has it, and so has the
    rest of its batch, written in the same transaction."""
    row = BroadcastRecipient
    current = (
        await session.execute(
            select(row.status, row.attempts).where(row.id == result.recipient.row_id)
        )
    ).one_or_none()
    return current is not None and tuple(current) == (result.status, result.attempts)


def _row_values(result: DeliveryResult) -> dict[str, Any]:
    error = result.error
    sent = result.status is RecipientStatus.SENT
    return {
        "row_id": result.recipient.row_id,
        "status": result.status.value,
        "telegram_sent": sent,
        "telegram_message_id": result.message_id,
        "telegram_error": None if sent or error is None else error.description,
        "error_code": None if sent or error is None or error.code is None else error.code.value,
        "attempts": result.attempts,
        "next_attempt_at": result.next_attempt_at,
        "sent_at": result.at if sent else None,
    }


def _marking(marked: dict[Unreachable, list[int]], now: datetime) -> Update:
    """One UPDATE that marks every user of the batch Telegram said cannot be reached, each
    in the column of their reason (one statement, so concurrent batches lock in one go)."""
    everyone = sorted({user_id for user_ids in marked.values() for user_id in user_ids})
    values = {
        column: case((User.id.in_(marked[unreachable]), now), else_=column)
        for unreachable, column in UNREACHABLE_MARKS.items()
        if unreachable in marked
    }
    return update(User).where(User.id.in_(everyone)).values(values)


async def _move_chat(session: AsyncSession, user_id: int, new_chat_id: int) -> None:
    """Store a migrated chat's new id, unless another user already has it."""
    other = aliased(User)
    taken = exists().where(other.telegram_id == new_chat_id)
    await session.execute(
        update(User).where(User.id == user_id, ~taken).values(telegram_id=new_chat_id)
    )
