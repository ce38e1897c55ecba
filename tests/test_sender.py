"""The sending engine against the fake Bot API over HTTP, on SQLite and PostgreSQL.

Each test drives aiogram's real Bot through `services.sender.BroadcastSender` and checks
both sides: what the fake server received and what the database recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import pytest
from aiogram import Bot
from sqlalchemy import select, update

from bot.app import send_policy
from core.settings import Settings
from db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    ContentKind,
    RecipientStatus,
    User,
)
from db.session import SessionFactory
from fake_bot_api import Delivered, FakeBotAPI
from services.limiter import MAX_JITTER_MARGIN, RateLimiter
from services.progress import ProgressHub
from services.send_policy import SendPolicy
from services.sender import BroadcastSender
from tests.conftest import TEST_TOKEN
from tests.sender_process import make_bot, seed_broadcast

FAST = 1000.0  # limiter rate for tests that are not about the rate
# For the tests that count a server's 1 s windows: the fake server runs in the test's own
# event loop, so on a loaded machine a request can reach it tens of ms after its grant,
# more than the default margin (10 ms) allows for; the limiter's widest margin covers it.
LOOP_JITTER_MARGIN = MAX_JITTER_MARGIN
ENTITIES = [
    {"type": "bold", "offset": 0, "length": 7},
    {"type": "text_link", "offset": 11, "length": 4, "url": "https://example.org/"},
]


@dataclass
class Engine:
    sender: BroadcastSender
    limiter: RateLimiter
    hub: ProgressHub
    bot: Bot

    async def send(self, broadcast_id: int) -> None:
        await self.sender.start(broadcast_id)
        await self.sender.wait(broadcast_id)


@asynccontextmanager
async def running_engine(
    api: FakeBotAPI,
    session_factory: SessionFactory,
    settings: Settings,
    *,
    rate: float = FAST,
    workers: int | None = None,
    jitter_margin: float | None = None,
) -> AsyncIterator[Engine]:
    limiter = RateLimiter(rate, jitter_margin=jitter_margin)
    bot = make_bot(api.url, limiter)
    hub = ProgressHub()
    sender = BroadcastSender(
        bot, session_factory, send_policy(settings), limiter, hub, workers=workers
    )
    try:
        yield Engine(sender, limiter, hub, bot)
    finally:
        await sender.shutdown()
        await bot.session.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    fake = FakeBotAPI(token=TEST_TOKEN, per_chat_interval=1.0)
    await fake.start()
    yield fake
    await fake.stop()


async def load_broadcast(session_factory: SessionFactory, broadcast_id: int) -> Broadcast:
    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return broadcast


async def load_recipients(
    session_factory: SessionFactory, broadcast_id: int
) -> dict[int, tuple[BroadcastRecipient, User]]:
    """Recipient rows by the user's (current) Telegram chat id."""
    async with session_factory() as session:
        rows = await session.execute(
            select(BroadcastRecipient, User)
            .join(User, User.id == BroadcastRecipient.recipient_id)
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
        )
        return {
            user.telegram_id: (recipient, user)
            for recipient, user in rows.all()
            if user.telegram_id is not None
        }


def deliveries_per_chat(api: FakeBotAPI) -> Counter[int]:
    return Counter(d.chat_id for d in api.delivered)


def busiest_second(deliveries: list[Delivered]) -> int:
    """Most deliveries the server accepted within any 1 s window (its own definition)."""
    times = sorted(d.timestamp for d in deliveries)
    start = 0
    best = 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_delivers_text_with_entities_once_to_everyone(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    text = "Welcome back to school!"
    broadcast_id = await seed_broadcast(
        session_factory, 40, first_chat_id=5000, message=text, entities=ENTITIES
    )
    async with running_engine(api, session_factory, settings) as engine:
        await engine.send(broadcast_id)

    assert deliveries_per_chat(api) == Counter({5000 + i: 1 for i in range(40)})
    for delivery in api.delivered:
        assert (delivery.method, delivery.text, delivery.entities) == (
            "sendMessage",
            text,
            ENTITIES,
        )
        assert delivery.parse_mode is None  # the bot's default HTML was overridden
        assert not delivery.allow_paid_broadcast
    message_ids = {d.chat_id: str(d.message_id) for d in api.delivered}
    rows = await load_recipients(session_factory, broadcast_id)
    for chat_id, (row, _user) in rows.items():
        assert row.status is RecipientStatus.SENT and row.telegram_sent
        assert row.telegram_message_id == message_ids[chat_id]
        assert row.sent_at is not None and row.error_code is None
    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.SENT,
        40,
        0,
    )
    assert broadcast.completed_at is not None and broadcast.error_log == []


