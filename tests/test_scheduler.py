"""Scheduled broadcasts: firing at their time, re-armed after a restart, missed ones sent at
start with their lateness logged, reschedule, cancel, no double firing, and a scheduled
broadcast nobody can receive. Real engine and progress reporter against the fake Bot API,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.app import send_policy
from core.i18n import Catalog
from core.settings import Settings
from db.models import Broadcast, BroadcastStatus, Role, TargetGroup, User
from db.session import SessionFactory, create_engine, create_session_factory
from db.types import utcnow
from fake_bot_api import FakeBotAPI
from handlers.notices import scheduled_failure_notifier
from handlers.progress_view import progress_renderer
from services.audience import AudienceService
from services.broadcasts import BroadcastService
from services.errors import BroadcastNotFound, InvalidStatus, ValidationFailed
from services.launcher import BroadcastLauncher
from services.limiter import RateLimiter
from services.progress import ProgressHub, Render, render_plain
from services.progress_reporter import ProgressReporter
from services.scheduler import BroadcastScheduler, job_id
from services.sender import BroadcastSender
from tests.bot_harness import harness_settings, start_harness, stop_harness
from tests.factories import add_user, broadcast_rules, make_broadcast
from tests.sender_process import make_bot

ADMIN_CHAT = 2000
STUDENT_CHATS = (3001, 3002, 3003)
SOON = timedelta(milliseconds=300)
LATER = timedelta(days=1)


@dataclass
class Scheduling:
    scheduler: BroadcastScheduler
    broadcasts: BroadcastService
    sender: BroadcastSender
    reporter: ProgressReporter

    async def finished(self, broadcast_id: int) -> None:
        """Until the broadcast's sending run and its progress message are done."""
        await self.sender.wait(broadcast_id)
        await self.reporter.wait(broadcast_id)


@asynccontextmanager
async def scheduling(
    api: FakeBotAPI,
    session_factory: SessionFactory,
    settings: Settings,
    *,
    start: bool = True,
    render: Render = render_plain,
) -> AsyncIterator[Scheduling]:
    """The bot process's scheduling machinery; leaving the block is a shutdown."""
    limiter = RateLimiter(1000.0, chat_interval=0.0)  # pacing is not under test here
    bot = make_bot(api.url, limiter)
    hub = ProgressHub()
    sender = BroadcastSender(bot, session_factory, send_policy(settings), limiter, hub)
    reporter = ProgressReporter(bot, session_factory, hub, edit_interval=0.05, render=render)
    broadcasts = BroadcastService(session_factory, broadcast_rules(settings))
    launcher = BroadcastLauncher(broadcasts, AudienceService(session_factory), sender, reporter)
    notify = scheduled_failure_notifier(bot, Catalog(settings.default_language), settings)
    scheduler = BroadcastScheduler(session_factory, launcher, notify)
    if start:
        await scheduler.start()
    try:
        yield Scheduling(scheduler, broadcasts, sender, reporter)
    finally:
        await scheduler.shutdown()
        await sender.shutdown()
        await reporter.shutdown()
        await bot.session.close()


@pytest.fixture
async def admin_id(session_factory: SessionFactory) -> int:
    """A roster admin with a linked Telegram account, and three reachable students."""
    async with session_factory() as session, session.begin():
        admin = await add_user(session, role=Role.ADMIN, telegram_id=ADMIN_CHAT)
        for chat_id in STUDENT_CHATS:
            await add_user(session, role=Role.STUDENT, telegram_id=chat_id)
    return admin.id


async def scheduled(
    session_factory: SessionFactory,
    when: datetime,
    created_by: int | None,
    target_group: TargetGroup = TargetGroup.ALL_STUDENTS,
) -> int:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            target_group=target_group,
            status=BroadcastStatus.SCHEDULED,
            created_by=created_by,
            scheduled_at=when,
            message="Parents' evening on Friday",
        )
    return broadcast.id


async def load(session_factory: SessionFactory, broadcast_id: int) -> Broadcast:
    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return broadcast


