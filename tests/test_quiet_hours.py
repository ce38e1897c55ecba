"""Quiet hours and Urgent: the rule (fixed datetimes, across midnight and clock changes),
the QUIET_HOURS setting, and the engine against the fake Bot API on SQLite and
PostgreSQL: a broadcast started inside quiet hours waits for their end, one running when
they begin pauses (its requests in flight finish and are recorded) and resumes after,
also across a restart, and an urgent one is sent at once with sound. Quiet hours are read
by an injected clock that the tests move; `QuietGate.wake` makes the engine look at it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from core.i18n import Catalog
from core.settings import Settings, load_settings
from db.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus, Role
from fake_bot_api import FakeBotAPI
from handlers.progress_view import render_progress
from services.progress import ProgressSnapshot
from services.quiet_hours import QuietGate, QuietHours
from tests.bot_harness import (
    ADMIN_ID,
    BotHarness,
    _empty_database,
    harness_settings,
    running_harness,
)
from tests.factories import add_user, make_broadcast
from tests.test_compose import Wizard
from tests.test_monitoring import buttons, text

ROOT = Path(__file__).resolve().parent.parent
MOSCOW = ZoneInfo("Europe/Moscow")  # the harness's TIMEZONE; no clock changes since 2014
BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(time(21), time(7), MOSCOW)
EVENING = datetime(2026, 3, 10, 20, 0, tzinfo=MOSCOW)
LATE = datetime(2026, 3, 10, 23, 0, tzinfo=MOSCOW)
MORNING = datetime(2026, 3, 11, 7, 0, tzinfo=MOSCOW)
FIRST_CHAT = 7001


def at(hour: int, minute: int = 0, *, day: int = 10, tz: ZoneInfo = MOSCOW) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=tz)


# --- the rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (at(21), at(7, day=11)),  # the start is inside
        (at(23, 59), at(7, day=11)),
        (at(0), at(7)),  # after midnight: ends the same morning
        (at(6, 59), at(7)),
        (at(7), None),  # the end is outside
        (at(12), None),
        (at(20, 59), None),
        (datetime(2026, 3, 10, 19, 30, tzinfo=UTC), at(7, day=11)),  # 22:30 in Moscow
    ],
)
def test_quiet_hours_crossing_midnight(now: datetime, ends: datetime | None) -> None:
    assert NIGHT.end_after(now) == ends
    assert NIGHT.contains(now) is (ends is not None)


def test_quiet_hours_within_one_day() -> None:
    lunch = QuietHours(time(12), time(14, 30), MOSCOW)
    assert lunch.end_after(at(11, 59)) is None
    assert lunch.end_after(at(12)) == at(14, 30)
    assert lunch.end_after(at(14, 29)) == at(14, 30)
    assert lunch.end_after(at(14, 30)) is None
    assert lunch.end_after(at(23)) is None


def test_quiet_hours_end_at_the_wall_clock_time_on_the_nights_the_clocks_change() -> None:
    night = QuietHours(time(21), time(7), BERLIN)
    # Spring forward (31 March 2024, 02:00 CET -> 03:00 CEST): a night one hour shorter.
    spring_evening = datetime(2024, 3, 30, 22, 0, tzinfo=BERLIN)
    spring_end = night.end_after(spring_evening)
    assert spring_end is not None
    assert spring_end == datetime(2024, 3, 31, 5, 0, tzinfo=UTC)  # 07:00 CEST
    assert spring_end.timestamp() - spring_evening.timestamp() == 8 * 3600
    # Fall back (27 October 2024, 03:00 CEST -> 02:00 CET): one hour longer.
    autumn_evening = datetime(2024, 10, 26, 22, 0, tzinfo=BERLIN)
    autumn_end = night.end_after(autumn_evening)
    assert autumn_end is not None
    assert autumn_end == datetime(2024, 10, 27, 6, 0, tzinfo=UTC)  # 07:00 CET
    assert autumn_end.timestamp() - autumn_evening.timestamp() == 10 * 3600
    # An end the clocks skip is never inside quiet hours again once reached.
    skipped = QuietHours(time(1), time(2, 30), BERLIN)
    end = skipped.end_after(datetime(2024, 3, 31, 1, 30, tzinfo=BERLIN))
    assert end is not None and not skipped.contains(end)
    assert end == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert f"{end:%H:%M %Z}" == "03:30 CEST"


def test_quiet_hours_need_a_start_and_an_end_that_differ() -> None:
    with pytest.raises(ValueError, match="differ"):
        QuietHours(time(7), time(7), MOSCOW)


def test_the_gate_spares_urgent_broadcasts_and_reads_its_clock() -> None:
    clock = ManualClock(LATE)
    gate = QuietGate(NIGHT, clock)
    assert gate.until() == MORNING
    assert gate.start_of(urgent=False) == MORNING
    assert gate.start_of(urgent=True) is None
    assert gate.start_of(urgent=False, at=at(12, day=11)) is None
    clock.now = MORNING
    assert gate.until() is None
    assert QuietGate(None, clock).start_of(urgent=False, at=LATE) is None


# --- the setting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "window"),
    [
        ("21:00-07:00", (time(21), time(7))),  # crossing midnight
        ("9:30 - 12:00", (time(9, 30), time(12))),
        ("00:00-23:59", (time(0), time(23, 59))),
        ("", None),
        ("  ", None),
    ],
)
def test_quiet_hours_setting(value: str, window: tuple[time, time] | None) -> None:
    settings = Settings(_env_file=None, bot_token="1:abc", quiet_hours=value)
    assert settings.quiet_hours == window


def test_quiet_hours_are_none_unless_set() -> None:
    assert Settings(_env_file=ROOT / ".env.example", bot_token="1:abc").quiet_hours is None
    assert Settings(_env_file=None, bot_token="1:abc").quiet_hours is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("21:00", "QUIET_HOURS must be two times HH:MM-HH:MM in TIMEZONE, e.g. 21:00-07:00"),
        ("25:00-07:00", "QUIET_HOURS must be two times HH:MM-HH:MM"),
        ("21:60-07:00", "QUIET_HOURS must be two times HH:MM-HH:MM"),
        ("evening", "QUIET_HOURS must be two times HH:MM-HH:MM"),
        ("07:00-07:00", "QUIET_HOURS must end at another time than it starts"),
    ],
)
def test_a_wrong_quiet_hours_setting_exits_2_with_one_line(
    value: str, expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    monkeypatch.delenv("QUIET_HOURS", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(bot_token="1:a", quiet_hours=value)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, bot_token="1:a", quiet_hours=value)


# --- the progress text -----------------------------------------------------------------

PROGRESS_WORDS = {
    "en": ("⏸ Paused for quiet hours until 07:00", "🌙 Will start at 07:00 (quiet hours)"),
    "ru": ("⏸ Пауза на тихие часы до 07:00", "🌙 Начнётся в 07:00 (тихие часы)"),
}


@pytest.mark.parametrize("language", PROGRESS_WORDS)
def test_the_progress_says_until_when_it_waits_for_quiet_hours(language: str) -> None:
    paused, will_start = PROGRESS_WORDS[language]
    t = Catalog("en").translator(language)
    waiting = ProgressSnapshot(
        1, BroadcastStatus.SENDING, 10, 4, 1, quiet_until=datetime(2026, 3, 11, 4, tzinfo=UTC)
    )
    lines, _ = render_progress(t, waiting, MOSCOW)
    assert paused in lines.split("\n")
    not_started = ProgressSnapshot(
        1, BroadcastStatus.SENDING, 10, 0, 0, quiet_until=datetime(2026, 3, 11, 4, tzinfo=UTC)
    )
    lines, _ = render_progress(t, not_started, MOSCOW)
    assert will_start in lines.split("\n") and paused not in lines
    sending, _ = render_progress(t, ProgressSnapshot(1, BroadcastStatus.SENDING, 10, 4, 1), MOSCOW)
    assert "07:00" not in sending


# --- the engine ------------------------------------------------------------------------


class ManualClock:
    """The time a test says; `move_when(condition, to)` jumps to `to` the first time it is
    read with `condition()` true (e.g. once some messages are out)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._move: tuple[Callable[[], bool], datetime] | None = None

    def move_when(self, condition: Callable[[], bool], to: datetime) -> None:
        self._move = (condition, to)

    def __call__(self) -> datetime:
        if self._move is not None and self._move[0]():
            self.now, self._move = self._move[1], None
        return self.now