@pytest.mark.parametrize(
    ("kind", "method"),
    [
        (ContentKind.PHOTO, "sendPhoto"),
        (ContentKind.VIDEO, "sendVideo"),
        (ContentKind.DOCUMENT, "sendDocument"),
        (ContentKind.ANIMATION, "sendAnimation"),
    ],
)
async def test_media_goes_out_with_its_caption_and_entities(
    api: FakeBotAPI,
    session_factory: SessionFactory,
    settings: Settings,
    kind: ContentKind,
    method: str,
) -> None:
    caption = "Schedule <b>for</b> May"  # not HTML: markup-like text arrives verbatim
    broadcast_id = await seed_broadcast(
        session_factory,
        3,
        first_chat_id=6000,
        message=caption,
        content_kind=kind,
        file_id=f"FILE-{kind.value}",
        entities=ENTITIES[:1],
    )
    async with running_engine(api, session_factory, settings) as engine:
        await engine.send(broadcast_id)

    assert len(api.delivered) == 3
    for delivery in api.delivered:
        assert (delivery.method, delivery.kind, delivery.file_id) == (
            method,
            kind.value,
            f"FILE-{kind.value}",
        )
        assert delivery.caption == caption and delivery.entities == ENTITIES[:1]
        assert delivery.parse_mode is None
    assert (await load_broadcast(session_factory, broadcast_id)).status is BroadcastStatus.SENT


async def test_permanent_errors_fail_the_recipient_and_mark_who_cannot_be_reached(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 8, first_chat_id=7000)
    api.set_blocked(7000)
    api.set_blocked(7001)
    api.set_deactivated(7002)
    api.set_cant_initiate(7003)
    api.set_not_found(7004)
    async with running_engine(api, session_factory, settings) as engine:
        await engine.send(broadcast_id)

    rows = await load_recipients(session_factory, broadcast_id)
    expected_codes = {
        7000: "blocked",
        7001: "blocked",
        7002: "deactivated",
        7003: "cant_initiate",
        7004: "chat_not_found",
    }
    for chat_id, (row, user) in rows.items():
        if chat_id in expected_codes:
            assert row.status is RecipientStatus.FAILED and not row.telegram_sent
            assert row.error_code == expected_codes[chat_id]
            assert row.telegram_error and row.attempts == 0
            # A deleted account is marked apart from blocking (or never starting) the bot.
            assert (user.bot_blocked_at is not None) == (chat_id in (7000, 7001, 7003))
            assert (user.telegram_deactivated_at is not None) == (chat_id == 7002)
        else:
            assert row.status is RecipientStatus.SENT and user.bot_blocked_at is None
            assert user.telegram_deactivated_at is None
    assert sorted(deliveries_per_chat(api)) == [7005, 7006, 7007]
    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.COMPLETED,
        3,
        5,
    )
    log = {entry["code"]: entry for entry in broadcast.error_log}
    assert {code: entry["count"] for code, entry in log.items()} == {
        "blocked": 2,
        "deactivated": 1,
        "cant_initiate": 1,
        "chat_not_found": 1,
    }
    assert "blocked by the user" in log["blocked"]["description"]
    assert log["blocked"]["first_at"] <= log["blocked"]["last_at"]


async def test_a_broadcast_nobody_received_is_failed(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 2, first_chat_id=7100)
    api.set_blocked(7100)
    api.set_not_found(7101)
    async with running_engine(api, session_factory, settings) as engine:
        await engine.send(broadcast_id)

    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.FAILED,
        0,
        2,
    )


async def test_transient_errors_are_retried_after_everyone_else_then_given_up(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 60, first_chat_id=8000)
    api.set_flaky(8000, 2)  # two 502s, then delivered
    api.set_flaky(8001, 1, mode="drop")  # a dropped connection, then delivered
    api.set_flaky(8002, 10)  # more failures than MAX_RETRIES allows
    async with running_engine(api, session_factory, settings) as engine:
        await engine.send(broadcast_id)

    rows = await load_recipients(session_factory, broadcast_id)
    assert rows[8000][0].status is RecipientStatus.SENT and rows[8000][0].attempts == 2
    assert rows[8000][0].error_code is None
    assert rows[8001][0].status is RecipientStatus.SENT and rows[8001][0].attempts == 1
    gave_up = rows[8002][0]
    assert (gave_up.status, gave_up.error_code, gave_up.attempts) == (
        RecipientStatus.FAILED,
        "server_error",
        settings.max_retries + 1,
    )
    assert api.behaviour_of(8002).failures == 10 - (settings.max_retries + 1)
    per_chat = deliveries_per_chat(api)
    assert len(per_chat) == 59 and set(per_chat.values()) == {1}
    # The first pass went through everyone before the retries were sent.
    first_pass_end = max(d.timestamp for d in api.delivered if d.chat_id not in (8000, 8001))
    assert api.messages_to(8000)[0].timestamp > first_pass_end
    assert api.messages_to(8001)[0].timestamp > first_pass_end
    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.COMPLETED,
        59,
        1,
    )
    log = {entry["code"]: entry["count"] for entry in broadcast.error_log}
    assert log == {"server_error": 2 + settings.max_retries + 1, "network": 1}


