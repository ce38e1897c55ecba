"""Retry asks first ("Send again to 2 recipients?"), like Send now: No changes nothing,
Yes retries and takes the buttons off the earlier progress message, and a Yes given
before another retry is refused with its facts instead of sending a second time.

The service's refusals are tested on both databases; the conversations run the whole
application through the fake Bot API.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.settings import Settings
from db.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus, Role
from db.session import SessionFactory
from services.broadcasts import BroadcastService, retry_rounds
from services.errors import (
    InvalidStatus,
    NothingToRetry,
    RetriedMeanwhile,
    RetryLimitReached,
    StatusChanged,
)
from services.results import RetryPreview
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_recipient, add_user, broadcast_rules, make_broadcast
from tests.test_monitoring import (
    add_broadcast,
    buttons,
    current_buttons,
    current_text,
    status_of,
    text,
)

FAILING_CHATS = (52_001, 52_002)
"""Recipients whose chats Telegram does not find: a retry fails for them again."""


async def completed_with_unfound_chats(factory: SessionFactory) -> int:
    """Completed: one recipient got it, the two of FAILING_CHATS failed with "chat not
    found" (worth a retry by hand: a roster fix may have corrected the id)."""
    async with factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            status=BroadcastStatus.COMPLETED,
            recipient_count=3,
            sent_count=1,
            failed_count=2,
        )
        got_it = await add_user(session, role=Role.STUDENT, telegram_id=52_000)
        await add_recipient(session, broadcast, got_it, status=RecipientStatus.SENT)
        for chat_id in FAILING_CHATS:
            student = await add_user(session, role=Role.STUDENT, telegram_id=chat_id)
            await add_recipient(
                session,
                broadcast,
                student,
                status=RecipientStatus.FAILED,
                error_code="chat_not_found",
            )
        return broadcast.id


async def stored(factory: SessionFactory, broadcast_id: int) -> tuple[BroadcastStatus, int, int]:
    """Status, failed count and retries of the broadcast as stored."""
    async with factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return broadcast.status, broadcast.failed_count, retry_rounds(broadcast.error_log)


# --- the service, on both databases ---------------------------------------------------------


@pytest.fixture
def service(session_factory: SessionFactory, settings: Settings) -> BroadcastService:
    return BroadcastService(session_factory, broadcast_rules(settings))


async def test_the_question_counts_what_a_retry_sends_again_and_refuses_what_it_would_refuse(
    session_factory: SessionFactory, service: BroadcastService
) -> None:
    broadcast_id = await add_broadcast(
        session_factory,
        status=BroadcastStatus.COMPLETED,
        sent=1,
        failed=("network", "chat_not_found", "blocked"),
    )
    assert await service.retry_preview(broadcast_id) == RetryPreview(
        broadcast_id, BroadcastStatus.COMPLETED, rounds=0, retryable=2
    )
    with pytest.raises(RetryLimitReached):
        await service.retry_preview(broadcast_id, max_retries=0)

    only_blocked = await add_broadcast(session_factory, sent=1, failed=("blocked",))
    with pytest.raises(NothingToRetry):
        await service.retry_preview(only_blocked)
    draft = await add_broadcast(session_factory, status=BroadcastStatus.DRAFT)
    with pytest.raises(InvalidStatus):
        await service.retry_preview(draft)


async def test_a_confirmation_given_before_another_retry_is_refused_and_changes_nothing(
    session_factory: SessionFactory, service: BroadcastService
) -> None:
    broadcast_id = await completed_with_unfound_chats(session_factory)
    asked = await service.retry_preview(broadcast_id)
    await service.retry_failed(broadcast_id, expected=asked.status, expected_rounds=asked.rounds)
    async with session_factory() as session, session.begin():  # ...and they failed again
        await session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.status == RecipientStatus.PENDING)
            .values(status=RecipientStatus.FAILED, error_code="chat_not_found")
        )
        await session.execute(
            update(Broadcast).values(status=BroadcastStatus.COMPLETED, failed_count=2)
        )
    before = await stored(session_factory, broadcast_id)

    with pytest.raises(RetriedMeanwhile) as refused:
        await service.retry_failed(
            broadcast_id, expected=asked.status, expected_rounds=asked.rounds
        )
    assert (refused.value.broadcast_id, refused.value.expected, refused.value.rounds) == (
        broadcast_id,
        0,
        1,
    )
    with pytest.raises(StatusChanged) as changed:  # asked while it was another status
        await service.retry_failed(broadcast_id, expected=BroadcastStatus.FAILED, expected_rounds=1)
    assert (changed.value.expected, changed.value.status) == (
        BroadcastStatus.FAILED,
        BroadcastStatus.COMPLETED,
    )
    assert (
        await stored(session_factory, broadcast_id)
        == before
        == (
            BroadcastStatus.COMPLETED,
            2,
            1,
        )
    )
    pending = select(BroadcastRecipient.id).where(
        BroadcastRecipient.status == RecipientStatus.PENDING
    )
    async with session_factory() as session:
        assert (await session.scalars(pending)).all() == []