def delivered_to_students(api: FakeBotAPI) -> Counter[int]:
    return Counter(d.chat_id for d in api.delivered if d.chat_id in STUDENT_CHATS)


async def test_scheduled_broadcast_fires_resolving_recipients_then(
    fake_api: FakeBotAPI, session_factory: SessionFactory, settings: Settings, admin_id: int
) -> None:
    async with scheduling(fake_api, session_factory, settings) as machinery:
        broadcast_id = await scheduled(session_factory, utcnow() + SOON, admin_id)
        await machinery.scheduler.arm(broadcast_id, utcnow() + SOON)
        async with session_factory() as session, session.begin():  # joins after scheduling
            await add_user(session, role=Role.STUDENT, telegram_id=3999)
        await fake_api.wait_for(lambda: len(fake_api.messages_to(3999)) == 1, timeout=10)
        await machinery.finished(broadcast_id)
    assert delivered_to_students(fake_api) == Counter(STUDENT_CHATS)
    broadcast = await load(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.recipient_count, broadcast.sent_count) == (
        BroadcastStatus.SENT,
        4,
        4,
    )
    progress = fake_api.messages_to(ADMIN_CHAT)
    assert len(progress) == 1
    assert broadcast.progress_message_id == progress[0].message_id


async def test_timers_are_rearmed_after_a_restart(
    fake_api: FakeBotAPI, session_factory: SessionFactory, settings: Settings, admin_id: int
) -> None:
    async with scheduling(fake_api, session_factory, settings) as first_run:
        soon = await scheduled(session_factory, utcnow() + timedelta(seconds=1), admin_id)
        later = await scheduled(session_factory, utcnow() + LATER, admin_id)
        await first_run.scheduler.arm(soon, utcnow() + timedelta(seconds=1))
        await first_run.scheduler.arm(later, utcnow() + LATER)
    assert fake_api.delivered == []  # stopped before anything was due

    async with scheduling(fake_api, session_factory, settings) as second_run:
        assert second_run.scheduler.is_armed(later)
        await fake_api.wait_for(lambda: len(delivered_to_students(fake_api)) == 3, timeout=10)
        await second_run.finished(soon)
        assert second_run.scheduler.is_armed(later)
    assert (await load(session_factory, soon)).status is BroadcastStatus.SENT
    assert (await load(session_factory, later)).status is BroadcastStatus.SCHEDULED


async def test_a_broadcast_missed_while_down_is_sent_at_start_saying_how_late(
    fake_api: FakeBotAPI,
    session_factory: SessionFactory,
    settings: Settings,
    admin_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broadcast_id = await scheduled(session_factory, utcnow() - timedelta(hours=2), admin_id)
    caplog.set_level(logging.INFO, logger="services.scheduler")
    async with scheduling(fake_api, session_factory, settings) as machinery:
        await fake_api.wait_for(lambda: len(delivered_to_students(fake_api)) == 3, timeout=10)
        await machinery.finished(broadcast_id)
    late = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.name == "services.scheduler"
    ]
    assert len(late) == 1
    assert f"Broadcast {broadcast_id} was due at" in late[0]
    assert "starts 2 h " in late[0] and "late" in late[0]
    assert (await load(session_factory, broadcast_id)).status is BroadcastStatus.SENT


async def test_the_sweep_fires_due_broadcasts_that_have_no_timer(
    fake_api: FakeBotAPI, session_factory: SessionFactory, settings: Settings, admin_id: int
) -> None:
    async with scheduling(fake_api, session_factory, settings) as machinery:
        due = await scheduled(session_factory, utcnow() - timedelta(seconds=5), admin_id)
        not_due = await scheduled(session_factory, utcnow() + LATER, admin_id)
        assert not machinery.scheduler.is_armed(due)
        assert await machinery.scheduler.process_scheduled_broadcasts() == [due]
        await machinery.finished(due)
    assert delivered_to_students(fake_api) == Counter(STUDENT_CHATS)
    assert (await load(session_factory, not_due)).status is BroadcastStatus.SCHEDULED


