"""A broadcast never freezes: the database goes away mid-send (PostgreSQL cut off by a TCP
proxy; SQLite's write lock held by another connection for longer than the busy timeout),
sending pauses with the progress snapshot saying so, and the same run goes on by itself
once the database is back: everyone delivered once, nobody lost, nothing restarted (and
first the retrying guard on its own). And the supervisor: a broadcast this instance holds
but does not send is picked up again, and one that another live instance sends is left
alone until that instance stops."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import make_url, select

from db.models import Base, Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus
from db.session import SessionFactory, create_engine, create_session_factory
from fake_bot_api import FakeBotAPI
from services.lease import LeaseLost, LeaseTerms
from services.limiter import RateLimiter
from services.outage import OutageGuard
from services.progress import ProgressHub, ProgressSnapshot, ProgressSubscription
from services.send_policy import SendPolicy
from services.sender import BroadcastSender
from tests.conftest import TEST_TOKEN
from tests.sender_process import make_bot, seed_broadcast
from tests.tcp_proxy import TcpProxy

RECIPIENTS = 300
WORKERS = 8
RATE = 100.0
OUTAGE = 2.0  # seconds the database stays away
POLICY = SendPolicy(
    send_batch_size=100, max_retries=3, retry_delays=(0.05, 0.1, 0.2), paid_broadcast=False
)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TEST_TOKEN, per_chat_interval=1.0) as fake:
        yield fake


@asynccontextmanager
async def engine_sending(
    api: FakeBotAPI, session_factory: SessionFactory, lease: LeaseTerms | None = None
) -> AsyncIterator[tuple[BroadcastSender, ProgressHub]]:
    limiter = RateLimiter(RATE)
    bot = make_bot(api.url, limiter)
    hub = ProgressHub()
    sender = BroadcastSender(
        bot, session_factory, POLICY, limiter, hub, workers=WORKERS, lease=lease
    )
    try:
        yield sender, hub
    finally:
        await sender.shutdown()
        await bot.session.close()


async def collect(subscription: ProgressSubscription, into: list[ProgressSnapshot]) -> None:
    while True:
        into.append(await subscription.next())


async def test_the_guard_retries_until_a_call_succeeds_and_says_when_it_is_paused() -> None:
    changes: list[bool] = []
    guard = OutageGuard(changes.append, give_up=(LeaseLost,), first_delay=0.01, stalled_after=0.2)
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionRefusedError("the database is away")
        return "written"

    assert await guard.call(flaky, "writing") == "written"
    assert attempts == 3 and changes == [True, False] and not guard.paused

    async def slow() -> str:  # no error, but it hangs for longer than stalled_after
        await asyncio.sleep(0.5)
        return "late"

    assert await guard.call(slow, "writing") == "late"
    assert changes == [True, False] * 2

    async def taken_over() -> None:
        raise LeaseLost(1)

    with pytest.raises(LeaseLost):  # not worth retrying: at once, and no pause
        await guard.call(taken_over, "writing")
    assert changes == [True, False] * 2

    async def never() -> None:
        raise ConnectionRefusedError("the database is away")

    stuck = asyncio.create_task(guard.call(never, "writing"))
    await asyncio.sleep(0.1)
    assert guard.paused and changes[-1] is True
    stuck.cancel()  # the run stops: the call no longer counts
    await asyncio.gather(stuck, return_exceptions=True)
    assert not guard.paused


async def send_through_an_outage(
    api: FakeBotAPI,
    session_factory: SessionFactory,
    go_away: Callable[[], Awaitable[None]],
    come_back: Callable[[], Awaitable[None]],
    first_chat_id: int,
) -> tuple[int, list[ProgressSnapshot], int, int]:
    """Send a broadcast; mid-send the database goes away for OUTAGE seconds and comes back.
    Returns the broadcast id, the snapshots published, messages sent while the database was
    away, and how many runs the sender started."""
    broadcast_id = await seed_broadcast(session_factory, RECIPIENTS, first_chat_id=first_chat_id)
    snapshots: list[ProgressSnapshot] = []
    async with engine_sending(api, session_factory) as (sender, hub):
        with hub.subscribe(broadcast_id) as subscription:
            collector = asyncio.create_task(collect(subscription, snapshots))
            try:
                await sender.start(broadcast_id)
                await api.wait_for(lambda: len(api.delivered) >= RECIPIENTS // 5, timeout=30)
                await go_away()
                sent_before = len(api.delivered)
                await api.wait_for(lambda: any(s.paused for s in snapshots), timeout=15)
                await asyncio.sleep(OUTAGE)
                sent_while_away = len(api.delivered) - sent_before
                await come_back()
                await asyncio.wait_for(sender.wait(broadcast_id), timeout=60)
            finally:
                collector.cancel()
        runs = sender.stats.runs
    return broadcast_id, snapshots, sent_while_away, runs


async def assert_everyone_got_it_once(
    api: FakeBotAPI, session_factory: SessionFactory, broadcast_id: int, first_chat_id: int
) -> None:
    assert Counter(d.chat_id for d in api.delivered) == Counter(
        {first_chat_id + i: 1 for i in range(RECIPIENTS)}
    )
    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        statuses = Counter(
            await session.scalars(
                select(BroadcastRecipient.status).where(
                    BroadcastRecipient.broadcast_id == broadcast_id
                )
            )
        )
    assert broadcast is not None
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.SENT,
        RECIPIENTS,
        0,
    )
    assert statuses == Counter({RecipientStatus.SENT: RECIPIENTS})


def assert_paused_then_went_on(snapshots: list[ProgressSnapshot]) -> None:
    first_paused = next(i for i, s in enumerate(snapshots) if s.paused)
    assert any(not s.paused for s in snapshots[first_paused:])
    assert snapshots[-1].finished and not snapshots[-1].paused


async def test_postgresql_cut_off_mid_send_pauses_sending_and_the_run_goes_on(
    postgres_url: str, api: FakeBotAPI
) -> None:
    server = make_url(postgres_url)
    proxy = TcpProxy(server.port or 5432, server.host or "127.0.0.1")
    port = await proxy.start()
    engine = create_engine(
        server.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    )
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.run_sync(Base.metadata.create_all)
        session_factory = create_session_factory(engine)
        broadcast_id, snapshots, sent_while_away, runs = await send_through_an_outage(
            api, session_factory, proxy.down, proxy.up, first_chat_id=60_000
        )
        await assert_everyone_got_it_once(api, session_factory, broadcast_id, 60_000)
    finally:
        await engine.dispose()
        await proxy.stop()
    assert sent_while_away <= WORKERS  # each worker waits for its result to be durable
    assert runs == 1  # the same run went on: nothing was restarted
    assert_paused_then_went_on(snapshots)


async def test_an_sqlite_write_lock_held_past_the_busy_timeout_pauses_sending(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    path = tmp_path / "locked.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_busy_timeout=0.2)
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)

    async def hold_the_write_lock() -> None:  # another writer, as a second process would be
        await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")

    async def let_go() -> None:
        await asyncio.to_thread(locker.execute, "ROLLBACK")

    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        session_factory = create_session_factory(engine)
        broadcast_id, snapshots, sent_while_away, runs = await send_through_an_outage(
            api, session_factory, hold_the_write_lock, let_go, first_chat_id=61_000
        )
        await assert_everyone_got_it_once(api, session_factory, broadcast_id, 61_000)
    finally:
        locker.close()
        await engine.dispose()
    assert sent_while_away <= WORKERS
    assert runs == 1
    assert_paused_then_went_on(snapshots)


async def test_the_supervisor_sends_what_this_instance_holds_but_does_not_send(
    api: FakeBotAPI, session_factory: SessionFactory
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 20, first_chat_id=62_000)
    terms = LeaseTerms(length=3.0, heartbeat=1.0, sweep=0.2)
    started: list[int] = []

    async def on_started(started_id: int) -> None:
        started.append(started_id)

    async with engine_sending(api, session_factory, lease=terms) as (sender, _):
        # The lease is this instance's, but no run sends it: as after a run that died.
        assert await sender.leases.take(broadcast_id) is None
        assert not sender.is_running(broadcast_id)
        sender.supervise(on_started)
        await api.wait_for(lambda: started == [broadcast_id], timeout=10)
        await asyncio.wait_for(sender.wait(broadcast_id), timeout=30)
    assert Counter(d.chat_id for d in api.delivered) == Counter({62_000 + i: 1 for i in range(20)})
    async with session_factory() as session:
        status = await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
    assert status is BroadcastStatus.SENT


async def test_a_second_instance_leaves_a_live_broadcast_alone_until_the_first_stops(
    api: FakeBotAPI, session_factory: SessionFactory
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 150, first_chat_id=63_000)
    async with (
        engine_sending(api, session_factory) as (first, _),
        engine_sending(api, session_factory) as (second, _),
    ):
        await first.start(broadcast_id)
        await api.wait_for(lambda: len(api.delivered) >= 20, timeout=30)
        assert await second.resume_all() == []
        assert (await second.start(broadcast_id)).endswith(f"@{first.leases.owner}")
        assert not second.is_running(broadcast_id)
        await first.shutdown()  # releases the lease at once
        assert await second.resume_all() == [broadcast_id]
        await asyncio.wait_for(second.wait(broadcast_id), timeout=30)
    assert Counter(d.chat_id for d in api.delivered) == Counter({63_000 + i: 1 for i in range(150)})
