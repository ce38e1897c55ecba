"""The seed's BroadcastService, async: create, look at, list, start, cancel and retry broadcasts.

Each method owns one short transaction from the injected session factory. Status changes
are conditional UPDATEs (`WHERE status IN (...)`), so two callers can never both start,
cancel or retry the same broadcast. The counters on `broadcasts` (recipient, sent,
failed) always agree with the recipient rows: whoever changes rows changes the counters
in the same transaction. Sending itself belongs to the engine, handed a broadcast id
through the optional `launcher`.

Display names (`target_group_display`, `status_display`) use the seed's Russian wording;
codes are returned beside them for the bot layer to translate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, case, extract, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    Subject,
    TargetGroup,
    User,
)
from db.session import SessionFactory
from db.types import utcnow
from services.audience import affected_rows, materialise_recipients, validate_target
from services.content import BroadcastContent
from services.error_log import ErrorEvent, merge_error_log
from services.errors import BroadcastNotFound, InvalidStatus, NoRecipients, ValidationFailed

Launcher = Callable[[int], Awaitable[str]]
"""Hands a broadcast id to the sending engine; returns the engine's task id."""

TARGET_GROUP_DISPLAY: dict[TargetGroup, str] = {
    TargetGroup.ALL_STUDENTS: "Все студенты",
    TargetGroup.ALL_TEACHERS: "Все преподаватели",
    TargetGroup.ALL_TUTORS: "Все тьюторы",
    TargetGroup.ALL_PARENTS: "Все родители",
    TargetGroup.BY_SUBJECT: "По предмету",
    TargetGroup.BY_TUTOR: "По тьютору",
    TargetGroup.BY_TEACHER: "По преподавателю",
    TargetGroup.CUSTOM: "Выбранные пользователи",
}
STATUS_DISPLAY: dict[BroadcastStatus, str] = {
    BroadcastStatus.DRAFT: "Черновик",
    BroadcastStatus.SCHEDULED: "Запланирована",
    BroadcastStatus.SENDING: "Отправляется",
    BroadcastStatus.SENT: "Отправлена",
    BroadcastStatus.COMPLETED: "Завершена",
    BroadcastStatus.FAILED: "Ошибка",
    BroadcastStatus.CANCELLED: "Отменена",
}
ERROR_LABELS: dict[str, str] = {
    "blocked": "bot blocked by user",
    "deactivated": "user is deactivated",
    "cant_initiate": "bot can't initiate conversation",
    "chat_not_found": "chat not found",
    "server_error": "Telegram server error",
    "network": "network error",
    "timeout": "timeout",
    "unauthorized": "bot token revoked",
    "other": "other error",
}
"""The sending engine's error codes (recipient.error_code) and how they read to an admin."""
RETRYABLE_ERRORS = frozenset(
    {"server_error", "network", "timeout", "other", "unauthorized", "chat_not_found"}
)
"""Failures worth another try. chat_not_found is in: it usually means a wrong telegram_id,
fixed by re-importing the roster. The user's own choices (blocked, deactivated, never
started the bot) are not retried. A failure without a code counts as `other`."""

STARTABLE = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
CANCELLABLE = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING)
RETRIABLE = (
    BroadcastStatus.SENDING,
    BroadcastStatus.SENT,
    BroadcastStatus.COMPLETED,
    BroadcastStatus.FAILED,
)
FINISHED_WITH_TIMES = (BroadcastStatus.SENT, BroadcastStatus.COMPLETED)
MAX_PAGE_SIZE = 100
RETRY_LOG_CODE = "retry"
"""The error_log code under which manual retries are counted (`services.error_log`)."""

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


async def _target_name(session: AsyncSession, target_filter: Mapping[str, Any]) -> str | None:
    """The name of the subject, tutor or teacher a filter points at (None for the others)."""
    if "subject_id" in target_filter:
        query = select(Subject.name).where(Subject.id == target_filter["subject_id"])
    elif person_id := target_filter.get("tutor_id", target_filter.get("teacher_id")):
        query = select(User.full_name).where(User.id == person_id)
    else:
        return None
    return await session.scalar(query)