async def test_reschedule_moves_the_row_and_the_timer(
    fake_api: FakeBotAPI, session_factory: SessionFactory, settings: Settings, admin_id: int
) -> None:
    async with scheduling(fake_api, session_factory, settings) as machinery:
        scheduler = machinery.scheduler
        broadcast_id = await scheduled(session_factory, utcnow() + SOON, admin_id)
        await scheduler.arm(broadcast_id, utcnow() + SOON)
        new_time = utcnow() + LATER
        await scheduler.reschedule(broadcast_id, new_time)
        assert (await load(session_factory, broadcast_id)).scheduled_at == new_time
        assert scheduler._scheduler.get_job(job_id(broadcast_id)).next_run_time == new_time
        assert await scheduler.fire(broadcast_id) is False  # an early timer does nothing

        await scheduler.reschedule(broadcast_id, utcnow() + SOON)
        await fake_api.wait_for(lambda: len(delivered_to_students(fake_api)) == 3, timeout=10)
        await machinery.finished(broadcast_id)
    assert (await load(session_factory, broadcast_id)).status is BroadcastStatus.SENT


async def test_reschedule_refuses_bad_requests_and_changes_nothing(
    fake_api: FakeBotAPI, session_factory: SessionFactory, settings: Settings, admin_id: int
) -> None:
    original = utcnow() + LATER
    broadcast_id = await scheduled(session_factory, original, admin_id)
    async with session_factory() as session, session.begin():
        sent = await make_broadcast(session, status=BroadcastStatus.SENT)
    async with scheduling(fake_api, session_factory, settings) as machinery:
        scheduler = machinery.scheduler
        with pytest.raises(ValidationFailed, match="in the future"):
            await scheduler.reschedule(broadcast_id, utcnow() - timedelta(minutes=1))
        with pytest.raises(ValidationFailed, match="time zone"):
            await scheduler.reschedule(broadcast_id, datetime(2030, 1, 1, 9, 0))
        with pytest.raises(ValidationFailed, match="time zone"):
            await scheduler.arm(broadcast_id, datetime(2030, 1, 1, 9, 0))
        with pytest.raises(InvalidStatus, match="Cannot reschedule broadcast with status sent"):
            await scheduler.reschedule(sent.id, utcnow() + LATER)
        with pytest.raises(BroadcastNotFound, match="Broadcast 9999 not found"):
            await scheduler.reschedule(9999, utcnow() + LATER)
        assert scheduler._scheduler.get_job(job_id(broadcast_id)).next_run_time == original
        assert not scheduler.is_armed(sent.id)
    assert (await load(session_factory, broadcast_id)).scheduled_at == original


async def test_a_cancelled_broadcast_does_not_fire(
    fake_api: FakeBotAPI,
    session_factory: SessionFactory,
    settings: Settings,
    admin_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="services.scheduler")
    async with scheduling(fake_api, session_factory, settings) as machinery:
        broadcast_id = await scheduled(session_factory, utcnow() + SOON, admin_id)
        await machinery.scheduler.arm(broadcast_id, utcnow() + SOON)
        await machinery.broadcasts.cancel_broadcast(broadcast_id)
        await fake_api.wait_for(
            lambda: any(
                f"Broadcast {broadcast_id} is no longer scheduled" in record.getMessage()
                for record in caplog.records
            ),
            timeout=10,
        )
        assert await machinery.scheduler.process_scheduled_broadcasts() == []
    assert fake_api.delivered == []
    broadcast = await load(session_factory, broadcast_id)
    assert (broadcast.status, broadcast.recipient_count) == (BroadcastStatus.CANCELLED, 0)