def test_the_policy_takes_the_sending_settings_and_repeats_the_last_delay(
    settings: Settings,
) -> None:
    policy = send_policy(settings)
    assert policy == SendPolicy(
        send_batch_size=settings.send_batch_size,
        max_retries=settings.max_retries,
        retry_delays=(0.05, 0.1, 0.2),
        paid_broadcast=settings.paid_broadcast,
    )
    more_retries = replace(policy, max_retries=5)
    delays = [more_retries.retry_delay(attempts) for attempts in range(1, 7)]
    assert delays == [0.05, 0.1, 0.2, 0.2, 0.2, None]


async def test_a_timeout_is_retried_then_recorded_as_a_timeout(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    one_retry = settings.model_copy(update={"max_retries": 1})
    broadcast_id = await seed_broadcast(session_factory, 3, first_chat_id=8050)
    api.set_slow(8050, 2.0)
    limiter = RateLimiter(FAST)
    bot = make_bot(api.url, limiter, timeout=0.5)
    sender = BroadcastSender(bot, session_factory, send_policy(one_retry), limiter)
    try:
        await sender.start(broadcast_id)
        await sender.wait(broadcast_id)
    finally:
        await sender.shutdown()
        await bot.session.close()

    rows = await load_recipients(session_factory, broadcast_id)
    timed_out = rows[8050][0]
    assert (timed_out.status, timed_out.error_code, timed_out.attempts) == (
        RecipientStatus.FAILED,
        "timeout",
        2,
    )
    assert "timeout" in (timed_out.telegram_error or "").lower()
    assert rows[8051][0].status is RecipientStatus.SENT


async def test_any_other_refusal_fails_the_recipient_with_its_text(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 2, first_chat_id=8060, message="x" * 5000)
    async with running_engine(api, session_factory, settings) as engine:
        await engine.send(broadcast_id)

    rows = await load_recipients(session_factory, broadcast_id)
    for row, _ in rows.values():
        assert (row.status, row.error_code, row.attempts) == (RecipientStatus.FAILED, "other", 0)
        assert "message is too long" in (row.telegram_error or "")
    assert (await load_broadcast(session_factory, broadcast_id)).status is BroadcastStatus.FAILED


async def test_a_migrated_chat_gets_the_message_at_its_new_id(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 2, first_chat_id=8100)
    api.set_migrated(8100, -100_8100)
    async with running_engine(api, session_factory, settings) as engine:
        await engine.send(broadcast_id)

    assert len(api.messages_to(-100_8100)) == 1 and not api.messages_to(8100)
    rows = await load_recipients(session_factory, broadcast_id)
    row, user = rows[-100_8100]
    assert user.telegram_id == -100_8100 and row.status is RecipientStatus.SENT
    assert (await load_broadcast(session_factory, broadcast_id)).status is BroadcastStatus.SENT


async def test_a_revoked_token_stops_the_broadcast_as_failed(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 30, first_chat_id=8200)
    api.set_unauthorized()
    async with running_engine(api, session_factory, settings) as engine:
        await engine.send(broadcast_id)

    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert broadcast.status is BroadcastStatus.FAILED and broadcast.completed_at is not None
    assert (broadcast.sent_count, broadcast.failed_count) == (0, 0)
    (entry,) = broadcast.error_log
    assert entry["code"] == "unauthorized" and "token" in entry["description"]
    rows = await load_recipients(session_factory, broadcast_id)
    assert {row.status for row, _ in rows.values()} == {RecipientStatus.PENDING}


async def test_a_429_storm_ends_with_nobody_lost_and_nobody_doubled(
    session_factory: SessionFactory, settings: Settings
) -> None:
    # The server allows 25/s; the engine is told 60/s, so it runs into the limit.
    async with FakeBotAPI(token=TEST_TOKEN, global_rate=25) as api:
        broadcast_id = await seed_broadcast(session_factory, 80, first_chat_id=9000)
        async with running_engine(api, session_factory, settings, rate=60) as engine:
            await engine.send(broadcast_id)
            assert engine.sender.stats.flood_waits > 0

        assert api.count_429() > 0
        assert deliveries_per_chat(api) == Counter({9000 + i: 1 for i in range(80)})
    rows = await load_recipients(session_factory, broadcast_id)
    assert {row.status for row, _ in rows.values()} == {RecipientStatus.SENT}
    assert {row.attempts for row, _ in rows.values()} == {0}  # a 429 uses no retry
    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.SENT,
        80,
        0,
    )