# --- the conversation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "question_text", "kept", "started"),
    [
        (
            "en",
            "Broadcast #{id}: send again to 2 recipients?",
            "Broadcast #{id} was not retried; nothing changed.",
            "Retry started for 2 recipients (broadcast #{id}).",
        ),
        (
            "ru",
            "Рассылка #{id}: отправить ещё раз 2 получателям?",
            "Рассылка #{id} не отправлена повторно, ничего не изменилось.",
            "Повторная отправка запущена для 2 получателей (рассылка #{id}).",
        ),
    ],
)
async def test_retry_asks_first_no_changes_nothing_and_yes_retries(
    bot_harness: BotHarness, language: str, question_text: str, kept: str, started: str
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    broadcast_id = await add_broadcast(
        factory,
        status=BroadcastStatus.COMPLETED,
        sent=1,
        failed=("network", "server_error", "blocked"),
    )
    old_id = await app.progress.attach(broadcast_id, ADMIN_ID)
    [old] = [m for m in bot_harness.api.messages_to(ADMIN_ID) if m.message_id == old_id]
    retry_label = text("progress-btn-retry", count=2)
    assert list(buttons(old)) == [retry_label]

    [question] = await bot_harness.send(ADMIN_ID, f"/retry {broadcast_id}", language_code=language)
    assert question.text == question_text.format(id=broadcast_id)
    choices = buttons(question)
    assert list(choices) == [text("retry-btn-yes", language), text("retry-btn-no", language)]
    await bot_harness.click(
        ADMIN_ID,
        choices[text("retry-btn-no", language)],
        question.message_id,
        language_code=language,
    )
    assert current_text(bot_harness, question) == kept.format(id=broadcast_id)
    assert current_buttons(bot_harness, question) == {}
    assert await stored(factory, broadcast_id) == (BroadcastStatus.COMPLETED, 3, 0)
    assert [d for d in bot_harness.api.delivered if d.chat_id != ADMIN_ID] == []  # no retry
    assert list(current_buttons(bot_harness, old)) == [retry_label]

    [question] = await bot_harness.send(ADMIN_ID, f"/retry {broadcast_id}", language_code=language)
    yes = buttons(question)[text("retry-btn-yes", language)]
    [progress], _, _ = await bot_harness.click(
        ADMIN_ID, yes, question.message_id, language_code=language
    )
    assert current_text(bot_harness, question) == started.format(id=broadcast_id)
    assert f"#{broadcast_id}</b>" in (progress.text or "")
    assert current_buttons(bot_harness, old) == {}  # the earlier message's Retry is gone
    await app.sender.wait(broadcast_id)
    await app.progress.wait(broadcast_id)
    assert await stored(factory, broadcast_id) == (BroadcastStatus.COMPLETED, 1, 1)
    assert current_buttons(bot_harness, progress) == {}  # only the blocked user is left


@pytest.mark.parametrize(
    ("language", "refusal"),
    [
        (
            "en",
            "Broadcast #{id} has been retried since you were asked (it has been retried once "
            "now), so nothing was sent again. Send /retry {id} to be asked anew.",
        ),
        (
            "ru",
            "Рассылку #{id} уже повторили после вашего вопроса (повторов теперь: 1), поэтому "
            "ничего не отправлено ещё раз. Чтобы спросить заново, отправьте /retry {id}.",
        ),
    ],
)
async def test_a_stale_yes_after_another_retry_is_refused_with_its_facts(
    bot_harness: BotHarness, language: str, refusal: str
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    for chat_id in FAILING_CHATS:
        bot_harness.api.set_not_found(chat_id)
    broadcast_id = await completed_with_unfound_chats(factory)
    [first] = await bot_harness.send(ADMIN_ID, f"/retry {broadcast_id}", language_code=language)
    [second] = await bot_harness.send(ADMIN_ID, f"/retry {broadcast_id}", language_code=language)
    yes = text("retry-btn-yes", language)
    await bot_harness.click(ADMIN_ID, buttons(first)[yes], first.message_id, language_code=language)
    await app.sender.wait(broadcast_id)  # the chats are still not found: 2 retryable again
    await app.progress.wait(broadcast_id)
    assert await stored(factory, broadcast_id) == (BroadcastStatus.COMPLETED, 2, 1)
    requests = len(bot_harness.api.requests_for("sendMessage"))

    sent, edits, answers = await bot_harness.click(
        ADMIN_ID, buttons(second)[yes], second.message_id, language_code=language
    )

    assert [(a["text"], a.get("show_alert")) for a in answers] == [
        (refusal.format(id=broadcast_id), True)
    ]
    assert (sent, edits) == ([], [])
    assert await stored(factory, broadcast_id) == (BroadcastStatus.COMPLETED, 2, 1)
    assert len(bot_harness.api.requests_for("sendMessage")) == requests  # nothing sent


async def test_a_yes_after_the_status_changed_asks_again_with_what_changed(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    broadcast_id = await completed_with_unfound_chats(factory)
    [question] = await bot_harness.send(ADMIN_ID, f"/retry {broadcast_id}")
    async with factory() as session, session.begin():  # meanwhile, marked failed
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(status=BroadcastStatus.FAILED)
        )

    sent, edits, _ = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, send again"], question.message_id
    )

    assert sent == []
    [asked_again] = edits
    assert asked_again.text == (
        f"Broadcast #{broadcast_id} has changed since you were asked: it is Failed now, "
        f"not Completed with failures.\n\nBroadcast #{broadcast_id}: send again to 2 recipients?"
    )
    assert await status_of(factory, broadcast_id) is BroadcastStatus.FAILED
    assert await stored(factory, broadcast_id) == (BroadcastStatus.FAILED, 2, 0)