@asynccontextmanager
async def night_harness(
    api: FakeBotAPI, database_url: str, clock: ManualClock, **overrides: Any
) -> AsyncIterator[BotHarness]:
    """The application with quiet hours 21:00-07:00 (Moscow) read by `clock`."""
    settings = harness_settings(database_url, api.url, quiet_hours="21:00-07:00", **overrides)
    async with running_harness(api, settings, clock=clock) as harness:
        yield harness


@pytest.fixture
async def night_database(database_url: str) -> AsyncIterator[str]:
    """SQLite and, with TEST_DATABASE_URL, PostgreSQL: empty before and after."""
    await _empty_database(database_url)
    try:
        yield database_url
    finally:
        await _empty_database(database_url)


def chats(count: int) -> list[int]:
    return list(range(FIRST_CHAT, FIRST_CHAT + count))


async def new_broadcast(harness: BotHarness, count: int, **options: Any) -> int:
    async with harness.app.session_factory() as session, session.begin():
        for chat_id in chats(count):
            await add_user(session, role=Role.STUDENT, telegram_id=chat_id)
        broadcast = await make_broadcast(session, message="Trip tomorrow", **options)
        return broadcast.id


def delivered(api: FakeBotAPI, count: int) -> list[int]:
    """The students that got the broadcast; none got it twice."""
    got: list[int] = []
    for chat_id in chats(count):
        messages = api.messages_to(chat_id)
        assert len(messages) <= 1, f"chat {chat_id} got it {len(messages)} times"
        got.extend(chat_id for _ in messages)
    return got