async def test_the_rate_never_exceeds_the_limit_in_any_second(
    session_factory: SessionFactory, settings: Settings
) -> None:
    async with FakeBotAPI(token=TEST_TOKEN, global_rate=50, per_chat_interval=1.0) as api:
        broadcast_id = await seed_broadcast(session_factory, 160, first_chat_id=10_000)
        async with running_engine(
            api, session_factory, settings, rate=50, jitter_margin=LOOP_JITTER_MARGIN
        ) as engine:
            await engine.send(broadcast_id)

        assert api.count_429() == 0
        assert len(api.delivered) == 160
        assert busiest_second(api.delivered) <= 50
        assert api.stats()["max_rate_1s"] <= 50


async def test_two_broadcasts_at_once_share_the_limit(
    session_factory: SessionFactory, settings: Settings
) -> None:
    async with FakeBotAPI(token=TEST_TOKEN, global_rate=40, per_chat_interval=1.0) as api:
        first = await seed_broadcast(session_factory, 70, first_chat_id=11_000)
        second = await seed_broadcast(session_factory, 70, first_chat_id=12_000)
        async with running_engine(
            api, session_factory, settings, rate=40, jitter_margin=LOOP_JITTER_MARGIN
        ) as engine:
            await engine.sender.start(first)
            await engine.sender.start(second)
            await engine.sender.wait(first)
            await engine.sender.wait(second)

        assert api.count_429() == 0 and len(api.delivered) == 140
        assert busiest_second(api.delivered) <= 40
        # They really ran side by side: each got messages out while the other was sending.
        first_times = [d.timestamp for d in api.delivered if d.chat_id < 12_000]
        second_times = [d.timestamp for d in api.delivered if d.chat_id >= 12_000]
        assert min(second_times) < max(first_times) and min(first_times) < max(second_times)
    for broadcast_id in (first, second):
        broadcast = await load_broadcast(session_factory, broadcast_id)
        assert (broadcast.status, broadcast.sent_count) == (BroadcastStatus.SENT, 70)


async def test_a_reply_during_a_broadcast_goes_ahead_of_the_senders_queued_for_a_slot(
    session_factory: SessionFactory, settings: Settings
) -> None:
    admin = 555
    async with FakeBotAPI(token=TEST_TOKEN, global_rate=20, per_chat_interval=1.0) as api:
        broadcast_id = await seed_broadcast(session_factory, 80, first_chat_id=13_000)
        async with running_engine(
            api, session_factory, settings, rate=20, jitter_margin=LOOP_JITTER_MARGIN
        ) as engine:
            await engine.sender.start(broadcast_id)
            await api.wait_for(lambda: len(api.delivered) >= 10, timeout=30, message="sending")
            asked = len(api.delivered)
            await engine.bot.send_message(admin, "Noted, thank you")  # paced by the middleware
            await engine.sender.wait(broadcast_id)

        order = [d.chat_id for d in api.delivered]
        # Sends granted before it asked may arrive first (slots are 50 ms apart); the
        # senders queued for the next slots (12 workers) do not go ahead of it.
        assert order.index(admin) - asked <= 2
        assert api.count_429() == 0 and len(order) == 81
        assert busiest_second(api.delivered) <= 20


async def cancel(session_factory: SessionFactory, broadcast_id: int) -> None:
    """What BroadcastService.cancel_broadcast does to the row."""
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(status=BroadcastStatus.CANCELLED)
        )


