"""Cancel tells the truth: the messages in flight at a cancel still arrive, so the answer
says for whom it was too late, and the progress message ends on the counts recorded once
they are; cancelling a draft or a scheduled broadcast does not talk about recipients.

The engine and the reporter are tested on both databases; the conversations run the
whole application through the fake Bot API, whose held chats keep requests in flight for
exactly as long as a test needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from bot.app import send_policy
from core.i18n import Catalog
from core.settings import Settings
from db.models import Broadcast, BroadcastStatus, Role
from db.session import SessionFactory
from fake_bot_api import Delivered, FakeBotAPI
from handlers.progress_view import progress_renderer
from services.audience import AudienceService
from services.broadcasts import BroadcastService
from services.launcher import BroadcastLauncher
from services.lease import Leases, LeaseTerms
from services.limiter import RateLimiter
from services.progress import ProgressHub
from services.progress_reporter import ProgressReporter
from services.results import CancelOutcome
from services.sender import BroadcastSender
from tests.bot_harness import ADMIN_ID, BotHarness, harness_settings, running_harness
from tests.conftest import TEST_TOKEN
from tests.factories import add_user, broadcast_rules, make_broadcast
from tests.sender_process import make_bot, seed_broadcast
from tests.test_monitoring import buttons, current_buttons, current_text, status_of, text

ADMIN_CHAT = 1000
WORKERS = 14
"""What `SEND_RATE=25` gives: 14 messages in flight at most."""
SETTLE_FOR_TESTS = 30.0
"""Long enough never to run out on a busy machine: the tests release the held requests."""
CATALOG = Catalog("en")
STUDENT_CHATS = range(40_001, 40_001 + WORKERS)


@dataclass
class Engine:
    sender: BroadcastSender
    reporter: ProgressReporter
    broadcasts: BroadcastService
    launcher: BroadcastLauncher


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TEST_TOKEN) as fake:
        yield fake


@pytest.fixture
async def machinery(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> AsyncIterator[Engine]:
    """One bot process's sending engine, progress reporter and launcher."""
    limiter = RateLimiter(1000.0, chat_interval=0.0)  # pacing is not under test here
    bot = make_bot(api.url, limiter)
    hub = ProgressHub()
    sender = BroadcastSender(
        bot, session_factory, send_policy(settings), limiter, hub, workers=WORKERS
    )
    reporter = ProgressReporter(
        bot,
        session_factory,
        hub,
        edit_interval=0.05,
        render=progress_renderer(CATALOG, settings.tz),
    )
    broadcasts = BroadcastService(session_factory, broadcast_rules(settings))
    launcher = BroadcastLauncher(
        broadcasts,
        AudienceService(session_factory),
        sender,
        reporter,
        settle_timeout=SETTLE_FOR_TESTS,
    )
    try:
        yield Engine(sender, reporter, broadcasts, launcher)
    finally:
        await sender.shutdown()
        await reporter.shutdown()
        await bot.session.close()


async def until_cancelled(api: FakeBotAPI, factory: SessionFactory, broadcast_id: int) -> None:
    async def cancelled() -> bool:
        return await status_of(factory, broadcast_id) is BroadcastStatus.CANCELLED

    await api.wait_for(cancelled, message=f"broadcast {broadcast_id} cancelled")


async def until_logged(api: FakeBotAPI, caplog: pytest.LogCaptureFixture, line: str) -> None:
    await api.wait_for(lambda: any(line == r.getMessage() for r in caplog.records), message=line)


def delivered_to(api: FakeBotAPI, chats: range) -> list[int]:
    return sorted(int(d.chat_id) for d in api.delivered if d.chat_id in chats)


def shown(api: FakeBotAPI, message_id: int) -> tuple[str, str]:
    """The text of the admin's message `message_id` as it is now, and its buttons' labels."""
    state = api.current_message(ADMIN_CHAT, message_id)
    assert state is not None
    rows = (state.reply_markup or {}).get("inline_keyboard", [])
    return state.text or "", " ".join(button["text"] for row in rows for button in row)


# --- the engine and the reporter, on both databases ----------------------------------------


async def test_a_cancel_counts_the_messages_in_flight_as_delivered_and_the_rest_as_stopped(
    api: FakeBotAPI,
    session_factory: SessionFactory,
    machinery: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="services.broadcast_run")
    chats = range(30_000, 30_020)
    broadcast_id = await seed_broadcast(session_factory, len(chats), first_chat_id=chats[0])
    for chat_id in chats[:WORKERS]:  # the first 14 go out at once and hang there
        api.hold(chat_id)
    message_id = await machinery.reporter.attach(broadcast_id, ADMIN_CHAT)
    await machinery.sender.start(broadcast_id)
    await api.wait_for(lambda: api.holding == WORKERS)

    cancelling = asyncio.create_task(
        machinery.launcher.cancel(broadcast_id, expected=BroadcastStatus.SENDING)
    )
    await until_logged(api, caplog, f"Broadcast {broadcast_id} is cancelled: stopping")
    assert not cancelling.done()  # the answer waits for the messages in flight
    api.release()
    outcome = await cancelling
    await asyncio.wait_for(machinery.reporter.wait(broadcast_id), 10)

    assert outcome == CancelOutcome(
        broadcast_id, BroadcastStatus.SENDING, sent=14, failed=0, stopped=6, settled=True
    )
    assert delivered_to(api, chats) == list(chats[:WORKERS])  # the 6 queued got nothing
    final, labels = shown(api, message_id)
    assert final.startswith(f"🚫 <b>Broadcast #{broadcast_id}</b> · Cancelled")
    assert "Sent: 14 · Failed: 0 · Pending: 6 (of 20)" in final
    assert labels == "📋 Details"  # no Cancel, no Refresh: it will not change again