async def recorded(harness: BotHarness, broadcast_id: int) -> tuple[int, int, BroadcastStatus]:
    """Recipients recorded as sent, still pending, and the broadcast's status."""
    async with harness.app.session_factory() as session:
        statuses = list(
            await session.scalars(
                select(BroadcastRecipient.status).where(
                    BroadcastRecipient.broadcast_id == broadcast_id
                )
            )
        )
        status = await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
    assert status is not None
    return statuses.count(RecipientStatus.SENT), statuses.count(RecipientStatus.PENDING), status


async def progress_text(harness: BotHarness, broadcast_id: int) -> str:
    """The broadcast's live progress message as it reads now."""
    async with harness.app.session_factory() as session:
        message_id = await session.scalar(
            select(Broadcast.progress_message_id).where(Broadcast.id == broadcast_id)
        )
    assert message_id is not None
    state = harness.api.current_message(ADMIN_ID, message_id)
    assert state is not None
    return state.text or ""


async def progress_says(harness: BotHarness, broadcast_id: int, line: str) -> None:
    async def says() -> bool:
        return line in (await progress_text(harness, broadcast_id)).split("\n")

    await harness.api.wait_for(says, message=f"the progress never said {line!r}")


async def settled_paused(harness: BotHarness, broadcast_id: int, count: int) -> int:
    """Wait until every message that went out is recorded and every sender that could
    take a recipient waits for quiet hours to end; how many were sent."""
    sender = harness.app.sender

    async def settled() -> bool:
        sent, pending, _ = await recorded(harness, broadcast_id)
        waiting = min(pending, sender.workers)
        return sent == len(delivered(harness.api, count)) and sender.quiet.waiting == waiting > 0

    await harness.api.wait_for(settled, message="the run did not pause")
    sent, _, _ = await recorded(harness, broadcast_id)
    return sent


