"""Two engine processes on one database and one fake Bot API server, as during a deploy:
the second starts while the first sends and leaves the broadcast alone (its lease is
alive); when the first is stopped with SIGTERM it releases the lease and the second goes
on at once (nobody gets it twice); when the first is killed with SIGKILL the second takes
over once the lease has expired (at most one message per worker twice, the ones in
flight at the kill). The counters never go above the number of recipients."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from sqlalchemy import select

from db.models import Broadcast, BroadcastStatus, RecipientStatus
from db.session import SessionFactory
from db.types import utcnow
from fake_bot_api import FakeBotAPI
from tests.conftest import TEST_TOKEN
from tests.sender_process import seed_broadcast, spawn_sender
from tests.test_resume import recorded_chats

RECIPIENTS = 800
RATE = 80.0  # 10 s of sending: time for the second instance to start and look
WORKERS = 8
LEASE = 1.5
FIRST_CHAT = 70_000
ALL_CHATS = {FIRST_CHAT + i for i in range(RECIPIENTS)}


async def start(database_url: str, api: FakeBotAPI) -> asyncio.subprocess.Process:
    return await spawn_sender(database_url, api.url, rate=RATE, workers=WORKERS, lease=LEASE)


LINE_TIMEOUT = 60.0


async def next_line(process: asyncio.subprocess.Process) -> list[str]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), LINE_TIMEOUT)
    assert line, "the process ended without saying more"
    return line.decode().split()


async def lines_until(process: asyncio.subprocess.Process, word: str) -> list[list[str]]:
    lines = [await next_line(process)]
    while lines[-1][0] != word:
        lines.append(await next_line(process))
    return lines


@contextlib.asynccontextmanager
async def highest_count(
    session_factory: SessionFactory, broadcast_id: int
) -> AsyncIterator[Callable[[], int]]:
    """Samples sent + failed every 50 ms while the block runs; yields the highest seen."""
    highest = 0

    async def sample() -> None:
        nonlocal highest
        while True:
            async with session_factory() as session:
                counted = await session.scalar(
                    select(Broadcast.sent_count + Broadcast.failed_count).where(
                        Broadcast.id == broadcast_id
                    )
                )
            highest = max(highest, counted or 0)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        yield lambda: highest
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)


@contextlib.asynccontextmanager
async def two_instances(
    database_url: str, api: FakeBotAPI, broadcast_id: int
) -> AsyncIterator[tuple[asyncio.subprocess.Process, asyncio.subprocess.Process]]:
    """The first sending the broadcast, the second started meanwhile and holding back.
    The first waits at the chats after the first eighth until the second runs, so on a
    busy machine, where starting a process takes long, it cannot finish before then."""
    for chat_id in sorted(ALL_CHATS)[RECIPIENTS // 8 :]:
        api.hold(chat_id)
    first = await start(database_url, api)
    second = None
    try:
        assert await next_line(first) == ["RUNNING", str(broadcast_id)]
        await api.wait_for(lambda: api.holding > 0, timeout=60)
        second = await start(database_url, api)
        assert await next_line(second) == ["RUNNING"]  # the first one's lease is alive
        api.release()
        # The second sweeps for more than a lease length (120 messages at 80/s) meanwhile.
        watched_from = len(api.delivered)
        await api.wait_for(lambda: len(api.delivered) >= watched_from + 120, timeout=60)
        yield first, second
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()


async def assert_finished_by_the_book(session_factory: SessionFactory, broadcast_id: int) -> None:
    final = await recorded_chats(session_factory, broadcast_id)
    assert set(final) == ALL_CHATS and set(final.values()) == {RecipientStatus.SENT.value}
    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.SENT,
        RECIPIENTS,
        0,
    )


async def test_a_stopped_instance_hands_its_broadcast_over_and_nobody_gets_it_twice(
    session_factory: SessionFactory, database_url: str
) -> None:
    async with FakeBotAPI(token=TEST_TOKEN, latency=0.02, per_chat_interval=1.0) as api:
        broadcast_id = await seed_broadcast(session_factory, RECIPIENTS, first_chat_id=FIRST_CHAT)
        async with (
            highest_count(session_factory, broadcast_id) as highest,
            two_instances(database_url, api, broadcast_id) as (first, second),
        ):
            first.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(first.communicate(), timeout=30)
            assert first.returncode == 0 and b"STOPPED" in output
            assert len(api.delivered) < RECIPIENTS  # it really stopped mid-send
            lines = await lines_until(second, "DONE")
            assert ["TAKEN", str(broadcast_id)] in lines
        per_chat = Counter(d.chat_id for d in api.delivered)
    assert set(per_chat) == ALL_CHATS and max(per_chat.values()) == 1
    assert highest() <= RECIPIENTS
    await assert_finished_by_the_book(session_factory, broadcast_id)


async def lease_expiry(session_factory: SessionFactory, broadcast_id: int) -> datetime:
    async with session_factory() as session:
        expires_at = await session.scalar(
            select(Broadcast.lease_expires_at).where(Broadcast.id == broadcast_id)
        )
    assert expires_at is not None
    return expires_at


async def test_a_killed_instances_broadcast_is_taken_over_once_its_lease_expires(
    session_factory: SessionFactory, database_url: str
) -> None:
    async with FakeBotAPI(token=TEST_TOKEN, latency=0.02, per_chat_interval=1.0) as api:
        broadcast_id = await seed_broadcast(session_factory, RECIPIENTS, first_chat_id=FIRST_CHAT)
        async with (
            highest_count(session_factory, broadcast_id) as highest,
            two_instances(database_url, api, broadcast_id) as (first, second),
        ):
            first.kill()  # SIGKILL: no chance to record or release anything
            await first.wait()
            await asyncio.sleep(0.2)  # requests the server was still answering land too
            expires_at = await lease_expiry(session_factory, broadcast_id)
            delivered_at_kill = {d.chat_id for d in api.delivered}
            status_at_kill = await recorded_chats(session_factory, broadcast_id)
            recorded_at_kill = {chat for chat, status in status_at_kill.items() if status == "sent"}
            assert recorded_at_kill <= delivered_at_kill
            in_flight = delivered_at_kill - recorded_at_kill
            assert len(in_flight) <= WORKERS
            assert len(delivered_at_kill) < RECIPIENTS

            assert await next_line(second) == ["TAKEN", str(broadcast_id)]
            assert utcnow() > expires_at  # not before the killed instance's lease expired
            assert (await lines_until(second, "DONE"))[-1] == ["DONE"]
        per_chat = Counter(d.chat_id for d in api.delivered)
    assert set(per_chat) == ALL_CHATS and max(per_chat.values()) <= 2
    assert {chat for chat, count in per_chat.items() if count > 1} <= in_flight
    assert highest() <= RECIPIENTS
    await assert_finished_by_the_book(session_factory, broadcast_id)
