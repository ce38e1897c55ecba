"""Looking at broadcasts: details, lists, progress, recipients and the monitoring numbers.

Reads only, each in one short session, returning the typed results of `services.results`.
`BroadcastService` (services/broadcasts.py) adds the writes on top of these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, Select, and_, case, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Broadcast,
    BroadcastKind,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    Role,
    Subject,
    User,
)
from db.session import SessionFactory
from services.audience import count_audience
from services.confirmations import confirmed_count
from services.errors import BroadcastNotFound, ValidationFailed
from services.history import history_of
from services.options import BroadcastOptions
from services.reminders import reminders_of
from services.results import (
    BroadcastDetails,
    BroadcastSummary,
    Page,
    Progress,
    RecipientRow,
    Stats,
)
from services.statuses import (
    FINISHED_WITH_TIMES_STATUSES,
    RETRYABLE_ERROR_CODES,
    STARTABLE_STATUSES,
)
from services.targets import parse_target
from services.unreachable import count_unreachable

MAX_PAGE_SIZE = 100
ERROR_LABELS: dict[str, str] = {
    "blocked": "bot blocked by user",
    "deactivated": "user is deactivated",
    "cant_initiate": "bot can't initiate conversation",
    "chat_not_found": "chat not found",
    "server_error": "Telegram server error",
    "network": "network error",
    "timeout": "timeout",
    "unauthorized": "bot token revoked",
    "not_needed": "confirmed before the reminder",
    "message_gone": "message deleted by the recipient",
    "too_old": "too old to delete",
    "other": "other error",
}
"""The sending engine's error codes (recipient.error_code) as the English `error_summary`
of the service document reads them; admins read the catalogs' `delivery-error-*`."""

StatusEnum = TypeVar("StatusEnum", BroadcastStatus, RecipientStatus)


def progress_pct(processed: int, total: int) -> int:
    """processed / total as a whole percentage, halves rounded up; 0 for an empty broadcast."""
    if total <= 0:
        return 0
    return (processed * 200 + total) // (total * 2)


def describe_errors(counts: Mapping[str | None, int]) -> str | None:
    """Summarise failures by error_code, e.g. `5 failed: bot blocked by user (3), chat not
    found (2)`; a single kind is named without its count; None when nothing failed."""
    by_label: dict[str, int] = {}
    for code, count in counts.items():
        label = ERROR_LABELS.get(code or "other", ERROR_LABELS["other"])
        by_label[label] = by_label.get(label, 0) + count
    total = sum(by_label.values())
    if total == 0:
        return None
    if len(by_label) == 1:
        return f"{total} failed: {next(iter(by_label))}"
    ranked = sorted(by_label.items(), key=lambda item: (-item[1], item[0]))
    return f"{total} failed: " + ", ".join(f"{label} ({count})" for label, count in ranked)


def of_broadcast(broadcast_id: int) -> list[ColumnElement[bool]]:
    return [BroadcastRecipient.broadcast_id == broadcast_id]


def retryable_failures(broadcast_id: int) -> ColumnElement[bool]:
    """The broadcast's failed recipients a retry sends to again (a failure without a code
    counts as `other`, which is retried)."""
    return and_(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.status == RecipientStatus.FAILED,
        BroadcastRecipient.error_code.is_(None)
        | BroadcastRecipient.error_code.in_(RETRYABLE_ERROR_CODES),
    )


async def count_retryable(session: AsyncSession, broadcast_id: int) -> int:
    """How many failed recipients a retry would send to again."""
    count = await session.scalar(
        select(func.count(BroadcastRecipient.id)).where(retryable_failures(broadcast_id))
    )
    return count or 0


def check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise ValidationFailed(f"page must be 1 or more, got {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")


def parse_status(value: StatusEnum | str, enum_class: type[StatusEnum]) -> StatusEnum:
    try:
        return enum_class(value)
    except ValueError:
        expected = ", ".join(member.value for member in enum_class)
        raise ValidationFailed(f"Unknown status {value!r}; expected one of {expected}") from None


