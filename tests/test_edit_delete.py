"""Edit and delete for everyone, end to end: the admin's buttons and questions, the runs
of the engine that edit or delete every delivered message in the fake Bot API, the
recipients still pending of a broadcast being sent, the 48 hours of a delete, the rules
(a delete done, a run still going), and both languages.

The real application runs against the fake Bot API over HTTP, on SQLite and PostgreSQL
(`harness_on_each_database`). Times that matter are fixed: the service's clock and the
delivery times of the announcement's rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from db.models import (
    Broadcast,
    BroadcastEvent,
    BroadcastKind,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    Role,
    TargetGroup,
    User,
)
from handlers.callbacks import AmendConfirm, AmendKind, BroadcastAction, BroadcastButton
from services.amend_launcher import AmendLauncher
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_user, make_broadcast
from tests.test_monitoring import buttons
from tests.test_read_confirmations import PRESSED_AT, READ, press

PARENTS = {4001: "ru", 4002: "en", 4003: None}
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
BOLD = [{"type": "bold", "offset": 11, "length": 8}]


@pytest.fixture
async def app(harness_on_each_database: BotHarness) -> BotHarness:
    harness = harness_on_each_database
    harness.app.dispatcher["confirmations"].clock = lambda: PRESSED_AT
    amend(harness).service.clock = lambda: NOW
    async with harness.app.session_factory() as session, session.begin():
        for chat_id, language in PARENTS.items():
            parent = await add_user(session, role=Role.PARENT, telegram_id=chat_id)
            parent.language_code = language
    return harness


def amend(harness: BotHarness) -> AmendLauncher:
    launcher: AmendLauncher = harness.app.dispatcher["amend"]
    return launcher


async def send(harness: BotHarness, *, delivered_at: datetime = NOW, **options: Any) -> int:
    """A broadcast to all parents, sent; its rows delivered at `delivered_at`."""
    factory = harness.app.session_factory
    async with factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, target_group=TargetGroup.ALL_PARENTS, message="Meeting on Friday", **options
        )
    await harness.app.launcher.send_now(broadcast.id, ADMIN_ID, language="en")
    await harness.app.sender.wait(broadcast.id)
    await harness.app.progress.wait(broadcast.id)
    async with factory() as session, session.begin():
        await session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.broadcast_id == broadcast.id)
            .values(sent_at=delivered_at)
        )
    return broadcast.id


async def run_of(harness: BotHarness, broadcast_id: int, kind: BroadcastKind) -> Broadcast:
    """The announcement's run of `kind`, once the engine has finished it."""
    async with harness.app.session_factory() as session:
        run = await session.scalar(
            select(Broadcast).where(Broadcast.parent_id == broadcast_id, Broadcast.kind == kind)
        )
    assert run is not None
    await harness.app.sender.wait(run.id)
    await harness.app.progress.wait(run.id)
    async with harness.app.session_factory() as session:
        finished = await session.get(Broadcast, run.id)
    assert finished is not None
    return finished


def message_of(harness: BotHarness, chat_id: int) -> Any:
    [delivered] = [m for m in harness.api.messages_to(chat_id) if m.method == "sendMessage"]
    return delivered


async def click(
    harness: BotHarness, data: Any, *, language: str = "en"
) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    anchor = harness.last_message(ADMIN_ID).message_id
    return await harness.click(ADMIN_ID, data.pack(), anchor, language_code=language)


async def edit_through_the_bot(
    harness: BotHarness, broadcast_id: int, text: str, *, language: str = "en"
) -> list[str]:
    """Edit → the corrected text → Yes; the admin's screens on the way."""
    edit = BroadcastAction(action=BroadcastButton.EDIT, broadcast_id=broadcast_id)
    asked, _, _ = await click(harness, edit, language=language)
    shown = await harness.send(ADMIN_ID, text, entities=BOLD, language_code=language)
    yes = AmendConfirm(kind=AmendKind.EDIT, broadcast_id=broadcast_id, yes=True)
    _, edits, answers = await click(harness, yes, language=language)
    assert answers
    return [m.text for m in asked + shown] + [e.text for e in edits]


