"""Throughput of the sending engine against a fake Bot API server in another process.

    python -m benchmarks.bench_send [--recipients 10000] [--rate 30] [--latency 0.05]
                                    [--paid --rate 1000] [--database sqlite|URL]

It seeds a broadcast with N recipients, runs the real engine (limiter, workers, batched
results in the real database) until the broadcast is finished, and prints the achieved
rate against the configured one, 429s, lost and duplicate deliveries, peak RSS and the
time spent in the database. Then, in the same run, the raw ceiling: plain concurrent
`bot.send_message` calls against the same server with no database and no limiter.

The fake server enforces `--rate` per 1 s window and 1 s per chat, like Telegram.
A `--database` URL must point to a scratch database: its tables are recreated.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.app import send_policy
from db.models import Base, Broadcast, BroadcastRecipient
from db.session import create_engine, create_session_factory
from services.limiter import RateLimiter
from services.progress import ProgressHub
from services.sender import BroadcastSender
from tests.sender_process import TOKEN, make_bot, process_settings, seed_broadcast

FIRST_CHAT_ID = 1_000_000
RAW_FIRST_CHAT_ID = 900_000_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class RssSampler:
    """The resident set size right before sending and its peak while sending (sampled);
    ru_maxrss alone would report the import of aiogram, which peaks higher."""

    def __init__(self) -> None:
        self.before = current_rss_mb()
        self.peak = self.before
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, current_rss_mb())
            await asyncio.sleep(0.2)

    async def __aenter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, current_rss_mb())


class RecordingLimiter(RateLimiter):
    """Remembers when each chat was granted, to measure grant-to-arrival jitter."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.granted_at: dict[Hashable, float] = {}

    async def acquire(self, chat_id: Hashable | None = None, *, bulk: bool = False) -> None:
        await super().acquire(chat_id, bulk=bulk)
        if chat_id is not None:
            self.granted_at[chat_id] = time.monotonic()


def print_jitter(limiter: RecordingLimiter, delivered: list[dict[str, Any]]) -> None:
    """How late requests reached the server after their grant, and the worst case that
    matters for the window: a request arriving late, the one `rate` grants after it not."""
    pairs = sorted(
        (limiter.granted_at[d["chat_id"]], d["timestamp"])
        for d in delivered
        if d["chat_id"] in limiter.granted_at
    )
    delays = sorted(arrival - grant for grant, arrival in pairs)
    per_window = max(1, math.floor(limiter.rate))
    squeeze = sorted(
        (pairs[k][1] - pairs[k][0]) - (pairs[k + per_window][1] - pairs[k + per_window][0])
        for k in range(len(pairs) - per_window)
    )

    def ms(values: list[float], q: float) -> str:
        return f"{1000 * values[min(len(values) - 1, int(len(values) * q))]:.1f}" if values else "-"

    print(
        f"  jitter:     grant to arrival p50 {ms(delays, 0.5)} / p99 {ms(delays, 0.99)} / max "
        f"{ms(delays, 1)} ms; delay(k) - delay(k+{per_window}) p99 {ms(squeeze, 0.99)} / "
        f"max {ms(squeeze, 1)} ms (over {1000 * limiter.margin:.0f} ms margin means a 429)"
    )


# The fake server keeps every delivery; with a million of them Python's full garbage
# collections pause it for hundreds of ms, which looks like network jitter and draws 429s
# no real Telegram server would send. It runs with full collections off (young ones,
# which reclaim each request's garbage, stay on).
_RUN_FAKE_SERVER = (
    "import gc, runpy, sys; gc.set_threshold(700, 10, 10**9); "
    "sys.argv[0] = 'fake_bot_api'; "
    "runpy.run_module('fake_bot_api', run_name='__main__', alter_sys=True)"
)


class FakeServer:
    """`python -m fake_bot_api` as a child process."""

    def __init__(self, rate: float, latency: float) -> None:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _RUN_FAKE_SERVER,
                "--port",
                "0",
                "--token",
                TOKEN,
                "--rate",
                str(rate),
                "--per-chat-interval",
                "1",
                "--latency",
                str(latency),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("READY "):
            self._process.kill()
            raise SystemExit(f"fake Bot API server did not start: {line!r}")
        self.url = line.removeprefix("READY ")

    def call(self, name: str, body: dict[str, Any] | None = None, **query: str) -> Any:
        url = f"{self.url}/_fake/{name}"
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