def summary_of(
    broadcast: Broadcast,
    created_by_name: str | None,
    target_name: str | None = None,
    reachable_now: int | None = None,
) -> BroadcastSummary:
    return BroadcastSummary(
        id=broadcast.id,
        created_by=broadcast.created_by_id,
        created_by_name=created_by_name,
        target_group=broadcast.target_group,
        target_filter=broadcast.target_filter,
        content_kind=broadcast.content_kind,
        message=broadcast.message,
        status=broadcast.status,
        recipient_count=broadcast.recipient_count,
        sent_count=broadcast.sent_count,
        failed_count=broadcast.failed_count,
        pending_count=broadcast.pending_count,
        scheduled_at=broadcast.scheduled_at,
        created_at=broadcast.created_at,
        sent_at=broadcast.sent_at,
        completed_at=broadcast.completed_at,
        cancelled_at=broadcast.cancelled_at,
        target_name=target_name,
        reachable_now=reachable_now,
        options=BroadcastOptions.of(broadcast),
        auto_remind_after_minutes=broadcast.auto_remind_after_minutes,
        kind=broadcast.kind,
    )


async def _target_names(session: AsyncSession, broadcasts: list[Broadcast]) -> dict[int, str]:
    """broadcast id -> the name of the subject, tutor or teacher its filter points at."""
    subject_of: dict[int, int] = {}
    person_of: dict[int, int] = {}
    for broadcast in broadcasts:
        found = broadcast.target_filter or {}
        if "subject_id" in found:
            subject_of[broadcast.id] = found["subject_id"]
        elif person_id := found.get("tutor_id", found.get("teacher_id")):
            person_of[broadcast.id] = person_id
    subjects: dict[int, str] = {}
    people: dict[int, str] = {}
    if subject_of:
        rows = await session.execute(
            select(Subject.id, Subject.name).where(Subject.id.in_(set(subject_of.values())))
        )
        subjects = {subject_id: name for subject_id, name in rows}
    if person_of:
        rows = await session.execute(
            select(User.id, User.full_name).where(User.id.in_(set(person_of.values())))
        )
        people = {user_id: name for user_id, name in rows}
    names = {bid: subjects[sid] for bid, sid in subject_of.items() if sid in subjects}
    names.update({bid: people[uid] for bid, uid in person_of.items() if uid in people})
    return names


async def _reachable_now(session: AsyncSession, broadcast: Broadcast) -> int | None:
    """How many a draft's or a scheduled broadcast's audience reaches now (None once it
    has recipients of its own, or when its stored target no longer parses)."""
    if broadcast.status not in STARTABLE_STATUSES:
        return None
    try:
        group, parsed = parse_target(broadcast.target_group, broadcast.target_filter)
    except ValidationFailed:
        return 0
    return (await count_audience(session, group, parsed)).reachable


async def _summaries(
    session: AsyncSession, rows: Sequence[tuple[Broadcast, str | None]]
) -> list[BroadcastSummary]:
    broadcasts = [broadcast for broadcast, _ in rows]
    names = await _target_names(session, broadcasts)
    return [
        summary_of(
            broadcast, author, names.get(broadcast.id), await _reachable_now(session, broadcast)
        )
        for broadcast, author in rows
    ]


