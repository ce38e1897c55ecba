"""Bounded shutdown: the real bot (`run_bot.py` as a child process) gets SIGTERM while
Telegram hangs on every request, and exits within seconds anyway: requests in flight get
a short grace, then they are abandoned (their recipients stay pending) and the lease is
released. A second run then delivers to everyone, at most the abandoned ones twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from db import migrate
from db.models import Base, Broadcast, BroadcastStatus
from db.session import SessionFactory, create_engine, create_session_factory
from fake_bot_api import FakeBotAPI
from services.sender import default_workers
from tests.conftest import TEST_TOKEN
from tests.sender_process import make_bot, seed_broadcast, spawn_sender

ROOT = Path(__file__).resolve().parents[1]
ADMIN_CHAT = 1000
RECIPIENTS = 300
SEND_RATE = 30
EXIT_BOUND = 8.0  # seconds; the bot aims at 5 (a 3 s grace, then abandon)


@pytest.fixture
async def migrated(database_url: str) -> AsyncIterator[SessionFactory]:
    """The database as the bot leaves it after its migrations, empty."""
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await migrate.upgrade(engine)
    yield create_session_factory(engine)
    await engine.dispose()


async def start_bot(database_url: str, api_url: str, log: Path) -> asyncio.subprocess.Process:
    environment = {
        **os.environ,
        "BOT_TOKEN": TEST_TOKEN,
        "ADMIN_IDS": str(ADMIN_CHAT),
        "DATABASE_URL": database_url,
        "BOT_API_URL": api_url,
        "SEND_RATE": str(SEND_RATE),
        "PROGRESS_EDIT_INTERVAL": "0.5",
        "DEFAULT_LANGUAGE": "en",
        "LOG_LEVEL": "INFO",
    }
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "run_bot.py",
            cwd=ROOT,
            env=environment,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=output,
        )


async def test_sigterm_while_telegram_hangs_exits_within_seconds_and_nobody_is_lost(
    migrated: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    workers = default_workers(SEND_RATE)
    async with FakeBotAPI(token=TEST_TOKEN, per_chat_interval=1.0) as api:
        admin_bot = make_bot(api.url)
        progress = await admin_bot.send_message(ADMIN_CHAT, "Broadcast progress")
        await admin_bot.session.close()
        broadcast_id = await seed_broadcast(
            migrated,
            RECIPIENTS,
            first_chat_id=80_000,
            progress_chat_id=ADMIN_CHAT,
            progress_message_id=progress.message_id,
        )
        bot = await start_bot(database_url, api.url, tmp_path / "bot.log")
        try:
            await api.wait_for(lambda: len(api.delivered) >= 40, timeout=60)
            await api.wait_for(lambda: api.edits, timeout=30)  # the progress message is live
            api.latency = 600.0  # from now on Telegram answers nothing
            await asyncio.sleep(1.0)  # every sender is stuck in a request by now
            delivered_before_stop = len(api.delivered)
            stopped_at = time.monotonic()
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), timeout=60)
            exit_seconds = time.monotonic() - stopped_at
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        log = (tmp_path / "bot.log").read_text()
        assert bot.returncode == 0, log[-3000:]
        assert exit_seconds < EXIT_BOUND, log[-3000:]
        assert len(api.delivered) == delivered_before_stop < RECIPIENTS
        async with migrated() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            assert broadcast is not None
            assert broadcast.status is BroadcastStatus.SENDING
            assert broadcast.lease_owner is None  # released on the way out

        api.latency = 0.0
        second = await spawn_sender(database_url, api.url, rate=300, workers=workers, lease=1.5)
        output, _ = await asyncio.wait_for(second.communicate(), timeout=120)
        assert second.returncode == 0 and b"DONE" in output
        per_chat = Counter(d.chat_id for d in api.delivered if d.chat_id != ADMIN_CHAT)
    assert set(per_chat) == {80_000 + i for i in range(RECIPIENTS)}
    assert sum(count - 1 for count in per_chat.values()) <= workers
    async with migrated() as session:
        final = (
            await session.execute(
                select(Broadcast.status, Broadcast.sent_count).where(Broadcast.id == broadcast_id)
            )
        ).one()
    assert tuple(final) == (BroadcastStatus.SENT, RECIPIENTS)