# --- edit ------------------------------------------------------------------------------------


async def test_an_edit_corrects_every_delivered_message_keeping_its_entities_and_buttons(
    app: BotHarness,
) -> None:
    broadcast_id = await send(app, ask_confirmation=True)
    await press(app, 4002, message_of(app, 4002), READ)  # confirmed at 14:02 Moscow

    screens = await edit_through_the_bot(app, broadcast_id, "Meeting on Thursday")
    run = await run_of(app, broadcast_id, BroadcastKind.EDIT)

    assert "It will replace the text of 3 delivered messages." in screens[0]
    assert screens[1] == "Meeting on Thursday"  # the preview, as it will read
    assert "3 delivered messages change" in screens[2]
    assert "Editing broadcast" in screens[3]
    assert (run.status, run.recipient_count, run.sent_count) == (BroadcastStatus.SENT, 3, 3)
    labels = {}
    for chat_id in PARENTS:
        state = app.api.current_message(chat_id, message_of(app, chat_id).message_id)
        assert state is not None and state.text == "Meeting on Thursday"
        assert state.entities == BOLD
        assert state.reply_markup is not None
        labels[chat_id] = state.reply_markup["inline_keyboard"][0][0]["text"]
    assert labels == {4001: "✅ Ознакомлен(а)", 4002: "✅ Confirmed 14:02", 4003: READ}
    async with app.app.session_factory() as session:
        announcement = await session.get(Broadcast, broadcast_id)
    assert announcement is not None and announcement.message == "Meeting on Thursday"


async def test_a_message_the_recipient_deleted_is_counted_apart_and_the_same_text_is_done(
    app: BotHarness,
) -> None:
    broadcast_id = await send(app)
    gone = message_of(app, 4001)
    app.api._messages.pop(4001, gone.message_id)  # the parent deleted it in their chat

    await amend(app).edit(
        broadcast_id,
        "Meeting on Friday",  # what the messages say already: "not modified", done
        None,
        actor_id=None,
        progress_chat_id=None,
        language="en",
    )
    run = await run_of(app, broadcast_id, BroadcastKind.EDIT)

    assert (run.sent_count, run.failed_count, run.status) == (2, 1, BroadcastStatus.COMPLETED)
    async with app.app.session_factory() as session:
        codes = await session.scalars(
            select(BroadcastRecipient.error_code).where(
                BroadcastRecipient.broadcast_id == run.id,
                BroadcastRecipient.status == RecipientStatus.FAILED,
            )
        )
        assert list(codes) == ["message_gone"]


async def test_an_over_long_text_is_refused_like_in_the_wizard_and_the_step_stays(
    app: BotHarness,
) -> None:
    broadcast_id = await send(app)
    edit = BroadcastAction(action=BroadcastButton.EDIT, broadcast_id=broadcast_id)
    await click(app, edit)
    assert app.app.settings.message_max_length == 1000
    [refusal] = await app.send(ADMIN_ID, "x" * 1001)
    assert refusal.text == "The message is 1,001 characters long; the limit is 1,000."
    shown = await app.send(ADMIN_ID, "Meeting on Thursday")
    assert shown[0].text == "Meeting on Thursday"


async def test_a_stale_or_forged_yes_is_answered_and_edits_nothing(app: BotHarness) -> None:
    broadcast_id = await send(app)
    yes = AmendConfirm(kind=AmendKind.EDIT, broadcast_id=broadcast_id, yes=True)
    _, edits, answers = await click(app, yes)
    assert answers[-1]["text"].startswith("This edit is no longer open")
    assert edits == []
    async with app.app.session_factory() as session:
        runs = await session.scalars(select(Broadcast.id).where(Broadcast.parent_id.is_not(None)))
        assert list(runs) == []