async def nothing_more_is_sent(harness: BotHarness, count: int, before: int) -> None:
    """Every sender is waiting for quiet hours: a while later nobody else got it."""
    await asyncio.sleep(0.3)
    assert len(delivered(harness.api, count)) == before


async def morning(harness: BotHarness, clock: ManualClock, broadcast_id: int) -> None:
    """Quiet hours end: the clock moves to 07:00 and the engine is told."""
    clock.now = MORNING
    harness.app.sender.quiet.wake()
    await asyncio.wait_for(harness.app.sender.wait(broadcast_id), 10)


async def test_a_broadcast_started_in_quiet_hours_waits_for_their_end(
    fake_api: FakeBotAPI, night_database: str
) -> None:
    clock = ManualClock(LATE)
    async with night_harness(fake_api, night_database, clock) as harness:
        broadcast_id = await new_broadcast(harness, 5)
        await harness.app.launcher.send_now(broadcast_id, ADMIN_ID, language="en")
        await settled_paused(harness, broadcast_id, 5)
        assert delivered(fake_api, 5) == []
        await progress_says(harness, broadcast_id, "🌙 Will start at 07:00 (quiet hours)")
        await nothing_more_is_sent(harness, 5, 0)

        await morning(harness, clock, broadcast_id)
        assert delivered(fake_api, 5) == chats(5)
        assert await recorded(harness, broadcast_id) == (5, 0, BroadcastStatus.SENT)
        for chat_id in chats(5):
            assert fake_api.messages_to(chat_id)[0].disable_notification is False


async def test_a_running_broadcast_pauses_when_quiet_hours_begin_and_resumes_after(
    fake_api: FakeBotAPI, night_database: str
) -> None:
    clock = ManualClock(EVENING)
    count = 12
    async with night_harness(fake_api, night_database, clock, send_rate=10) as harness:
        broadcast_id = await new_broadcast(harness, count)
        # The third student's message is in flight (held) when quiet hours begin.
        in_flight = chats(count)[2]
        fake_api.hold(in_flight)
        clock.move_when(lambda: fake_api.holding > 0, at(21, 1))
        await harness.app.launcher.send_now(broadcast_id, ADMIN_ID, language="ru")
        await fake_api.wait_for(lambda: harness.app.sender.quiet.waiting > 0)
        fake_api.release()
        before = await settled_paused(harness, broadcast_id, count)
        got = delivered(fake_api, count)
        assert in_flight in got  # the request in flight finished and was recorded
        assert 0 < before == len(got) < count
        await progress_says(harness, broadcast_id, "⏸ Пауза на тихие часы до 07:00")
        await nothing_more_is_sent(harness, count, before)
        async with harness.app.session_factory() as session:
            lease = await session.scalar(
                select(Broadcast.lease_owner).where(Broadcast.id == broadcast_id)
            )
        assert lease == harness.app.sender.leases.owner  # a paused run keeps its lease

        await morning(harness, clock, broadcast_id)
        assert sorted(delivered(fake_api, count)) == chats(count)
        assert await recorded(harness, broadcast_id) == (count, 0, BroadcastStatus.SENT)


async def test_a_restart_during_quiet_hours_waits_again(
    fake_api: FakeBotAPI, night_database: str
) -> None:
    count = 6
    clock = ManualClock(EVENING)
    clock.move_when(lambda: len(delivered(fake_api, count)) >= 2, at(21, 30))
    async with night_harness(fake_api, night_database, clock, send_rate=10) as harness:
        broadcast_id = await new_broadcast(harness, count)
        await harness.app.launcher.send_now(broadcast_id, ADMIN_ID, language="en")
        before = await settled_paused(harness, broadcast_id, count)
        assert 2 <= before < count
    # Stopped while paused; started again, still in the night.
    clock = ManualClock(at(23, 45))
    async with night_harness(fake_api, night_database, clock, send_rate=10) as harness:
        assert harness.app.sender.is_running(broadcast_id)  # resumed at start
        assert await settled_paused(harness, broadcast_id, count) == before
        await nothing_more_is_sent(harness, count, before)
        await progress_says(harness, broadcast_id, "⏸ Paused for quiet hours until 07:00")
        await morning(harness, clock, broadcast_id)
        assert sorted(delivered(fake_api, count)) == chats(count)
        assert await recorded(harness, broadcast_id) == (count, 0, BroadcastStatus.SENT)