async def run_engine(args: argparse.Namespace, server: FakeServer, database_url: str) -> None:
    settings = process_settings(
        database_url, server.url, args.rate, paid_broadcast=args.paid, send_batch_size=args.page
    )
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    session_factory = create_session_factory(engine)

    seeding = time.perf_counter()
    broadcast_id = await seed_broadcast(
        session_factory, args.recipients, first_chat_id=FIRST_CHAT_ID
    )
    print(f"seeded {args.recipients} recipients in {time.perf_counter() - seeding:.1f} s")
    rss = RssSampler()

    limiter = (
        RecordingLimiter(settings.send_rate) if args.jitter else RateLimiter(settings.send_rate)
    )
    bot = make_bot(server.url, limiter)
    hub = ProgressHub()
    sender = BroadcastSender(
        bot, session_factory, send_policy(settings), limiter, hub, workers=args.workers
    )
    started = time.perf_counter()
    with hub.subscribe(broadcast_id):  # someone watches, as an admin would
        async with rss:
            await sender.start(broadcast_id)
            await sender.wait(broadcast_id)
    elapsed = time.perf_counter() - started
    await bot.session.close()

    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        by_status = dict(
            (
                await session.execute(
                    select(BroadcastRecipient.status, func.count())
                    .where(BroadcastRecipient.broadcast_id == broadcast_id)
                    .group_by(BroadcastRecipient.status)
                )
            ).all()
        )
    await engine.dispose()

    stats = server.call("stats", per_chat="1" if args.recipients <= 200_000 else "0")
    delivered = stats["delivered"]
    if "per_chat_counts" in stats:
        distinct = len(stats["per_chat_counts"])
        extra = delivered - distinct
    else:  # too many chats to list: no duplicates means every delivery is a distinct chat
        extra = 0 if stats["duplicates"] == 0 else float("nan")
        distinct = delivered - extra
    span = (stats["last_delivery_ts"] or 0) - (stats["first_delivery_ts"] or 0)
    sustained = (delivered - 1) / span if span > 0 else float("nan")
    recorded = sum(by_status.values())
    s = sender.stats
    print(
        f"engine: {args.recipients} recipients, rate {args.rate:g}/s"
        f"{' (paid)' if args.paid else ''}, latency {args.latency * 1000:.0f} ms, "
        f"{sender.workers} workers, page {args.page}"
    )
    print(
        f"  achieved:   {sustained:.1f} msg/s sustained (server, first to last delivery), "
        f"{args.recipients / elapsed:.1f} msg/s end to end ({elapsed:.1f} s incl. recording)"
    )
    print(f"  429s:       {stats['count_429']} (engine flood waits: {s.flood_waits})")
    print(f"  busiest 1s: {stats['max_rate_1s']} deliveries")
    print(
        f"  lost:       {args.recipients - distinct} never delivered; "
        f"duplicates: {extra} extra deliveries"
    )
    print(
        f"  database:   status {broadcast.status.value}, sent_count {broadcast.sent_count}, "
        f"failed_count {broadcast.failed_count}, {recorded} rows: "
        + ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
    )
    print(
        f"  db time:    writing results {s.flush_seconds:.2f} s in {s.flushes} transactions "
        f"(avg {s.results / max(s.flushes, 1):.1f} results, "
        f"{1000 * s.flush_seconds / max(s.flushes, 1):.0f} ms each), "
        f"reading recipients {s.page_seconds:.2f} s in {s.pages} pages "
        f"(wall time of the awaits, overlapping the sending)"
    )
    if isinstance(limiter, RecordingLimiter):
        print_jitter(limiter, server.call("delivered"))
    print(
        f"  RSS:        {rss.before:.1f} MB before sending, {rss.peak:.1f} MB peak while sending "
        f"(+{rss.peak - rss.before:.1f} MB); process peak (ru_maxrss) {peak_rss_mb():.1f} MB"
    )


async def raw_ceiling(server: FakeServer, messages: int, concurrency: int) -> float:
    """Plain concurrent send_message calls: no database, no limiter."""
    server.call("reset")
    server.call("config", {"global_rate": None, "per_chat_interval": None})
    bot = make_bot(server.url, connections=concurrency)
    chats = iter(range(RAW_FIRST_CHAT_ID, RAW_FIRST_CHAT_ID + messages))

    async def sender() -> None:
        for chat_id in chats:
            await bot.send_message(chat_id, "Lessons start at 9:00 tomorrow")

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await bot.session.close()
    return messages / elapsed


async def main(args: argparse.Namespace) -> None:
    if not args.no_gc_freeze:
        gc.freeze()  # as the bot does after its imports: no long collections of aiogram's types
    server = FakeServer(args.rate, args.latency)
    try:
        with tempfile.TemporaryDirectory() as folder:
            database_url = (
                f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
                if args.database == "sqlite"
                else args.database
            )
            await run_engine(args, server, database_url)
        if args.raw_messages:
            ceiling = await raw_ceiling(server, args.raw_messages, args.raw_concurrency)
            print(
                f"raw ceiling: {ceiling:.0f} msg/s ({args.raw_messages} plain send_message "
                f"calls, {args.raw_concurrency} concurrent, no DB, no limiter)"
            )
    finally:
        server.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_send",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--paid", action="store_true", help="PAID_BROADCAST=true (rate up to 1000)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API answer")
    parser.add_argument("--database", default="sqlite", help="sqlite (a temp file) or a URL")
    parser.add_argument("--workers", type=int, default=None, help="default: from the rate")
    parser.add_argument("--page", type=int, default=100, help="SEND_BATCH_SIZE")
    parser.add_argument("--raw-messages", type=int, default=10_000, help="0 skips the ceiling")
    parser.add_argument("--raw-concurrency", type=int, default=200)
    parser.add_argument("--no-gc-freeze", action="store_true", help="skip gc.freeze()")
    parser.add_argument(
        "--jitter", action="store_true", help="measure grant-to-arrival jitter (uses memory)"
    )
    args = parser.parse_args()
    if args.rate > 30 and not args.paid:
        parser.error("a rate above 30/s needs --paid")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
