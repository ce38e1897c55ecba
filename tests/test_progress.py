"""Live progress: the hub, the default rendering, and the reporter that edits one message
in the admin's chat while the engine sends (against the fake Bot API)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import send_policy
from core.i18n import Catalog
from core.settings import Settings
from db.models import Broadcast, BroadcastRecipient, BroadcastStatus, User
from db.session import SessionFactory
from db.types import utcnow
from fake_bot_api import FakeBotAPI
from handlers.progress_view import progress_renderer
from services.limiter import RateLimiter
from services.progress import (
    ProgressHub,
    ProgressSnapshot,
    RunProgress,
    read_snapshot,
    render_plain,
)
from services.progress_reporter import ProgressReporter
from services.sender import BroadcastSender
from tests.conftest import TEST_TOKEN
from tests.sender_process import make_bot, seed_broadcast

ADMIN_CHAT = 1000
MOSCOW = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def snapshot(
    status: BroadcastStatus = BroadcastStatus.SENDING, **fields: object
) -> ProgressSnapshot:
    values: dict[str, object] = {"broadcast_id": 7, "status": status, "total": 200}
    values.update({"sent": 40, "failed": 10, "rate": 30.0, "eta_seconds": 5.0})
    values.update(fields)
    return ProgressSnapshot(**values)  # type: ignore[arg-type]


def test_the_hub_hands_each_subscriber_only_the_latest_snapshot() -> None:
    hub = ProgressHub()
    hub.publish(snapshot())  # nobody listens: nothing happens
    assert not hub.is_watched(7)
    with hub.subscribe(7) as subscription, hub.subscribe(8) as other:
        assert hub.is_watched(7)
        hub.publish(snapshot(sent=41))
        hub.publish(snapshot(sent=42))
        assert subscription.newest() == snapshot(sent=42)
        assert subscription.newest() is None
        assert other.newest() is None
    assert not hub.is_watched(7) and not hub.is_watched(8)


def test_the_plain_rendering_shows_bar_counters_rate_eta_and_errors() -> None:
    text, markup = render_plain(snapshot(errors=(("blocked", 7), ("chat_not_found", 3))))
    assert markup is None
    assert "Broadcast #7: sending" in text
    assert "█████░░░░░░░░░░░░░░░ 25%" in text
    assert "Sent: 40 · Failed: 10 · Pending: 150 (of 200)" in text
    assert "Rate: 30.0 msg/s · ETA: 0:05" in text
    assert "Errors: blocked (7), chat_not_found (3)" in text

    final, _ = render_plain(snapshot(BroadcastStatus.COMPLETED, sent=190, failed=10))
    assert "100%" in final and "Pending: 0" in final and "ETA" not in final

    paused, _ = render_plain(snapshot(paused=True))
    assert "Paused: database unavailable, retrying" in paused and "Rate" not in paused

    waiting, _ = render_plain(
        snapshot(sent=190, failed=7, retry_waiting=3, next_retry_at=NOON + timedelta(seconds=70))
    )
    assert "Waiting for retries: 3 pending, next at 12:01:10 UTC" in waiting
    assert "Rate" not in waiting

    took, _ = render_plain(snapshot(BroadcastStatus.SENT, sent=200, failed=0, took_seconds=134))
    assert "Took 2:14" in took.split("\n")


def test_a_run_marks_its_last_counters_paused_and_then_goes_on() -> None:
    hub = ProgressHub()
    progress = RunProgress(hub, 7)
    failed = {"blocked": 10}
    with hub.subscribe(7) as subscription:
        progress.publish(BroadcastStatus.SENDING, 200, 40, 10, failed)
        first = subscription.newest()
        assert first is not None and not first.paused and first.errors == (("blocked", 10),)
        progress.pause(True)  # the database is away: the last counters, marked paused
        assert subscription.newest() == replace(first, paused=True, rate=0.0, eta_seconds=None)
        progress.publish(BroadcastStatus.SENDING, 200, 45, 10, failed)
        latest = subscription.newest()
        assert latest is not None and latest.paused and latest.sent == 45
        progress.pause(False)
        latest = subscription.newest()
        assert latest is not None and not latest.paused and latest.sent == 45

    quiet = RunProgress(hub, 8)
    with hub.subscribe(8) as subscription:
        quiet.pause(True)  # nothing published yet: nothing to mark
        assert subscription.newest() is None
        quiet.publish(BroadcastStatus.SENDING, 200, 0, 0, {})
        latest = subscription.newest()
        assert latest is not None and latest.paused


def test_a_run_says_when_everyone_pending_waits_for_a_retry_until_it_publishes_again() -> None:
    hub = ProgressHub()
    progress = RunProgress(hub, 7)
    due = NOON + timedelta(seconds=10)
    with hub.subscribe(7) as subscription:
        progress.count(10)
        progress.publish(BroadcastStatus.SENDING, 200, 190, 7, {"server_error": 7})
        progress.wait_for_retries(due)
        waiting = subscription.newest()
        assert waiting is not None and waiting.waiting_for_retries
        assert (waiting.retry_waiting, waiting.next_retry_at, waiting.rate) == (3, due, 0.0)
        assert (waiting.sent, waiting.failed, waiting.eta_seconds) == (190, 7, None)
        progress.publish(BroadcastStatus.SENDING, 200, 191, 7, {"server_error": 7})
        going_on = subscription.newest()
        assert going_on is not None and not going_on.waiting_for_retries
        assert (going_on.retry_waiting, going_on.next_retry_at) == (0, None)


async def test_the_stored_snapshot_counts_who_waits_for_a_retry_and_how_long_it_took(
    session_factory: SessionFactory,
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 4, first_chat_id=24_000)
    async with session_factory() as session, session.begin():
        rows = list(
            await session.scalars(
                select(BroadcastRecipient)
                .where(BroadcastRecipient.broadcast_id == broadcast_id)
                .order_by(BroadcastRecipient.id)
            )
        )
        rows[0].next_attempt_at = NOON + timedelta(seconds=10)
        rows[1].next_attempt_at = NOON + timedelta(seconds=60)
        rows[2].next_attempt_at = NOON - timedelta(seconds=5)  # due already
    stored = await read_snapshot(session_factory, broadcast_id, now=NOON)
    assert (stored.retry_waiting, stored.next_retry_at) == (2, NOON + timedelta(seconds=10))
    assert not stored.waiting_for_retries  # two of the four can be sent now
    later = await read_snapshot(session_factory, broadcast_id, now=NOON + timedelta(seconds=30))
    assert (later.retry_waiting, later.next_retry_at) == (1, NOON + timedelta(seconds=60))
    assert stored.took_seconds is None  # still sending

    async with session_factory() as session, session.begin():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(
                status=BroadcastStatus.SENT,
                sent_at=NOON,
                completed_at=NOON + timedelta(minutes=2, seconds=14),
            )
        )
    assert (await read_snapshot(session_factory, broadcast_id, now=NOON)).took_seconds == 134


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    fake = FakeBotAPI(token=TEST_TOKEN, per_chat_interval=1.0)
    await fake.start()
    yield fake
    await fake.stop()


async def test_the_reporter_edits_one_message_at_most_every_interval_and_shows_the_end(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 150, first_chat_id=20_000)
    limiter = RateLimiter(60)
    bot = make_bot(api.url, limiter)
    hub = ProgressHub()
    sender = BroadcastSender(bot, session_factory, send_policy(settings), limiter, hub)
    reporter = ProgressReporter(bot, session_factory, hub, edit_interval=1.2)
    try:
        message_id = await reporter.attach(broadcast_id, ADMIN_CHAT)
        await sender.start(broadcast_id)
        await sender.wait(broadcast_id)
        await reporter.wait(broadcast_id)
    finally:
        await reporter.shutdown()
        await sender.shutdown()
        await bot.session.close()

    (posted,) = api.messages_to(ADMIN_CHAT)  # one message, never a second one
    assert posted.message_id == message_id and "0%" in (posted.text or "")
    edits = api.edits_of(ADMIN_CHAT)
    assert edits and {e.message_id for e in edits} == {message_id}
    assert all(b.timestamp - a.timestamp >= 1.15 for a, b in itertools.pairwise(edits))
    assert any("msg/s" in (e.text or "") for e in edits[:-1]) or len(edits) == 1
    final = edits[-1].text or ""
    assert f"Broadcast #{broadcast_id}: sent" in final
    assert "100%" in final and "Sent: 150 · Failed: 0 · Pending: 0 (of 150)" in final
    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        assert (broadcast.progress_chat_id, broadcast.progress_message_id) == (
            ADMIN_CHAT,
            message_id,
        )


async def test_an_unchanged_message_is_left_alone(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 0, first_chat_id=21_000)
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(status=BroadcastStatus.SENT)
        )
    bot = make_bot(api.url, RateLimiter(30))
    hub = ProgressHub()
    try:
        await ProgressReporter(bot, session_factory, hub, edit_interval=0).attach(
            broadcast_id, ADMIN_CHAT
        )
        # After a restart the reporter does not know what the message shows: it edits it
        # with the same text, Telegram answers "message is not modified", and that's all.
        restarted = ProgressReporter(bot, session_factory, hub, edit_interval=0)
        assert await restarted.follow(broadcast_id)
        await restarted.wait(broadcast_id)
    finally:
        await bot.session.close()

    assert len(api.messages_to(ADMIN_CHAT)) == 1 and api.edits == []
    refused = [r for r in api.requests_for("editMessageText") if r.status == 400]
    assert len(refused) == 1


async def test_a_flood_limited_edit_waits_and_sending_goes_on(
    session_factory: SessionFactory, settings: Settings
) -> None:
    # Telegram limits this chat to one message every 3 s: edits draw 429s.
    async with FakeBotAPI(token=TEST_TOKEN, per_chat_interval=3.0) as api:
        broadcast_id = await seed_broadcast(session_factory, 150, first_chat_id=22_000)
        limiter = RateLimiter(60)
        bot = make_bot(api.url, limiter)
        hub = ProgressHub()
        sender = BroadcastSender(bot, session_factory, send_policy(settings), limiter, hub)
        reporter = ProgressReporter(bot, session_factory, hub, edit_interval=0.3)
        try:
            await reporter.attach(broadcast_id, ADMIN_CHAT)
            await sender.start(broadcast_id)
            await sender.wait(broadcast_id)
            await reporter.wait(broadcast_id)
        finally:
            await reporter.shutdown()
            await sender.shutdown()
            await bot.session.close()

        assert any(r.status == 429 for r in api.requests_for("editMessageText"))
        assert sender.stats.flood_waits == 0  # broadcast sends were never paused
        assert len({d.chat_id for d in api.delivered if d.chat_id != ADMIN_CHAT}) == 150
        assert len(api.messages_to(ADMIN_CHAT)) == 1
        assert "Pending: 0 (of 150)" in (api.edits_of(ADMIN_CHAT)[-1].text or "")


async def test_while_a_recipient_waits_for_its_retry_the_live_message_says_so_and_when(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 5, first_chat_id=23_000)
    api.set_flaky(23_002, 1)  # one 502: its retry is due a minute later
    limiter = RateLimiter(60)
    bot = make_bot(api.url, limiter)
    hub = ProgressHub()
    a_minute = replace(send_policy(settings), retry_delays=(60.0,))
    sender = BroadcastSender(bot, session_factory, a_minute, limiter, hub)
    render = progress_renderer(Catalog("en"), MOSCOW)
    reporter = ProgressReporter(bot, session_factory, hub, edit_interval=0.05, render=render)

    def waiting_edits() -> list[str]:
        return [e.text or "" for e in api.edits_of(ADMIN_CHAT) if "⏳" in (e.text or "")]

    before = utcnow()
    try:
        await reporter.attach(broadcast_id, ADMIN_CHAT, "ru")
        await sender.start(broadcast_id)
        await api.wait_for(lambda: bool(waiting_edits()), timeout=10)
        after = utcnow()
        stored = await reporter.snapshot(broadcast_id)  # what Refresh and /progress read
    finally:
        await reporter.shutdown()
        await sender.shutdown()  # long before the retry is due
        await bot.session.close()

    async with session_factory() as session:
        due = await session.scalar(
            select(BroadcastRecipient.next_attempt_at)
            .join(User, User.id == BroadcastRecipient.recipient_id)
            .where(BroadcastRecipient.broadcast_id == broadcast_id, User.telegram_id == 23_002)
        )
    assert due is not None
    assert before + timedelta(seconds=60) <= due <= after + timedelta(seconds=60)
    [waiting] = waiting_edits()
    lines = waiting.split("\n")
    assert "Доставлено: 4 · Ошибок: 0 · Ожидают: 1 (из 5)" in lines
    in_moscow = f"{due.astimezone(MOSCOW):%H:%M:%S}"
    assert f"⏳ Ждут повторной попытки: 1 получатель, следующая в {in_moscow}" in lines
    assert not any("Скорость" in line for line in lines)
    assert stored.waiting_for_retries
    assert (stored.retry_waiting, stored.next_retry_at) == (1, due)
