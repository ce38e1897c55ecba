"""What an admin reads in /broadcasts, a draft's details and /recipients: when a scheduled
broadcast goes, the audience by name, counts that mean something before and after
sending, filter rows that fit a phone, and recipients by the school's own id and name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.i18n import Catalog
from db.models import BroadcastStatus, ContentKind, RecipientStatus, Role, TargetGroup
from fake_bot_api import Delivered
from handlers.broadcasts.views import stats_view
from services.results import Stats
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_recipient, add_subject, add_user, enroll, make_broadcast

SCHEDULED_AT = datetime(2099, 6, 15, 9, 0, tzinfo=UTC)  # 12:00 in the harness's Moscow time


def keyboard_rows(message: Delivered) -> list[list[str]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [[button["text"] for button in row] for row in rows]


async def school(harness: BotHarness) -> dict[str, int]:
    """Three reachable students taking Chemistry, a draft for them, a scheduled broadcast
    and a sent one with a delivery and a failure."""
    async with harness.app.session_factory() as session, session.begin():
        chemistry = await add_subject(session, "Chemistry")
        students = [
            await add_user(session, role=Role.STUDENT, external_id=f"S00{n}", full_name=name)
            for n, name in enumerate(("Anna Petrova", "Boris Ivanov", "Vera Orlova"), 1)
        ]
        for student in students:
            await enroll(session, student, chemistry)
        draft = await make_broadcast(
            session,
            target_group=TargetGroup.BY_SUBJECT,
            target_filter={"subject_id": chemistry.id},
            status=BroadcastStatus.DRAFT,
        )
        scheduled = await make_broadcast(
            session, status=BroadcastStatus.SCHEDULED, scheduled_at=SCHEDULED_AT
        )
        sent = await make_broadcast(
            session, status=BroadcastStatus.COMPLETED, recipient_count=2, sent_count=1
        )
        await add_recipient(session, sent, students[0], status=RecipientStatus.SENT)
        await add_recipient(
            session, sent, students[1], status=RecipientStatus.FAILED, error_code="blocked"
        )
    return {"draft": draft.id, "scheduled": scheduled.id, "sent": sent.id}


@pytest.mark.parametrize(
    ("language", "scheduled", "subject", "reach", "delivered", "filters"),
    [
        (
            "en",
            "for 15.06.2099 12:00",
            "By subject (Chemistry) · 3 reachable now",
            "All students · 3 reachable now",
            "1 of 2 sent",
            [["• All", "Drafts", "Scheduled"], ["Sending", "Sent", "With failures"]],
        ),
        (
            "ru",
            "на 15.06.2099 12:00",
            "По предмету (Chemistry) · сейчас доступно: 3",
            "Все ученики · сейчас доступно: 3",
            "доставлено 1 из 2",
            [["• Все", "Черновики", "Заплан."], ["Идут", "Отправлены", "С ошибками"]],
        ),
    ],
)
async def test_the_list_says_when_for_whom_and_how_many(
    bot_harness: BotHarness,
    language: str,
    scheduled: str,
    subject: str,
    reach: str,
    delivered: str,
    filters: list[list[str]],
) -> None:
    ids = await school(bot_harness)
    [page] = await bot_harness.send(ADMIN_ID, "/broadcasts", language_code=language)
    lines = (page.text or "").split("\n")

    def line_of(broadcast_id: int) -> str:
        return next(line for line in lines if f"<b>#{broadcast_id}</b>" in line)

    assert line_of(ids["draft"]).endswith(subject)
    assert scheduled in line_of(ids["scheduled"]) and line_of(ids["scheduled"]).endswith(reach)
    assert line_of(ids["sent"]).endswith(delivered)
    rows = keyboard_rows(page)
    assert rows[1:3] == filters  # after the row of #id buttons
    assert all(len(row) <= 3 for row in rows)


@pytest.mark.parametrize(
    ("language", "reach"),
    [
        ("en", "Not sent yet; 3 people can receive it now."),
        ("ru", "Ещё не отправлена; сейчас её получат 3 человека."),
    ],
)
async def test_a_drafts_details_say_how_many_it_would_reach_and_offer_only_what_works(
    bot_harness: BotHarness, language: str, reach: str
) -> None:
    ids = await school(bot_harness)
    [details] = await bot_harness.send(
        ADMIN_ID, f"/broadcast {ids['draft']}", language_code=language
    )
    assert reach in (details.text or "").split("\n")
    labels = [label for row in keyboard_rows(details) for label in row]
    assert len(labels) == 3  # Send now, Schedule, Cancel: no progress or recipients yet
    assert not any("📊" in label or "👥" in label for label in labels)


@pytest.mark.parametrize(
    ("language", "failure"),
    [
        ("en", "❌ S002 Boris Ivanov · bot blocked by user"),
        ("ru", "❌ S002 Boris Ivanov · бот заблокирован пользователем"),
    ],
)
async def test_recipients_are_listed_by_the_schools_id_and_name_with_the_reason_once(
    bot_harness: BotHarness, language: str, failure: str
) -> None:
    ids = await school(bot_harness)
    [page] = await bot_harness.send(ADMIN_ID, f"/recipients {ids['sent']}", language_code=language)
    lines = (page.text or "").split("\n")
    assert lines[2].startswith("✅ S001 Anna Petrova · ")
    assert lines[3] == failure


@pytest.mark.parametrize(
    ("language", "recipients", "processing"),
    [
        ("en", "Recipients: 1,234 · failed: 34 (2.76%)", "(over 1 finished broadcast)"),
        # Russian groups thousands with a no-break space and puts a space before %.
        ("ru", "Получателей: 1\xa0234 · не доставлено: 34 (2,76 %)", "(завершённых рассылок: 1)"),
    ],
)
def test_stats_numbers_in_the_readers_format_and_plural(
    language: str, recipients: str, processing: str
) -> None:
    stats = Stats(
        status_distribution={status: 0 for status in BroadcastStatus} | {BroadcastStatus.SENT: 1},
        total_recipients=1234,
        failed_recipients=34,
        finished_broadcasts=1,
        average_processing_seconds=18.5,
    )
    lines = stats_view(Catalog("en").translator(language), stats).split("\n")
    assert recipients in lines
    assert lines[-1].endswith(processing)


@pytest.mark.parametrize(
    ("language", "media"),
    [("en", "Message (photo), caption:"), ("ru", "Сообщение (фото), подпись:")],
)
async def test_a_media_broadcasts_details_name_its_kind_in_words(
    bot_harness: BotHarness, language: str, media: str
) -> None:
    async with bot_harness.app.session_factory() as session, session.begin():
        photo = await make_broadcast(
            session, content_kind=ContentKind.PHOTO, file_id="PHOTO-1", message="Caption"
        )
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {photo.id}", language_code=language)
    assert media in (details.text or "").split("\n")


async def test_details_offer_retry_only_with_something_to_retry_and_say_how_many(
    bot_harness: BotHarness,
) -> None:
    async with bot_harness.app.session_factory() as session, session.begin():
        students = [await add_user(session, role=Role.STUDENT) for _ in range(3)]
        only_blocked = await make_broadcast(
            session, status=BroadcastStatus.COMPLETED, recipient_count=1, failed_count=1
        )
        await add_recipient(
            session, only_blocked, students[0], status=RecipientStatus.FAILED, error_code="blocked"
        )
        mixed = await make_broadcast(
            session, status=BroadcastStatus.COMPLETED, recipient_count=2, failed_count=2
        )
        for student, code in zip(students[1:], ("timeout", "deactivated"), strict=True):
            await add_recipient(
                session, mixed, student, status=RecipientStatus.FAILED, error_code=code
            )
    [blocked] = await bot_harness.send(ADMIN_ID, f"/broadcast {only_blocked.id}")
    assert not any("🔁" in label for row in keyboard_rows(blocked) for label in row)
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {mixed.id}", language_code="ru")
    assert "🔁 Повторить неудачные (1)" in [
        label for row in keyboard_rows(details) for label in row
    ]