async def test_cancel_stops_sending_within_a_second_and_leaves_the_rest_pending(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 200, first_chat_id=13_000)
    async with running_engine(api, session_factory, settings, rate=40) as engine:
        await engine.sender.start(broadcast_id)
        await api.wait_for(lambda: len(api.delivered) >= 20)
        await cancel(session_factory, broadcast_id)
        cancelled_at = asyncio.get_running_loop().time()
        await engine.sender.wait(broadcast_id)
        assert not engine.sender.is_running(broadcast_id)

    assert max(d.timestamp for d in api.delivered) < cancelled_at + 1.0
    delivered = deliveries_per_chat(api)
    assert set(delivered.values()) == {1} and len(delivered) < 200
    rows = await load_recipients(session_factory, broadcast_id)
    sent = {chat for chat, (row, _) in rows.items() if row.status is RecipientStatus.SENT}
    pending = {chat for chat, (row, _) in rows.items() if row.status is RecipientStatus.PENDING}
    assert sent == set(delivered) and len(pending) == 200 - len(sent)
    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.CANCELLED,
        len(sent),
        0,
    )


async def test_paid_mode_sends_allow_paid_broadcast(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    paid = settings.model_copy(update={"paid_broadcast": True, "send_rate": 1000})
    broadcast_id = await seed_broadcast(session_factory, 5, first_chat_id=14_000)
    async with running_engine(api, session_factory, paid, rate=paid.send_rate) as engine:
        await engine.send(broadcast_id)

    assert len(api.delivered) == 5 and all(d.allow_paid_broadcast for d in api.delivered)


async def test_failures_put_back_for_a_retry_are_sent_by_the_launcher(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    no_retries = settings.model_copy(update={"max_retries": 0})
    broadcast_id = await seed_broadcast(session_factory, 4, first_chat_id=15_000)
    api.set_flaky(15_000, 1)
    async with running_engine(api, session_factory, no_retries) as engine:
        await engine.send(broadcast_id)
        broadcast = await load_broadcast(session_factory, broadcast_id)
        assert (broadcast.status, broadcast.failed_count) == (BroadcastStatus.COMPLETED, 1)

        # What BroadcastService.retry_failed does before it calls the launcher.
        async with session_factory() as session, session.begin():
            await session.execute(
                update(BroadcastRecipient)
                .where(BroadcastRecipient.status == RecipientStatus.FAILED)
                .values(status=RecipientStatus.PENDING, attempts=0, error_code=None)
            )
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(status=BroadcastStatus.SENDING, failed_count=0, completed_at=None)
            )
        task_id = await engine.sender.start(broadcast_id)
        assert isinstance(task_id, str) and task_id
        await engine.sender.wait(broadcast_id)

    assert deliveries_per_chat(api) == Counter({15_000 + i: 1 for i in range(4)})
    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.SENT,
        4,
        0,
    )


async def test_start_refuses_a_broadcast_that_is_not_sending(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 1, first_chat_id=16_000)
    await cancel(session_factory, broadcast_id)
    async with running_engine(api, session_factory, settings) as engine:
        with pytest.raises(ValueError, match="Cannot send broadcast with status cancelled"):
            await engine.sender.start(broadcast_id)
        with pytest.raises(ValueError, match="Broadcast 999999 not found"):
            await engine.sender.start(999_999)
    assert api.delivered == []


async def test_shutdown_records_what_was_sent_and_resume_finishes_the_rest(
    api: FakeBotAPI, session_factory: SessionFactory, settings: Settings
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 120, first_chat_id=17_000)
    async with running_engine(api, session_factory, settings, rate=60) as engine:
        await engine.sender.start(broadcast_id)
        await api.wait_for(lambda: len(api.delivered) >= 30)
        await engine.sender.shutdown()

    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert broadcast.status is BroadcastStatus.SENDING
    assert broadcast.sent_count == len(api.delivered) < 120

    async with running_engine(api, session_factory, settings) as engine:
        assert await engine.sender.resume_all() == [broadcast_id]
        await engine.sender.wait(broadcast_id)

    assert deliveries_per_chat(api) == Counter({17_000 + i: 1 for i in range(120)})
    broadcast = await load_broadcast(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.sent_count) == (BroadcastStatus.SENT, 120)


async def test_the_log_says_what_was_resumed_and_how_each_broadcast_ended(
    api: FakeBotAPI,
    session_factory: SessionFactory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 3, first_chat_id=17_000)
    api.set_blocked(17_001)
    caplog.set_level(logging.INFO, logger="services")
    async with running_engine(api, session_factory, settings) as engine:
        assert await engine.sender.resume_all() == [broadcast_id]
        await engine.sender.wait(broadcast_id)

    lines = [record.getMessage() for record in caplog.records]
    assert f"Resumed broadcast {broadcast_id}: 3 pending" in lines
    [ended] = [line for line in lines if line.startswith(f"Broadcast {broadcast_id} completed:")]
    assert ended.startswith(
        f"Broadcast {broadcast_id} completed: 2 sent, 1 failed, 0 pending of 3 in "
    )