async def test_a_broadcast_fires_once_however_often_it_is_triggered(
    fake_api: FakeBotAPI, session_factory: SessionFactory, settings: Settings, admin_id: int
) -> None:
    broadcast_id = await scheduled(session_factory, utcnow() - timedelta(seconds=1), admin_id)
    async with (
        scheduling(fake_api, session_factory, settings, start=False) as one,
        scheduling(fake_api, session_factory, settings, start=False) as other,
    ):
        outcomes = await asyncio.gather(
            one.scheduler.fire(broadcast_id),
            one.scheduler.fire(broadcast_id),
            other.scheduler.fire(broadcast_id),
            other.scheduler.process_scheduled_broadcasts(),
        )
        await one.finished(broadcast_id)
        await other.finished(broadcast_id)
    started = [outcome for outcome in outcomes if outcome in (True, [broadcast_id])]
    assert len(started) == 1
    assert one.sender.stats.runs + other.sender.stats.runs == 1  # one engine sent it
    assert delivered_to_students(fake_api) == Counter(STUDENT_CHATS)
    assert len(fake_api.messages_to(ADMIN_CHAT)) == 1


EN_NOTICE = "Scheduled broadcast #{id} was not sent: nobody in “All parents”"
RU_NOTICE = "Запланированная рассылка #{id} не отправлена: в группе «Все родители»"


@pytest.mark.parametrize(
    ("language", "stored", "expected"),
    [
        ("en", None, EN_NOTICE),
        ("ru", None, RU_NOTICE),
        ("en", "ru", RU_NOTICE),  # the language it was scheduled in comes first
    ],
)
async def test_a_scheduled_broadcast_nobody_can_receive_fails_and_the_admin_is_told(
    fake_api: FakeBotAPI,
    session_factory: SessionFactory,
    settings: Settings,
    admin_id: int,
    language: str,
    stored: str | None,
    expected: str,
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(User).where(User.id == admin_id).values(language_code=language)
        )
    broadcast_id = await scheduled(
        session_factory, utcnow() - timedelta(seconds=1), admin_id, TargetGroup.ALL_PARENTS
    )
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(progress_language=stored)
        )
    async with scheduling(fake_api, session_factory, settings, start=False) as machinery:
        assert await machinery.scheduler.fire(broadcast_id) is False
    broadcast = await load(session_factory, broadcast_id)
    assert broadcast.status is BroadcastStatus.FAILED
    assert broadcast.completed_at is not None
    assert [(entry["code"], entry["description"]) for entry in broadcast.error_log] == [
        ("no_recipients", "No recipients found for group all_parents")
    ]
    [notice] = fake_api.messages_to(ADMIN_CHAT)
    assert (notice.text or "").startswith(expected.format(id=broadcast_id))


async def test_an_admin_outside_the_roster_gets_progress_in_the_chat_stored_when_scheduling(
    fake_api: FakeBotAPI, session_factory: SessionFactory, settings: Settings, admin_id: int
) -> None:
    async with scheduling(fake_api, session_factory, settings) as machinery:
        # Added after the start, so the only timer is the one armed with the admin's chat.
        broadcast_id = await scheduled(session_factory, utcnow() + SOON, created_by=None)
        await machinery.scheduler.arm(broadcast_id, utcnow() + SOON, admin_chat_id=1000)
        await fake_api.wait_for(lambda: len(delivered_to_students(fake_api)) == 3, timeout=10)
        await machinery.finished(broadcast_id)
    assert len(fake_api.messages_to(1000)) == 1
    assert fake_api.messages_to(ADMIN_CHAT) == []
    async with session_factory() as session:
        chat = await session.scalar(
            select(Broadcast.progress_chat_id).where(Broadcast.id == broadcast_id)
        )
    assert chat == 1000


