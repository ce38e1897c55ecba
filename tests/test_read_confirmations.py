"""Read confirmations end to end: the "I have read it" button on every delivered message
of a broadcast that asks for it, presses recorded once and only from the recipient, and
the counts admins see in the details and the progress message.

The real application runs against the fake Bot API over HTTP, on SQLite and PostgreSQL
(`harness_on_each_database`); presses are callback queries on the delivered messages, as
Telegram sends them. Presses are recorded at a fixed time (14:02 in the harness's
Europe/Moscow), so no test depends on the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import send_policy
from core.i18n import Catalog
from core.settings import Settings
from db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    Role,
    TargetGroup,
    User,
)
from db.session import SessionFactory
from fake_bot_api import Delivered, FakeBotAPI
from handlers.callbacks import ReadConfirmation, ReadConfirmed
from handlers.options_view import confirmed_line
from handlers.progress_view import render_progress
from services.confirmations import ConfirmationService, ReadButton
from services.limiter import RateLimiter
from services.progress import ProgressHub, ProgressSnapshot
from services.sender import BroadcastSender
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_recipient, add_user, make_broadcast
from tests.sender_process import make_bot
from tests.test_monitoring import current_text

CATALOG = Catalog("en")
PARENTS = {4001: "ru", 4002: "en", 4003: None, 4004: "de"}
"""Parents' chats and their languages: none and an unsupported one get the default (en)."""
PRESSED_AT = datetime(2026, 12, 1, 11, 2, tzinfo=UTC)  # 14:02 in Europe/Moscow
MOSCOW = ZoneInfo("Europe/Moscow")
READ = "✅ I have read it"
READ_RU = "✅ Ознакомлен(а)"


def t(message_id: str, language: str = "en", **args: Any) -> str:
    return CATALOG.translator(language)(message_id, **args)


@pytest.fixture
async def app(harness_on_each_database: BotHarness) -> BotHarness:
    """The application with the parents in its roster, recording presses at PRESSED_AT."""
    harness = harness_on_each_database
    factory = harness.app.session_factory
    recording: ConfirmationService = harness.app.dispatcher["confirmations"]
    recording.clock = lambda: PRESSED_AT
    async with factory() as session, session.begin():
        for chat_id, language in PARENTS.items():
            parent = await add_user(session, role=Role.PARENT, telegram_id=chat_id)
            parent.language_code = language
    return harness


async def send_to_parents(harness: BotHarness, **options: Any) -> int:
    """A broadcast to all parents, sent now with its progress message in the admin's chat;
    returns once every parent has it and the progress message shows the end."""
    factory = harness.app.session_factory
    async with factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, target_group=TargetGroup.ALL_PARENTS, message="Meeting on Friday", **options
        )
    await harness.app.launcher.send_now(broadcast.id, ADMIN_ID, language="en")
    await harness.app.sender.wait(broadcast.id)
    await harness.app.progress.wait(broadcast.id)
    return broadcast.id


def delivered_to(harness: BotHarness, chat_id: int) -> Delivered:
    [message] = [m for m in harness.api.messages_to(chat_id) if m.text == "Meeting on Friday"]
    return message


async def press(
    harness: BotHarness, from_id: int, message: Delivered, label: str = READ, **kwargs: Any
) -> tuple[list[dict[str, Any]], list[Any]]:
    """`from_id` presses a button of `message` (in the chat it was delivered to); the
    callback answers and the edits of that chat it caused."""
    api = harness.api
    answers, edits = len(api.callback_answers), len(api.edits)
    update_ = api.make_button_press(from_id, message.chat_id, message.message_id, label, **kwargs)
    await harness.push(update_)
    await api.wait_for(lambda: len(api.callback_answers) > answers)
    return api.callback_answers[answers:], api.edits[edits:]


async def push_press(
    harness: BotHarness, from_id: int, data: str, message_id: int, chat_id: int
) -> list[dict[str, Any]]:
    """A press with whatever data a (modified) client sends; its callback answers."""
    api = harness.api
    before = len(api.callback_answers)
    await harness.push(api.make_callback_update(from_id, data, message_id, chat_id=chat_id))
    await api.wait_for(lambda: len(api.callback_answers) > before)
    return api.callback_answers[before:]


