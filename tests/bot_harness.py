"""End-to-end harness for conversation tests: the real application (bot/app.py) on a
fresh SQLite database (`harness_on_each_database`: on PostgreSQL as well), its Bot pointed
at a `FakeBotAPI` over HTTP, running real long polling. Tests push updates as users and
read the bot's answers from the fake server.
The limiter keeps its overall rate but not Telegram's 1 s between two messages to one
chat (`CHAT_INTERVAL`), which would make every exchange wait a second; the test that
checks that pacing (tests/test_limiter.py) starts the application as production does.

    async def test_help(bot_harness):
        replies = await bot_harness.send(ADMIN_ID, "/help")
        assert "/progress" in replies[-1].text
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import TelegramObject, Update

from bot.app import Application, build_application
from core.settings import Settings
from db.models import Base
from db.session import create_engine
from fake_bot_api import Delivered, Edit, FakeBotAPI
from services.quiet_hours import Clock
from tests.conftest import TEST_TOKEN

ADMIN_ID = 1000
HANDLED_TIMEOUT = 10.0
FAST_CHAT_INTERVAL = 0.0  # the limiter still keeps its jitter margin (10 ms) per chat


class BotHarness:
    """Drives a running application through the fake Bot API, one update at a time."""

    def __init__(self, api: FakeBotAPI, app: Application) -> None:
        self.api = api
        self.app = app
        self._handled: set[int] = set()
        # Outermost, so an update counts as handled only after the error handlers'
        # answers too (aiogram's ErrorsMiddleware is the first outer middleware).
        outer = app.dispatcher.update.outer_middleware
        existing = list(outer)
        for middleware in existing:
            outer.unregister(middleware)
        outer.register(self._track_handled)
        for middleware in existing:
            outer.register(middleware)

    async def _track_handled(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        finally:
            if isinstance(event, Update):
                self._handled.add(event.update_id)

    async def push(self, update: dict[str, Any]) -> int:
        """Queue an update and wait until the dispatcher has finished handling it."""
        self.api.push_update(update)
        update_id = int(update["update_id"])
        await self.api.wait_for(
            lambda: update_id in self._handled,
            timeout=HANDLED_TIMEOUT,
            message=f"update {update_id} was not handled",
        )
        return update_id

    async def send(self, user_id: int, text: str, **kwargs: Any) -> list[Delivered]:
        """A text message from `user_id`; returns what the bot sent to that chat meanwhile."""
        before = len(self.api.messages_to(user_id))
        await self.push(self.api.make_message_update(user_id, text, **kwargs))
        return self.api.messages_to(user_id)[before:]

    async def send_update(self, user_id: int, update: dict[str, Any]) -> list[Delivered]:
        """Any prepared update (photo, sticker...) from `user_id`; returns the bot's answers."""
        before = len(self.api.messages_to(user_id))
        await self.push(update)
        return self.api.messages_to(user_id)[before:]

    async def click(
        self, user_id: int, data: str, message_id: int, **kwargs: Any
    ) -> tuple[list[Delivered], list[Edit], list[dict[str, Any]]]:
        """Press a button: returns (new messages, edits, callback answers) it caused."""
        messages_before = len(self.api.messages_to(user_id))
        edits_before = len(self.api.edits)
        answers_before = len(self.api.callback_answers)
        await self.push(self.api.make_callback_update(user_id, data, message_id, **kwargs))
        return (
            self.api.messages_to(user_id)[messages_before:],
            self.api.edits[edits_before:],
            self.api.callback_answers[answers_before:],
        )

    def last_message(self, chat_id: int) -> Delivered:
        return self.api.messages_to(chat_id)[-1]


def harness_settings(database_url: str, api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TEST_TOKEN,
        "admin_ids": [ADMIN_ID],
        "database_url": database_url,
        "bot_api_url": api_url,
        "send_rate": 30,
        "retry_delays": [0.05, 0.1, 0.2],
        "progress_edit_interval": 0.2,
        "default_language": "en",
        "timezone": "Europe/Moscow",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def start_harness(
    api: FakeBotAPI,
    settings: Settings,
    *,
    chat_interval: float | None = FAST_CHAT_INTERVAL,
    clock: Clock | None = None,
) -> tuple[BotHarness, asyncio.Task[None]]:
    """Start the application and return once it has finished starting: broadcasts resumed,
    scheduled timers armed, startup handlers run. Rows a test adds after this are new to
    the running bot (not picked up by a start racing with the test).

    `chat_interval=None` builds the application exactly as production does; `clock` is
    the one quiet hours are read by (default: the system's)."""
    if chat_interval is None:
        app = await build_application(settings, clock=clock)
    else:
        app = await build_application(settings, chat_interval=chat_interval, clock=clock)
    harness = BotHarness(api, app)
    started = asyncio.Event()

    async def polling_started() -> None:
        started.set()

    # Startup runs after the resume and before the first poll: a test's own rows written
    # from here on are never mistaken for broadcasts a restart left behind.
    app.dispatcher.startup.register(polling_started)
    polling = asyncio.create_task(app.run_polling(handle_signals=False))
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait(
        {polling, waiting}, timeout=HANDLED_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if polling.done():
        polling.result()  # it failed to start: show why
    if not waiting.done():
        waiting.cancel()
        raise TimeoutError("the application did not start polling")
    return harness, polling


async def stop_harness(harness: BotHarness, polling: asyncio.Task[None]) -> None:
    await harness.app.dispatcher.stop_polling()
    await asyncio.wait_for(polling, timeout=10)
    await harness.app.close()


@contextlib.asynccontextmanager
async def running_harness(
    api: FakeBotAPI, settings: Settings, *, clock: Clock | None = None
) -> AsyncIterator[BotHarness]:
    """The application polling `api` with `settings` (quiet hours read by `clock`) until
    the block ends."""
    harness, polling = await start_harness(api, settings, clock=clock)
    try:
        yield harness
    finally:
        await stop_harness(harness, polling)


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI(token=TEST_TOKEN)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def harness_database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"


@pytest.fixture
async def bot_harness(fake_api: FakeBotAPI, harness_database_url: str) -> AsyncIterator[BotHarness]:
    async with running_harness(
        fake_api, harness_settings(harness_database_url, fake_api.url)
    ) as harness:
        yield harness


async def _empty_database(url: str) -> None:
    """No tables and no migration history: the application migrates it from scratch."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await engine.dispose()


@pytest.fixture
async def harness_on_each_database(
    fake_api: FakeBotAPI, database_url: str
) -> AsyncIterator[BotHarness]:
    """The application on SQLite and, with TEST_DATABASE_URL, on PostgreSQL too (the
    process's own database, left empty again afterwards)."""
    await _empty_database(database_url)
    try:
        async with running_harness(fake_api, harness_settings(database_url, fake_api.url)) as app:
            yield app
    finally:
        await _empty_database(database_url)