async def test_a_cancel_from_anywhere_ends_the_progress_message_on_the_recorded_counts(
    api: FakeBotAPI, session_factory: SessionFactory, machinery: Engine
) -> None:
    """Cancelled through the service alone (as the documented API does): the run stops
    by itself, and the message still waits for what was in flight."""
    chats = range(31_000, 31_000 + WORKERS)
    broadcast_id = await seed_broadcast(session_factory, len(chats), first_chat_id=chats[0])
    for chat_id in chats:
        api.hold(chat_id)
    message_id = await machinery.reporter.attach(broadcast_id, ADMIN_CHAT)
    await machinery.sender.start(broadcast_id)
    await api.wait_for(lambda: api.holding == WORKERS)

    await machinery.broadcasts.cancel_broadcast(broadcast_id)
    api.release()
    await machinery.sender.wait(broadcast_id)
    await asyncio.wait_for(machinery.reporter.wait(broadcast_id), 10)

    assert delivered_to(api, chats) == list(chats)
    final, labels = shown(api, message_id)
    assert "· Cancelled" in final and "Sent: 14 · Failed: 0 · Pending: 0 (of 14)" in final
    assert labels == "📋 Details"


async def test_another_instances_run_is_waited_for_through_its_lease(
    session_factory: SessionFactory, machinery: Engine
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 1, first_chat_id=32_000)
    other = Leases(session_factory, "other-instance", LeaseTerms())
    assert await other.take(broadcast_id) is None
    await machinery.broadcasts.cancel_broadcast(broadcast_id)

    assert await machinery.sender.settle(broadcast_id, within=0.0) is False  # still sending
    await other.release(broadcast_id)
    assert await machinery.sender.settle(broadcast_id, within=SETTLE_FOR_TESTS) is True


async def test_a_followed_cancelled_broadcast_is_redrawn_once_another_instance_is_done(
    api: FakeBotAPI, session_factory: SessionFactory, machinery: Engine
) -> None:
    """After a restart, say: the message is followed here while the run that had messages
    in flight is another instance's, which publishes nothing here."""
    broadcast_id = await seed_broadcast(session_factory, 2, first_chat_id=33_000)
    other = Leases(session_factory, "other-instance", LeaseTerms())
    assert await other.take(broadcast_id) is None
    message_id = await machinery.reporter.attach(broadcast_id, ADMIN_CHAT)
    await machinery.broadcasts.cancel_broadcast(broadcast_id)
    assert await machinery.reporter.follow(broadcast_id)
    await api.wait_for(lambda: "· Cancelled" in shown(api, message_id)[0])
    assert shown(api, message_id)[1] == "🔄 Refresh 📋 Details"  # more may still come

    async with session_factory() as session, session.begin():  # the other run records 2
        await session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(sent_count=2)
        )
    await other.release(broadcast_id)
    await asyncio.wait_for(machinery.reporter.wait(broadcast_id), 10)

    final, labels = shown(api, message_id)
    assert "Sent: 2 · Failed: 0 · Pending: 0 (of 2)" in final and labels == "📋 Details"


# --- the conversation -------------------------------------------------------------------


@contextlib.asynccontextmanager
async def small_school(
    api: FakeBotAPI, database_url: str, language: str
) -> AsyncIterator[BotHarness]:
    """The bot at SEND_RATE=25, as in the report (14 messages in flight at most), speaking
    `language` by default, so its live progress message is in the admin's language."""
    settings = harness_settings(database_url, api.url, send_rate=25, default_language=language)
    async with running_harness(api, settings) as running:
        assert running.app.sender.workers == WORKERS
        running.app.launcher.settle_timeout = SETTLE_FOR_TESTS
        yield running


async def send_to_held_students(
    harness: BotHarness, language: str, count: int
) -> tuple[int, Delivered]:
    """`count` students whose chats hold every request, and a broadcast to all of them
    sent from its details (Send now, Yes); once all are in flight, its id and its live
    progress message."""
    factory = harness.app.session_factory
    async with factory() as session, session.begin():
        for chat_id in STUDENT_CHATS[:count]:
            await add_user(session, role=Role.STUDENT, telegram_id=chat_id)
            harness.api.hold(chat_id)
        draft = await make_broadcast(session, message="The school is closed tomorrow")
    [details] = await harness.send(ADMIN_ID, f"/broadcast {draft.id}", language_code=language)
    send = buttons(details)[text("details-btn-send", language)]
    [question], _, _ = await harness.click(
        ADMIN_ID, send, details.message_id, language_code=language
    )
    yes = buttons(question)[text("send-btn-yes", language)]
    [live], _, _ = await harness.click(ADMIN_ID, yes, question.message_id, language_code=language)
    await harness.api.wait_for(lambda: harness.api.holding == count)
    return draft.id, live


