"""Reminders to those who have not confirmed reading, end to end: the button and question
in the details, the reminder sent by the engine as a reply to each unconfirmed
recipient's original with the same button (a press on it confirms the announcement's
row), the limit of 3 and the refusals, the automatic reminder kept across a restart and
fired once, and the reminder counts in the not-confirmed list and the CSV.

The real application runs against the fake Bot API over HTTP, on SQLite and PostgreSQL;
presses are recorded at a fixed time (14:02 in the harness's Europe/Moscow), and an
automatic reminder's time is reached by moving its row's time, not by waiting.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.settings import Settings
from db.models import (
    Broadcast,
    BroadcastKind,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    Role,
)
from db.session import SessionFactory
from db.types import utcnow
from fake_bot_api import Delivered, FakeBotAPI
from handlers.callbacks import BroadcastAction, BroadcastButton, ReadConfirmation
from services.amend import AmendService
from services.broadcasts import BroadcastService
from services.errors import (
    AlreadyDeleted,
    NobodyToRemind,
    RemindedMeanwhile,
    ReminderInProgress,
    ReminderLimitReached,
)
from services.quiet_hours import QuietGate
from services.reminders import ReminderService, next_auto_remind
from tests.bot_harness import (
    ADMIN_ID,
    BotHarness,
    _empty_database,
    harness_settings,
    running_harness,
)
from tests.factories import add_recipient, add_user, broadcast_rules, make_broadcast
from tests.test_quiet_hours import LATE, MORNING, NIGHT
from tests.test_read_confirmations import (
    PARENTS,
    PRESSED_AT,
    READ,
    READ_RU,
    delivered_to,
    press,
    push_press,
    read_keyboard,
    send_to_parents,
    t,
)

REMINDER_EN = "🔔 Reminder: please confirm you have read this message."
REMINDER_RU = "🔔 Напоминание: пожалуйста, подтвердите, что прочитали это сообщение."


async def seed_parents(harness: BotHarness) -> None:
    harness.app.dispatcher["confirmations"].clock = lambda: PRESSED_AT
    async with harness.app.session_factory() as session, session.begin():
        for chat_id, language in PARENTS.items():
            parent = await add_user(session, role=Role.PARENT, telegram_id=chat_id)
            parent.language_code = language


@pytest.fixture
async def app(harness_on_each_database: BotHarness) -> BotHarness:
    await seed_parents(harness_on_each_database)
    return harness_on_each_database


def reminders_to(harness: BotHarness, chat_id: int) -> list[Delivered]:
    return [m for m in harness.api.messages_to(chat_id) if m.text in (REMINDER_EN, REMINDER_RU)]


async def reminder_ids(harness: BotHarness, broadcast_id: int) -> list[int]:
    async with harness.app.session_factory() as session:
        return list(
            await session.scalars(
                select(Broadcast.id)
                .where(
                    Broadcast.kind == BroadcastKind.REMINDER, Broadcast.parent_id == broadcast_id
                )
                .order_by(Broadcast.id)
            )
        )


async def finish(harness: BotHarness, run_id: int) -> None:
    await harness.app.sender.wait(run_id)
    await harness.app.progress.wait(run_id)


def buttons(message: Delivered) -> dict[str, str]:
    markup = message.reply_markup or {"inline_keyboard": []}
    return {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}


async def test_a_manual_reminder_replies_to_the_unconfirmed_and_a_press_confirms_the_original(
    app: BotHarness,
) -> None:
    async with app.app.session_factory() as session, session.begin():
        await add_user(session, role=Role.ADMIN, telegram_id=ADMIN_ID, full_name="Irina Admin")
    broadcast_id = await send_to_parents(app, ask_confirmation=True)
    await press(app, 4002, delivered_to(app, 4002))

    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    label = "🔔 Remind those who have not confirmed (3) · 3 of 3 left"
    [question], _, _ = await app.click(ADMIN_ID, buttons(details)[label], details.message_id)
    assert (
        question.text == f"Broadcast #{broadcast_id}: remind 3 recipients who have not confirmed?"
    )
    sent, _, _ = await app.click(ADMIN_ID, buttons(question)["Yes, remind"], question.message_id)
    [reminder_id] = await reminder_ids(app, broadcast_id)
    await finish(app, reminder_id)

    # Only the three who had not confirmed, each in their language, replying to their own
    # original (a deleted one would not fail it), with the same button.
    assert reminders_to(app, 4002) == []
    for chat_id, text, label in (
        (4001, REMINDER_RU, READ_RU),
        (4003, REMINDER_EN, READ),
        (4004, REMINDER_EN, READ),
    ):
        [reminder] = reminders_to(app, chat_id)
        assert reminder.text == text
        assert reminder.reply_to_message_id == delivered_to(app, chat_id).message_id
        assert reminder.allow_sending_without_reply is True
        assert reminder.reply_markup == read_keyboard(label)
    started = current_text_of(app, question)
    assert started == f"Reminder for broadcast #{broadcast_id} started: 3 recipients."
    assert sent  # the reminder's own live progress message, below the question
    async with app.app.session_factory() as session:
        run = await session.get(Broadcast, reminder_id)
        assert run is not None
        assert (run.status, run.recipient_count, run.sent_count) == (BroadcastStatus.SENT, 3, 3)

    # Pressing the reminder's button confirms the announcement's row; both buttons change.
    reminder = reminders_to(app, 4003)[0]
    answers, _ = await press(app, 4003, reminder)
    assert answers[0]["text"] == t("read-thanks")
    await app.api.wait_for(lambda: len(app.api.edits_of(4003)) >= 2)
    confirmed = {"inline_keyboard": [[{"text": "✅ Confirmed 14:02", "callback_data": "rdk"}]]}
    assert {(e.message_id, str(e.reply_markup)) for e in app.api.edits_of(4003)} == {
        (reminder.message_id, str(confirmed)),
        (delivered_to(app, 4003).message_id, str(confirmed)),
    }
    async with app.app.session_factory() as session:
        confirmed_in = list(
            await session.scalars(
                select(BroadcastRecipient.broadcast_id).where(
                    BroadcastRecipient.confirmed_at.is_not(None)
                )
            )
        )
    assert confirmed_in == [broadcast_id, broadcast_id]  # 4002 and 4003, on the announcement
    data = ReadConfirmation().pack()  # again, from a client still showing the old button
    [again] = await push_press(app, 4003, data, reminder.message_id, chat_id=4003)
    assert again["text"] == t("read-already", time="14:02")

    # The not-confirmed list and the CSV count the reminders each person got.
    [listed] = await app.send(ADMIN_ID, f"/recipients {broadcast_id} unconfirmed")
    items = [line for line in (listed.text or "").split("\n") if line.startswith("👀")]
    assert len(items) == 2 and all(line.endswith("· 🔔 1") for line in items)
    [russian] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code="ru")
    assert any(
        line.startswith("Напоминания: 1 из 3 — ") and "(доставлено 3)" in line
        for line in (russian.text or "").split("\n")
    )
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    assert any(  # the history says who reminded
        line.endswith("· reminder sent by Irina Admin") for line in (details.text or "").split("\n")
    )
    sent, _, _ = await app.click(ADMIN_ID, buttons(details)["📄 Export CSV"], details.message_id)
    content = app.api.upload_of(sent[0]).content.decode("utf-8-sig")
    rows_csv = list(csv.reader(io.StringIO(content)))
    assert rows_csv[0][5] == "Reminders sent"
    assert sorted(row[5] for row in rows_csv[1:]) == ["0", "1", "1", "1"]


def current_text_of(harness: BotHarness, message: Delivered) -> str:
    edits = [e for e in harness.api.edits_of(message.chat_id) if e.message_id == message.message_id]
    return (edits[-1].text if edits else message.text) or ""


async def test_at_most_three_reminders_and_the_refusals_say_why(app: BotHarness) -> None:
    broadcast_id = await send_to_parents(app, ask_confirmation=True)
    service: ReminderService = app.app.dispatcher["reminders"]
    for _ in range(3):
        started = await app.app.launcher.remind(broadcast_id, ADMIN_ID, language="en")
        await finish(app, started.broadcast_id)
    with pytest.raises(ReminderLimitReached) as refused:
        await service.remind(broadcast_id)
    assert (refused.value.broadcast_id, refused.value.sent, refused.value.limit) == (
        broadcast_id,
        3,
        3,
    )
    assert all(len(reminders_to(app, chat_id)) == 3 for chat_id in PARENTS)

    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    lines = (details.text or "").split("\n")
    assert any(line.startswith("Reminders: 3 of 3 — ") for line in lines)
    label = "🔔 No reminders left (3 of 3 sent)"
    _, _, answers = await app.click(ADMIN_ID, buttons(details)[label], details.message_id)
    assert [(a["show_alert"], a["text"]) for a in answers] == [
        (True, f"Broadcast #{broadcast_id} already has 3 reminders; that is the limit (3).")
    ]
    assert len(await reminder_ids(app, broadcast_id)) == 3


async def test_a_reminder_while_one_is_sending_or_after_another_is_refused(
    session_factory: SessionFactory,
) -> None:
    async with session_factory() as session, session.begin():
        announcement = await make_broadcast(
            session, status=BroadcastStatus.SENT, ask_confirmation=True
        )
        for _ in range(2):
            parent = await add_user(session, role=Role.PARENT)
            await add_recipient(session, announcement, parent, status=RecipientStatus.SENT)
    service = ReminderService(session_factory)
    preview = await service.preview(announcement.id)
    assert (preview.unconfirmed, preview.sent) == (2, 0)
    reminder_id, count = await service.remind(announcement.id, expected=0)
    assert count == 2
    with pytest.raises(ReminderInProgress) as sending:
        await service.remind(announcement.id)
    assert sending.value.reminder_id == reminder_id
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Broadcast).where(Broadcast.id == reminder_id).values(status=BroadcastStatus.SENT)
        )
    with pytest.raises(RemindedMeanwhile):
        await service.remind(announcement.id, expected=0)  # the question showed none
    async with session_factory() as session, session.begin():
        await session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.broadcast_id == announcement.id)
            .values(confirmed_at=PRESSED_AT)
        )
    with pytest.raises(NobodyToRemind):
        await service.preview(announcement.id)


async def test_cancelling_the_announcement_cancels_its_automatic_reminder(
    session_factory: SessionFactory, settings: Settings
) -> None:
    broadcasts = BroadcastService(session_factory, broadcast_rules(settings))
    async with session_factory() as session, session.begin():
        await add_user(session, role=Role.STUDENT)
        announcement = await make_broadcast(
            session, ask_confirmation=True, auto_remind_after_minutes=120
        )
    await broadcasts.start_sending(announcement.id)
    upcoming = await ReminderService(session_factory).pending_automatic(announcement.id)
    assert upcoming is not None
    await broadcasts.cancel_broadcast(announcement.id)
    async with session_factory() as session:
        status = await session.scalar(
            select(Broadcast.status).where(Broadcast.id == upcoming.reminder_id)
        )
    assert status is BroadcastStatus.CANCELLED
    assert await ReminderService(session_factory).pending_automatic(announcement.id) is None


def test_the_automatic_reminder_cycles_through_its_choices() -> None:
    assert [next_auto_remind(v) for v in (None, 120, 1440, 7)] == [120, 1440, None, None]


@pytest.fixture
async def restartable(fake_api: FakeBotAPI, database_url: str) -> AsyncIterator[str]:
    await _empty_database(database_url)
    yield database_url
    await _empty_database(database_url)


async def test_an_automatic_reminder_survives_a_restart_fires_once_and_skips_who_confirmed(
    fake_api: FakeBotAPI, restartable: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = harness_settings(restartable, fake_api.url)
    async with running_harness(fake_api, settings) as first:
        await seed_parents(first)
        broadcast_id = await send_to_parents(
            first, ask_confirmation=True, auto_remind_after_minutes=120
        )
        [reminder_id] = await reminder_ids(first, broadcast_id)
        assert first.app.scheduler.is_armed(reminder_id)
        async with first.app.session_factory() as session:
            announcement = await session.get(Broadcast, broadcast_id)
            run = await session.get(Broadcast, reminder_id)
        assert announcement is not None and run is not None and announcement.sent_at is not None
        assert run.status is BroadcastStatus.SCHEDULED
        assert run.scheduled_at == announcement.sent_at + timedelta(hours=2)
        assert (run.progress_chat_id, run.progress_language) == (ADMIN_ID, "en")
        [details] = await first.send(ADMIN_ID, f"/broadcast {broadcast_id}")
        lines = (details.text or "").split("\n")
        assert "Automatic reminder: after 2 h" in lines
        assert any(line.startswith("Reminders: 1 of 3 — next automatic at ") for line in lines)
        await press(first, 4002, delivered_to(first, 4002))  # confirms before it fires

    async with running_harness(fake_api, settings) as second:
        assert second.app.scheduler.is_armed(reminder_id)  # re-armed from its row
        async with second.app.session_factory() as session, session.begin():
            await session.execute(  # its time has come
                update(Broadcast)
                .where(Broadcast.id == reminder_id)
                .values(scheduled_at=utcnow() - timedelta(seconds=1))
            )
        assert await second.app.scheduler.fire(reminder_id) is True
        await finish(second, reminder_id)
        assert await second.app.scheduler.fire(reminder_id) is False  # once
        assert {chat_id: len(reminders_to(second, chat_id)) for chat_id in PARENTS} == {
            4001: 1,
            4002: 0,
            4003: 1,
            4004: 1,
        }
        # Everyone confirms; a second automatic reminder then finds nobody and sends nothing.
        for chat_id, label in ((4001, READ_RU), (4003, READ), (4004, READ)):
            await press(second, chat_id, delivered_to(second, chat_id), label)
        async with second.app.session_factory() as session, session.begin():
            late = await make_broadcast(
                session,
                kind=BroadcastKind.REMINDER,
                parent_id=broadcast_id,
                status=BroadcastStatus.SCHEDULED,
                scheduled_at=utcnow() - timedelta(seconds=1),
            )
        before = len(fake_api.delivered)
        with caplog.at_level(logging.INFO, logger="services.reminders"):
            assert await second.app.scheduler.fire(late.id) is False
        assert len(fake_api.delivered) == before
        assert "everyone delivered has confirmed, nothing sent" in caplog.text
        async with second.app.session_factory() as session:
            done = await session.get(Broadcast, late.id)
        assert done is not None
        assert (done.status, done.recipient_count) == (BroadcastStatus.SENT, 0)


async def test_a_press_forged_onto_a_reminder_of_another_chat_is_refused(app: BotHarness) -> None:
    broadcast_id = await send_to_parents(app, ask_confirmation=True)
    started = await app.app.launcher.remind(broadcast_id, ADMIN_ID, language="en")
    await finish(app, started.broadcast_id)
    [reminder] = reminders_to(app, 4001)
    answers, _ = await press(app, 4002, reminder, READ_RU)
    assert [(a["show_alert"], a["text"]) for a in answers] == [(True, t("read-refused"))]
    data = BroadcastAction(action=BroadcastButton.REMIND, broadcast_id=999).pack()
    [help_reply] = await app.send(ADMIN_ID, "/help")
    _, _, answers = await app.click(ADMIN_ID, data, help_reply.message_id)
    assert answers[0]["show_alert"] is True
    assert ReadConfirmation().pack() == "rd"


async def test_an_automatic_reminder_firing_while_another_is_sending_leaves_its_people_to_it(
    session_factory: SessionFactory,
) -> None:
    """Anna's manual reminder is still going out when the automatic one fires: only Boris,
    whom no reminder is reaching, gets the automatic one; Vera has confirmed."""
    async with session_factory() as session, session.begin():
        anna, boris, vera = [await add_user(session, role=Role.PARENT) for _ in range(3)]
        announcement = await make_broadcast(
            session, status=BroadcastStatus.SENT, ask_confirmation=True
        )
        rows = {
            user.id: await add_recipient(session, announcement, user, status=RecipientStatus.SENT)
            for user in (anna, boris, vera)
        }
        rows[vera.id].confirmed_at = utcnow()
        manual = await make_broadcast(
            session,
            status=BroadcastStatus.SENDING,
            kind=BroadcastKind.REMINDER,
            parent_id=announcement.id,
        )
        (await add_recipient(session, manual, anna)).source_id = rows[anna.id].id
        automatic = await make_broadcast(
            session,
            status=BroadcastStatus.SCHEDULED,
            kind=BroadcastKind.REMINDER,
            parent_id=announcement.id,
            scheduled_at=utcnow(),
        )

    assert await ReminderService(session_factory).start_scheduled(automatic.id) == 1
    async with session_factory() as session:
        reminded = await session.scalars(
            select(BroadcastRecipient.recipient_id).where(
                BroadcastRecipient.broadcast_id == automatic.id
            )
        )
        assert list(reminded) == [boris.id]


async def test_a_deleted_announcement_is_reminded_of_neither_automatically_nor_by_hand(
    session_factory: SessionFactory,
) -> None:
    async with session_factory() as session, session.begin():
        parent = await add_user(session, role=Role.PARENT)
        announcement = await make_broadcast(
            session, status=BroadcastStatus.SENT, ask_confirmation=True
        )
        delivered = await add_recipient(session, announcement, parent, status=RecipientStatus.SENT)
        delivered.telegram_message_id = "77"
        automatic = await make_broadcast(
            session,
            status=BroadcastStatus.SCHEDULED,
            kind=BroadcastKind.REMINDER,
            parent_id=announcement.id,
            scheduled_at=utcnow() + timedelta(hours=2),
        )

    await AmendService(session_factory, 4096).delete(announcement.id, actor_id=None)

    async with session_factory() as session:
        status = await session.scalar(select(Broadcast.status).where(Broadcast.id == automatic.id))
    assert status is BroadcastStatus.CANCELLED
    with pytest.raises(AlreadyDeleted):
        await ReminderService(session_factory).preview(announcement.id)


@pytest.mark.parametrize(
    ("urgent", "reminded_at"), [(False, MORNING + timedelta(hours=2)), (True, None)]
)
async def test_an_automatic_reminders_delay_counts_from_the_end_of_quiet_hours(
    session_factory: SessionFactory, settings: Settings, urgent: bool, reminded_at: datetime | None
) -> None:
    """Sent at 23:00 in 21:00-07:00, it is delivered from 07:00: its reminder "after 2 h"
    is at 09:00, not at 01:00 when nobody has it yet. An urgent one goes at once."""
    broadcasts = BroadcastService(session_factory, broadcast_rules(settings))
    async with session_factory() as session, session.begin():
        await add_user(session, role=Role.STUDENT)
        announcement = await make_broadcast(
            session, ask_confirmation=True, auto_remind_after_minutes=120, urgent=urgent
        )
    started = utcnow()

    await broadcasts.start_sending(announcement.id, quiet=QuietGate(NIGHT, lambda: LATE))

    upcoming = await ReminderService(session_factory).pending_automatic(announcement.id)
    assert upcoming is not None
    if reminded_at is not None:
        assert upcoming.at == reminded_at
    else:  # two hours after it went out, by the real clock the row's times are written with
        assert started + timedelta(hours=2) <= upcoming.at <= utcnow() + timedelta(hours=2)


@pytest.mark.parametrize(
    ("language", "asked", "kept", "stopped", "yes", "no"),
    [
        (
            "en",
            "Stop the reminder for broadcast #{id}? Those it has not reached yet will not get it.",
            "The reminder for broadcast #{id} goes on.",
            "The reminder for broadcast #{id} is stopped.",
            "Yes, cancel it",
            "No, keep it",
        ),
        (
            "ru",
            "Остановить напоминание к рассылке #{id}? Кто его ещё не получил, не получит.",
            "Напоминание к рассылке #{id} продолжается.",
            "Напоминание к рассылке #{id} остановлено.",
            "Да, отменить",
            "Нет, оставить",
        ),
    ],
)
async def test_cancelling_a_reminder_names_the_broadcast_it_reminds_of(
    app: BotHarness, language: str, asked: str, kept: str, stopped: str, yes: str, no: str
) -> None:
    """/cancel of a reminder run (its own number, #id + 1 here) speaks of broadcast #id,
    the number the admin knows, in the question, after No and after Yes."""
    async with app.app.session_factory() as session, session.begin():
        announcement = await make_broadcast(
            session, status=BroadcastStatus.SENT, ask_confirmation=True
        )
        reminder = await make_broadcast(
            session,
            status=BroadcastStatus.SCHEDULED,
            kind=BroadcastKind.REMINDER,
            parent_id=announcement.id,
            scheduled_at=utcnow() + timedelta(hours=2),
        )
    words = {"id": announcement.id}

    [question] = await app.send(ADMIN_ID, f"/cancel {reminder.id}", language_code=language)
    assert question.text == asked.format(**words)
    _, [edit], _ = await app.click(
        ADMIN_ID, buttons(question)[no], question.message_id, language_code=language
    )
    assert edit.text == kept.format(**words)
    [question] = await app.send(ADMIN_ID, f"/cancel {reminder.id}", language_code=language)
    _, [edit], _ = await app.click(
        ADMIN_ID, buttons(question)[yes], question.message_id, language_code=language
    )
    assert edit.text == stopped.format(**words)
    async with app.app.session_factory() as session:
        assert (
            await session.scalar(select(Broadcast.status).where(Broadcast.id == reminder.id))
            is BroadcastStatus.CANCELLED
        )


async def test_retrying_a_reminder_names_the_broadcast_it_reminds_of(app: BotHarness) -> None:
    async with app.app.session_factory() as session, session.begin():
        parent = await add_user(session, role=Role.PARENT)
        announcement = await make_broadcast(
            session, status=BroadcastStatus.SENT, ask_confirmation=True
        )
        reminder = await make_broadcast(
            session,
            status=BroadcastStatus.COMPLETED,
            kind=BroadcastKind.REMINDER,
            parent_id=announcement.id,
            recipient_count=1,
            failed_count=1,
        )
        await add_recipient(
            session, reminder, parent, status=RecipientStatus.FAILED, error_code="network"
        )
    what = f"Reminder for broadcast #{announcement.id}"

    [question] = await app.send(ADMIN_ID, f"/retry {reminder.id}")
    assert question.text == f"{what}: try again for 1 recipient?"
    _, [edit], _ = await app.click(ADMIN_ID, buttons(question)["No, not now"], question.message_id)
    assert edit.text == f"{what}: nothing was tried again."
