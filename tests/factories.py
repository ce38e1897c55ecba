"""Small builders for a school roster and broadcasts in tests.

Every helper adds rows to the given session and flushes (so ids are set) but never
commits: wrap calls in `async with session_factory() as session, session.begin():`.
Unless told otherwise a user is active, linked to Telegram and has not blocked the bot.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    ContentKind,
    Enrollment,
    GuardianLink,
    RecipientStatus,
    Role,
    Subject,
    TargetGroup,
    TutorAssignment,
    User,
)
from db.types import utcnow
from services.batch import BatchDefaults
from services.broadcasts import BroadcastRules
from services.targets import class_key

AUTO: Any = object()
"""Default for `telegram_id`: a fresh unique id. Pass None for a user without Telegram."""

_sequence = itertools.count(1)


def _id(row: User | Subject | Broadcast | int) -> int:
    return row if isinstance(row, int) else row.id


async def add_user(
    session: AsyncSession,
    *,
    role: Role,
    telegram_id: int | None = AUTO,
    is_active: bool = True,
    blocked: bool = False,
    deactivated: bool = False,
    external_id: str | None = None,
    full_name: str | None = None,
    email: str | None = None,
    telegram_username: str | None = None,
    class_name: str | None = None,
    homeroom_class: str | None = None,
) -> User:
    number = next(_sequence)
    user = User(
        external_id=external_id or f"{role.value}-{number}",
        full_name=full_name or f"{role.value.title()} {number}",
        email=email,
        role=role,
        is_active=is_active,
        telegram_id=7_000_000_000 + number if telegram_id is AUTO else telegram_id,
        telegram_username=telegram_username,
        bot_blocked_at=utcnow() if blocked else None,
        telegram_deactivated_at=utcnow() if deactivated else None,
        class_name=class_name,
        class_key=None if class_name is None else class_key(class_name),
        homeroom_class=homeroom_class,
        homeroom_class_key=None if homeroom_class is None else class_key(homeroom_class),
    )
    session.add(user)
    await session.flush()
    return user


async def add_subject(session: AsyncSession, name: str | None = None) -> Subject:
    subject = Subject(name=name or f"Subject {next(_sequence)}")
    session.add(subject)
    await session.flush()
    return subject


async def enroll(
    session: AsyncSession,
    student: User | int,
    subject: Subject | int,
    teacher: User | int | None = None,
) -> Enrollment:
    enrollment = Enrollment(
        student_id=_id(student),
        subject_id=_id(subject),
        teacher_id=None if teacher is None else _id(teacher),
    )
    session.add(enrollment)
    await session.flush()
    return enrollment


async def assign_tutor(
    session: AsyncSession, tutor: User | int, student: User | int
) -> TutorAssignment:
    assignment = TutorAssignment(tutor_id=_id(tutor), student_id=_id(student))
    session.add(assignment)
    await session.flush()
    return assignment


async def link_guardian(
    session: AsyncSession, guardian: User | int, student: User | int
) -> GuardianLink:
    link = GuardianLink(guardian_id=_id(guardian), student_id=_id(student))
    session.add(link)
    await session.flush()
    return link


async def make_broadcast(
    session: AsyncSession,
    *,
    target_group: TargetGroup = TargetGroup.ALL_STUDENTS,
    target_filter: dict[str, Any] | None = None,
    message: str = "Hello, school",
    status: BroadcastStatus = BroadcastStatus.DRAFT,
    created_by: User | int | None = None,
    created_at: datetime | None = None,
    content_kind: ContentKind = ContentKind.TEXT,
    **fields: Any,
) -> Broadcast:
    """A broadcast row as it would be at `status`; any other column can be given by name."""
    broadcast = Broadcast(
        target_group=target_group,
        target_filter=target_filter or {},
        content_kind=content_kind,
        message=message,
        status=status,
        created_by_id=None if created_by is None else _id(created_by),
        created_at=created_at or utcnow(),
        **fields,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def add_recipient(
    session: AsyncSession,
    broadcast: Broadcast | int,
    user: User | int,
    *,
    status: RecipientStatus = RecipientStatus.PENDING,
    error_code: str | None = None,
    attempts: int = 0,
) -> BroadcastRecipient:
    """A recipient row; `sent` rows get telegram_sent and sent_at, `failed` rows an error."""
    sent = status is RecipientStatus.SENT
    recipient = BroadcastRecipient(
        broadcast_id=_id(broadcast),
        recipient_id=_id(user),
        status=status,
        telegram_sent=sent,
        sent_at=utcnow() if sent else None,
        error_code=error_code,
        telegram_error=f"error: {error_code}" if error_code else None,
        attempts=attempts,
    )
    session.add(recipient)
    await session.flush()
    return recipient


class RecordingLauncher:
    """A stand-in for the sending engine's launcher: remembers the ids it was handed."""

    def __init__(self) -> None:
        self.launched: list[int] = []

    async def __call__(self, broadcast_id: int) -> str:
        self.launched.append(broadcast_id)
        return f"task-{broadcast_id}"


def broadcast_rules(settings: Settings) -> BroadcastRules:
    """What `bot/app.py` gives the broadcast service, from test settings."""
    return BroadcastRules(settings.message_max_length, settings.tz)


def batch_defaults(settings: Settings) -> BatchDefaults:
    return BatchDefaults(
        settings.batch_size, settings.send_batch_size, settings.max_retries, settings.retry_delays
    )