# --- delete ----------------------------------------------------------------------------------


async def test_a_delete_removes_every_delivered_message_but_not_those_past_48_hours(
    app: BotHarness,
) -> None:
    broadcast_id = await send(app, ask_confirmation=True)
    old = message_of(app, 4003)
    async with app.app.session_factory() as session, session.begin():
        await session.execute(
            update(BroadcastRecipient)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.recipient_id.in_(
                    select(User.id).where(User.telegram_id == old.chat_id)
                ),
            )
            .values(sent_at=NOW - timedelta(hours=49))
        )
    delete = BroadcastAction(action=BroadcastButton.DELETE, broadcast_id=broadcast_id)
    asked, _, _ = await click(app, delete, language="ru")
    yes = AmendConfirm(kind=AmendKind.DELETE, broadcast_id=broadcast_id, yes=True)
    _, _, confirmed = await click(app, yes, language="ru")
    assert confirmed == [{"callback_query_id": confirmed[0]["callback_query_id"]}]
    run = await run_of(app, broadcast_id, BroadcastKind.DELETE)

    assert "Будут удалены 2 доставленных сообщения." in asked[0].text
    assert "1 сообщение старше 48 часов" in asked[0].text
    assert (run.recipient_count, run.sent_count) == (2, 2)
    assert sorted(chat for chat, _ in app.api.deleted) == [4001, 4002]
    assert app.api.current_message(4003, old.message_id) is not None

    _, _, answers = await click(app, delete)
    assert answers[-1]["text"].startswith(f"Broadcast #{broadcast_id} was deleted for everyone")
    # The details offer no edit, delete or reminder of it any more.
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    labels = set(buttons(details))
    assert "📄 Export CSV" in labels
    assert not labels & {"✏️ Edit for everyone", "🗑 Delete for everyone"}
    assert not any(label.startswith("🔔") for label in labels)


async def test_a_delete_while_an_edit_runs_is_refused(app: BotHarness) -> None:
    broadcast_id = await send(app)
    async with app.app.session_factory() as session, session.begin():
        await make_broadcast(
            session,
            kind=BroadcastKind.EDIT,
            parent_id=broadcast_id,
            status=BroadcastStatus.SENDING,
            target_group=TargetGroup.ALL_PARENTS,
        )
    delete = BroadcastAction(action=BroadcastButton.DELETE, broadcast_id=broadcast_id)
    _, _, answers = await click(app, delete)
    assert "is being edited right now" in answers[-1]["text"]
    assert app.api.deleted == []


# --- a broadcast still sending, and a restart ------------------------------------------------


async def sending_with_one_in_flight(harness: BotHarness) -> int:
    """A broadcast being sent: 4001 and 4002 have it, the send to 4003 is held."""
    harness.api.hold(4003)
    factory = harness.app.session_factory
    async with factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, target_group=TargetGroup.ALL_PARENTS, message="Meeting on Friday"
        )
    await harness.app.launcher.send_now(broadcast.id, ADMIN_ID, language="en")
    await harness.api.wait_for(lambda: harness.api.holding == 1)
    for _ in range(1000):  # until 4001 and 4002 are durable (10 s at most)
        if await recorded(harness, broadcast.id) == 2:
            return broadcast.id
        await asyncio.sleep(0.01)
    raise AssertionError("the deliveries to 4001 and 4002 were not recorded")


async def recorded(harness: BotHarness, broadcast_id: int) -> int:
    async with harness.app.session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    return broadcast.sent_count


async def test_an_edit_while_sending_corrects_the_message_in_flight_once(app: BotHarness) -> None:
    broadcast_id = await sending_with_one_in_flight(app)

    await amend(app).edit(
        broadcast_id,
        "Meeting on Thursday",
        None,
        actor_id=None,
        progress_chat_id=None,
        language=None,
    )
    app.api.release()
    await app.app.sender.wait(broadcast_id)
    await run_of(app, broadcast_id, BroadcastKind.EDIT)

    for chat_id in PARENTS:
        [message] = [m for m in app.api.messages_to(chat_id) if m.method == "sendMessage"]
        state = app.api.current_message(chat_id, message.message_id)
        assert state is not None and state.text == "Meeting on Thursday", chat_id