def page_envelope(count: int, page: int, page_size: int, results: list[Any]) -> dict[str, Any]:
    """The seed's pagination envelope; next/previous are page numbers or None."""
    total_pages = max(1, -(-count // page_size))
    return {
        "count": count,
        "next": page + 1 if page < total_pages else None,
        "previous": page - 1 if page > 1 else None,
        "results": results,
        "page": page,
        "page_size": page_size,
        "total_pages": total_pages,
    }


def check_scheduled_at(scheduled_at: datetime) -> None:
    """A time to schedule a broadcast for must be aware and in the future."""
    if scheduled_at.tzinfo is None:
        raise ValidationFailed("scheduled_at must carry a time zone")
    if scheduled_at <= utcnow():
        raise ValidationFailed("scheduled_at must be in the future")


def _check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise ValidationFailed(f"page must be 1 or more, got {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")


def _parse_status(value: str, enum_class: type[StatusEnum]) -> StatusEnum:
    try:
        return enum_class(value)
    except ValueError:
        expected = ", ".join(member.value for member in enum_class)
        raise ValidationFailed(f"Unknown status {value!r}; expected one of {expected}") from None


def _seconds_between(session: AsyncSession, start: Any, end: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return extract("epoch", end - start)


def _summary(broadcast: Broadcast, created_by_name: str | None) -> dict[str, Any]:
    return {
        "id": broadcast.id,
        "created_by": broadcast.created_by_id,
        "created_by_name": created_by_name,
        "target_group": broadcast.target_group.value,
        "target_group_display": TARGET_GROUP_DISPLAY[broadcast.target_group],
        "target_filter": broadcast.target_filter,
        "content_kind": broadcast.content_kind.value,
        "message": broadcast.message,
        "status": broadcast.status.value,
        "status_display": STATUS_DISPLAY[broadcast.status],
        "recipient_count": broadcast.recipient_count,
        "sent_count": broadcast.sent_count,
        "failed_count": broadcast.failed_count,
        "pending_count": broadcast.pending_count,
        "scheduled_at": broadcast.scheduled_at,
        "created_at": broadcast.created_at,
        "sent_at": broadcast.sent_at,
        "completed_at": broadcast.completed_at,
        "cancelled_at": broadcast.cancelled_at,
    }


def _with_author() -> Select[Broadcast, str | None]:
    return select(Broadcast, User.full_name).outerjoin(User, Broadcast.created_by_id == User.id)


class BroadcastService:
    def __init__(
        self,
        session_factory: SessionFactory,
        settings: Settings,
        launcher: Launcher | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._settings = settings
        self._launcher = launcher

    # --- writing ---------------------------------------------------------------------

    async def create(
        self,
        *,
        target_group: TargetGroup | str,
        target_filter: Mapping[str, Any] | None = None,
        content: BroadcastContent,
        created_by_id: int | None = None,
        scheduled_at: datetime | None = None,
    ) -> int:
        """Store a draft (or a scheduled broadcast when `scheduled_at` is given); its id."""
        content.validate(self._settings.message_max_length)
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
                scheduled_at=scheduled_at,
                status=BroadcastStatus.DRAFT if scheduled_at is None else BroadcastStatus.SCHEDULED,
            )
            session.add(broadcast)
            await session.flush()
            return broadcast.id

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
                .where(Broadcast.id == broadcast_id, Broadcast.status.in_(STARTABLE))
                .values(target_group=group, target_filter=parsed)
            )
            if affected_rows(result) == 0:
                await self._refuse(session, broadcast_id, "retarget")

    async def schedule(self, broadcast_id: int, scheduled_at: datetime) -> None:
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
                await self._refuse(session, broadcast_id, "schedule")

    async def start_sending(self, broadcast_id: int) -> int:
        """draft|scheduled -> sending: resolve the audience into recipients now.

        Re-validates the target, writes its reachable users as pending recipients, sets
        recipient_count and sent_at. Returns the recipient count. With nobody reachable it
        raises NoRecipients and changes nothing.
        """
        async with self._session_factory() as session, session.begin():
            broadcast = await self._get(session, broadcast_id)
            if broadcast.status not in STARTABLE:
                raise InvalidStatus(f"Cannot start broadcast with status {broadcast.status.value}")
            group, parsed = await validate_target(
                session, broadcast.target_group, broadcast.target_filter
            )
            claimed = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status.in_(STARTABLE))
                .values(status=BroadcastStatus.SENDING, sent_at=utcnow())
            )
            if affected_rows(claimed) == 0:
                await self._refuse(session, broadcast_id, "start")
            written = await materialise_recipients(session, broadcast_id, group, parsed)
            total = broadcast.recipient_count + written
            if total == 0:
                raise NoRecipients(group.value)
            await session.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id).values(recipient_count=total)
            )
        return total

    async def send_now(self, broadcast_id: int) -> dict[str, Any]:
        """`start_sending`, then hand the broadcast to the engine through the launcher."""
        recipient_count = await self.start_sending(broadcast_id)
        return {
            "success": True,
            "broadcast_id": broadcast_id,
            "recipient_count": recipient_count,
            "task_id": await self._launch(broadcast_id),
        }

    async def cancel_broadcast(self, broadcast_id: int) -> dict[str, Any]:
        """Stop a draft, scheduled or sending broadcast; pending recipients stay pending."""
        cancelled_at = utcnow()
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status.in_(CANCELLABLE))
                .values(status=BroadcastStatus.CANCELLED, cancelled_at=cancelled_at)
            )
            if affected_rows(result) == 0:
                await self._refuse(session, broadcast_id, "cancel")
        return {
            "success": True,
            "message": "Рассылка успешно отменена",
            "broadcast_id": broadcast_id,
            "cancelled_at": cancelled_at,
        }

    async def retry_failed(self, broadcast_id: int, max_retries: int = 3) -> dict[str, Any]:
        """Put retryable failed recipients back to pending and relaunch the broadcast.

        `max_retries` caps how many times a broadcast may be retried this way (each retry
        is recorded in error_log). A finished broadcast goes back to sending.
        """
        if max_retries < 0:
            raise ValidationFailed(f"max_retries must be 0 or more, got {max_retries}")
        async with self._session_factory() as session, session.begin():
            broadcast = await self._get(session, broadcast_id)
            if broadcast.status not in RETRIABLE:
                raise InvalidStatus(f"Cannot retry broadcast with status {broadcast.status.value}")
            rounds = retry_rounds(broadcast.error_log)
            if rounds >= max_retries:
                raise InvalidStatus(
                    f"Broadcast {broadcast_id} was already retried {rounds} times"
                    f" (limit {max_retries})"
                )
            reset = await session.execute(
                update(BroadcastRecipient)
                .where(
                    BroadcastRecipient.broadcast_id == broadcast_id,
                    BroadcastRecipient.status == RecipientStatus.FAILED,
                    BroadcastRecipient.error_code.is_(None)
                    | BroadcastRecipient.error_code.in_(RETRYABLE_ERRORS),
                )
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
                return {
                    "success": False,
                    "message": "Нет получателей для повторной отправки",
                    "retried_count": 0,
                    "broadcast_id": broadcast_id,
                    "task_id": None,
                }
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
                await self._refuse(session, broadcast_id, "retry")
        return {
            "success": True,
            "message": f"Повторная отправка запущена для {retried} получателей",
            "retried_count": retried,
            "broadcast_id": broadcast_id,
            "task_id": await self._launch(broadcast_id),
        }

    # --- reading ---------------------------------------------------------------------

    async def get_details(
        self, broadcast_id: int, recipients_page: int = 1, recipients_page_size: int = 20
    ) -> dict[str, Any]:
        """The seed's detail fields plus the content; `recipients` is one page of recipients
        and `recipients_page` its envelope (without the results)."""
        _check_page(recipients_page, recipients_page_size)
        async with self._session_factory() as session:
            row = (
                await session.execute(_with_author().where(Broadcast.id == broadcast_id))
            ).one_or_none()
            if row is None:
                raise BroadcastNotFound(broadcast_id)
            recipients = await self._recipients_page(
                session, broadcast_id, None, recipients_page, recipients_page_size
            )
            target_name = await _target_name(session, row[0].target_filter)
        details = _summary(*row)
        broadcast = row[0]
        details.update(
            entities=broadcast.entities, file_id=broadcast.file_id, target_name=target_name
        )
        details["recipients"] = recipients.pop("results")
        details["recipients_page"] = recipients
        return details

    async def list_broadcasts(
        self,
        status: BroadcastStatus | str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        search: str | None = None,
        page: int = 1,
        page_size: int = 20,
        created_by_id: int | None = None,
    ) -> dict[str, Any]:
        """Newest first, in the seed's envelope. Dates are whole days in TIMEZONE, inclusive;
        `search` is a case-insensitive substring of the message."""
        _check_page(page, page_size)
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(Broadcast.status == _parse_status(status, BroadcastStatus))
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
            results = [_summary(broadcast, name) for broadcast, name in rows]
        return page_envelope(count or 0, page, page_size, results)

    async def get_progress(self, broadcast_id: int) -> dict[str, Any]:
        """Exactly the seed's progress keys; progress_pct counts sent and failed as processed."""
        async with self._session_factory() as session:
            broadcast = await self._get(session, broadcast_id)
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
        return {
            "id": broadcast.id,
            "status": broadcast.status.value,
            "total_recipients": broadcast.recipient_count,
            "sent_count": broadcast.sent_count,
            "failed_count": broadcast.failed_count,
            "pending_count": broadcast.pending_count,
            "progress_pct": progress_pct(processed, broadcast.recipient_count),
            "error_summary": error_summary,
            "created_at": broadcast.created_at,
            "sent_at": broadcast.sent_at,
            "completed_at": broadcast.completed_at,
        }

    async def list_recipients(
        self,
        broadcast_id: int,
        status: RecipientStatus | str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> dict[str, Any]:
        """One broadcast's recipients (optionally only sent|failed|pending), in the envelope."""
        _check_page(page, page_size)
        wanted = None if status is None else _parse_status(status, RecipientStatus)
        async with self._session_factory() as session:
            await self._get(session, broadcast_id)
            return await self._recipients_page(session, broadcast_id, wanted, page, page_size)

    async def get_stats(self) -> dict[str, Any]:
        """The seed's Monitoring numbers over all broadcasts."""
        async with self._session_factory() as session:
            by_status = await session.execute(
                select(Broadcast.status, func.count()).group_by(Broadcast.status)
            )
            distribution = {status.value: 0 for status in BroadcastStatus}
            distribution.update({status.value: count for status, count in by_status})
            # The seed counts telegram_sent=False as failed, which also counts recipients
            # still pending; only rows that really failed are counted here.
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
                    ).select_from(BroadcastRecipient)
                )
            ).one()
            finished = (
                Broadcast.status.in_(FINISHED_WITH_TIMES),
                Broadcast.sent_at.is_not(None),
                Broadcast.completed_at.is_not(None),
            )
            finished_count, average_seconds = (
                await session.execute(
                    select(
                        func.count(),
                        func.avg(
                            _seconds_between(session, Broadcast.sent_at, Broadcast.completed_at)
                        ),
                    ).where(*finished)
                )
            ).one()
        return {
            "status_distribution": distribution,
            "total_broadcasts": sum(distribution.values()),
            "total_recipients": total_recipients,
            "failed_recipients": failed_recipients,
            "failed_rate": (
                round(failed_recipients / total_recipients * 100, 2) if total_recipients else 0.0
            ),
            "finished_broadcasts": finished_count,
            "average_processing_seconds": (
                None if average_seconds is None else round(float(average_seconds), 3)
            ),
        }

    # --- helpers ---------------------------------------------------------------------

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self._settings.tz)

    async def _launch(self, broadcast_id: int) -> str | None:
        return None if self._launcher is None else await self._launcher(broadcast_id)

    @staticmethod
    async def _get(session: AsyncSession, broadcast_id: int) -> Broadcast:
        broadcast = await session.get(Broadcast, broadcast_id)
        if broadcast is None:
            raise BroadcastNotFound(broadcast_id)
        return broadcast

    @staticmethod
    async def _refuse(session: AsyncSession, broadcast_id: int, action: str) -> None:
        """After a guarded UPDATE matched nothing: say whether the id or the status is wrong."""
        status = await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
        if status is None:
            raise BroadcastNotFound(broadcast_id)
        raise InvalidStatus(f"Cannot {action} broadcast with status {status.value}")

    @staticmethod
    async def _recipients_page(
        session: AsyncSession,
        broadcast_id: int,
        status: RecipientStatus | None,
        page: int,
        page_size: int,
    ) -> dict[str, Any]:
        conditions = [BroadcastRecipient.broadcast_id == broadcast_id]
        if status is not None:
            conditions.append(BroadcastRecipient.status == status)
        count = await session.scalar(select(func.count(BroadcastRecipient.id)).where(*conditions))
        rows = await session.execute(
            select(BroadcastRecipient, User.full_name, User.email, User.telegram_id)
            .join(User, BroadcastRecipient.recipient_id == User.id)
            .where(*conditions)
            .order_by(BroadcastRecipient.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        results = [
            {
                "id": recipient.id,
                "user_id": recipient.recipient_id,
                "user_name": full_name,
                "email": email,
                "telegram_id": telegram_id,
                "telegram_sent": recipient.telegram_sent,
                "error_message": recipient.telegram_error,
                "sent_at": recipient.sent_at,
                "status": recipient.status.value,
                "error_code": recipient.error_code,
            }
            for recipient, full_name, email, telegram_id in rows
        ]
        return page_envelope(count or 0, page, page_size, results)