async def test_an_urgent_broadcast_is_sent_during_quiet_hours_with_sound(
    fake_api: FakeBotAPI, night_database: str
) -> None:
    clock = ManualClock(LATE)
    async with night_harness(fake_api, night_database, clock) as harness:
        broadcast_id = await new_broadcast(harness, 3, urgent=True)
        await harness.app.launcher.send_now(broadcast_id, ADMIN_ID, language="en")
        await asyncio.wait_for(harness.app.sender.wait(broadcast_id), 10)
        assert delivered(fake_api, 3) == chats(3)
        for chat_id in chats(3):
            [message] = fake_api.messages_to(chat_id)
            assert "disable_notification" not in message.params
        [details] = await harness.send(ADMIN_ID, f"/broadcast {broadcast_id}")
        assert "Options: urgent" in (details.text or "").split("\n")


# --- what the admin is told before sending ---------------------------------------------

QUIET_WORDS = {
    "en": {
        "group": "All students",
        "urgent": "⬜ Urgent: at once, with sound, even in quiet hours",
        "continue": "Continue »",
        "starts": "🌙 Quiet hours now: it will start at 07:00.",
        "schedule": "🕒 Schedule",
        "scheduled": r"🌙 That is within quiet hours: it will start at \d\d\.\d\d\.\d{4} 07:00\.",
        "draft": "💾 Save draft",
    },
    "ru": {
        "group": "Все ученики",
        "urgent": "⬜ Срочное: сразу, со звуком, даже в тихие часы",
        "continue": "Продолжить »",
        "starts": "🌙 Сейчас тихие часы: рассылка начнётся в 07:00.",
        "schedule": "🕒 Запланировать",
        "scheduled": (
            r"🌙 Это время попадает в тихие часы: рассылка начнётся в \d\d\.\d\d\.\d{4} 07:00\."
        ),
        "draft": "💾 Сохранить черновик",
    },
}


@pytest.mark.parametrize("language", QUIET_WORDS)
async def test_the_preview_the_schedule_step_and_the_send_question_say_when_it_starts(
    fake_api: FakeBotAPI, tmp_path: Path, language: str
) -> None:
    words = QUIET_WORDS[language]
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    async with night_harness(fake_api, database_url, ManualClock(LATE)) as harness:
        await new_broadcast(harness, 2)
        wizard = Wizard(harness, language=language)
        await wizard.say("/new")
        await wizard.choose(words["group"])
        replies = await wizard.compose("Trip tomorrow")
        assert words["starts"] in (replies[-1].text or "").split("\n")
        await wizard.press(words["schedule"])
        [done] = await wizard.say("22:30")
        assert re.search(words["scheduled"], done.text or ""), done.text

        # Urgent: nothing about quiet hours.
        await wizard.say("/new")
        await wizard.choose(words["group"])
        await wizard.say("Fire drill now")
        await wizard.press(words["urgent"])
        messages, _, _ = await wizard.press(words["continue"])
        assert "07:00" not in (messages[-1].text or "")
        await wizard.press(words["draft"])

        # A draft sent from its details: the question says it too.
        [details] = await harness.send(ADMIN_ID, "/broadcast 1", language_code=language)
        send_now = buttons(details)[text("details-btn-send", language)]
        [question], _, _ = await harness.click(
            ADMIN_ID, send_now, details.message_id, language_code=language
        )
        assert words["starts"] in (question.text or "").split("\n")