async def test_a_delete_while_sending_cancels_it_and_deletes_the_message_in_flight_too(
    app: BotHarness,
) -> None:
    broadcast_id = await sending_with_one_in_flight(app)

    created = await amend(app).delete(
        broadcast_id, actor_id=None, progress_chat_id=None, language=None
    )
    app.api.release()
    await app.app.sender.wait(broadcast_id)
    await run_of(app, broadcast_id, BroadcastKind.DELETE)

    async with app.app.session_factory() as session:
        announcement = await session.get(Broadcast, broadcast_id)
    assert announcement is not None and announcement.status is BroadcastStatus.CANCELLED
    assert sorted(chat for chat, _ in app.api.deleted) == sorted(PARENTS)
    assert created.created.cancelled == 1  # the one in flight was still pending then


async def left_sending(harness: BotHarness) -> int:
    """A broadcast an instance that crashed left `sending`: 4001 has it, 4002 and 4003
    are still pending, and nobody holds its lease."""
    factory = harness.app.session_factory
    delivered = await harness.app.bot.send_message(4001, "Meeting on Friday", parse_mode=None)
    async with factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            target_group=TargetGroup.ALL_PARENTS,
            message="Meeting on Friday",
            status=BroadcastStatus.SENDING,
            sent_at=NOW,
            recipient_count=3,
            sent_count=1,
        )
        found = await session.execute(
            select(User.telegram_id, User.id).where(User.role == Role.PARENT)
        )
        users = {chat_id: user_id for chat_id, user_id in found}
        for chat_id in PARENTS:
            sent = chat_id == 4001
            session.add(
                BroadcastRecipient(
                    broadcast_id=broadcast.id,
                    recipient_id=users[chat_id],
                    status=RecipientStatus.SENT if sent else RecipientStatus.PENDING,
                    telegram_sent=sent,
                    telegram_message_id=str(delivered.message_id) if sent else None,
                    sent_at=NOW if sent else None,
                )
            )
    return broadcast.id


async def test_after_a_restart_those_pending_get_the_corrected_text(app: BotHarness) -> None:
    broadcast_id = await left_sending(app)
    created = await amend(app).service.edit(broadcast_id, "Meeting on Thursday", BOLD, None)

    resumed = await app.app.launcher.resume_all()
    await app.app.sender.wait(broadcast_id)
    await app.app.sender.wait(created.run_id)

    assert sorted(resumed) == sorted([broadcast_id, created.run_id])
    assert created.count == 1
    for chat_id in PARENTS:
        [message] = app.api.messages_to(chat_id)
        state = app.api.current_message(chat_id, message.message_id)
        assert state is not None and (state.text, state.entities) == ("Meeting on Thursday", BOLD)
    assert [m.method for m in app.api.messages_to(4002)] == ["sendMessage"]


async def test_after_a_restart_a_deleted_broadcast_is_not_sent_to_those_pending(
    app: BotHarness,
) -> None:
    broadcast_id = await left_sending(app)
    created = await amend(app).service.delete(broadcast_id, None)

    resumed = await app.app.launcher.resume_all()
    await app.app.sender.wait(created.run_id)

    assert resumed == [created.run_id]
    assert (created.count, created.cancelled) == (1, 2)
    assert [chat for chat, _ in app.api.deleted] == [4001]
    assert app.api.messages_to(4002) == app.api.messages_to(4003) == []


