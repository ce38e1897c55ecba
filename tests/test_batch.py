"""BroadcastBatchProcessor: batch recipient creation, configuration by subclassing, and the
service document's send-to-group calls mapped onto audiences and the launcher."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.settings import Settings
from db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    Role,
    TargetGroup,
)
from db.session import SessionFactory
from services.batch import BroadcastBatchProcessor
from services.errors import (
    BroadcastNotFound,
    InvalidStatus,
    RetryLimitReached,
    ValidationFailed,
)
from tests.factories import (
    RecordingLauncher,
    add_recipient,
    add_subject,
    add_user,
    batch_defaults,
    broadcast_rules,
    enroll,
    make_broadcast,
)


class TunedProcessor(BroadcastBatchProcessor):
    BATCH_SIZE = 2
    SEND_BATCH_SIZE = 500
    MAX_RETRIES = 0
    RETRY_DELAYS = (1.0, 2.0)


@pytest.fixture
def launcher() -> RecordingLauncher:
    return RecordingLauncher()


@pytest.fixture
def processor(
    session_factory: SessionFactory, settings: Settings, launcher: RecordingLauncher
) -> BroadcastBatchProcessor:
    return BroadcastBatchProcessor(
        session_factory, broadcast_rules(settings), batch_defaults(settings), launcher
    )


@pytest.fixture
async def students(session_factory: SessionFactory) -> list[int]:
    async with session_factory() as session, session.begin():
        return [(await add_user(session, role=Role.STUDENT)).id for _ in range(5)]


@pytest.fixture
async def draft(session_factory: SessionFactory) -> Broadcast:
    async with session_factory() as session, session.begin():
        return await make_broadcast(session)


async def recipients_of(session_factory: SessionFactory, broadcast_id: int) -> list[int]:
    async with session_factory() as session:
        return list(
            await session.scalars(
                select(BroadcastRecipient.recipient_id)
                .where(BroadcastRecipient.broadcast_id == broadcast_id)
                .order_by(BroadcastRecipient.recipient_id)
            )
        )


async def recipient_count(session_factory: SessionFactory, broadcast_id: int) -> int:
    async with session_factory() as session:
        return int(
            await session.scalar(
                select(Broadcast.recipient_count).where(Broadcast.id == broadcast_id)
            )
            or 0
        )


def test_configuration_defaults_to_the_settings(
    processor: BroadcastBatchProcessor, settings: Settings
) -> None:
    assert processor.batch_size == settings.batch_size
    assert processor.send_batch_size == settings.send_batch_size
    assert processor.max_retries == settings.max_retries
    assert processor.retry_delays == settings.retry_delays


def test_a_subclass_overrides_the_configuration(
    session_factory: SessionFactory, settings: Settings
) -> None:
    tuned = TunedProcessor(session_factory, broadcast_rules(settings), batch_defaults(settings))

    assert (tuned.batch_size, tuned.send_batch_size, tuned.max_retries) == (2, 500, 0)
    assert tuned.retry_delays == [1.0, 2.0]


async def test_documented_example_five_ids_in_batches_of_two(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    students: list[int],
    draft: Broadcast,
) -> None:
    result = await processor.create_broadcast_recipients_batch(draft.id, students, batch_size=2)

    assert result == {
        "success": True,
        "created_count": 5,
        "total_count": 5,
        "batches_processed": 3,
        "errors": [],
    }
    assert await recipients_of(session_factory, draft.id) == sorted(students)
    assert await recipient_count(session_factory, draft.id) == 5


async def test_batch_size_comes_from_the_class_when_not_given(
    session_factory: SessionFactory, settings: Settings, students: list[int], draft: Broadcast
) -> None:
    tuned = await TunedProcessor(
        session_factory, broadcast_rules(settings), batch_defaults(settings)
    ).create_broadcast_recipients_batch(draft.id, students)
    plain = await BroadcastBatchProcessor(
        session_factory, broadcast_rules(settings), batch_defaults(settings)
    ).create_broadcast_recipients_batch(draft.id, students)

    assert tuned["batches_processed"] == 3
    assert (plain["batches_processed"], plain["created_count"]) == (1, 0)


async def test_duplicates_are_skipped_and_not_counted(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    students: list[int],
    draft: Broadcast,
) -> None:
    first, second, third = students[:3]
    async with session_factory() as session, session.begin():
        await add_recipient(session, draft.id, second)

    result = await processor.create_broadcast_recipients_batch(
        draft.id, [first, second, first, third, third], batch_size=2
    )

    assert (result["created_count"], result["total_count"], result["batches_processed"]) == (
        2,
        5,
        3,
    )
    assert (result["success"], result["errors"]) == (True, [])
    assert await recipients_of(session_factory, draft.id) == sorted([first, second, third])


async def test_unknown_and_unreachable_users_are_listed(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    students: list[int],
    draft: Broadcast,
) -> None:
    async with session_factory() as session, session.begin():
        blocked = (await add_user(session, role=Role.STUDENT, blocked=True)).id
        unlinked = (await add_user(session, role=Role.PARENT, telegram_id=None)).id
        inactive = (await add_user(session, role=Role.STUDENT, is_active=False)).id
        deleted = (await add_user(session, role=Role.STUDENT, deactivated=True)).id

    result = await processor.create_broadcast_recipients_batch(
        draft.id, [students[0], 999_999, blocked, unlinked, inactive, 0, deleted, 999_999]
    )

    assert result["created_count"] == 1
    assert result["success"] is False
    assert result["errors"] == [
        "User 999999 not found",
        f"User {blocked} has blocked the bot",
        f"User {unlinked} has no Telegram account linked",
        f"User {inactive} is inactive",
        "User 0 not found",
        f"User {deleted}'s Telegram account is deactivated",
    ]
    assert await recipients_of(session_factory, draft.id) == [students[0]]


async def test_an_empty_list_does_nothing(
    processor: BroadcastBatchProcessor, draft: Broadcast
) -> None:
    assert await processor.create_broadcast_recipients_batch(draft.id, []) == {
        "success": True,
        "created_count": 0,
        "total_count": 0,
        "batches_processed": 0,
        "errors": [],
    }


@pytest.mark.parametrize(
    ("ids", "batch_size", "message"),
    [
        ([1, 2], 0, "batch_size must be 1 or more, got 0"),
        ([1, "2", True], None, r"not integers: \['2', True\]"),
    ],
)
async def test_bad_batch_input_is_refused(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    students: list[int],
    draft: Broadcast,
    ids: list[Any],
    batch_size: int | None,
    message: str,
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        await processor.create_broadcast_recipients_batch(draft.id, ids, batch_size)

    assert await recipients_of(session_factory, draft.id) == []


async def test_batch_needs_a_live_broadcast(
    processor: BroadcastBatchProcessor, session_factory: SessionFactory, students: list[int]
) -> None:
    async with session_factory() as session, session.begin():
        sent = await make_broadcast(session, status=BroadcastStatus.SENT)

    with pytest.raises(BroadcastNotFound, match="Broadcast 404 not found"):
        await processor.create_broadcast_recipients_batch(404, students)
    with pytest.raises(InvalidStatus, match="Cannot add recipients to broadcast with status sent"):
        await processor.create_broadcast_recipients_batch(sent.id, students)


async def test_batch_status_is_progress_keyed_by_broadcast_id(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    students: list[int],
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, status=BroadcastStatus.SENDING, recipient_count=2, sent_count=1
        )
        await add_recipient(session, broadcast, students[0], status=RecipientStatus.SENT)
        await add_recipient(session, broadcast, students[1])

    status = await processor.get_batch_status(broadcast.id)
    progress = await processor.broadcasts.get_progress(broadcast.id)

    assert status.pop("broadcast_id") == progress.pop("id") == broadcast.id
    assert status == progress
    assert (status["pending_count"], status["progress_pct"]) == (1, 50)


async def test_send_to_group_targets_starts_and_launches(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    launcher: RecordingLauncher,
    students: list[int],
    draft: Broadcast,
) -> None:
    async with session_factory() as session, session.begin():
        teacher = await add_user(session, role=Role.TEACHER)
        subject = await add_subject(session)
        await enroll(session, students[0], subject, teacher)
        await enroll(session, students[1], subject, teacher)

    result = await processor.send_to_group_batch(draft.id, "by_subject", {"subject_id": subject.id})

    assert result == {
        "success": True,
        "broadcast_id": draft.id,
        "recipient_count": 3,
        "task_id": f"task-{draft.id}",
    }
    assert launcher.launched == [draft.id]
    assert await recipients_of(session_factory, draft.id) == sorted(
        [students[0], students[1], teacher.id]
    )


async def test_send_to_role_adds_the_role_to_recipients_added_before(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    students: list[int],
    draft: Broadcast,
) -> None:
    async with session_factory() as session, session.begin():
        parent = await add_user(session, role=Role.PARENT)
    await processor.create_broadcast_recipients_batch(draft.id, [parent.id, students[0]])

    result = await processor.send_to_role_batch(draft.id, "student")

    async with session_factory() as session:
        stored = await session.get(Broadcast, draft.id)
        assert stored is not None
    assert stored.target_group is TargetGroup.ALL_STUDENTS
    assert result["recipient_count"] == 6
    assert await recipient_count(session_factory, draft.id) == 6
    assert len(await recipients_of(session_factory, draft.id)) == 6


@pytest.mark.parametrize("role", ["admin", "janitor"])
async def test_send_to_role_refuses_roles_without_a_group(
    processor: BroadcastBatchProcessor, draft: Broadcast, role: str
) -> None:
    with pytest.raises(ValidationFailed, match=f"Cannot send to role '{role}'"):
        await processor.send_to_role_batch(draft.id, role)


async def test_send_to_custom_list(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    students: list[int],
    draft: Broadcast,
) -> None:
    result = await processor.send_to_custom_list_batch(draft.id, (students[3], students[1]))

    assert result["recipient_count"] == 2
    assert await recipients_of(session_factory, draft.id) == sorted([students[1], students[3]])


async def test_send_to_custom_list_with_unknown_ids_changes_nothing(
    processor: BroadcastBatchProcessor,
    session_factory: SessionFactory,
    launcher: RecordingLauncher,
    students: list[int],
    draft: Broadcast,
) -> None:
    with pytest.raises(ValidationFailed, match="Unknown user ids: 999999"):
        await processor.send_to_custom_list_batch(draft.id, [students[0], 999_999])

    assert await recipients_of(session_factory, draft.id) == []
    assert launcher.launched == []


async def test_retry_failed_batch_uses_the_class_limit(
    session_factory: SessionFactory, settings: Settings, students: list[int]
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, status=BroadcastStatus.COMPLETED, recipient_count=1, failed_count=1
        )
        await add_recipient(
            session, broadcast, students[0], status=RecipientStatus.FAILED, error_code="timeout"
        )

    with pytest.raises(RetryLimitReached, match="limit 0") as refused:
        await TunedProcessor(
            session_factory, broadcast_rules(settings), batch_defaults(settings)
        ).retry_failed_batch(broadcast.id)
    assert (refused.value.broadcast_id, refused.value.rounds, refused.value.limit) == (
        broadcast.id,
        0,
        0,
    )
    result = await BroadcastBatchProcessor(
        session_factory, broadcast_rules(settings), batch_defaults(settings)
    ).retry_failed_batch(broadcast.id)

    assert result["retried_count"] == 1
    async with session_factory() as session:
        failed = await session.scalar(
            select(func.count(BroadcastRecipient.id)).where(
                BroadcastRecipient.status == RecipientStatus.FAILED
            )
        )
    assert failed == 0