@pytest.mark.parametrize(
    ("stored", "roster", "expected"),
    [
        ("en", "ru", "📤 <b>Broadcast #{id}</b> · Sending"),  # the scheduling admin's
        (None, "en", "📤 <b>Broadcast #{id}</b> · Sending"),  # else the creator's
        (None, None, "📤 <b>Рассылка #{id}</b> · Отправляется"),  # else the default
    ],
)
async def test_a_fired_broadcast_speaks_the_language_of_the_admin_who_scheduled_it(
    fake_api: FakeBotAPI,
    session_factory: SessionFactory,
    settings: Settings,
    admin_id: int,
    stored: str | None,
    roster: str | None,
    expected: str,
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(update(User).where(User.id == admin_id).values(language_code=roster))
    russian = progress_renderer(Catalog("ru"), settings.tz)
    async with scheduling(fake_api, session_factory, settings, render=russian) as machinery:
        broadcast_id = await scheduled(session_factory, utcnow() + SOON, admin_id)
        await machinery.scheduler.arm(
            broadcast_id, utcnow() + SOON, admin_chat_id=ADMIN_CHAT, admin_language=stored
        )
        await fake_api.wait_for(lambda: len(fake_api.messages_to(ADMIN_CHAT)) == 1, timeout=10)
        await machinery.finished(broadcast_id)
    [live] = fake_api.messages_to(ADMIN_CHAT)
    assert (live.text or "").startswith(expected.format(id=broadcast_id))


async def test_a_scheduled_broadcast_whose_subject_is_gone_fails_with_the_reason(
    fake_api: FakeBotAPI, session_factory: SessionFactory, settings: Settings, admin_id: int
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            target_group=TargetGroup.BY_SUBJECT,
            target_filter={"subject_id": 4040},
            status=BroadcastStatus.SCHEDULED,
            created_by=admin_id,
            scheduled_at=utcnow() - timedelta(seconds=1),
        )
    async with scheduling(fake_api, session_factory, settings, start=False) as machinery:
        assert await machinery.scheduler.process_scheduled_broadcasts() == []
    failed = await load(session_factory, broadcast.id)
    assert failed.status is BroadcastStatus.FAILED
    assert [(entry["code"], entry["description"]) for entry in failed.error_log] == [
        ("validation", "Subject 4040 not found")
    ]
    [notice] = fake_api.messages_to(ADMIN_CHAT)
    assert notice.text == (
        f"Scheduled broadcast #{broadcast.id} was not sent: Subject 4040 not found."
        " It is marked as failed."
    )


# --- the assembled bot: stopped and started again on the same database ---------------


async def test_the_bot_rearms_and_catches_up_on_scheduled_broadcasts_after_a_restart(
    fake_api: FakeBotAPI, harness_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = harness_settings(harness_database_url, fake_api.url)
    harness, polling = await start_harness(fake_api, settings)  # also migrates the database
    engine = create_engine(harness_database_url)
    factory = create_session_factory(engine)
    try:
        await harness.send(555, "/help")  # answered: the bot is up and polling
        async with factory() as session, session.begin():
            admin = await add_user(session, role=Role.ADMIN, telegram_id=ADMIN_CHAT)
            for chat_id in STUDENT_CHATS:
                await add_user(session, role=Role.STUDENT, telegram_id=chat_id)
        soon = await scheduled(factory, utcnow() + timedelta(seconds=1), admin.id)
        later = await scheduled(factory, utcnow() + LATER, admin.id)
        await harness.app.scheduler.arm(soon, utcnow() + timedelta(seconds=1))
        await harness.app.scheduler.arm(later, utcnow() + LATER)
        await stop_harness(harness, polling)
        assert delivered_to_students(fake_api) == Counter()  # stopped before anything was due
        missed = await scheduled(factory, utcnow() - timedelta(minutes=10), admin.id)

        caplog.set_level(logging.INFO, logger="services.scheduler")
        harness, polling = await start_harness(fake_api, settings)
        await fake_api.wait_for(lambda: harness.app.scheduler.is_armed(later))
        await fake_api.wait_for(
            lambda: delivered_to_students(fake_api) == Counter(STUDENT_CHATS * 2), timeout=10
        )
        await harness.app.sender.wait(missed)
        await harness.app.sender.wait(soon)
        statuses = {
            broadcast_id: (await load(factory, broadcast_id)).status
            for broadcast_id in (soon, later, missed)
        }
    finally:
        await stop_harness(harness, polling)
        await engine.dispose()
    assert statuses == {
        soon: BroadcastStatus.SENT,
        later: BroadcastStatus.SCHEDULED,
        missed: BroadcastStatus.SENT,
    }
    late = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"Broadcast {missed} was due at" in line and "starts 10 min" in line for line in late
    )