async def confirmations(
    harness: BotHarness, broadcast_id: int
) -> dict[int | None, datetime | None]:
    """Chat id -> confirmed_at of each recipient of the broadcast."""
    async with harness.app.session_factory() as session:
        rows = await session.execute(
            select(User.telegram_id, BroadcastRecipient.confirmed_at)
            .join(User, User.id == BroadcastRecipient.recipient_id)
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
        )
        return {chat_id: confirmed_at for chat_id, confirmed_at in rows.all()}


def read_keyboard(label: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": label, "callback_data": ReadConfirmation().pack()}]]}


# --- the button -----------------------------------------------------------------------------


async def test_every_delivered_message_carries_the_button_in_its_recipients_language(
    app: BotHarness,
) -> None:
    await send_to_parents(app, ask_confirmation=True)
    labels = {
        chat_id: READ_RU if language == "ru" else READ for chat_id, language in PARENTS.items()
    }
    for chat_id, label in labels.items():
        assert delivered_to(app, chat_id).reply_markup == read_keyboard(label), chat_id
    assert len(ReadConfirmation().pack().encode()) <= 64


async def test_without_the_option_messages_carry_no_button_and_nobody_is_counted(
    app: BotHarness,
) -> None:
    broadcast_id = await send_to_parents(app)
    assert all(delivered_to(app, chat_id).reply_markup is None for chat_id in PARENTS)
    assert "Confirmed" not in current_text(app, app.api.messages_to(ADMIN_ID)[-1])
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    assert "Confirmed" not in (details.text or "")
    # A press forged onto a message of a broadcast that does not ask records nothing.
    message = delivered_to(app, 4002)
    [answer] = await push_press(
        app, 4002, ReadConfirmation().pack(), message.message_id, chat_id=4002
    )
    assert (answer["show_alert"], answer["text"]) == (True, t("read-refused"))
    assert set((await confirmations(app, broadcast_id)).values()) == {None}


# --- pressing it ----------------------------------------------------------------------------


async def test_a_press_is_answered_recorded_once_and_the_button_becomes_confirmed(
    app: BotHarness,
) -> None:
    broadcast_id = await send_to_parents(app, ask_confirmation=True)
    message = delivered_to(app, 4002)
    answers, edits = await press(app, 4002, message)
    assert [(a.get("show_alert"), a["text"]) for a in answers] == [(None, t("read-thanks"))]
    confirmed = {"inline_keyboard": [[{"text": "✅ Confirmed 14:02", "callback_data": "rdk"}]]}
    assert [(e.method, e.chat_id, e.message_id, e.reply_markup) for e in edits] == [
        ("editMessageReplyMarkup", 4002, message.message_id, confirmed)
    ]
    assert current_text(app, message) == "Meeting on Friday"
    methods = [r.method for r in app.api.requests if r.method != "getUpdates"]
    assert methods[-2:] == ["answerCallbackQuery", "editMessageReplyMarkup"]  # answered first
    assert await confirmations(app, broadcast_id) == {
        4001: None,
        4002: PRESSED_AT,
        4003: None,
        4004: None,
    }

    # Pressed again (a client still showing the old button): nothing changes.
    app.app.dispatcher["confirmations"].clock = lambda: PRESSED_AT + timedelta(hours=1)
    answers = await push_press(
        app, 4002, ReadConfirmation().pack(), message.message_id, chat_id=4002
    )
    assert [(a.get("show_alert"), a["text"]) for a in answers] == [
        (None, t("read-already", time="14:02"))
    ]
    assert (await confirmations(app, broadcast_id))[4002] == PRESSED_AT
    assert app.api.edits_of(4002) == edits

    # The "Confirmed" button only answers.
    answers, edits = await press(app, 4002, message, "✅ Confirmed 14:02")
    assert [(a.get("show_alert"), a["text"]) for a in answers] == [(None, t("read-done"))]
    assert edits == []
    assert ReadConfirmed().pack() == "rdk"


async def test_a_confirmed_edit_that_meets_a_flood_wait_is_made_again(app: BotHarness) -> None:
    """The edit waits out the 429 (which pauses the limiter for every sender) and is made
    again; the press was answered and recorded before it, whatever the edit met."""
    broadcast_id = await send_to_parents(app, ask_confirmation=True)
    message = delivered_to(app, 4002)
    app.api.set_flaky(4002, 1, mode="flood")

    answers, _ = await press(app, 4002, message)
    await app.api.wait_for(lambda: app.api.edits_of(4002))

    assert [a["text"] for a in answers] == [t("read-thanks")]
    assert [r.status for r in app.api.requests_for("editMessageReplyMarkup")] == [429, 200]
    [edit] = app.api.edits_of(4002)
    assert edit.reply_markup == {
        "inline_keyboard": [[{"text": "✅ Confirmed 14:02", "callback_data": "rdk"}]]
    }
    assert (await confirmations(app, broadcast_id))[4002] == PRESSED_AT


async def test_a_russian_press_gets_russian_words(app: BotHarness) -> None:
    await send_to_parents(app, ask_confirmation=True)
    message = delivered_to(app, 4001)
    answers, edits = await press(app, 4001, message, READ_RU, language_code="ru")
    assert answers[0]["text"] == "Спасибо, подтверждение записано."
    assert edits[0].reply_markup == {
        "inline_keyboard": [[{"text": "✅ Подтверждено 14:02", "callback_data": "rdk"}]]
    }


async def test_another_users_press_and_forged_presses_record_nothing_and_get_an_alert(
    app: BotHarness,
) -> None:
    broadcast_id = await send_to_parents(app, ask_confirmation=True)
    first, second = delivered_to(app, 4001), delivered_to(app, 4002)
    data = ReadConfirmation().pack()
    refused = (True, t("read-refused"))

    # Another recipient pressing the button of the first one's message.
    answers, _ = await press(app, 4002, first, READ_RU)
    assert [(a["show_alert"], a["text"]) for a in answers] == [refused]
    # The button pressed on a message of their own chat that the bot never delivered...
    [answer] = await push_press(app, 4002, data, second.message_id + 50, chat_id=4002)
    assert (answer["show_alert"], answer["text"]) == refused
    # ...or on the progress message in the admin's chat, by the admin.
    progress = app.api.messages_to(ADMIN_ID)[-1]
    [answer] = await push_press(app, ADMIN_ID, data, progress.message_id, chat_id=ADMIN_ID)
    assert (answer["show_alert"], answer["text"]) == refused
    # Data with a row or broadcast id in it is not a press of this button at all.
    [answer] = await push_press(app, 4002, f"{data}:{broadcast_id}", second.message_id, 4002)
    assert answer["show_alert"] is True

    assert set((await confirmations(app, broadcast_id)).values()) == {None}
    assert [e for e in app.api.edits if e.chat_id in PARENTS] == []


async def test_a_confirmation_after_the_broadcast_was_cancelled_still_counts(
    app: BotHarness,
) -> None:
    broadcast_id = await send_to_parents(app, ask_confirmation=True)
    async with app.app.session_factory() as session, session.begin():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(status=BroadcastStatus.CANCELLED, cancelled_at=PRESSED_AT)
        )
    answers, _ = await press(app, 4003, delivered_to(app, 4003))
    assert answers[0]["text"] == t("read-thanks")
    assert (await confirmations(app, broadcast_id))[4003] == PRESSED_AT


