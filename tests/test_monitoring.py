"""Monitoring and repair commands (/progress /retry /cancel /broadcasts /broadcast
/recipients /stats), their buttons and the live progress message's buttons.

Conversation tests go through the real Dispatcher and the fake Bot API (tests/bot_harness.py);
argument parsing, message splitting and the list views are tested directly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from core.i18n import Catalog
from db.models import Broadcast, BroadcastStatus, RecipientStatus, Role
from db.session import SessionFactory
from db.types import utcnow
from fake_bot_api import Delivered, FakeBotAPI
from handlers.broadcasts.parsing import (
    ListQuery,
    RecipientsQuery,
    parse_broadcast_id,
    parse_list_args,
    parse_recipients_args,
)
from handlers.callbacks import (
    BroadcastAction,
    BroadcastButton,
    Confirm,
    ConfirmedAction,
    ListPage,
    ProgressRefresh,
    RecipientPage,
    TimeAbort,
    TimeAction,
)
from handlers.split import TELEGRAM_TEXT_LIMIT, split_text
from services.errors import BroadcastNotFound
from tests.bot_harness import (
    ADMIN_ID,
    BotHarness,
    harness_settings,
    start_harness,
    stop_harness,
)
from tests.factories import add_recipient, add_user, make_broadcast

CATALOG = Catalog("en")
FAR_FUTURE = datetime(2099, 6, 15, 9, 0, tzinfo=UTC)
"""A fixed scheduled time far ahead: 15.06.2099 12:00 in the harness's Europe/Moscow."""
STRANGER = 555


def text(message_id: str, language: str = "en", **args: Any) -> str:
    return CATALOG.translator(language)(message_id, **args)


