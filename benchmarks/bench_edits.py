"""Edits and deletes for everyone hold SEND_RATE like sends: the real engine edits, then
deletes, a delivered broadcast against a fake Bot API server in another process.

    python -m benchmarks.bench_edits [--recipients 1500] [--rate 30] [--latency 0.05]
                                     [--database sqlite|URL]

It seeds a broadcast with N recipients and delivers it without pacing (the fake's limits
off, the rows then marked delivered), so only the runs are timed. Then, with the fake
enforcing `--rate` per 1 s window and 1 s per chat as Telegram does, the edit run
(services/amend.py: the corrected text in every chat) and the delete run go through the
engine one after the other; for each it prints the achieved rate against the configured
one, 429s, and how many messages read the corrected text / are gone.
A `--database` URL must point to a scratch database: its tables are recreated.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from pathlib import Path

from benchmarks.bench_send import FakeServer
from bot.app import send_policy
from db.models import Base
from db.session import SessionFactory, create_engine, create_session_factory
from services.amend import AmendService, RunCreated
from services.limiter import RateLimiter
from services.progress import ProgressHub
from services.sender import BroadcastSender
from tests.sender_process import make_bot, mark_delivered, process_settings, seed_broadcast

FIRST_CHAT_ID = 1_000_000
TEXT = "Lessons start at 9:00 tomorrow"


async def deliver_unpaced(
    server: FakeServer, session_factory: SessionFactory, broadcast_id: int, count: int
) -> None:
    """Every recipient gets the message at once (no limits), and its row says so: message
    1 of its chat, as a new chat's first message is."""
    server.call("config", {"global_rate": None, "per_chat_interval": None})
    bot = make_bot(server.url, connections=100)
    chats = iter(range(FIRST_CHAT_ID, FIRST_CHAT_ID + count))

    async def sender() -> None:
        for chat_id in chats:
            await bot.send_message(chat_id, TEXT)

    await asyncio.gather(*(sender() for _ in range(100)))
    await bot.session.close()
    await mark_delivered(session_factory, broadcast_id, count)


async def timed_run(
    name: str, sender: BroadcastSender, server: FakeServer, created: RunCreated, rate: float
) -> None:
    before = server.call("stats", per_chat="0")
    started = time.perf_counter()
    await sender.start(created.run_id)
    await sender.wait(created.run_id)
    elapsed = time.perf_counter() - started
    after = server.call("stats", per_chat="0")
    methods_before, methods_after = before["method_counts"], after["method_counts"]
    done = {
        method: methods_after.get(method, 0) - methods_before.get(method, 0)
        for method in ("editMessageText", "deleteMessage")
        if methods_after.get(method, 0) > methods_before.get(method, 0)
    }
    print(
        f"{name}: {created.count} messages in {elapsed:.1f} s = "
        f"{created.count / elapsed:.1f} msg/s end to end (SEND_RATE {rate:g}/s); "
        f"429s: {after['count_429'] - before['count_429']}; requests: {done}"
    )


async def main(args: argparse.Namespace) -> None:
    gc.freeze()
    server = FakeServer(args.rate, args.latency)
    try:
        with tempfile.TemporaryDirectory() as folder:
            database_url = (
                f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
                if args.database == "sqlite"
                else args.database
            )
            engine = create_engine(database_url)
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.drop_all)
                await connection.run_sync(Base.metadata.create_all)
            session_factory = create_session_factory(engine)
            broadcast_id = await seed_broadcast(
                session_factory, args.recipients, first_chat_id=FIRST_CHAT_ID, message=TEXT
            )
            await deliver_unpaced(server, session_factory, broadcast_id, args.recipients)
            # The limits come back once the unpaced deliveries are out of the fake's 1 s
            # window and its 1 s per chat: the runs start as after a real, paced send.
            await asyncio.sleep(1.1)
            server.call("config", {"global_rate": args.rate, "per_chat_interval": 1})

            settings = process_settings(database_url, server.url, args.rate)
            limiter = RateLimiter(settings.send_rate)
            bot = make_bot(server.url, limiter)
            sender = BroadcastSender(
                bot, session_factory, send_policy(settings), limiter, ProgressHub()
            )
            amend = AmendService(session_factory, settings.message_max_length)
            edit = await amend.edit(broadcast_id, "Lessons start at 9:30 tomorrow", None, None)
            await timed_run("edit", sender, server, edit, args.rate)
            delete = await amend.delete(broadcast_id, None)
            await timed_run("delete", sender, server, delete, args.rate)
            await bot.session.close()
            await engine.dispose()
    finally:
        server.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_edits",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--recipients", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API answer")
    parser.add_argument("--database", default="sqlite", help="sqlite (a temp file) or a URL")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