# --- what the admin sees ------------------------------------------------------------------


async def test_the_details_and_the_progress_count_the_confirmations(app: BotHarness) -> None:
    broadcast_id = await send_to_parents(app, ask_confirmation=True)
    live = current_text(app, app.api.messages_to(ADMIN_ID)[-1])
    assert "Confirmed: 0 of 4 delivered (0%)" in live.split("\n")
    for chat_id in (4002, 4003, 4004):
        await press(app, chat_id, delivered_to(app, chat_id))

    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    assert "Confirmed: 3 of 4 delivered (75%)" in (details.text or "").split("\n")
    assert "Options: asks to confirm reading" in (details.text or "").split("\n")
    [progress] = await app.send(ADMIN_ID, f"/progress {broadcast_id}")
    assert "Confirmed: 3 of 4 delivered (75%)" in (progress.text or "").split("\n")
    [russian] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code="ru")
    lines = (russian.text or "").split("\n")
    assert "Подтвердили прочтение: 3 из 4 получивших (75\xa0%)" in lines
    assert "Параметры: с подтверждением прочтения" in lines


async def test_the_engine_publishes_the_confirmations_with_its_progress(
    session_factory: SessionFactory, settings: Settings, fake_api: FakeBotAPI
) -> None:
    """What the live progress message is drawn from while sending: the engine's snapshots
    carry the confirmations counted so far (here one, by a recipient sent to earlier)."""
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            status=BroadcastStatus.SENDING,
            ask_confirmation=True,
            recipient_count=3,
            sent_count=1,
        )
        earlier = await add_user(session, role=Role.PARENT, telegram_id=4101)
        row = await add_recipient(session, broadcast, earlier, status=RecipientStatus.SENT)
        row.confirmed_at = PRESSED_AT
        for chat_id, language in ((4102, "ru"), (4103, None)):
            parent = await add_user(session, role=Role.PARENT, telegram_id=chat_id)
            parent.language_code = language
            await add_recipient(session, broadcast, parent)
    limiter = RateLimiter(1000)
    bot = make_bot(fake_api.url, limiter)
    hub = ProgressHub()
    button = ReadButton(lambda language: f"Read ({language})", "rd")
    sender = BroadcastSender(
        bot, session_factory, send_policy(settings), limiter, hub, read_button=button
    )
    try:
        with hub.subscribe(broadcast.id) as subscription:
            await sender.start(broadcast.id)
            await sender.wait(broadcast.id)
            last = subscription.newest()
    finally:
        await sender.shutdown()
        await bot.session.close()
    assert last is not None
    assert (last.status, last.sent, last.confirmed) == (BroadcastStatus.SENT, 3, 1)
    labels = {chat_id: fake_api.messages_to(chat_id)[0].reply_markup for chat_id in (4102, 4103)}
    assert labels == {
        4102: {"inline_keyboard": [[{"text": "Read (ru)", "callback_data": "rd"}]]},
        4103: {"inline_keyboard": [[{"text": "Read (None)", "callback_data": "rd"}]]},
    }