# --- the history -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "edited", "deleted"),
    [
        ("en", "edited by Irina Admin; it read: «Meeting on Friday»", "deleted for everyone by"),
        ("ru", "исправил(а) Irina Admin; было: «Meeting on Friday»", "удалил(а) у всех Irina"),
    ],
)
async def test_the_details_show_the_history_with_the_text_before_the_edit(
    app: BotHarness, language: str, edited: str, deleted: str
) -> None:
    async with app.app.session_factory() as session, session.begin():
        await add_user(session, role=Role.ADMIN, telegram_id=ADMIN_ID, full_name="Irina Admin")
    broadcast_id = await send(app)
    async with app.app.session_factory() as session, session.begin():  # sent at a fixed time
        await session.execute(
            update(BroadcastEvent)
            .where(BroadcastEvent.broadcast_id == broadcast_id)
            .values(at=NOW - timedelta(minutes=10))
        )
    await edit_through_the_bot(app, broadcast_id, "Meeting on Thursday", language=language)
    await run_of(app, broadcast_id, BroadcastKind.EDIT)
    amend(app).service.clock = lambda: NOW + timedelta(minutes=5)
    delete = AmendConfirm(kind=AmendKind.DELETE, broadcast_id=broadcast_id, yes=True)
    await click(app, delete, language=language)
    await run_of(app, broadcast_id, BroadcastKind.DELETE)

    opened = BroadcastAction(action=BroadcastButton.OPEN, broadcast_id=broadcast_id)
    shown, _, _ = await click(app, opened, language=language)

    text = shown[-1].text or ""
    history = text[text.index("<b>") :].splitlines()[-3:]
    assert history[0].startswith("02.12.2026 11:50 · ")  # sending started, by the bot
    assert history[0].endswith("the bot" if language == "en" else "бот")
    assert history[1] == f"02.12.2026 12:00 · {edited}"  # 09:00 UTC in Moscow
    assert history[2].startswith("02.12.2026 12:05 · ") and deleted in history[2]
    assert "Meeting on Thursday" in text  # the text as it reads now


async def test_the_export_has_each_recipients_edit_and_delete_and_the_history_beside_it(
    app: BotHarness,
) -> None:
    broadcast_id = await send(app)
    gone = message_of(app, 4001)
    app.api._messages.pop(4001, gone.message_id)  # the parent deleted it themselves
    await amend(app).edit(
        broadcast_id,
        "Meeting on Thursday",
        None,
        actor_id=None,
        progress_chat_id=None,
        language=None,
    )
    await run_of(app, broadcast_id, BroadcastKind.EDIT)
    amend(app).service.clock = lambda: NOW + timedelta(minutes=5)
    await amend(app).delete(broadcast_id, actor_id=None, progress_chat_id=None, language=None)
    await run_of(app, broadcast_id, BroadcastKind.DELETE)

    export = BroadcastAction(action=BroadcastButton.EXPORT, broadcast_id=broadcast_id)
    sent, _, _ = await click(app, export)

    recipients, history = (app.api.upload_of(document) for document in sent)
    assert history.filename == f"broadcast-{broadcast_id}-history.csv"
    rows = list(csv.reader(io.StringIO(recipients.content.decode("utf-8-sig"))))
    assert rows[0][-3:] == [
        "Edited at (Europe/Moscow)",
        "Deleted at (Europe/Moscow)",
        "Edit or delete error",
    ]
    amended = sorted(tuple(row[-3:]) for row in rows[1:])
    assert amended[0] == ("", "", "message deleted by the recipient")  # 4001: edit and delete
    assert [row[2] for row in amended[1:]] == ["", ""]  # 4002 and 4003: edited, then deleted
    assert all(row[0] and row[1] for row in amended[1:])
    events = list(csv.reader(io.StringIO(history.content.decode("utf-8-sig"))))
    assert events[0] == ["When (Europe/Moscow)", "Who", "What", "Text before the edit"]
    assert [row[2:] for row in events[-2:]] == [
        ["edited for everyone", "Meeting on Friday"],
        ["deleted for everyone", ""],
    ]
    assert events[-1][0] == "2026-12-02 12:05:00"
