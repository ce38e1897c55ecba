"""The live progress message speaks the language of the admin whose chat it is in, not the
bot's default: its text, its buttons and its final state, when sent from the wizard or a
draft's details, retried, fired on schedule or resumed after a restart.

Conversation tests through the real application and the fake Bot API (tests/bot_harness.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import Broadcast, BroadcastStatus, Role
from db.session import SessionFactory
from db.types import utcnow
from fake_bot_api import Delivered, FakeBotAPI, MessageState
from tests.bot_harness import (
    ADMIN_ID,
    BotHarness,
    harness_settings,
    running_harness,
    start_harness,
    stop_harness,
)
from tests.factories import add_user
from tests.test_compose import Wizard, compose_text
from tests.test_drafts import add_draft
from tests.test_monitoring import add_broadcast, buttons, current_buttons, current_text

STUDENT_CHATS = (3201, 3202, 3203)
FLAKY_CHAT = 3203  # answers 502 more often than MAX_RETRIES allows
SOON = timedelta(milliseconds=300)
CYRILLIC = re.compile("[а-яА-ЯёЁ]")


@pytest.fixture
async def russian_bot(fake_api: FakeBotAPI, harness_database_url: str) -> AsyncIterator[BotHarness]:
    """The bot of a school whose default language is Russian."""
    settings = harness_settings(harness_database_url, fake_api.url, default_language="ru")
    async with running_harness(fake_api, settings) as harness:
        yield harness


async def add_students(factory: SessionFactory) -> None:
    async with factory() as session, session.begin():
        for chat_id in STUDENT_CHATS:
            await add_user(session, role=Role.STUDENT, telegram_id=chat_id)


async def stored_language(factory: SessionFactory, broadcast_id: int) -> str | None:
    async with factory() as session:
        return await session.scalar(
            select(Broadcast.progress_language).where(Broadcast.id == broadcast_id)
        )


async def finished(harness: BotHarness, broadcast_id: int) -> None:
    await harness.app.sender.wait(broadcast_id)
    await harness.app.progress.wait(broadcast_id)


def labels(harness: BotHarness, message: Delivered) -> list[str]:
    return list(current_buttons(harness, message))


async def broadcast_ids(factory: SessionFactory) -> list[int]:
    async with factory() as session:
        return list(await session.scalars(select(Broadcast.id).order_by(Broadcast.id)))


def as_now(harness: BotHarness, message: Delivered) -> MessageState:
    state = harness.api.current_message(message.chat_id, message.message_id)
    assert state is not None
    return state


async def test_an_english_admin_of_a_russian_bot_watches_the_live_message_in_english(
    russian_bot: BotHarness,
) -> None:
    harness, api = russian_bot, russian_bot.api
    factory = harness.app.session_factory
    await add_students(factory)
    api.set_flaky(FLAKY_CHAT, 100)
    wizard = Wizard(harness, language="en")
    await compose_text(wizard, "All students")
    sent, _, _ = await wizard.press("✅ Send now")
    live = sent[-1]
    [broadcast_id] = await broadcast_ids(factory)
    assert (live.text or "").startswith(f"📤 <b>Broadcast #{broadcast_id}</b> · Sending")
    assert list(buttons(live)) == ["🔄 Refresh", "✖ Cancel"]
    assert await stored_language(factory, broadcast_id) == "en"

    await finished(harness, broadcast_id)
    final = current_text(harness, live)
    assert final.startswith(f"⚠️ <b>Broadcast #{broadcast_id}</b> · Completed with failures")
    assert "Sent: 2 · Failed: 1 · Pending: 0 (of 3)" in final
    assert "Errors: 1 failed: Telegram server error (1)" in final
    assert re.search(r"^Took \d+:\d\d$", final, re.MULTILINE)
    assert not CYRILLIC.search(final)
    assert labels(harness, live) == ["🔁 Retry failed (1)"]

    # Retried by the same admin: the new progress message speaks English as well.
    api.set_flaky(FLAKY_CHAT, 0)
    [question], _, _ = await wizard.press("🔁 Retry failed (1)", on=as_now(harness, live))
    assert not CYRILLIC.search(question.text or "")
    [again], edits, _ = await wizard.press("Yes, send again", on=as_now(harness, question))
    started = f"Retry started for 1 recipient (broadcast #{broadcast_id})."
    assert [edit.text for edit in edits if edit.message_id == question.message_id] == [started]
    await finished(harness, broadcast_id)
    assert current_text(harness, again).startswith(f"✅ <b>Broadcast #{broadcast_id}</b> · Sent")
    assert not CYRILLIC.search(current_text(harness, again))


async def test_a_russian_admin_of_an_english_bot_watches_it_in_russian(
    bot_harness: BotHarness,
) -> None:
    harness = bot_harness
    factory = harness.app.session_factory
    await add_students(factory)
    broadcast_id = await add_draft(factory)
    [details] = await harness.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code="ru")
    ask, _, _ = await harness.click(
        ADMIN_ID, buttons(details)["🚀 Отправить сейчас"], details.message_id, language_code="ru"
    )
    [question] = ask
    sent, _, _ = await harness.click(
        ADMIN_ID, buttons(question)["Да, отправить сейчас"], question.message_id, language_code="ru"
    )
    [live] = sent
    assert (live.text or "").startswith(f"📤 <b>Рассылка #{broadcast_id}</b> · Отправляется")
    assert list(buttons(live)) == ["🔄 Обновить", "✖ Отменить"]

    await finished(harness, broadcast_id)
    final = current_text(harness, live)
    assert final.startswith(f"✅ <b>Рассылка #{broadcast_id}</b> · Отправлена")
    assert "Доставлено: 3 · Ошибок: 0 · Ожидают: 0 (из 3)" in final
    assert re.search(r"^Заняла \d+:\d\d$", final, re.MULTILINE)
    assert await stored_language(factory, broadcast_id) == "ru"


async def test_refresh_redraws_the_live_message_in_its_own_language(
    bot_harness: BotHarness,
) -> None:
    harness = bot_harness
    factory = harness.app.session_factory
    broadcast_id = await add_broadcast(factory, status=BroadcastStatus.SENDING, pending=2)
    message_id = await harness.app.progress.attach(broadcast_id, ADMIN_ID, "ru")
    live = harness.api.messages_to(ADMIN_ID)[-1]
    assert live.message_id == message_id
    assert "Ожидают: 2 (из 2)" in (live.text or "")

    async with factory() as session, session.begin():
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        broadcast.sent_count = 1
    # Pressed while the admin's Telegram is set to English: the message stays Russian.
    _, edits, answers = await harness.click(
        ADMIN_ID, buttons(live)["🔄 Обновить"], message_id, language_code="en"
    )
    assert [edit.message_id for edit in edits] == [message_id] and len(answers) == 1
    assert "Доставлено: 1 · Ошибок: 0 · Ожидают: 1 (из 2)" in current_text(harness, live)
    assert labels(harness, live) == ["🔄 Обновить", "✖ Отменить"]


async def test_a_resumed_broadcast_keeps_the_language_of_its_message(
    fake_api: FakeBotAPI, harness_database_url: str
) -> None:
    settings = harness_settings(harness_database_url, fake_api.url, default_language="ru")
    harness, polling = await start_harness(fake_api, settings)
    try:
        await harness.send(555, "/help")  # answered: the bot is up and polling
        factory = harness.app.session_factory
        broadcast_id = await add_broadcast(factory, status=BroadcastStatus.SENDING, pending=3)
        message_id = await harness.app.progress.attach(broadcast_id, ADMIN_ID, "en")
    finally:
        await stop_harness(harness, polling)  # the bot stops before sending anything
    live = fake_api.messages_to(ADMIN_ID)[-1]
    assert "Pending: 3 (of 3)" in (live.text or "")

    harness, polling = await start_harness(fake_api, settings)
    try:
        await harness.send(555, "/help")  # polling, so sending has resumed
        await finished(harness, broadcast_id)
    finally:
        await stop_harness(harness, polling)
    assert fake_api.messages_to(ADMIN_ID)[-1].message_id == message_id  # edited, not new
    final = current_text(harness, live)
    assert final.startswith(f"✅ <b>Broadcast #{broadcast_id}</b> · Sent")
    assert "Sent: 3 · Failed: 0 · Pending: 0 (of 3)" in final


async def test_a_broadcast_scheduled_by_an_english_admin_fires_with_an_english_message(
    russian_bot: BotHarness,
) -> None:
    harness = russian_bot
    app, factory = harness.app, harness.app.session_factory
    await add_students(factory)
    broadcast_id = await add_draft(factory)
    [details] = await harness.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code="en")
    await harness.click(ADMIN_ID, buttons(details)["🕒 Schedule"], details.message_id)
    await harness.send(ADMIN_ID, "01.12.2098 09:30", language_code="en")
    assert await stored_language(factory, broadcast_id) == "en"

    before = len(harness.api.messages_to(ADMIN_ID))
    await app.scheduler.reschedule(broadcast_id, utcnow() + SOON)  # due in a moment
    api = harness.api
    await api.wait_for(lambda: all(api.messages_to(chat) for chat in STUDENT_CHATS), timeout=10)
    await finished(harness, broadcast_id)
    [live] = api.messages_to(ADMIN_ID)[before:]
    assert (live.text or "").startswith(f"📤 <b>Broadcast #{broadcast_id}</b> · Sending")
    final = current_text(harness, live)
    assert final.startswith(f"✅ <b>Broadcast #{broadcast_id}</b> · Sent")
    assert not CYRILLIC.search(final)
