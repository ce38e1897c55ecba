"""BroadcastService: every method, its error paths, and (through DocumentedBroadcastService)
the service document's return shapes, key by key."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from core.settings import Settings
from db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    ContentKind,
    RecipientStatus,
    Role,
    TargetGroup,
    User,
)
from db.session import SessionFactory
from db.types import utcnow
from services.broadcast_reads import describe_errors, progress_pct
from services.broadcasts import BroadcastService, log_retry, retry_rounds
from services.content import BroadcastContent
from services.contract import DocumentedBroadcastService, page_envelope
from services.errors import (
    Action,
    BroadcastNotFound,
    ContentTooLong,
    InvalidStatus,
    NoRecipients,
    RetryLimitReached,
    ValidationFailed,
)
from services.results import Page
from tests.factories import (
    RecordingLauncher,
    add_recipient,
    add_subject,
    add_user,
    assign_tutor,
    broadcast_rules,
    make_broadcast,
)

HELLO = BroadcastContent(ContentKind.TEXT, "Hello, school")
PROGRESS_KEYS = {
    "id",
    "status",
    "total_recipients",
    "sent_count",
    "failed_count",
    "pending_count",
    "progress_pct",
    "error_summary",
    "created_at",
    "sent_at",
    "completed_at",
}


@pytest.fixture
def launcher() -> RecordingLauncher:
    return RecordingLauncher()


@pytest.fixture
def service(
    session_factory: SessionFactory, settings: Settings, launcher: RecordingLauncher
) -> DocumentedBroadcastService:
    return DocumentedBroadcastService(
        BroadcastService(session_factory, broadcast_rules(settings)), launcher
    )


@pytest.fixture
async def school(session_factory: SessionFactory) -> dict[str, int]:
    """An admin author, three reachable students, one blocked, one without Telegram."""
    async with session_factory() as session, session.begin():
        admin = await add_user(session, role=Role.ADMIN, full_name="Admin User")
        students = [await add_user(session, role=Role.STUDENT) for _ in range(3)]
        await add_user(session, role=Role.STUDENT, blocked=True)
        await add_user(session, role=Role.STUDENT, telegram_id=None)
        tutor = await add_user(session, role=Role.TUTOR)
        return {
            "admin": admin.id,
            "tutor": tutor.id,
            **{f"S{n}": s.id for n, s in enumerate(students, 1)},
        }


async def scalar(session_factory: SessionFactory, statement: Any) -> Any:
    async with session_factory() as session:
        return await session.scalar(statement)


async def load(session_factory: SessionFactory, broadcast_id: int) -> Broadcast:
    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return broadcast


async def count_broadcasts(session_factory: SessionFactory) -> int:
    return int(await scalar(session_factory, select(func.count(Broadcast.id))))


# --- pure helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("processed", "total", "expected"),
    [(0, 0, 0), (50, 100, 50), (60, 100, 60), (1, 3, 33), (2, 3, 67), (1, 200, 1), (3, 3, 100)],
)
def test_progress_pct_rounds_half_up(processed: int, total: int, expected: int) -> None:
    assert progress_pct(processed, total) == expected


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, None),
        ({"network": 5}, "5 failed: network error"),
        (
            {"chat_not_found": 2, "blocked": 3},
            "5 failed: bot blocked by user (3), chat not found (2)",
        ),
        ({None: 1, "other": 1, "weird": 1}, "3 failed: other error"),
        ({"timeout": 1, "server_error": 1}, "2 failed: Telegram server error (1), timeout (1)"),
    ],
)
def test_describe_errors(counts: dict[str | None, int], expected: str | None) -> None:
    assert describe_errors(counts) == expected


@pytest.mark.parametrize(
    ("count", "page", "page_size", "next_page", "previous", "total_pages"),
    [(100, 1, 20, 2, None, 5), (5, 3, 2, None, 2, 3), (0, 1, 20, None, None, 1)],
)
def test_page_envelope(
    count: int, page: int, page_size: int, next_page: Any, previous: Any, total_pages: int
) -> None:
    envelope = page_envelope(Page([], count, page, page_size), str)

    assert envelope == {
        "count": count,
        "next": next_page,
        "previous": previous,
        "results": [],
        "page": page,
        "page_size": page_size,
        "total_pages": total_pages,
    }


def test_retry_log_counts_rounds_beside_the_engines_entries() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    engine_entry = {
        "code": "network",
        "description": "x",
        "count": 4,
        "first_at": "",
        "last_at": "",
    }

    once = log_retry([engine_entry], 3, at)
    twice = log_retry(once, 1, at + timedelta(minutes=1))

    assert once[0] == engine_entry
    assert retry_rounds([engine_entry]) == 0
    assert (retry_rounds(once), retry_rounds(twice)) == (1, 2)
    assert twice[1]["description"] == "Retried 1 failed recipients"
    assert twice[1]["first_at"] == at.isoformat()


# --- create -----------------------------------------------------------------------------


async def test_create_stores_a_draft(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    broadcast_id = await service.broadcasts.create(
        target_group="custom",
        target_filter={"user_ids": [school["S2"], school["S1"], school["S2"]]},
        content=BroadcastContent(
            ContentKind.TEXT, "Завтра экзамен", [{"type": "bold", "offset": 0, "length": 6}]
        ),
        created_by_id=school["admin"],
    )

    stored = await load(session_factory, broadcast_id)
    assert stored.status is BroadcastStatus.DRAFT
    assert stored.target_group is TargetGroup.CUSTOM
    assert stored.target_filter == {"user_ids": [school["S2"], school["S1"]]}
    assert stored.message == "Завтра экзамен"
    assert stored.entities == [{"type": "bold", "offset": 0, "length": 6}]
    assert stored.created_by_id == school["admin"]
    assert (stored.recipient_count, stored.scheduled_at) == (0, None)


async def test_create_with_a_future_time_is_scheduled(
    service: DocumentedBroadcastService, session_factory: SessionFactory
) -> None:
    when = utcnow() + timedelta(hours=2)

    broadcast_id = await service.broadcasts.create(
        target_group="all_parents", content=HELLO, scheduled_at=when
    )

    stored = await load(session_factory, broadcast_id)
    assert stored.status is BroadcastStatus.SCHEDULED
    assert stored.scheduled_at == when


async def test_create_stores_media(
    service: DocumentedBroadcastService, session_factory: SessionFactory
) -> None:
    content = BroadcastContent(ContentKind.PHOTO, "", file_id="AgACAgIAAxkBAAI")

    broadcast_id = await service.broadcasts.create(target_group="all_teachers", content=content)

    stored = await load(session_factory, broadcast_id)
    assert (stored.content_kind, stored.file_id) == (ContentKind.PHOTO, "AgACAgIAAxkBAAI")


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"content": BroadcastContent(ContentKind.TEXT, "  \n ")}, ValidationFailed, "empty"),
        (
            {"content": BroadcastContent(ContentKind.TEXT, "x" * 1001)},
            ContentTooLong,
            "1001 characters long; the limit is 1000",
        ),
        (
            {"content": BroadcastContent(ContentKind.PHOTO, "x" * 1025, file_id="f")},
            ContentTooLong,
            "Caption is 1025",
        ),
        (
            {"content": BroadcastContent(ContentKind.VIDEO, "x")},
            ValidationFailed,
            "needs a file_id",
        ),
        ({"target_group": "by_subject"}, ValidationFailed, "needs target_filter.subject_id"),
        (
            {"target_group": "by_subject", "target_filter": {"subject_id": 42}},
            ValidationFailed,
            "Subject 42 not found",
        ),
        (
            {"target_group": "custom", "target_filter": {"user_ids": [424242]}},
            ValidationFailed,
            "Unknown user ids: 424242",
        ),
        ({"created_by_id": 424242}, ValidationFailed, "User 424242 \\(created_by\\) not found"),
        (
            {"scheduled_at": datetime(2030, 1, 1)},
            ValidationFailed,
            "scheduled_at must carry a time zone",
        ),
        (
            {"scheduled_at": utcnow() - timedelta(seconds=1)},
            ValidationFailed,
            "scheduled_at must be in the future",
        ),
    ],
)
async def test_create_refuses_bad_input_and_writes_nothing(
    service: DocumentedBroadcastService,
    session_factory: SessionFactory,
    arguments: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    request: dict[str, Any] = {"target_group": "all_students", "content": HELLO, **arguments}

    with pytest.raises(error, match=message):
        await service.broadcasts.create(**request)

    assert await count_broadcasts(session_factory) == 0


# --- details, list, progress, recipients -------------------------------------------------


async def test_details_carry_the_documented_fields_and_a_recipients_page(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            created_by=school["admin"],
            status=BroadcastStatus.SENDING,
            recipient_count=3,
            sent_count=1,
        )
        await add_recipient(session, broadcast, school["S1"], status=RecipientStatus.SENT)
        await add_recipient(session, broadcast, school["S2"])
        await add_recipient(session, broadcast, school["S3"])

    details = await service.get_details(broadcast.id, recipients_page=2, recipients_page_size=2)

    assert details["id"] == broadcast.id
    assert details["created_by"] == school["admin"]
    assert details["created_by_name"] == "Admin User"
    assert (details["target_group"], details["target_group_display"]) == (
        "all_students",
        "Все студенты",
    )
    assert (details["status"], details["status_display"]) == ("sending", "Отправляется")
    assert (details["recipient_count"], details["sent_count"], details["failed_count"]) == (3, 1, 0)
    assert (details["message"], details["entities"], details["file_id"]) == (
        "Hello, school",
        None,
        None,
    )
    assert [r["user_id"] for r in details["recipients"]] == [school["S3"]]
    assert details["recipients_page"] == {
        "count": 3,
        "next": None,
        "previous": 1,
        "page": 2,
        "page_size": 2,
        "total_pages": 2,
    }


@pytest.mark.parametrize("key", ["subject_id", "tutor_id", None])
async def test_details_name_the_subject_or_person_of_the_filter(
    service: DocumentedBroadcastService, session_factory: SessionFactory, key: str | None
) -> None:
    async with session_factory() as session, session.begin():
        subject = await add_subject(session, "Mathematics")
        tutor = await add_user(session, role=Role.TUTOR, full_name="Anna Tutor")
        group, target_filter, expected = {
            "subject_id": (TargetGroup.BY_SUBJECT, {"subject_id": subject.id}, "Mathematics"),
            "tutor_id": (TargetGroup.BY_TUTOR, {"tutor_id": tutor.id}, "Anna Tutor"),
            None: (TargetGroup.ALL_STUDENTS, {}, None),
        }[key]
        broadcast = await make_broadcast(session, target_group=group, target_filter=target_filter)

    details = await service.get_details(broadcast.id)

    assert details["target_name"] == expected


async def test_details_of_unknown_broadcast(service: DocumentedBroadcastService) -> None:
    with pytest.raises(BroadcastNotFound, match=r"^Broadcast 999 not found$"):
        await service.get_details(999)


async def test_list_is_newest_first_and_paginated(
    service: DocumentedBroadcastService, session_factory: SessionFactory
) -> None:
    start = datetime(2024, 5, 1, 9, tzinfo=UTC)
    async with session_factory() as session, session.begin():
        ids = [
            (await make_broadcast(session, created_at=start + timedelta(hours=n))).id
            for n in range(5)
        ]

    first = await service.list_broadcasts(page=1, page_size=2)
    last = await service.list_broadcasts(page=3, page_size=2)

    assert [r["id"] for r in first["results"]] == [ids[4], ids[3]]
    assert (first["count"], first["next"], first["previous"], first["total_pages"]) == (
        5,
        2,
        None,
        3,
    )
    assert [r["id"] for r in last["results"]] == [ids[0]]
    assert (last["next"], last["previous"]) == (None, 2)
    assert first["results"][0]["status_display"] == "Черновик"


async def test_list_filters(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    day = datetime(2024, 3, 1, tzinfo=UTC)
    async with session_factory() as session, session.begin():
        exam = await make_broadcast(
            session,
            message="Завтра Экзамен по 100% программе",
            created_at=day + timedelta(hours=10),
        )
        sent = await make_broadcast(
            session,
            status=BroadcastStatus.SENT,
            created_by=school["admin"],
            created_at=day + timedelta(days=1, hours=10),
        )
        later = await make_broadcast(session, created_at=day + timedelta(days=3))

    def ids(envelope: dict[str, Any]) -> list[int]:
        return [r["id"] for r in envelope["results"]]

    assert ids(await service.list_broadcasts(status="sent")) == [sent.id]
    assert ids(await service.list_broadcasts(search="экзамен")) == [exam.id]
    assert ids(await service.list_broadcasts(search="100%")) == [exam.id]
    assert ids(await service.list_broadcasts(search="0%%")) == []
    assert ids(await service.list_broadcasts(created_by_id=school["admin"])) == [sent.id]
    assert ids(
        await service.list_broadcasts(date_from=date(2024, 3, 1), date_to=date(2024, 3, 2))
    ) == [sent.id, exam.id]
    assert ids(await service.list_broadcasts(date_from=date(2024, 3, 2))) == [later.id, sent.id]
    assert ids(await service.list_broadcasts(date_to=date(2024, 3, 1))) == [exam.id]


async def test_list_dates_are_days_in_the_configured_timezone(
    session_factory: SessionFactory, settings: Settings
) -> None:
    vladivostok = Settings(
        _env_file=None,
        bot_token=settings.bot_token.get_secret_value(),
        timezone="Asia/Vladivostok",  # UTC+10
    )
    service = DocumentedBroadcastService(
        BroadcastService(session_factory, broadcast_rules(vladivostok))
    )
    async with session_factory() as session, session.begin():
        late_utc = await make_broadcast(
            session, created_at=datetime(2024, 3, 1, 15, 30, tzinfo=UTC)
        )  # 2 March locally
        await make_broadcast(session, created_at=datetime(2024, 3, 1, 10, tzinfo=UTC))

    found = await service.list_broadcasts(date_from=date(2024, 3, 2), date_to=date(2024, 3, 2))

    assert [r["id"] for r in found["results"]] == [late_utc.id]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"status": "done"}, "Unknown status 'done'"),
        ({"page": 0}, "page must be 1 or more"),
        ({"page_size": 101}, "page_size must be between 1 and 100"),
        ({"date_from": date(2024, 2, 2), "date_to": date(2024, 2, 1)}, "is after date_to"),
    ],
)
async def test_list_refuses_bad_filters(
    service: DocumentedBroadcastService, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        await service.list_broadcasts(**arguments)


async def test_progress_has_exactly_the_documented_keys(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    async with session_factory() as session, session.begin():
        more = [await add_user(session, role=Role.PARENT) for _ in range(5)]
        broadcast = await make_broadcast(
            session,
            status=BroadcastStatus.SENDING,
            sent_at=utcnow(),
            recipient_count=8,
            sent_count=1,
            failed_count=5,
        )
        await add_recipient(session, broadcast, school["S1"], status=RecipientStatus.SENT)
        await add_recipient(session, broadcast, school["S2"])
        await add_recipient(session, broadcast, school["S3"])
        for user, code in zip(
            more, ["blocked", "blocked", "chat_not_found", "blocked", "chat_not_found"], strict=True
        ):
            await add_recipient(
                session, broadcast, user, status=RecipientStatus.FAILED, error_code=code
            )

    progress = await service.get_progress(broadcast.id)

    assert set(progress) == PROGRESS_KEYS
    assert progress["id"] == broadcast.id
    assert progress["status"] == "sending"
    assert (progress["total_recipients"], progress["sent_count"]) == (8, 1)
    assert (progress["failed_count"], progress["pending_count"]) == (5, 2)
    assert progress["progress_pct"] == 75
    assert progress["error_summary"] == "5 failed: bot blocked by user (3), chat not found (2)"
    assert progress["sent_at"] is not None
    assert progress["completed_at"] is None


async def test_progress_of_a_draft(service: DocumentedBroadcastService) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)

    progress = await service.get_progress(broadcast_id)

    assert (progress["progress_pct"], progress["pending_count"], progress["error_summary"]) == (
        0,
        0,
        None,
    )


async def test_progress_of_unknown_broadcast(service: DocumentedBroadcastService) -> None:
    with pytest.raises(BroadcastNotFound, match="Broadcast 7 not found"):
        await service.get_progress(7)


async def test_recipients_filtered_and_paginated(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(session, status=BroadcastStatus.SENDING)
        await add_recipient(session, broadcast, school["S1"], status=RecipientStatus.SENT)
        await add_recipient(
            session, broadcast, school["S2"], status=RecipientStatus.FAILED, error_code="blocked"
        )
        await add_recipient(session, broadcast, school["S3"])
        student = await session.get(User, school["S2"])
        assert student is not None

    failed = await service.list_recipients(broadcast.id, status="failed")
    everyone = await service.list_recipients(broadcast.id, page=2, page_size=2)

    assert failed["count"] == 1
    assert failed["results"] == [
        {
            "id": failed["results"][0]["id"],
            "user_id": school["S2"],
            "user_name": student.full_name,
            "email": None,
            "telegram_id": student.telegram_id,
            "telegram_sent": False,
            "error_message": "error: blocked",
            "sent_at": None,
            "status": "failed",
            "error_code": "blocked",
        }
    ]
    assert (everyone["count"], everyone["total_pages"], everyone["previous"]) == (3, 2, 1)
    assert [r["user_id"] for r in everyone["results"]] == [school["S3"]]


async def test_recipients_errors(service: DocumentedBroadcastService) -> None:
    with pytest.raises(BroadcastNotFound):
        await service.list_recipients(5)
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)
    with pytest.raises(ValidationFailed, match="Unknown status 'lost'"):
        await service.list_recipients(broadcast_id, status="lost")


# --- start, send now, cancel ----------------------------------------------------------


async def test_start_sending_resolves_reachable_recipients(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)

    total = await service.broadcasts.start_sending(broadcast_id)

    stored = await load(session_factory, broadcast_id)
    rows = await scalar(
        session_factory,
        select(func.count(BroadcastRecipient.id)).where(
            BroadcastRecipient.broadcast_id == broadcast_id,
            BroadcastRecipient.status == RecipientStatus.PENDING,
        ),
    )
    assert total == 3
    assert rows == 3
    assert (stored.status, stored.recipient_count) == (BroadcastStatus.SENDING, 3)
    assert stored.sent_at is not None


async def test_start_sending_twice_is_refused(
    service: DocumentedBroadcastService, school: dict[str, int]
) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)
    await service.broadcasts.start_sending(broadcast_id)

    with pytest.raises(InvalidStatus, match="Cannot start broadcast with status sending"):
        await service.broadcasts.start_sending(broadcast_id)


async def test_concurrent_starts_let_exactly_one_through(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)

    outcomes = await asyncio.gather(
        service.broadcasts.start_sending(broadcast_id),
        service.broadcasts.start_sending(broadcast_id),
        return_exceptions=True,
    )

    assert sorted(map(repr, outcomes)) == sorted(
        [repr(3), repr(InvalidStatus(broadcast_id, Action.START, BroadcastStatus.SENDING))]
    )
    assert await scalar(session_factory, select(func.count(BroadcastRecipient.id))) == 3


async def test_start_sending_with_nobody_reachable_changes_nothing(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    broadcast_id = await service.broadcasts.create(
        target_group="by_tutor", target_filter={"tutor_id": school["tutor"]}, content=HELLO
    )

    with pytest.raises(NoRecipients, match=r"^No recipients found for group by_tutor$"):
        await service.broadcasts.start_sending(broadcast_id)

    stored = await load(session_factory, broadcast_id)
    assert (stored.status, stored.sent_at) == (BroadcastStatus.DRAFT, None)


async def test_start_sending_revalidates_the_target(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    async with session_factory() as session, session.begin():
        await assign_tutor(session, school["tutor"], school["S1"])
    broadcast_id = await service.broadcasts.create(
        target_group="by_tutor", target_filter={"tutor_id": school["tutor"]}, content=HELLO
    )
    async with session_factory() as session, session.begin():
        await session.execute(delete(User).where(User.id == school["tutor"]))

    with pytest.raises(ValidationFailed, match=f"Tutor {school['tutor']} not found"):
        await service.broadcasts.start_sending(broadcast_id)

    assert (await load(session_factory, broadcast_id)).status is BroadcastStatus.DRAFT


async def test_start_sending_errors(
    service: DocumentedBroadcastService, session_factory: SessionFactory
) -> None:
    async with session_factory() as session, session.begin():
        cancelled = await make_broadcast(session, status=BroadcastStatus.CANCELLED)

    with pytest.raises(BroadcastNotFound):
        await service.broadcasts.start_sending(404)
    with pytest.raises(InvalidStatus, match="Cannot start broadcast with status cancelled"):
        await service.broadcasts.start_sending(cancelled.id)


async def test_send_now_hands_the_broadcast_to_the_launcher(
    service: DocumentedBroadcastService, launcher: RecordingLauncher, school: dict[str, int]
) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)

    result = await service.send_now(broadcast_id)

    assert result == {
        "success": True,
        "broadcast_id": broadcast_id,
        "recipient_count": 3,
        "task_id": f"task-{broadcast_id}",
    }
    assert launcher.launched == [broadcast_id]


async def test_update_target(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)

    await service.broadcasts.update_target(broadcast_id, "custom", {"user_ids": [school["S1"]]})

    stored = await load(session_factory, broadcast_id)
    assert (stored.target_group, stored.target_filter) == (
        TargetGroup.CUSTOM,
        {"user_ids": [school["S1"]]},
    )
    with pytest.raises(ValidationFailed, match="Unknown user ids: 999"):
        await service.broadcasts.update_target(broadcast_id, "custom", {"user_ids": [999]})
    with pytest.raises(BroadcastNotFound):
        await service.broadcasts.update_target(999, "all_students")
    await service.broadcasts.start_sending(broadcast_id)
    with pytest.raises(InvalidStatus, match="Cannot retarget broadcast with status sending"):
        await service.broadcasts.update_target(broadcast_id, "all_students")


# --- schedule (draft -> scheduled) --------------------------------------------------------


async def test_schedule_turns_a_draft_into_a_scheduled_broadcast_at_that_utc_time(
    service: DocumentedBroadcastService, session_factory: SessionFactory
) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)
    moscow = timezone(timedelta(hours=3))
    when = (utcnow() + timedelta(hours=2)).astimezone(moscow)

    await service.broadcasts.schedule(broadcast_id, when)

    stored = await load(session_factory, broadcast_id)
    assert stored.status is BroadcastStatus.SCHEDULED
    assert stored.scheduled_at == when
    assert stored.scheduled_at is not None and stored.scheduled_at.utcoffset() == timedelta(0)
    assert (stored.recipient_count, stored.sent_at) == (0, None)  # resolved when it fires


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (datetime(2099, 1, 1, 9, 0), "scheduled_at must carry a time zone"),
        (utcnow() - timedelta(seconds=1), "scheduled_at must be in the future"),
    ],
)
async def test_schedule_refuses_a_naive_or_past_time_and_changes_nothing(
    service: DocumentedBroadcastService,
    session_factory: SessionFactory,
    when: datetime,
    message: str,
) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)

    with pytest.raises(ValidationFailed, match=f"^{message}$"):
        await service.broadcasts.schedule(broadcast_id, when)

    stored = await load(session_factory, broadcast_id)
    assert (stored.status, stored.scheduled_at) == (BroadcastStatus.DRAFT, None)


@pytest.mark.parametrize(
    "status",
    [
        BroadcastStatus.SCHEDULED,
        BroadcastStatus.SENDING,
        BroadcastStatus.SENT,
        BroadcastStatus.CANCELLED,
    ],
)
async def test_schedule_refuses_anything_but_a_draft_and_changes_nothing(
    service: DocumentedBroadcastService, session_factory: SessionFactory, status: BroadcastStatus
) -> None:
    original = utcnow() + timedelta(days=1)
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(session, status=status, scheduled_at=original)

    with pytest.raises(InvalidStatus, match=f"^Cannot schedule broadcast with status {status}$"):
        await service.broadcasts.schedule(broadcast.id, utcnow() + timedelta(hours=1))

    stored = await load(session_factory, broadcast.id)
    assert (stored.status, stored.scheduled_at) == (status, original)
    with pytest.raises(BroadcastNotFound, match="Broadcast 404 not found"):
        await service.broadcasts.schedule(404, utcnow() + timedelta(hours=1))


async def test_concurrent_schedules_of_one_draft_let_exactly_one_through(
    service: DocumentedBroadcastService, session_factory: SessionFactory
) -> None:
    broadcast_id = await service.broadcasts.create(target_group="all_students", content=HELLO)
    first, second = utcnow() + timedelta(hours=1), utcnow() + timedelta(hours=2)

    outcomes = await asyncio.gather(
        service.broadcasts.schedule(broadcast_id, first),
        service.broadcasts.schedule(broadcast_id, second),
        return_exceptions=True,
    )

    refused = [outcome for outcome in outcomes if isinstance(outcome, InvalidStatus)]
    assert len(refused) == 1
    assert str(refused[0]) == "Cannot schedule broadcast with status scheduled"
    winner = first if outcomes[0] is None else second
    assert (await load(session_factory, broadcast_id)).scheduled_at == winner


@pytest.mark.parametrize(
    "status", [BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING]
)
async def test_cancel(
    service: DocumentedBroadcastService,
    session_factory: SessionFactory,
    school: dict[str, int],
    status: BroadcastStatus,
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(session, status=status)
        await add_recipient(session, broadcast, school["S1"])

    result = await service.cancel_broadcast(broadcast.id)

    stored = await load(session_factory, broadcast.id)
    assert result == {
        "success": True,
        "message": "Рассылка успешно отменена",
        "broadcast_id": broadcast.id,
        "cancelled_at": stored.cancelled_at,
    }
    assert stored.status is BroadcastStatus.CANCELLED
    pending = select(BroadcastRecipient.status).where(
        BroadcastRecipient.broadcast_id == broadcast.id
    )
    assert await scalar(session_factory, pending) is RecipientStatus.PENDING


@pytest.mark.parametrize(
    "status",
    [
        BroadcastStatus.SENT,
        BroadcastStatus.COMPLETED,
        BroadcastStatus.FAILED,
        BroadcastStatus.CANCELLED,
    ],
)
async def test_cancel_refused_once_finished(
    service: DocumentedBroadcastService, session_factory: SessionFactory, status: BroadcastStatus
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(session, status=status)

    with pytest.raises(InvalidStatus, match=f"^Cannot cancel broadcast with status {status}$"):
        await service.cancel_broadcast(broadcast.id)

    stored = await load(session_factory, broadcast.id)
    assert (stored.status, stored.cancelled_at) == (status, None)


async def test_cancel_unknown(service: DocumentedBroadcastService) -> None:
    with pytest.raises(BroadcastNotFound, match="Broadcast 12 not found"):
        await service.cancel_broadcast(12)


# --- retry ------------------------------------------------------------------------------


@pytest.fixture
async def finished(session_factory: SessionFactory) -> Broadcast:
    """Completed: 2 sent; failed: 2 network, 1 without a code, 1 blocked, 1 deactivated."""
    async with session_factory() as session, session.begin():
        users = [await add_user(session, role=Role.STUDENT) for _ in range(7)]
        broadcast = await make_broadcast(
            session,
            status=BroadcastStatus.COMPLETED,
            recipient_count=7,
            sent_count=2,
            failed_count=5,
            sent_at=utcnow() - timedelta(minutes=5),
            completed_at=utcnow(),
        )
        codes = ["network", "network", None, "blocked", "deactivated"]
        for user in users[:2]:
            await add_recipient(session, broadcast, user, status=RecipientStatus.SENT)
        for user, code in zip(users[2:], codes, strict=True):
            await add_recipient(
                session, broadcast, user, status=RecipientStatus.FAILED, error_code=code, attempts=4
            )
    return broadcast


async def recipient_states(session_factory: SessionFactory, broadcast_id: int) -> list[tuple]:
    async with session_factory() as session:
        rows = await session.execute(
            select(
                BroadcastRecipient.status,
                BroadcastRecipient.error_code,
                BroadcastRecipient.attempts,
                BroadcastRecipient.telegram_error,
            )
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
            .order_by(BroadcastRecipient.id)
        )
        return [tuple(row) for row in rows]


async def test_retry_requeues_retryable_failures(
    service: DocumentedBroadcastService,
    session_factory: SessionFactory,
    launcher: RecordingLauncher,
    finished: Broadcast,
) -> None:
    result = await service.retry_failed(finished.id)

    stored = await load(session_factory, finished.id)
    assert result == {
        "success": True,
        "message": "Повторная отправка запущена для 3 получателей",
        "retried_count": 3,
        "broadcast_id": finished.id,
        "task_id": f"task-{finished.id}",
    }
    assert launcher.launched == [finished.id]
    assert (stored.status, stored.completed_at) == (BroadcastStatus.SENDING, None)
    assert (stored.sent_count, stored.failed_count, stored.pending_count) == (2, 2, 3)
    assert retry_rounds(stored.error_log) == 1
    states = await recipient_states(session_factory, finished.id)
    assert states[2:] == [
        (RecipientStatus.PENDING, None, 0, None),
        (RecipientStatus.PENDING, None, 0, None),
        (RecipientStatus.PENDING, None, 0, None),
        (RecipientStatus.FAILED, "blocked", 4, "error: blocked"),
        (RecipientStatus.FAILED, "deactivated", 4, "error: deactivated"),
    ]


async def test_retry_with_nothing_retryable_changes_nothing(
    service: DocumentedBroadcastService,
    session_factory: SessionFactory,
    launcher: RecordingLauncher,
    finished: Broadcast,
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(BroadcastRecipient)
            .where(
                BroadcastRecipient.error_code.in_(["network"])
                | BroadcastRecipient.error_code.is_(None)
            )
            .where(BroadcastRecipient.status == RecipientStatus.FAILED)
            .values(error_code="cant_initiate")
        )
    before = await recipient_states(session_factory, finished.id)

    result = await service.retry_failed(finished.id)

    stored = await load(session_factory, finished.id)
    assert (result["success"], result["retried_count"], result["task_id"]) == (False, 0, None)
    assert (stored.status, stored.failed_count) == (BroadcastStatus.COMPLETED, 5)
    assert await recipient_states(session_factory, finished.id) == before
    assert launcher.launched == []


async def test_retry_is_capped_by_max_retries(
    service: DocumentedBroadcastService, session_factory: SessionFactory, finished: Broadcast
) -> None:
    await service.retry_failed(finished.id, max_retries=1)
    async with session_factory() as session, session.begin():  # the retried sends fail again
        await session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.status == RecipientStatus.PENDING)
            .values(status=RecipientStatus.FAILED, error_code="timeout")
        )
        await session.execute(
            update(Broadcast).values(status=BroadcastStatus.COMPLETED, failed_count=5)
        )

    with pytest.raises(RetryLimitReached, match="already retried 1 times \\(limit 1\\)") as capped:
        await service.retry_failed(finished.id, max_retries=1)
    assert (capped.value.broadcast_id, capped.value.rounds, capped.value.limit) == (
        finished.id,
        1,
        1,
    )
    again = await service.retry_failed(finished.id, max_retries=2)

    assert again["retried_count"] == 3
    assert retry_rounds((await load(session_factory, finished.id)).error_log) == 2


@pytest.mark.parametrize(
    "status", [BroadcastStatus.CANCELLED, BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED]
)
async def test_retry_refused_by_status(
    service: DocumentedBroadcastService, session_factory: SessionFactory, status: BroadcastStatus
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(session, status=status)

    with pytest.raises(InvalidStatus, match=f"Cannot retry broadcast with status {status}"):
        await service.retry_failed(broadcast.id)


async def test_retry_errors(service: DocumentedBroadcastService, finished: Broadcast) -> None:
    with pytest.raises(BroadcastNotFound):
        await service.retry_failed(31337)
    with pytest.raises(ValidationFailed, match="max_retries must be 0 or more"):
        await service.retry_failed(finished.id, max_retries=-1)


async def test_retry_without_launcher_has_no_task(
    session_factory: SessionFactory, settings: Settings, finished: Broadcast
) -> None:
    broadcasts = BroadcastService(session_factory, broadcast_rules(settings))
    result = await DocumentedBroadcastService(broadcasts).retry_failed(finished.id)

    assert (result["retried_count"], result["task_id"]) == (3, None)


# --- stats ------------------------------------------------------------------------------


async def test_stats_of_an_empty_database(service: DocumentedBroadcastService) -> None:
    stats = await service.get_stats()

    assert stats == {
        "status_distribution": {status.value: 0 for status in BroadcastStatus},
        "total_broadcasts": 0,
        "total_recipients": 0,
        "failed_recipients": 0,
        "failed_rate": 0.0,
        "finished_broadcasts": 0,
        "average_processing_seconds": None,
    }


async def test_stats(
    service: DocumentedBroadcastService, session_factory: SessionFactory, school: dict[str, int]
) -> None:
    started = datetime(2024, 1, 1, 12, tzinfo=UTC)
    async with session_factory() as session, session.begin():
        completed = await make_broadcast(
            session,
            status=BroadcastStatus.COMPLETED,
            sent_at=started,
            completed_at=started + timedelta(seconds=60),
        )
        await make_broadcast(
            session,
            status=BroadcastStatus.SENT,
            sent_at=started,
            completed_at=started + timedelta(seconds=120, milliseconds=500),
        )
        await make_broadcast(  # failed broadcasts are not timed
            session, status=BroadcastStatus.FAILED, sent_at=started, completed_at=started
        )
        await make_broadcast(session)
        await add_recipient(session, completed, school["S1"], status=RecipientStatus.SENT)
        await add_recipient(session, completed, school["S2"], status=RecipientStatus.SENT)
        await add_recipient(
            session, completed, school["S3"], status=RecipientStatus.FAILED, error_code="network"
        )
        await add_recipient(session, completed, school["admin"])  # pending is not a failure

    stats = await service.get_stats()

    assert stats["status_distribution"] == {
        "draft": 1,
        "scheduled": 0,
        "sending": 0,
        "sent": 1,
        "completed": 1,
        "failed": 1,
        "cancelled": 0,
    }
    assert stats["total_broadcasts"] == 4
    assert (stats["total_recipients"], stats["failed_recipients"]) == (4, 1)
    assert stats["failed_rate"] == 25.0
    assert stats["finished_broadcasts"] == 2
    assert stats["average_processing_seconds"] == pytest.approx(90.25, abs=0.01)