EN, RU = CATALOG.translator("en"), CATALOG.translator("ru")


@pytest.mark.parametrize(
    ("translator", "confirmed", "delivered", "line"),
    [
        (EN, 812, 1011, "Confirmed: 812 of 1,011 delivered (80%)"),
        (RU, 812, 1011, "Подтвердили прочтение: 812 из 1\xa0011 получивших (80\xa0%)"),
        (RU, 1, 21, "Подтвердили прочтение: 1 из 21 получившего (4\xa0%)"),
        (EN, 999, 1000, "Confirmed: 999 of 1,000 delivered (99%)"),  # 100% only when all have
        (EN, 0, 0, "Confirmed: 0 of 0 delivered (0%)"),
    ],
)
def test_the_confirmed_line_formats_numbers_and_plurals(
    translator: Any, confirmed: int, delivered: int, line: str
) -> None:
    assert confirmed_line(translator, confirmed, delivered) == line


def test_the_progress_message_counts_confirmations_only_when_asked() -> None:
    asked = ProgressSnapshot(9, BroadcastStatus.SENT, 1011, 1011, 0, confirmed=812)
    text, _ = render_progress(EN, asked, MOSCOW)
    assert "Confirmed: 812 of 1,011 delivered (80%)" in text.split("\n")
    text, _ = render_progress(EN, ProgressSnapshot(9, BroadcastStatus.SENT, 1011, 1011, 0), MOSCOW)
    assert "Confirmed" not in text