def buttons(message: Delivered) -> dict[str, str]:
    """Button label -> callback data."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


# --- parsing and splitting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (None, ListQuery()),
        ("sending", ListQuery(status=BroadcastStatus.SENDING)),
        ("CANCELLED", ListQuery(status=BroadcastStatus.CANCELLED)),
        ("search exam  dates", ListQuery(search="exam  dates")),
        ("search", None),
        ("sending extra", None),
        ("nonsense", None),
    ],
)
def test_broadcasts_arguments(args: str | None, expected: ListQuery | None) -> None:
    assert parse_list_args(args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("7", RecipientsQuery(7)),
        ("7 failed", RecipientsQuery(7, RecipientStatus.FAILED)),
        ("7 Sent", RecipientsQuery(7, RecipientStatus.SENT)),
        ("7 Unconfirmed", RecipientsQuery(7, unconfirmed=True)),
        (None, None),
        ("failed", None),
        ("7 lost", None),
        ("7 failed more", None),
        ("-7", None),
        ("٣", None),  # a non-ASCII digit is not an id
    ],
)
def test_recipients_arguments(args: str | None, expected: object) -> None:
    assert parse_recipients_args(args) == expected


def test_an_id_too_large_to_exist_is_not_found_rather_than_a_database_error() -> None:
    with pytest.raises(BroadcastNotFound, match="Broadcast 99999999999 not found"):
        parse_broadcast_id("99999999999")


def test_split_keeps_short_texts_whole_and_cuts_long_ones_at_line_breaks() -> None:
    assert split_text("one\ntwo") == ["one\ntwo"]
    lines = [f"line {n:04d} " + "x" * 90 for n in range(100)]
    parts = split_text("\n".join(lines))
    assert len(parts) > 1
    assert all(len(part) <= TELEGRAM_TEXT_LIMIT for part in parts)
    assert "\n".join(parts).split("\n") == lines  # every line once, in order, uncut


def test_split_cuts_an_over_long_line_at_a_space_and_never_inside_an_entity() -> None:
    line = "&amp;" * 900 + " tail " + "&lt;b&gt;" * 300
    parts = split_text(line, limit=1000)
    assert "".join(parts) == line
    assert all(len(part) <= 1000 for part in parts)
    for part in parts:
        assert re.fullmatch(r"(?:[^&]|&[a-z]+;)*", part), part[-10:]


# --- the harness: helpers ------------------------------------------------------------------


async def add_broadcast(
    session_factory: SessionFactory,
    *,
    status: BroadcastStatus = BroadcastStatus.SENT,
    sent: int = 0,
    failed: tuple[str, ...] = (),
    pending: int = 0,
    created_by: int | None = None,
    **fields: Any,
) -> int:
    """A broadcast with recipients: `sent` delivered, one failure per error code in
    `failed`, `pending` waiting; its counters agree with the rows."""
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            status=status,
            created_by=created_by,
            recipient_count=sent + len(failed) + pending,
            sent_count=sent,
            failed_count=len(failed),
            **fields,
        )
        for _ in range(sent):
            user = await add_user(session, role=Role.STUDENT)
            await add_recipient(session, broadcast, user, status=RecipientStatus.SENT)
        for code in failed:
            user = await add_user(session, role=Role.STUDENT)
            await add_recipient(
                session, broadcast, user, status=RecipientStatus.FAILED, error_code=code
            )
        for _ in range(pending):
            user = await add_user(session, role=Role.STUDENT)
            await add_recipient(session, broadcast, user)
        return broadcast.id


async def status_of(session_factory: SessionFactory, broadcast_id: int) -> BroadcastStatus:
    async with session_factory() as session:
        status = await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
    assert status is not None
    return status


def current_text(harness: BotHarness, message: Delivered) -> str:
    state = harness.api.current_message(message.chat_id, message.message_id)
    assert state is not None
    return state.text or ""


def current_buttons(harness: BotHarness, message: Delivered) -> dict[str, str]:
    state = harness.api.current_message(message.chat_id, message.message_id)
    assert state is not None
    rows = (state.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


# --- /progress ------------------------------------------------------------------------------


async def test_progress_with_an_id_shows_the_documented_fields_and_live_buttons(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    broadcast_id = await add_broadcast(
        factory,
        status=BroadcastStatus.SENDING,
        sent=2,
        failed=("network",),
        pending=1,
        sent_at=utcnow(),
    )
    [reply] = await bot_harness.send(ADMIN_ID, f"/progress {broadcast_id}")
    lines = (reply.text or "").split("\n")
    assert lines[0] == f"📤 <b>Broadcast #{broadcast_id}</b> · Sending"
    assert lines[1].endswith(" 75%")
    assert lines[2] == "Sent: 2 · Failed: 1 · Pending: 1 (of 4)"
    assert "Errors: 1 failed: network error (1)" in lines
    assert lines[-1].startswith("Created: ") and lines[-1].endswith("Finished: —")
    assert list(buttons(reply)) == ["🔄 Refresh", "✖ Cancel"]


async def test_progress_without_an_id_picks_the_admins_latest_broadcast(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        roster_admin = await add_user(session, role=Role.ADMIN, telegram_id=2000)
    own = await add_broadcast(factory, created_by=roster_admin.id)
    newest = await add_broadcast(factory)  # created by an ADMIN_IDS admin (no roster row)
    [mine] = await bot_harness.send(2000, "/progress")
    [anyone] = await bot_harness.send(ADMIN_ID, "/progress")
    assert f"Broadcast #{own}</b>" in (mine.text or "")
    assert f"Broadcast #{newest}</b>" in (anyone.text or "")


async def test_progress_explains_bad_arguments_unknown_ids_and_an_empty_history(
    bot_harness: BotHarness,
) -> None:
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/progress")] == [
        text("no-broadcasts-yet")
    ]
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/progress twelve")] == [
        text("usage-progress")
    ]
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/progress 404")] == [
        "Broadcast 404 not found"
    ]
    russian = await bot_harness.send(ADMIN_ID, "/progress 404", language_code="ru")
    assert [m.text for m in russian] == ["Рассылка 404 не найдена"]


# --- /cancel and the progress message's buttons -------------------------------------------


@pytest.mark.parametrize(
    ("language", "done"),
    [
        ("en", "Scheduled broadcast #{id} cancelled: it will not go out."),
        ("ru", "Запланированная рассылка #{id} отменена: она не будет отправлена."),
    ],
)
async def test_cancel_asks_first_and_no_keeps_it_yes_cancels_it(
    bot_harness: BotHarness, language: str, done: str
) -> None:
    factory = bot_harness.app.session_factory
    broadcast_id = await add_broadcast(factory, status=BroadcastStatus.SCHEDULED)
    [question] = await bot_harness.send(ADMIN_ID, "/cancel", language_code=language)
    choices = buttons(question)
    assert list(choices) == [text("cancel-btn-yes", language), text("cancel-btn-no", language)]

    await bot_harness.click(
        ADMIN_ID,
        choices[text("cancel-btn-no", language)],
        question.message_id,
        language_code=language,
    )
    assert current_text(bot_harness, question) == text(
        "cancel-kept", language, id=str(broadcast_id)
    )
    assert await status_of(factory, broadcast_id) is BroadcastStatus.SCHEDULED

    [question] = await bot_harness.send(ADMIN_ID, f"/cancel {broadcast_id}", language_code=language)
    yes = buttons(question)[text("cancel-btn-yes", language)]
    await bot_harness.click(ADMIN_ID, yes, question.message_id, language_code=language)
    assert current_text(bot_harness, question) == done.format(id=broadcast_id)
    assert await status_of(factory, broadcast_id) is BroadcastStatus.CANCELLED

    # The same Yes again, now on a cancelled broadcast: an alert, nothing changes.
    _, edits, answers = await bot_harness.click(
        ADMIN_ID, yes, question.message_id, language_code=language
    )
    assert edits == []
    assert [a.get("show_alert") for a in answers] == [True]
    assert str(broadcast_id) in answers[0]["text"]


async def test_cancel_of_a_finished_broadcast_is_refused(bot_harness: BotHarness) -> None:
    broadcast_id = await add_broadcast(bot_harness.app.session_factory, sent=1)
    replies = await bot_harness.send(ADMIN_ID, f"/cancel {broadcast_id}")
    assert [m.text for m in replies] == [
        text("cannot-cancel", id=str(broadcast_id), status=text("status-sent"))
    ]
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/cancel 1 2")] == [
        text("usage-cancel")
    ]


async def test_progress_message_refresh_and_cancel_buttons(bot_harness: BotHarness) -> None:
    app = bot_harness.app
    factory = app.session_factory
    broadcast_id = await add_broadcast(factory, status=BroadcastStatus.SENDING, pending=2)
    message_id = await app.progress.attach(broadcast_id, ADMIN_ID)
    live = bot_harness.api.messages_to(ADMIN_ID)[-1]
    assert live.message_id == message_id
    assert "Pending: 2 (of 2)" in (live.text or "")
    live_buttons = buttons(live)
    assert list(live_buttons) == ["🔄 Refresh", "✖ Cancel"]

    # Refresh redraws from the database: one recipient got it meanwhile.
    async with factory() as session, session.begin():
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        broadcast.sent_count = 1
    _, edits, _ = await bot_harness.click(ADMIN_ID, live_buttons["🔄 Refresh"], message_id)
    assert [edit.message_id for edit in edits] == [message_id]
    assert "Sent: 1 · Failed: 0 · Pending: 1 (of 2)" in current_text(bot_harness, live)

    # Cancel asks for confirmation in a new message; the broadcast goes on meanwhile.
    sent, _, _ = await bot_harness.click(ADMIN_ID, live_buttons["✖ Cancel"], message_id)
    [question] = sent
    assert question.text == text(
        "cancel-confirm", id=str(broadcast_id), state="sending", status="Sending"
    )
    assert await status_of(factory, broadcast_id) is BroadcastStatus.SENDING
    await bot_harness.click(ADMIN_ID, buttons(question)["Yes, cancel it"], question.message_id)
    assert await status_of(factory, broadcast_id) is BroadcastStatus.CANCELLED

    # Now the old Cancel is stale: an alert, no new question.
    sent, edits, answers = await bot_harness.click(ADMIN_ID, live_buttons["✖ Cancel"], message_id)
    assert (sent, [a.get("show_alert") for a in answers]) == ([], [True])
    assert answers[0]["text"] == text("cannot-cancel", id=str(broadcast_id), status="Cancelled")


async def test_after_a_restart_the_same_progress_message_keeps_updating(
    fake_api: FakeBotAPI, harness_database_url: str
) -> None:
    settings = harness_settings(harness_database_url, fake_api.url)
    harness, polling = await start_harness(fake_api, settings)
    try:
        await harness.send(STRANGER, "/help")  # answered: the bot is up and polling
        factory = harness.app.session_factory
        broadcast_id = await add_broadcast(factory, status=BroadcastStatus.SENDING, pending=3)
        message_id = await harness.app.progress.attach(broadcast_id, ADMIN_ID)
    finally:
        await stop_harness(harness, polling)  # the bot stops before sending anything
    live = fake_api.messages_to(ADMIN_ID)[-1]
    assert "Pending: 3 (of 3)" in (live.text or "")

    harness, polling = await start_harness(fake_api, settings)
    try:
        await harness.send(STRANGER, "/help")  # polling, so sending has resumed
        await harness.app.sender.wait(broadcast_id)
        await harness.app.progress.wait(broadcast_id)
    finally:
        await stop_harness(harness, polling)
    assert fake_api.messages_to(ADMIN_ID)[-1].message_id == message_id  # no new message
    final = current_text(harness, live)
    assert final.startswith(f"✅ <b>Broadcast #{broadcast_id}</b> · Sent")
    assert "Sent: 3 · Failed: 0 · Pending: 0 (of 3)" in final
    assert current_buttons(harness, live) == {}


async def test_retry_failed_button_starts_a_retry_with_its_own_progress_message(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    broadcast_id = await add_broadcast(
        factory,
        status=BroadcastStatus.COMPLETED,
        sent=1,
        failed=("network", "server_error", "blocked"),
        sent_at=utcnow(),
        completed_at=utcnow(),
    )
    message_id = await app.progress.attach(broadcast_id, ADMIN_ID)
    final = bot_harness.api.messages_to(ADMIN_ID)[-1]
    assert list(buttons(final)) == ["🔁 Retry failed (2)"]

    [question], _, _ = await bot_harness.click(
        ADMIN_ID, buttons(final)["🔁 Retry failed (2)"], message_id
    )
    assert question.text == text("retry-confirm", count=2, id=str(broadcast_id))
    assert list(buttons(final)) == ["🔁 Retry failed (2)"]  # nothing happened yet
    [new_progress], _, _ = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, send again"], question.message_id
    )
    assert current_text(bot_harness, question) == text(
        "retry-started", count=2, id=str(broadcast_id)
    )
    assert f"Broadcast #{broadcast_id}</b>" in (new_progress.text or "")
    assert current_buttons(bot_harness, final) == {}  # the old button is gone

    await app.sender.wait(broadcast_id)
    await app.progress.wait(broadcast_id)
    assert await status_of(factory, broadcast_id) is BroadcastStatus.COMPLETED  # blocked stays
    assert "Sent: 3 · Failed: 1 · Pending: 0 (of 4)" in current_text(bot_harness, new_progress)
    assert current_buttons(bot_harness, new_progress) == {}  # only a blocked user failed


async def test_retry_command_answers_with_the_count_and_a_progress_message(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    nothing = await add_broadcast(factory, sent=1, failed=("blocked",))
    draft = await add_broadcast(factory, status=BroadcastStatus.DRAFT)
    retried = await add_broadcast(factory, status=BroadcastStatus.FAILED, failed=("network",))

    assert [m.text for m in await bot_harness.send(ADMIN_ID, f"/retry {nothing}")] == [
        text("retry-nothing", id=str(nothing))
    ]
    assert [m.text for m in await bot_harness.send(ADMIN_ID, f"/retry {draft}")] == [
        text("cannot-retry", id=str(draft), status="Draft")
    ]
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/retry x")] == [text("usage-retry")]

    [question] = await bot_harness.send(ADMIN_ID, "/retry", language_code="ru")  # the latest
    assert question.text == f"Рассылка #{retried}: отправить ещё раз 1 получателю?"
    [progress], _, _ = await bot_harness.click(
        ADMIN_ID,
        buttons(question)["Да, отправить ещё раз"],
        question.message_id,
        language_code="ru",
    )
    assert current_text(bot_harness, question) == (
        f"Повторная отправка запущена для 1 получателя (рассылка #{retried})."
    )
    assert f"#{retried}</b>" in (progress.text or "")
    await app.sender.wait(retried)
    assert await status_of(factory, retried) is BroadcastStatus.SENT


# --- /broadcasts ------------------------------------------------------------------------------


async def test_broadcasts_pages_newest_first_and_filters_by_status(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    ids = [await add_broadcast(factory, message=f"Notice {n}") for n in range(11)]
    sending = await add_broadcast(factory, status=BroadcastStatus.SENDING, message="Live one")

    [first] = await bot_harness.send(ADMIN_ID, "/broadcasts")
    listing = first.text or ""
    assert listing.startswith("<b>Broadcasts</b> · All · 12 found · page 1 of 2")
    assert listing.index(f"#{sending}</b>") < listing.index(f"#{ids[-1]}</b>")
    assert f"#{ids[0]}</b>" not in listing  # the oldest is on page 2
    choices = buttons(first)
    assert ListPage.unpack(choices["Next ›"]) == ListPage(page=2)
    assert "• All" in choices and "Sending" in choices

    await bot_harness.click(ADMIN_ID, choices["Next ›"], first.message_id)
    page_two = current_text(bot_harness, first)
    assert "page 2 of 2" in page_two and f"#{ids[0]}</b>" in page_two
    assert "‹ Previous" in current_buttons(bot_harness, first)

    await bot_harness.click(ADMIN_ID, choices["Sending"], first.message_id)
    filtered = current_text(bot_harness, first)
    assert "Sending · 1 found" in filtered and "Live one" in filtered
    assert "• Sending" in current_buttons(bot_harness, first)

    [by_command] = await bot_harness.send(ADMIN_ID, "/broadcasts sending")
    assert by_command.text == filtered
    [bad] = await bot_harness.send(ADMIN_ID, "/broadcasts lost")
    assert bad.text == text(
        "usage-broadcasts", statuses="draft|scheduled|sending|sent|completed|failed|cancelled"
    )


async def test_broadcasts_search_keeps_its_words_across_buttons(bot_harness: BotHarness) -> None:
    factory = bot_harness.app.session_factory
    for n in range(12):
        await add_broadcast(factory, message=f"Exam <{n}> moved")
    await add_broadcast(factory, message="Holiday")
    [found] = await bot_harness.send(ADMIN_ID, "/broadcasts search EXAM")
    assert "12 found · page 1 of 2" in (found.text or "")
    assert "Search: «EXAM»" in (found.text or "")
    assert "Exam &lt;11&gt; moved" in (found.text or "")  # user text is escaped
    assert "Holiday" not in (found.text or "")
    await bot_harness.click(ADMIN_ID, buttons(found)["Next ›"], found.message_id)
    assert "12 found · page 2 of 2" in current_text(bot_harness, found)

    # A new plain /broadcasts forgets the search: the old search buttons say so.
    await bot_harness.send(ADMIN_ID, "/broadcasts")
    _, edits, answers = await bot_harness.click(
        ADMIN_ID, buttons(found)["Next ›"], found.message_id
    )
    assert edits == []
    assert [(a["text"], a.get("show_alert")) for a in answers] == [
        (text("list-search-expired"), True)
    ]


# --- /broadcast, /recipients, /stats ---------------------------------------------------------


async def test_broadcast_details_show_the_documented_fields_and_the_fitting_buttons(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        author = await add_user(session, role=Role.ADMIN, full_name="Anna <Admin>")
    broadcast_id = await add_broadcast(
        factory,
        status=BroadcastStatus.COMPLETED,
        sent=1,
        failed=("network",),
        created_by=author.id,
        message="Tests & exams",
        sent_at=utcnow(),
        completed_at=utcnow(),
    )
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    body = details.text or ""
    assert body.startswith(f"⚠️ <b>Broadcast #{broadcast_id}</b> · Completed with failures")
    assert "Audience: All students" in body
    assert "Created by Anna &lt;Admin&gt; on " in body
    assert "Recipients: 2 · sent 1 · failed 1 · pending 0" in body
    assert body.endswith("Message:\nTests &amp; exams")
    assert list(buttons(details)) == [
        "📊 Progress",
        "👥 Recipients",
        "📄 Export CSV",
        "🔁 Retry failed (1)",
        "✏️ Edit for everyone",  # delivered to someone: it can be corrected or recalled
        "🗑 Delete for everyone",
    ]

    sent, _, _ = await bot_harness.click(
        ADMIN_ID, buttons(details)["📊 Progress"], details.message_id
    )
    assert [f"#{broadcast_id}</b>" in (m.text or "") for m in sent] == [True]
    sent, _, _ = await bot_harness.click(
        ADMIN_ID, buttons(details)["👥 Recipients"], details.message_id
    )
    assert [(m.text or "").startswith(f"<b>Recipients of #{broadcast_id}</b>") for m in sent] == [
        True
    ]

    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/broadcast")] == [
        text("usage-broadcast")
    ]
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/broadcast 77")] == [
        "Broadcast 77 not found"
    ]


async def test_reschedule_from_the_details(bot_harness: BotHarness) -> None:
    app = bot_harness.app
    factory = app.session_factory
    broadcast_id = await add_broadcast(
        factory, status=BroadcastStatus.SCHEDULED, scheduled_at=FAR_FUTURE
    )
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    assert "Scheduled for 15.06.2099 12:00 (Europe/Moscow)" in (details.text or "")
    assert list(buttons(details)) == [
        "🚀 Send now",
        "🕒 Reschedule",
        "✖ Cancel",
    ]
    [ask], _, _ = await bot_harness.click(
        ADMIN_ID, buttons(details)["🕒 Reschedule"], details.message_id
    )
    assert (ask.text or "").startswith(f"Send the new time for broadcast #{broadcast_id}")

    [unreadable] = await bot_harness.send(ADMIN_ID, "someday")
    assert (unreadable.text or "").startswith("I can't read «someday» as a date and time.")
    [past] = await bot_harness.send(ADMIN_ID, "01.01.2020 10:00")
    assert (
        past.text
        == "01.01.2020 10:00 (Europe/Moscow) has already passed; pick a time in the future."
    )

    [done] = await bot_harness.send(ADMIN_ID, "01.12.2098 09:30")
    assert done.text == text(
        "reschedule-done", id=str(broadcast_id), time="01.12.2098 09:30", tz="Europe/Moscow"
    )
    async with factory() as session:
        moved = await session.get(Broadcast, broadcast_id)
    assert moved is not None and moved.scheduled_at is not None
    assert moved.scheduled_at.isoformat() == "2098-12-01T06:30:00+00:00"
    assert app.scheduler.is_armed(broadcast_id)

    # The step is over: plain text is no longer read as a time, only hinted at.
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "01.12.2097 09:30")] == [
        text("admin-hint")
    ]


async def test_reschedule_can_be_abandoned_and_is_refused_once_not_scheduled(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    broadcast_id = await add_broadcast(
        factory, status=BroadcastStatus.SCHEDULED, scheduled_at=FAR_FUTURE
    )
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    reschedule = buttons(details)["🕒 Reschedule"]
    [ask], _, _ = await bot_harness.click(ADMIN_ID, reschedule, details.message_id)
    await bot_harness.click(ADMIN_ID, buttons(ask)["✖ Keep the current time"], ask.message_id)
    assert current_text(bot_harness, ask) == text("reschedule-aborted", id=str(broadcast_id))
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "01.12.2098 09:30")] == [
        text("admin-hint")
    ]

    await bot_harness.app.dispatcher["broadcasts"].cancel_broadcast(broadcast_id)
    sent, _, answers = await bot_harness.click(ADMIN_ID, reschedule, details.message_id)
    assert sent == []
    assert [(a["text"], a.get("show_alert")) for a in answers] == [
        (text("cannot-reschedule", id=str(broadcast_id), status="Cancelled"), True)
    ]


async def test_recipients_pages_filters_and_shows_why_a_send_failed(
    bot_harness: BotHarness,
) -> None:
    broadcast_id = await add_broadcast(
        bot_harness.app.session_factory,
        status=BroadcastStatus.COMPLETED,
        sent=16,
        failed=("blocked",),
        pending=1,
    )
    [page] = await bot_harness.send(ADMIN_ID, f"/recipients {broadcast_id}")
    assert (page.text or "").startswith(
        f"<b>Recipients of #{broadcast_id}</b> · All · 18 found · page 1 of 2"
    )
    assert (page.text or "").count("\n✅ ") == 15
    await bot_harness.click(ADMIN_ID, buttons(page)["Next ›"], page.message_id)
    second = current_text(bot_harness, page)
    assert "page 2 of 2" in second and "⏳ " in second and "❌ " in second

    [failed] = await bot_harness.send(ADMIN_ID, f"/recipients {broadcast_id} failed")
    lines = (failed.text or "").split("\n")
    assert lines[0].startswith(f"<b>Recipients of #{broadcast_id}</b> · Failed · 1 found")
    # The school's own id and the name; the reason once, in words.
    assert re.fullmatch(r"❌ student-\d+ Student \d+ · bot blocked by user", lines[-1])
    assert "• Failed" in buttons(failed)
    await bot_harness.click(ADMIN_ID, buttons(failed)["Pending"], failed.message_id)
    assert "· Pending · 1 found" in current_text(bot_harness, failed)

    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/recipients failed")] == [
        text("usage-recipients")
    ]
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "/recipients 999")] == [
        "Broadcast 999 not found"
    ]


async def test_stats_show_the_documented_monitoring_numbers(bot_harness: BotHarness) -> None:
    factory = bot_harness.app.session_factory
    await add_broadcast(factory, sent=3, failed=("blocked",))
    await add_broadcast(factory, status=BroadcastStatus.DRAFT)
    [stats] = await bot_harness.send(ADMIN_ID, "/stats")
    lines = (stats.text or "").split("\n")
    assert lines[:2] == ["<b>Statistics</b>", "Broadcasts: 2"]
    assert "📝 Draft: 1" in lines and "✅ Sent: 1" in lines and "📤 Sending: 0" in lines
    assert "Recipients: 4 · failed: 1 (25%)" in lines
    assert lines[-1] == text("stats-processing-none")


async def test_a_long_details_message_is_split_below_telegrams_limit(
    bot_harness: BotHarness,
) -> None:
    broadcast_id = await add_broadcast(bot_harness.app.session_factory, message="&<" * 500)
    replies = await bot_harness.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    assert len(replies) == 2
    assert all(len(m.text or "") <= TELEGRAM_TEXT_LIMIT for m in replies)
    assert "".join(m.text or "" for m in replies).endswith("&amp;&lt;" * 500)
    assert buttons(replies[-1])  # the keyboard goes on the last part


# --- who may press what -----------------------------------------------------------------------


async def test_a_stranger_forging_monitoring_buttons_is_refused_and_nothing_changes(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    broadcast_id = await add_broadcast(factory, status=BroadcastStatus.SENDING, pending=1)
    forged = [
        ProgressRefresh(broadcast_id=broadcast_id, lang="en"),
        BroadcastAction(action=BroadcastButton.CANCEL, broadcast_id=broadcast_id),
        BroadcastAction(action=BroadcastButton.RETRY, broadcast_id=broadcast_id),
        BroadcastAction(action=BroadcastButton.SEND, broadcast_id=broadcast_id),
        BroadcastAction(action=BroadcastButton.SCHEDULE, broadcast_id=broadcast_id),
        Confirm(
            action=ConfirmedAction.CANCEL,
            broadcast_id=broadcast_id,
            status=BroadcastStatus.SENDING,
            yes=True,
        ),
        Confirm(
            action=ConfirmedAction.SEND,
            broadcast_id=broadcast_id,
            status=BroadcastStatus.SENDING,
            yes=True,
        ),
        ListPage(page=1),
        RecipientPage(broadcast_id=broadcast_id),
        TimeAbort(action=TimeAction.RESCHEDULE, broadcast_id=broadcast_id),
    ]
    for data in forged:
        sent, edits, answers = await bot_harness.click(STRANGER, data.pack(), message_id=1)
        assert (sent, edits) == ([], []), data
        assert [(a["text"], a.get("show_alert")) for a in answers] == [
            (text("not-allowed"), True)
        ], data
    assert await status_of(factory, broadcast_id) is BroadcastStatus.SENDING
    for command in ("/progress", "/retry", "/cancel", "/broadcasts", "/stats"):
        replies = await bot_harness.send(STRANGER, f"{command} {broadcast_id}")
        assert [m.text for m in replies] == [text("not-allowed")], command


async def test_admin_help_lists_the_monitoring_commands(bot_harness: BotHarness) -> None:
    [help_text] = await bot_harness.send(ADMIN_ID, "/help")
    for command in (
        "/progress",
        "/retry",
        "/cancel",
        "/broadcasts",
        "/broadcast",
        "/recipients",
        "/stats",
    ):
        assert command in (help_text.text or ""), command
