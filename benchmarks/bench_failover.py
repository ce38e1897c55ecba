"""Failures while a broadcast is sending, at production timings: what they cost.

    python -m benchmarks.bench_failover [--database sqlite|URL] [--postgres URL]
        [--recipients 1011] [--rate 25] [--outage 2.5] [--lock 60] [--only NAME ...]

Scenarios (each on a fresh broadcast, against the fake Bot API with 50 ms latency):

* handover: a second engine process starts while the first sends, then the first gets
  SIGTERM; prints duplicates, lost, and how long the second took to go on;
* kill: the same, but the first is killed with SIGKILL; the second takes over once the
  30 s lease has expired: prints the time to take over, duplicates and lost;
* pg-outage (with --postgres): PostgreSQL cut off by a TCP proxy for --outage seconds;
* sqlite-lock: another connection holds SQLite's write lock for --lock seconds (longer
  than the 30 s busy timeout);
  both print how long sending paused, how soon it went on after the database came back,
  duplicates and lost, and whether the run had to be restarted;
* hang: the real bot (`run_bot.py`) gets SIGTERM while Telegram answers nothing; prints
  how long it took to exit, then a second run finishes and it prints duplicates and lost.

A --database or --postgres URL must point to a scratch database: its tables are recreated.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from db import migrate
from db.models import Base, Broadcast
from db.session import SessionFactory, create_engine, create_session_factory
from fake_bot_api import FakeBotAPI
from services.limiter import RateLimiter
from services.progress import ProgressHub
from services.send_policy import SendPolicy
from services.sender import BroadcastSender, default_workers
from tests.sender_process import TOKEN, make_bot, seed_broadcast, spawn_sender
from tests.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[1]
FIRST_CHAT = 2_000_000


class Run:
    """One scenario's broadcast: seeds it, then tells who got it how often."""

    def __init__(self, args: argparse.Namespace, api: FakeBotAPI) -> None:
        self.args = args
        self.api = api
        self.workers = default_workers(args.rate)

    async def seed(self, session_factory: SessionFactory) -> int:
        self.api.reset()
        return await seed_broadcast(session_factory, self.args.recipients, first_chat_id=FIRST_CHAT)

    def outcome(self) -> str:
        per_chat = Counter(d.chat_id for d in self.api.delivered if d.chat_id >= FIRST_CHAT)
        lost = self.args.recipients - len(per_chat)
        doubled = sum(count - 1 for count in per_chat.values())
        return f"{lost} lost, {doubled} duplicates (bound W = {self.workers})"


async def counters(session_factory: SessionFactory, broadcast_id: int) -> str:
    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    return (
        f"status {broadcast.status.value}, sent_count {broadcast.sent_count} "
        f"of {broadcast.recipient_count}"
    )


async def fresh_schema(url: str) -> tuple[SessionFactory, AsyncEngine]:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    return create_session_factory(engine), engine


async def line(process: asyncio.subprocess.Process) -> list[str]:
    assert process.stdout is not None
    return (await process.stdout.readline()).decode().split()


async def two_instances(run: Run, database_url: str, stop: signal.Signals) -> None:
    session_factory, engine = await fresh_schema(database_url)
    broadcast_id = await run.seed(session_factory)
    spawn = (database_url, run.api.url)
    first = await spawn_sender(*spawn, rate=run.args.rate, workers=run.workers)
    await line(first)
    await run.api.wait_for(lambda: len(run.api.delivered) >= run.args.recipients // 4, 120)
    second = await spawn_sender(*spawn, rate=run.args.rate, workers=run.workers)
    print(f"  second instance started: {' '.join(await line(second))} (took nothing)")
    # both running side by side until half the audience has it
    await run.api.wait_for(lambda: len(run.api.delivered) >= run.args.recipients // 2, 120)
    first.send_signal(stop)
    await first.wait()
    stopped_at = time.monotonic()
    delivered_at_stop = len(run.api.delivered)
    taken = await line(second)
    taken_after = time.monotonic() - stopped_at
    await run.api.wait_for(lambda: len(run.api.delivered) > delivered_at_stop, 60)
    sending_after = time.monotonic() - stopped_at
    assert await line(second) == ["DONE"]
    await second.wait()
    print(
        f"  first stopped with {stop.name} after {delivered_at_stop} deliveries; second: "
        f"{' '.join(taken)} after {taken_after:.1f} s, first message {sending_after:.1f} s"
    )
    print(f"  {run.outcome()}; {await counters(session_factory, broadcast_id)}")
    await engine.dispose()


async def through_an_outage(
    run: Run,
    session_factory: SessionFactory,
    go_away: Callable[[], Awaitable[None]],
    come_back: Callable[[], Awaitable[None]],
    seconds: float,
) -> None:
    broadcast_id = await run.seed(session_factory)
    limiter = RateLimiter(run.args.rate)
    bot = make_bot(run.api.url, limiter)
    hub = ProgressHub()
    policy = SendPolicy(100, 3, (10.0, 60.0, 300.0), False)
    sender = BroadcastSender(bot, session_factory, policy, limiter, hub)
    with hub.subscribe(broadcast_id) as subscription:
        await sender.start(broadcast_id)
        await run.api.wait_for(lambda: len(run.api.delivered) >= run.args.recipients // 4, 120)
        await go_away()
        away_at = time.monotonic()
        sent_at_outage = len(run.api.delivered)
        while not (await asyncio.wait_for(subscription.next(), 120)).paused:
            pass
        print(f"  paused {time.monotonic() - away_at:.2f} s after the database went away")
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - away_at)))
        sent_while_away = len(run.api.delivered) - sent_at_outage
        await come_back()
        back_at = time.monotonic()
        while (await asyncio.wait_for(subscription.next(), 120)).paused:
            pass
        resumed_after = time.monotonic() - back_at
        delivered_at_back = len(run.api.delivered)
        await run.api.wait_for(lambda: len(run.api.delivered) > delivered_at_back, 60)
        sending_after = time.monotonic() - back_at
        await sender.wait(broadcast_id)
        finished_after = time.monotonic() - back_at
    await sender.shutdown()
    await bot.session.close()
    print(
        f"  away {seconds:g} s; {sent_while_away} messages sent meanwhile (in flight); "
        f"after it came back: unpaused {resumed_after:.2f} s, next message "
        f"{sending_after:.2f} s, broadcast finished {finished_after:.1f} s"
    )
    print(
        f"  {run.outcome()}; {await counters(session_factory, broadcast_id)}; "
        f"runs started: {sender.stats.runs}"
    )


