"""How quickly admins get answers while a broadcast uses the whole rate.

    python -m benchmarks.bench_replies [--recipients 3000] [--rate 30] [--latency 0.05]
                                       [--commands 120] [--interval 0.5] [--admins 3]
                                       [--redis] [--elsewhere]

It runs the real application (`bot.app.build_application`, long polling) against the
fake Bot API server in another process (`python -m fake_bot_api`, which enforces `--rate`
per 1 s window and 1 s per chat, like Telegram), with a broadcast of `--recipients`
sending at full rate. Once the broadcast is under way, an admin command (`/stats`,
`/broadcasts`, `/broadcast ID` in turn) arrives every `--interval` seconds, from
`--admins` admins taking turns, so that no chat asks for more than Telegram's one message
a second. A reply's time runs from pushing the update to the server until the bot's
answer arrives there (both on the machine's monotonic clock). It prints p50 / p95 / max
reply time, the broadcast's rate while the commands came, and the 429s.

The database is SQLite in a temporary folder. With `--redis` the rate budget is shared
through Redis (and the conversation state kept there), as with REDIS_URL: a database of
the Redis server at TEST_REDIS_URL (default 127.0.0.1:6379) claimed as the tests claim
theirs (tests/redis_db.py), emptied at the end. With `--elsewhere` the broadcast sends
from another instance instead (`tests.sender_process`, the engine in a process of its own
with a database of its own), drawing on the same budget in Redis, and the third command
is `/help`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench_send import FakeServer
from bot.app import Application, build_application
from tests.engine_processes import running_engines
from tests.redis_db import claimed_database
from tests.sender_process import process_settings, seed_broadcast

FIRST_CHAT_ID = 3_000_000
FIRST_ADMIN_ID = 1000
WARM_UP = 3.0  # seconds of broadcast before the first command
REPLY_TIMEOUT = 30.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def commands(broadcast_id: int | None) -> Iterator[str]:
    """The admins' commands in turn (/help instead of the details of a broadcast this
    instance does not have)."""
    third = "/help" if broadcast_id is None else f"/broadcast {broadcast_id}"
    while True:
        yield from ("/stats", "/broadcasts", third)


async def start(
    args: argparse.Namespace, server: FakeServer, database_url: str, redis_url: str | None
) -> Application:
    settings = process_settings(
        database_url,
        server.url,
        args.rate,
        admin_ids=[FIRST_ADMIN_ID + i for i in range(args.admins)],
        redis_url=redis_url,
    )
    return await build_application(settings)  # migrates the fresh database


async def push_commands(
    args: argparse.Namespace, server: FakeServer, broadcast_id: int | None
) -> list[tuple[int, float]]:
    """(admin chat, push time) of every command, one every `interval` seconds."""
    pushed: list[tuple[int, float]] = []
    texts = commands(broadcast_id)
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        for k in range(args.commands):
            await asyncio.sleep(max(0.0, started + k * args.interval - time.monotonic()))
            admin = FIRST_ADMIN_ID + k % args.admins
            pushed.append((admin, time.monotonic()))
            body = {"from_id": admin, "text": next(texts)}
            async with http.post(f"{server.url}/_fake/build/message", json=body) as response:
                response.raise_for_status()
    return pushed


def reply_times(
    pushed: list[tuple[int, float]], deliveries: list[dict[str, Any]]
) -> tuple[list[float], int]:
    """Each command's reply time (its admin's k-th command and k-th message from the bot:
    every command is answered with one message), and how many got no answer."""
    answers: dict[int, list[float]] = defaultdict(list)
    for delivery in deliveries:
        if delivery["chat_id"] < FIRST_CHAT_ID:
            answers[delivery["chat_id"]].append(delivery["timestamp"])
    asked: dict[int, int] = defaultdict(int)
    times: list[float] = []
    for admin, at in pushed:
        k = asked[admin]
        asked[admin] += 1
        if k < len(answers[admin]):
            times.append(answers[admin][k] - at)
    return times, len(pushed) - len(times)


async def wait_for_replies(server: FakeServer, expected: int) -> None:
    deadline = time.monotonic() + REPLY_TIMEOUT
    while time.monotonic() < deadline:
        stats = await asyncio.to_thread(server.call, "stats", per_chat="1")
        per_chat = stats["per_chat_counts"]
        answered = sum(n for chat, n in per_chat.items() if int(chat) < FIRST_CHAT_ID)
        if answered >= expected:
            return
        await asyncio.sleep(0.5)


async def exchange(
    args: argparse.Namespace, server: FakeServer, folder: Path, redis_url: str | None
) -> list[tuple[int, float]]:
    """Run the bot while the broadcast sends, push the commands, wait for the answers."""
    app = await start(args, server, f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}", redis_url)
    async with contextlib.AsyncExitStack() as stack:
        broadcast_id = None
        if args.elsewhere:  # another instance, drawing on the same budget in Redis
            await stack.enter_async_context(
                running_engines(
                    folder,
                    server.url,
                    count=1,
                    recipients=args.recipients,
                    rate=args.rate,
                    first_chat_id=FIRST_CHAT_ID,
                    redis_url=redis_url,
                )
            )
        else:
            broadcast_id = await seed_broadcast(
                app.session_factory, args.recipients, first_chat_id=FIRST_CHAT_ID
            )
        gc.freeze()  # as the bot does once it is built
        polling = asyncio.create_task(app.run_polling(handle_signals=False))  # resumes it
        try:
            await asyncio.sleep(WARM_UP)
            pushed = await push_commands(args, server, broadcast_id)
            await wait_for_replies(server, len(pushed))
        finally:
            await app.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
            await app.close()
            if app.dispatcher.storage is not None:
                await app.dispatcher.storage.close()
    return pushed


def report(
    args: argparse.Namespace, server: FakeServer, pushed: list[tuple[int, float]], budget: str
) -> None:
    stats = server.call("stats")
    deliveries = server.call("delivered")
    times, unanswered = reply_times(pushed, deliveries)
    first, last = pushed[0][1], pushed[-1][1]
    during = [
        d for d in deliveries if d["chat_id"] >= FIRST_CHAT_ID and first <= d["timestamp"] <= last
    ]
    where = "in another instance" if args.elsewhere else "in this one"
    print(
        f"{args.recipients} recipients at rate {args.rate:g}/s {where}, latency "
        f"{args.latency * 1000:.0f} ms, budget {budget}; {len(pushed)} commands, one every "
        f"{args.interval:g} s from {args.admins} admins"
    )
    if times:
        print(
            f"  replies:    p50 {quantile(times, 0.5):.3f} s, p95 {quantile(times, 0.95):.3f} s, "
            f"max {max(times):.3f} s; {unanswered} unanswered"
        )
    else:
        print(f"  replies:    none of {len(pushed)} answered")
    if len(during) < args.rate * (last - first) / 2:
        print("  (the broadcast ended before the commands did: use more --recipients)")
    print(
        f"  broadcast:  {len(during) / (last - first):.1f} msg/s while the commands came; "
        f"{stats['delivered']} messages in all, busiest 1 s: {stats['max_rate_1s']}"
    )
    print(f"  429s:       {stats['count_429']}")


async def main(args: argparse.Namespace) -> None:
    server = FakeServer(args.rate, args.latency)
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            if args.redis:
                async with claimed_database() as redis_url:
                    pushed = await exchange(args, server, folder, redis_url)
                report(args, server, pushed, f"shared through {redis_url}")
            else:
                report(args, server, await exchange(args, server, folder, None), "this process's")
    finally:
        server.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_replies",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API answer")
    parser.add_argument("--commands", type=int, default=120)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between commands")
    parser.add_argument("--admins", type=int, default=3, help="admins taking turns")
    parser.add_argument(
        "--redis", action="store_true", help="share the budget through Redis (TEST_REDIS_URL)"
    )
    parser.add_argument(
        "--elsewhere",
        action="store_true",
        help="the broadcast sends from another instance sharing the budget (implies --redis)",
    )
    args = parser.parse_args()
    args.redis = args.redis or args.elsewhere
    if args.rate > 30:
        parser.error("this benchmark sends free broadcasts: --rate at most 30")
    if args.admins * args.interval < 1:
        parser.error("each admin must ask at most once a second: raise --admins or --interval")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