async def cancel_from_progress(
    harness: BotHarness, broadcast_id: int, live: Delivered, language: str
) -> Delivered:
    """Cancel on the live message, then Yes while the messages are held; the held ones are
    let go once the cancel is stored. Returns the question, answered."""
    cancel = buttons(live)[text("progress-btn-cancel", language)]
    [question], _, _ = await harness.click(
        ADMIN_ID, cancel, live.message_id, language_code=language
    )
    yes = buttons(question)[text("cancel-btn-yes", language)]
    clicking = asyncio.create_task(
        harness.click(ADMIN_ID, yes, question.message_id, language_code=language)
    )
    await until_cancelled(harness.api, harness.app.session_factory, broadcast_id)
    harness.api.release()
    await clicking
    await harness.app.sender.wait(broadcast_id)
    await asyncio.wait_for(harness.app.progress.wait(broadcast_id), 10)
    return question


@pytest.mark.parametrize(
    ("language", "answer"),
    [
        ("en", "Broadcast #{id} cancelled. Too late for 14: already delivered."),
        ("ru", "Рассылка #{id} отменена. Уже поздно для 14 получателей: сообщение доставлено."),
    ],
)
async def test_a_small_broadcast_cancelled_with_everyone_in_flight_says_it_was_too_late(
    fake_api: FakeBotAPI, harness_database_url: str, language: str, answer: str
) -> None:
    async with small_school(fake_api, harness_database_url, language) as harness:
        broadcast_id, live = await send_to_held_students(harness, language, WORKERS)
        question = await cancel_from_progress(harness, broadcast_id, live, language)

    assert current_text(harness, question) == answer.format(id=broadcast_id)
    assert current_buttons(harness, question) == {}
    assert delivered_to(harness.api, STUDENT_CHATS) == list(STUDENT_CHATS)
    final = current_text(harness, live)  # redrawn once the 14 were recorded
    assert final.startswith("🚫 <b>") and text("status-cancelled", language) in final
    assert text("progress-counts", language, sent=14, failed=0, pending=0, total=14) in final
    assert list(current_buttons(harness, live)) == [text("progress-btn-details", language)]


@pytest.mark.parametrize(
    ("language", "answer"),
    [
        (
            "en",
            "Broadcast #{id} cancelled. Some messages were still on their way, so up to 14 "
            "will not get it; the progress message will show the final count.",
        ),
        (
            "ru",
            "Рассылка #{id} отменена. Часть сообщений была ещё в пути, поэтому её не получат "
            "не более 14 получателей; точное число покажет сообщение о ходе рассылки.",
        ),
    ],
)
async def test_messages_in_flight_too_long_make_the_answer_say_at_most_and_the_message_follows(
    fake_api: FakeBotAPI, harness_database_url: str, language: str, answer: str
) -> None:
    async with small_school(fake_api, harness_database_url, language) as harness:
        harness.app.launcher.settle_timeout = 0.0  # the answer cannot wait for them
        broadcast_id, live = await send_to_held_students(harness, language, WORKERS)
        question = await cancel_from_progress(harness, broadcast_id, live, language)

    assert current_text(harness, question) == answer.format(id=broadcast_id)
    final = current_text(harness, live)  # redrawn once they were recorded after all
    assert text("progress-counts", language, sent=14, failed=0, pending=0, total=14) in final


@pytest.mark.parametrize(
    ("language", "question_text", "answer"),
    [
        (
            "en",
            "Cancel draft #{id}? It will not be sent.",
            "Draft #{id} cancelled: it will not be sent.",
        ),
        (
            "ru",
            "Отменить черновик #{id}? Он не будет отправлен.",
            "Черновик #{id} отменён: он не будет отправлен.",
        ),
    ],
)
async def test_cancelling_a_draft_does_not_talk_about_recipients(
    bot_harness: BotHarness, language: str, question_text: str, answer: str
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        await add_user(session, role=Role.STUDENT, telegram_id=41_001)
        draft = await make_broadcast(session, status=BroadcastStatus.DRAFT)
    [question] = await bot_harness.send(ADMIN_ID, f"/cancel {draft.id}", language_code=language)
    assert question.text == question_text.format(id=draft.id)

    yes = buttons(question)[text("cancel-btn-yes", language)]
    await bot_harness.click(ADMIN_ID, yes, question.message_id, language_code=language)

    assert current_text(bot_harness, question) == answer.format(id=draft.id)
    assert await status_of(factory, draft.id) is BroadcastStatus.CANCELLED
    assert bot_harness.api.messages_to(41_001) == []