def _seconds_between(session: AsyncSession, start: Any, end: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return extract("epoch", end - start)


def _with_author() -> Select[Broadcast, str | None]:
    return select(Broadcast, User.full_name).outerjoin(User, Broadcast.created_by_id == User.id)


class BroadcastReads:
    def __init__(self, session_factory: SessionFactory, tz: ZoneInfo) -> None:
        self._session_factory = session_factory
        self._tz = tz

    async def get_details(
        self, broadcast_id: int, recipients_page: int = 1, recipients_page_size: int = 20
    ) -> BroadcastDetails:
        """The broadcast with its content and one page of its recipients."""
        check_page(recipients_page, recipients_page_size)
        async with self._session_factory() as session:
            row = (
                await session.execute(_with_author().where(Broadcast.id == broadcast_id))
            ).one_or_none()
            if row is None:
                raise BroadcastNotFound(broadcast_id)
            broadcast = row[0]
            recipients = await page_of_recipients(
                session, of_broadcast(broadcast_id), recipients_page, recipients_page_size
            )
            [summary] = await _summaries(session, [(broadcast, row[1])])
            retryable = await count_retryable(session, broadcast_id)
            confirmed = reminders = None
            if broadcast.ask_confirmation:
                confirmed = await session.scalar(select(confirmed_count(broadcast_id)))
                reminders = await reminders_of(session, broadcast_id)
            unreachable = await count_unreachable(session, broadcast)
            history = await history_of(session, broadcast_id)
        return BroadcastDetails(
            summary=summary,
            entities=broadcast.entities,
            file_id=broadcast.file_id,
            recipients=recipients,
            retryable=retryable,
            confirmed=confirmed,
            unreachable=unreachable,
            reminders=reminders,
            history=history,
        )

    async def list_broadcasts(
        self,
        status: BroadcastStatus | str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        search: str | None = None,
        page: int = 1,
        page_size: int = 20,
        created_by_id: int | None = None,
    ) -> Page[BroadcastSummary]:
        """Newest first. Dates are whole days in the school's zone, inclusive; `search`
        is a case-insensitive substring of the message."""
        check_page(page, page_size)
        # runs over an announcement (edits, deletes, reminders) show in its details only
        conditions: list[ColumnElement[bool]] = [Broadcast.kind == BroadcastKind.ANNOUNCEMENT]
        if status is not None:
            conditions.append(Broadcast.status == parse_status(status, BroadcastStatus))
        if date_from is not None and date_to is not None and date_from > date_to:
            raise ValidationFailed(f"date_from {date_from} is after date_to {date_to}")
        if date_from is not None:
            conditions.append(Broadcast.created_at >= self._start_of(date_from))
        if date_to is not None:
            conditions.append(Broadcast.created_at < self._start_of(date_to + timedelta(days=1)))
        if search and search.strip():
            conditions.append(Broadcast.message.icontains(search.strip(), autoescape=True))
        if created_by_id is not None:
            conditions.append(Broadcast.created_by_id == created_by_id)
        async with self._session_factory() as session:
            count = await session.scalar(select(func.count(Broadcast.id)).where(*conditions))
            rows = await session.execute(
                _with_author()
                .where(*conditions)
                .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
                .offset((page - 1) * page_size)
                .limit(page_size)
            )
            items = await _summaries(session, [(broadcast, name) for broadcast, name in rows])
        return Page(items, count or 0, page, page_size)

    async def latest_id(self, created_by_id: int | None) -> int | None:
        """The newest broadcast of that author (of anyone when None), if there is one."""
        newest = await self.list_broadcasts(created_by_id=created_by_id, page_size=1)
        return newest.items[0].id if newest.items else None

    async def get_progress(self, broadcast_id: int) -> Progress:
        async with self._session_factory() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise BroadcastNotFound(broadcast_id)
            error_counts = await session.execute(
                select(BroadcastRecipient.error_code, func.count())
                .where(
                    BroadcastRecipient.broadcast_id == broadcast_id,
                    BroadcastRecipient.status == RecipientStatus.FAILED,
                )
                .group_by(BroadcastRecipient.error_code)
            )
            error_summary = describe_errors({code: count for code, count in error_counts})
        processed = broadcast.sent_count + broadcast.failed_count
        return Progress(
            id=broadcast.id,
            status=broadcast.status,
            total_recipients=broadcast.recipient_count,
            sent_count=broadcast.sent_count,
            failed_count=broadcast.failed_count,
            pending_count=broadcast.pending_count,
            progress_pct=progress_pct(processed, broadcast.recipient_count),
            error_summary=error_summary,
            created_at=broadcast.created_at,
            sent_at=broadcast.sent_at,
            completed_at=broadcast.completed_at,
        )

    async def list_recipients(
        self,
        broadcast_id: int,
        status: RecipientStatus | str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> Page[RecipientRow]:
        """One broadcast's recipients, optionally only those sent, failed or pending."""
        check_page(page, page_size)
        wanted = None if status is None else parse_status(status, RecipientStatus)
        async with self._session_factory() as session:
            if await session.get(Broadcast, broadcast_id) is None:
                raise BroadcastNotFound(broadcast_id)
            conditions = of_broadcast(broadcast_id)
            if wanted is not None:
                conditions.append(BroadcastRecipient.status == wanted)
            return await page_of_recipients(session, conditions, page, page_size)

    async def get_stats(self) -> Stats:
        """Status distribution, failed recipients and the average sending time."""
        async with self._session_factory() as session:
            announcements = Broadcast.kind == BroadcastKind.ANNOUNCEMENT
            by_status = await session.execute(
                select(Broadcast.status, func.count())
                .where(announcements)
                .group_by(Broadcast.status)
            )
            distribution = {status: 0 for status in BroadcastStatus}
            distribution.update({status: count for status, count in by_status})
            # The service document counts telegram_sent=False as failed, which also counts
            # recipients still pending; only rows that really failed are counted here.
            total_recipients, failed_recipients = (
                await session.execute(
                    select(
                        func.count(),
                        func.coalesce(
                            func.sum(
                                case((BroadcastRecipient.status == RecipientStatus.FAILED, 1))
                            ),
                            0,
                        ),
                    )
                    .select_from(BroadcastRecipient)
                    .where(BroadcastRecipient.source_id.is_(None))  # an announcement's own
                )
            ).one()
            finished_count, average_seconds = (
                await session.execute(
                    select(
                        func.count(),
                        func.avg(
                            _seconds_between(session, Broadcast.sent_at, Broadcast.completed_at)
                        ),
                    ).where(
                        announcements,
                        Broadcast.status.in_(FINISHED_WITH_TIMES_STATUSES),
                        Broadcast.sent_at.is_not(None),
                        Broadcast.completed_at.is_not(None),
                    )
                )
            ).one()
        return Stats(
            status_distribution=distribution,
            total_recipients=total_recipients,
            failed_recipients=int(failed_recipients),
            finished_broadcasts=finished_count,
            average_processing_seconds=(
                None if average_seconds is None else round(float(average_seconds), 3)
            ),
        )

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self._tz)


def recipients_query() -> Select[BroadcastRecipient, str, str, str | None, int | None, Role]:
    """Recipient rows with the person each one is, in id order (`recipient_row` reads them)."""
    return (
        select(
            BroadcastRecipient,
            User.external_id,
            User.full_name,
            User.email,
            User.telegram_id,
            User.role,
        )
        .join(User, BroadcastRecipient.recipient_id == User.id)
        .order_by(BroadcastRecipient.id)
    )


def recipient_row(
    found: Row[BroadcastRecipient, str, str, str | None, int | None, Role],
) -> RecipientRow:
    recipient, external_id, full_name, email, telegram_id, role = found
    return RecipientRow(
        id=recipient.id,
        user_id=recipient.recipient_id,
        external_id=external_id,
        user_name=full_name,
        email=email,
        telegram_id=telegram_id,
        telegram_sent=recipient.telegram_sent,
        error_message=recipient.telegram_error,
        sent_at=recipient.sent_at,
        status=recipient.status,
        error_code=recipient.error_code,
        role=role,
        confirmed_at=recipient.confirmed_at,
    )


async def page_of_recipients(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]], page: int, page_size: int
) -> Page[RecipientRow]:
    """One page of the recipient rows that meet every condition, and how many do."""
    count = await session.scalar(select(func.count(BroadcastRecipient.id)).where(*conditions))
    rows = await session.execute(
        recipients_query().where(*conditions).offset((page - 1) * page_size).limit(page_size)
    )
    return Page([recipient_row(found) for found in rows], count or 0, page, page_size)