async def pg_outage(run: Run, postgres_url: str) -> None:
    server = make_url(postgres_url)
    proxy = TcpProxy(server.port or 5432, server.host or "127.0.0.1")
    port = await proxy.start()
    through = server.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    session_factory, engine = await fresh_schema(through)
    await through_an_outage(run, session_factory, proxy.down, proxy.up, run.args.outage)
    await engine.dispose()
    await proxy.stop()


async def sqlite_lock(run: Run, folder: Path) -> None:
    path = folder / "locked.sqlite3"
    session_factory, engine = await fresh_schema(f"sqlite+aiosqlite:///{path}")
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)

    async def lock() -> None:
        await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")

    async def unlock() -> None:
        await asyncio.to_thread(locker.execute, "ROLLBACK")

    await through_an_outage(run, session_factory, lock, unlock, run.args.lock)
    locker.close()
    await engine.dispose()


async def hang(run: Run, folder: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}"
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    session_factory = create_session_factory(engine)
    broadcast_id = await run.seed(session_factory)
    environment = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "DATABASE_URL": database_url,
        "BOT_API_URL": run.api.url,
        "SEND_RATE": str(run.args.rate),
        "LOG_LEVEL": "WARNING",
    }
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "run_bot.py", cwd=ROOT, env=environment, stderr=asyncio.subprocess.DEVNULL
    )
    await run.api.wait_for(lambda: len(run.api.delivered) >= run.args.recipients // 4, 120)
    run.api.latency = 600.0
    await asyncio.sleep(2)
    stopped_at = time.monotonic()
    bot.send_signal(signal.SIGTERM)
    await bot.wait()
    print(f"  SIGTERM while Telegram hangs: exited in {time.monotonic() - stopped_at:.2f} s")
    run.api.latency = 0.05
    second = await spawn_sender(database_url, run.api.url, rate=run.args.rate, workers=run.workers)
    await second.communicate()
    print(f"  after a second run: {run.outcome()}; {await counters(session_factory, broadcast_id)}")
    await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    wanted = set(args.only or ["handover", "kill", "pg-outage", "sqlite-lock", "hang"])
    print(f"{args.recipients} recipients at {args.rate:g}/s, W = {default_workers(args.rate)}")
    async with FakeBotAPI(token=TOKEN, latency=0.05, per_chat_interval=1.0) as api:
        run = Run(args, api)
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            database_url = (
                f"sqlite+aiosqlite:///{folder / 'two.sqlite3'}"
                if args.database == "sqlite"
                else args.database
            )
            if "handover" in wanted:
                print(f"handover ({make_url(database_url).get_backend_name()}):")
                await two_instances(run, database_url, signal.SIGTERM)
            if "kill" in wanted:
                print(f"kill ({make_url(database_url).get_backend_name()}):")
                await two_instances(run, database_url, signal.SIGKILL)
            if "pg-outage" in wanted and args.postgres:
                print("pg-outage:")
                await pg_outage(run, args.postgres)
            if "sqlite-lock" in wanted:
                print("sqlite-lock (busy timeout 30 s):")
                await sqlite_lock(run, folder)
            if "hang" in wanted:
                print("hang:")
                await hang(run, folder)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_failover",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database", default="sqlite", help="for handover and kill")
    parser.add_argument("--postgres", default="", help="a scratch PostgreSQL URL for pg-outage")
    parser.add_argument("--recipients", type=int, default=1011)
    parser.add_argument("--rate", type=float, default=25)
    parser.add_argument("--outage", type=float, default=2.5, help="seconds PostgreSQL is away")
    parser.add_argument("--lock", type=float, default=60, help="seconds SQLite stays locked")
    parser.add_argument("--only", nargs="*", help="scenarios to run (default: all)")
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # the engine's retry warnings are expected here
    asyncio.run(main(parse_args()))
