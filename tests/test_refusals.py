"""Refusals carry their facts and reach the admin in the admin's language; a confirmation
pressed after the broadcast changed asks again instead of acting."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core.i18n import Catalog, message_ids
from db.models import Broadcast, BroadcastStatus, RecipientStatus, Role
from fake_bot_api import Delivered
from handlers.errors import describe
from services.errors import (
    Action,
    BroadcastNotFound,
    DomainError,
    InvalidStatus,
    NothingToRetry,
    RetryLimitReached,
    StatusChanged,
)
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_recipient, add_user, make_broadcast

CATALOG = Catalog("en")


def buttons(message: Delivered) -> dict[str, str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_action_has_a_refusal_in_both_languages(language: str) -> None:
    assert {f"cannot-{action.value}" for action in Action} <= message_ids(language)


FACTS: list[DomainError] = [
    BroadcastNotFound(7),
    InvalidStatus(7, Action.CANCEL, BroadcastStatus.SENT),
    InvalidStatus(7, Action.START, BroadcastStatus.CANCELLED),
    StatusChanged(7, Action.CANCEL, BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED),
    RetryLimitReached(7, rounds=3, limit=3),
    NothingToRetry(7),
]


@pytest.mark.parametrize("error", FACTS, ids=lambda error: type(error).__name__)
def test_each_refusal_is_worded_from_its_facts_not_its_english_text(error: DomainError) -> None:
    english = describe(error, CATALOG.translator("en"))
    russian = describe(error, CATALOG.translator("ru"))
    assert "7" in english and "7" in russian
    assert russian != english and russian != str(error)
    assert not any(letter in russian for letter in "aeiou"), russian  # no English words left


def test_the_words_name_the_statuses_and_counts() -> None:
    ru = CATALOG.translator("ru")
    assert describe(InvalidStatus(7, Action.CANCEL, BroadcastStatus.SENT), ru) == (
        "Рассылка #7 в статусе «Отправлена»: отменять нечего."
    )
    assert describe(RetryLimitReached(7, rounds=3, limit=3), ru) == (
        "Рассылку #7 уже повторяли 3 раза; больше нельзя (предел 3)."
    )
    changed = StatusChanged(7, Action.CANCEL, BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
    assert describe(changed, CATALOG.translator("en")) == (
        "Broadcast #7 has changed since you were asked: it is Scheduled now, not Draft."
    )


async def test_the_fourth_retry_is_refused_in_russian_with_its_counts(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        student = await add_user(session, role=Role.STUDENT)
        broadcast = await make_broadcast(
            session,
            status=BroadcastStatus.COMPLETED,
            recipient_count=1,
            failed_count=1,
            error_log=[{"code": "retry", "count": 3, "description": "Retried 1 failed recipients"}],
        )
        await add_recipient(
            session, broadcast, student, status=RecipientStatus.FAILED, error_code="timeout"
        )
    replies = await bot_harness.send(ADMIN_ID, f"/retry {broadcast.id}", language_code="ru")
    assert [reply.text for reply in replies] == [
        f"Рассылку #{broadcast.id} уже повторяли 3 раза; больше нельзя (предел 3)."
    ]

    refused = await bot_harness.send(ADMIN_ID, "/cancel 999", language_code="ru")
    assert [reply.text for reply in refused] == ["Рассылка 999 не найдена"]


async def test_a_stale_cancel_confirmation_asks_again_with_what_changed(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        draft = await make_broadcast(session, status=BroadcastStatus.DRAFT)
    [question] = await bot_harness.send(ADMIN_ID, f"/cancel {draft.id}")
    assert question.text == f"Cancel draft #{draft.id}? It will not be sent."
    async with factory() as session, session.begin():  # meanwhile, someone schedules it
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == draft.id)
            .values(status=BroadcastStatus.SCHEDULED)
        )

    _, edits, answers = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, cancel it"], question.message_id
    )
    [asked_again] = edits
    assert (asked_again.text or "").startswith(
        f"Broadcast #{draft.id} has changed since you were asked: it is Scheduled now, not Draft."
        f"\n\nCancel scheduled broadcast #{draft.id}? It will not go out."
    )
    assert [answer.get("show_alert") for answer in answers] == [None]
    async with factory() as session:
        still = await session.get(Broadcast, draft.id)
    assert still is not None and still.status is BroadcastStatus.SCHEDULED  # nothing acted

    renewed = bot_harness.api.current_message(ADMIN_ID, question.message_id)
    assert renewed is not None and renewed.reply_markup is not None
    yes = next(
        button["callback_data"]
        for row in renewed.reply_markup["inline_keyboard"]
        for button in row
        if button["text"] == "Yes, cancel it"
    )
    await bot_harness.click(ADMIN_ID, yes, question.message_id)
    async with factory() as session:
        cancelled = await session.get(Broadcast, draft.id)
    assert cancelled is not None and cancelled.status is BroadcastStatus.CANCELLED


async def test_a_confirmation_for_a_broadcast_that_can_no_longer_be_cancelled_alerts(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        draft = await make_broadcast(session, status=BroadcastStatus.DRAFT)
    [question] = await bot_harness.send(ADMIN_ID, f"/cancel {draft.id}", language_code="ru")
    async with factory() as session, session.begin():
        await session.execute(
            update(Broadcast).where(Broadcast.id == draft.id).values(status=BroadcastStatus.SENT)
        )
    yes = next(label for label in buttons(question) if label.startswith("Да"))
    _, edits, answers = await bot_harness.click(
        ADMIN_ID, buttons(question)[yes], question.message_id, language_code="ru"
    )
    assert edits == []
    assert [(answer["text"], answer.get("show_alert")) for answer in answers] == [
        (f"Рассылка #{draft.id} в статусе «Отправлена»: отменять нечего.", True)
    ]


async def test_a_stale_send_confirmation_asks_again_and_sends_nothing(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        await add_user(session, role=Role.STUDENT, telegram_id=3201)
        draft = await make_broadcast(session, status=BroadcastStatus.DRAFT)
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {draft.id}")
    [question], _, _ = await bot_harness.click(
        ADMIN_ID, buttons(details)["🚀 Send now"], details.message_id
    )
    async with factory() as session, session.begin():  # meanwhile, scheduled for later
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == draft.id)
            .values(status=BroadcastStatus.SCHEDULED)
        )

    sent, edits, _ = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, send it now"], question.message_id
    )
    assert sent == []  # no progress message: nothing started
    [asked_again] = edits
    assert (asked_again.text or "").startswith(
        f"Broadcast #{draft.id} has changed since you were asked: it is Scheduled now, not Draft."
        f"\n\nSend broadcast #{draft.id} (Scheduled) now?"
    )
    async with factory() as session:
        still = await session.get(Broadcast, draft.id)
    assert still is not None and still.status is BroadcastStatus.SCHEDULED
    assert not bot_harness.api.messages_to(3201)
