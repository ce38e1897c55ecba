"""A saved draft sent or scheduled later from its details (/broadcast ID), and a scheduled
broadcast sent early: the confirmation, the progress message, the timer that must not
send again, stale buttons and an audience nobody can receive.

Everything goes through the real application and the fake Bot API (tests/bot_harness.py).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from db.models import Broadcast, BroadcastStatus, Role, TargetGroup, User
from db.session import SessionFactory
from db.types import utcnow
from fake_bot_api import Delivered
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_user, make_broadcast
from tests.test_monitoring import buttons, current_buttons, current_text, status_of, text

STUDENT_CHATS = (3001, 3002, 3003)
SOON = timedelta(milliseconds=300)
FAR = timedelta(days=30)


async def add_students(factory: SessionFactory, chats: tuple[int, ...] = STUDENT_CHATS) -> None:
    async with factory() as session, session.begin():
        for chat_id in chats:
            await add_user(session, role=Role.STUDENT, telegram_id=chat_id)


async def add_draft(
    factory: SessionFactory,
    target_group: TargetGroup = TargetGroup.ALL_STUDENTS,
    status: BroadcastStatus = BroadcastStatus.DRAFT,
    **fields: Any,
) -> int:
    async with factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, target_group=target_group, status=status, message="Exams move", **fields
        )
    return broadcast.id


async def load(factory: SessionFactory, broadcast_id: int) -> Broadcast:
    async with factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    return broadcast


def deliveries_to_students(harness: BotHarness) -> Counter[int]:
    return Counter(d.chat_id for d in harness.api.delivered if d.chat_id in STUDENT_CHATS)


async def open_details(harness: BotHarness, broadcast_id: int, language: str = "en") -> Delivered:
    [details] = await harness.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code=language)
    return details


async def ask_to_send(harness: BotHarness, details: Delivered) -> Delivered:
    sent, _, _ = await harness.click(
        ADMIN_ID, buttons(details)[text("details-btn-send")], details.message_id
    )
    [question] = sent
    return question


async def test_a_draft_is_sent_now_after_a_confirmation_naming_audience_and_count(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    await add_students(factory)
    async with factory() as session, session.begin():
        await add_user(session, role=Role.STUDENT, blocked=True)  # not counted as reachable
    broadcast_id = await add_draft(factory)

    details = await open_details(bot_harness, broadcast_id)
    assert list(buttons(details)) == [
        "🚀 Send now",
        "🕒 Schedule",
        "🚫 Who can't be reached (1)",  # the one who blocked the bot
        "✖ Cancel",
    ]
    question = await ask_to_send(bot_harness, details)
    assert question.text == (
        f"Send broadcast #{broadcast_id} (Draft) now?\n"
        "Audience: All students\n"
        "3 recipients can receive it."
    )
    assert list(buttons(question)) == ["Yes, send it now", "No, not now"]
    assert await status_of(factory, broadcast_id) is BroadcastStatus.DRAFT  # only asked

    # No keeps the draft as it was.
    await bot_harness.click(ADMIN_ID, buttons(question)["No, not now"], question.message_id)
    assert current_text(bot_harness, question) == text("send-kept", id=str(broadcast_id))
    assert await status_of(factory, broadcast_id) is BroadcastStatus.DRAFT

    question = await ask_to_send(bot_harness, details)
    sent, _, answers = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, send it now"], question.message_id
    )
    assert [a.get("show_alert") for a in answers] == [None]
    assert current_text(bot_harness, question) == text(
        "send-started", id=str(broadcast_id), count=3
    )
    assert current_buttons(bot_harness, question) == {}
    [live] = sent  # the progress message, in the admin's chat
    assert (live.text or "").startswith(f"📤 <b>Broadcast #{broadcast_id}</b> · Sending")

    await app.sender.wait(broadcast_id)
    await app.progress.wait(broadcast_id)
    assert deliveries_to_students(bot_harness) == Counter(STUDENT_CHATS)
    assert {d.text for d in bot_harness.api.delivered if d.chat_id in STUDENT_CHATS} == {
        "Exams move"
    }
    broadcast = await load(factory, broadcast_id)
    assert (broadcast.status, broadcast.recipient_count, broadcast.sent_count) == (
        BroadcastStatus.SENT,
        3,
        3,
    )
    assert broadcast.progress_message_id == live.message_id
    assert "Sent: 3 · Failed: 0 · Pending: 0 (of 3)" in current_text(bot_harness, live)


async def test_a_draft_is_scheduled_with_a_typed_time_and_fires_reporting_to_this_chat(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    await add_students(factory)
    broadcast_id = await add_draft(factory)
    details = await open_details(bot_harness, broadcast_id)
    schedule = buttons(details)["🕒 Schedule"]

    # Abandoned first: the draft stays a draft and a typed time is no longer read.
    [ask], _, _ = await bot_harness.click(ADMIN_ID, schedule, details.message_id)
    await bot_harness.click(ADMIN_ID, buttons(ask)["✖ Keep it a draft"], ask.message_id)
    assert current_text(bot_harness, ask) == text("schedule-aborted", id=str(broadcast_id))
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "01.12.2098 09:30")] == [
        text("admin-hint")
    ]

    [ask], _, _ = await bot_harness.click(ADMIN_ID, schedule, details.message_id)
    assert (ask.text or "").startswith(
        f"Send the time for broadcast #{broadcast_id} (Europe/Moscow), for example: "
    )
    [done] = await bot_harness.send(ADMIN_ID, "01.12.2098 09:30")
    assert done.text == text(
        "schedule-done", id=str(broadcast_id), time="01.12.2098 09:30", tz="Europe/Moscow"
    )
    scheduled = await load(factory, broadcast_id)
    assert scheduled.status is BroadcastStatus.SCHEDULED
    assert scheduled.scheduled_at is not None
    assert scheduled.scheduled_at.isoformat() == "2098-12-01T06:30:00+00:00"
    assert scheduled.progress_chat_id == ADMIN_ID  # ADMIN_IDS admin: no roster row to fall back on
    assert app.scheduler.is_armed(broadcast_id)

    # Brought forward to a moment from now, it fires by its timer.
    before = len(bot_harness.api.messages_to(ADMIN_ID))
    await app.scheduler.reschedule(broadcast_id, utcnow() + SOON)
    await bot_harness.api.wait_for(
        lambda: deliveries_to_students(bot_harness) == Counter(STUDENT_CHATS), timeout=10
    )
    await app.sender.wait(broadcast_id)
    await app.progress.wait(broadcast_id)
    assert (await load(factory, broadcast_id)).status is BroadcastStatus.SENT
    [live] = bot_harness.api.messages_to(ADMIN_ID)[before:]
    assert f"<b>Broadcast #{broadcast_id}</b>" in (live.text or "")


async def test_a_scheduled_broadcast_sent_early_goes_out_once_and_its_timer_does_nothing(
    bot_harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    await add_students(factory)
    when = utcnow() + FAR
    broadcast_id = await add_draft(factory, status=BroadcastStatus.SCHEDULED, scheduled_at=when)
    await app.scheduler.arm(broadcast_id, when)

    details = await open_details(bot_harness, broadcast_id)
    assert list(buttons(details)) == [
        "🚀 Send now",
        "🕒 Reschedule",
        "✖ Cancel",
    ]
    question = await ask_to_send(bot_harness, details)
    assert (question.text or "").startswith(f"Send broadcast #{broadcast_id} (Scheduled) now?")
    sent, _, _ = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, send it now"], question.message_id
    )
    assert len(sent) == 1  # the progress message
    await app.sender.wait(broadcast_id)
    await app.progress.wait(broadcast_id)
    assert deliveries_to_students(bot_harness) == Counter(STUDENT_CHATS)

    # The timer comes due (set to fire now, as it would have at its time): it re-reads the
    # row, finds it no longer scheduled, and neither sends nor posts anything.
    caplog.set_level(logging.INFO, logger="services.scheduler")
    messages_to_admin = len(bot_harness.api.messages_to(ADMIN_ID))
    await app.scheduler.arm(broadcast_id, utcnow())
    await bot_harness.api.wait_for(
        lambda: any(
            f"Broadcast {broadcast_id} is no longer scheduled" in record.getMessage()
            for record in caplog.records
        ),
        timeout=10,
    )
    assert await app.scheduler.process_scheduled_broadcasts() == []
    assert deliveries_to_students(bot_harness) == Counter(STUDENT_CHATS)  # once each
    assert len(bot_harness.api.messages_to(ADMIN_ID)) == messages_to_admin
    broadcast = await load(factory, broadcast_id)
    assert (broadcast.status, broadcast.recipient_count) == (BroadcastStatus.SENT, 3)


async def test_stale_send_and_schedule_buttons_alert_and_change_nothing(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    await add_students(factory)
    sent_id = await add_draft(factory)
    cancelled_id = await add_draft(factory)
    sent_details = await open_details(bot_harness, sent_id)
    cancelled_details = await open_details(bot_harness, cancelled_id)
    first = await ask_to_send(bot_harness, sent_details)
    second = await ask_to_send(bot_harness, sent_details)
    await bot_harness.click(ADMIN_ID, buttons(first)["Yes, send it now"], first.message_id)
    await app.sender.wait(sent_id)
    await app.progress.wait(sent_id)  # its final edit must not land among the presses below
    await bot_harness.click(  # asks for a time
        ADMIN_ID, buttons(cancelled_details)["🕒 Schedule"], cancelled_details.message_id
    )
    await app.dispatcher["broadcasts"].cancel_broadcast(cancelled_id)
    deliveries = deliveries_to_students(bot_harness)

    presses = [
        (second, "Yes, send it now", "cannot-send", sent_id, "Sent"),
        (sent_details, "🚀 Send now", "cannot-send", sent_id, "Sent"),
        (sent_details, "🕒 Schedule", "cannot-schedule", sent_id, "Sent"),
        (cancelled_details, "🚀 Send now", "cannot-send", cancelled_id, "Cancelled"),
    ]
    for message, label, refusal, broadcast_id, status in presses:
        new, edits, answers = await bot_harness.click(
            ADMIN_ID, buttons(message)[label], message.message_id
        )
        assert (new, edits) == ([], []), label
        assert [(a["text"], a.get("show_alert")) for a in answers] == [
            (text(refusal, id=str(broadcast_id), status=status), True)
        ], label

    # The time asked for before the cancel is refused once typed.
    [refused] = await bot_harness.send(ADMIN_ID, "01.12.2098 09:30")
    assert refused.text == text("cannot-schedule", id=str(cancelled_id), status="Cancelled")
    cancelled = await load(factory, cancelled_id)
    assert (cancelled.status, cancelled.scheduled_at) == (BroadcastStatus.CANCELLED, None)
    assert not app.scheduler.is_armed(cancelled_id)
    assert (await load(factory, sent_id)).recipient_count == 3
    assert deliveries_to_students(bot_harness) == deliveries  # nothing sent again


@pytest.mark.parametrize(
    ("language", "nobody"),
    [
        ("en", "No recipients found for group {group}"),
        ("ru", "Не найдено получателей для группы «{group}»"),
    ],
)
async def test_an_audience_nobody_can_receive_is_refused_and_the_draft_stays(
    bot_harness: BotHarness, language: str, nobody: str
) -> None:
    factory = bot_harness.app.session_factory
    await add_students(factory, chats=(3001,))
    parents = await add_draft(factory, target_group=TargetGroup.ALL_PARENTS)
    students = await add_draft(factory)
    parents_group = text("target-all_parents", language)
    students_group = text("target-all_students", language)

    # Nobody reachable when asked: an alert instead of the question.
    details = await open_details(bot_harness, parents, language)
    new, _, answers = await bot_harness.click(
        ADMIN_ID,
        buttons(details)[text("details-btn-send", language)],
        details.message_id,
        language_code=language,
    )
    assert new == []
    assert [(a["text"], a.get("show_alert")) for a in answers] == [
        (nobody.format(group=parents_group), True)
    ]

    # The only student blocks the bot between the question and Yes: the answer says so.
    details = await open_details(bot_harness, students, language)
    [question], _, _ = await bot_harness.click(
        ADMIN_ID,
        buttons(details)[text("details-btn-send", language)],
        details.message_id,
        language_code=language,
    )
    async with factory() as session, session.begin():
        await session.execute(
            update(User).where(User.telegram_id == 3001).values(bot_blocked_at=utcnow())
        )
    sent, _, _ = await bot_harness.click(
        ADMIN_ID,
        buttons(question)[text("send-btn-yes", language)],
        question.message_id,
        language_code=language,
    )
    assert sent == []
    assert current_text(bot_harness, question) == nobody.format(group=students_group)
    for broadcast_id in (parents, students):
        broadcast = await load(factory, broadcast_id)
        assert (broadcast.status, broadcast.recipient_count, broadcast.sent_at) == (
            BroadcastStatus.DRAFT,
            0,
            None,
        )
    assert bot_harness.api.messages_to(3001) == []
