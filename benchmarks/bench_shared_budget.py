"""Several engine processes sending at once with one rate budget shared through Redis.

    python -m benchmarks.bench_shared_budget --redis URL [--processes 2] [--recipients 3000]
                                             [--rate 30] [--latency 0.05] [--deadline 600]

Each process (`tests.sender_process`, the real engine on a SQLite database of its own)
sends its own broadcast of `--recipients` to one fake Bot API server in another process
(`python -m fake_bot_api`, which enforces `--rate` per 1 s window and 1 s per chat, like
Telegram; above 30/s the engines send paid broadcasts). It prints the combined rate the
server saw, its busiest 1 s window, 429s, lost and doubled deliveries, and how long the
processes were sending at the same time.
Without `--redis` every process has its own budget, as without REDIS_URL: together they
send at a multiple of the rate and Telegram's escalating flood waits follow, so the run
is stopped after `--deadline` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from benchmarks.bench_send import FakeServer
from tests.engine_processes import finished, running_engines

FIRST_CHAT_ID = 2_000_000


def per_engine_spans(
    deliveries: list[dict[str, float]], processes: int, recipients: int
) -> list[tuple[int, float, float]]:
    """(deliveries, first, last timestamp) of each engine, told apart by its chat ids."""
    times: list[list[float]] = [[] for _ in range(processes)]
    for delivery in deliveries:
        times[int(delivery["chat_id"] - FIRST_CHAT_ID) // recipients].append(delivery["timestamp"])
    return [(len(t), min(t), max(t)) if t else (0, 0.0, 0.0) for t in times]


async def main(args: argparse.Namespace) -> None:
    server = FakeServer(args.rate, args.latency)
    try:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            async with running_engines(
                Path(folder),
                server.url,
                count=args.processes,
                recipients=args.recipients,
                rate=args.rate,
                first_chat_id=FIRST_CHAT_ID,
                redis_url=args.redis,
                namespace=f"bench-flood:{{{uuid.uuid4().hex}}}",
            ) as engines:
                try:
                    await asyncio.wait_for(finished(engines), args.deadline)
                    outcome = f"finished in {time.perf_counter() - started:.1f} s"
                except TimeoutError:
                    outcome = f"stopped unfinished after the {args.deadline:g} s deadline"
        stats = server.call("stats")
        deliveries = server.call("delivered")
    finally:
        server.stop()

    total = args.processes * args.recipients
    span = (stats["last_delivery_ts"] or 0) - (stats["first_delivery_ts"] or 0)
    combined = (stats["delivered"] - 1) / span if span > 0 else float("nan")
    per_chat = Counter(d["chat_id"] for d in deliveries)
    spans = per_engine_spans(deliveries, args.processes, args.recipients)
    together = min(last for _, _, last in spans) - max(first for _, first, _ in spans)
    budget = f"shared through {args.redis}" if args.redis else "one per process (no Redis)"
    print(
        f"{args.processes} engine processes x {args.recipients} recipients, rate "
        f"{args.rate:g}/s{' (paid)' if args.rate > 30 else ''}, latency "
        f"{args.latency * 1000:.0f} ms, budget {budget}: {outcome}"
    )
    print(
        f"  combined:   {combined:.1f} msg/s sustained (server, first to last delivery), "
        f"{stats['delivered']} of {total} delivered"
    )
    print(f"  busiest 1s: {stats['max_rate_1s']} deliveries (rate {args.rate:g})")
    print(f"  429s:       {stats['count_429']}")
    for number, (count, first, last) in enumerate(spans):
        rate = (count - 1) / (last - first) if last > first else float("nan")
        print(f"  engine {number}:   {count} delivered, {rate:.1f} msg/s over {last - first:.1f} s")
    print(f"  together:   {max(together, 0):.1f} s of {span:.1f} s all engines were sending")
    print(
        f"  lost:       {total - len(per_chat)} never delivered; duplicates: "
        f"{stats['delivered'] - len(per_chat)} extra deliveries"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_shared_budget",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--redis", default=None, help="Redis URL; without it, no sharing")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--recipients", type=int, default=3000, help="per process")
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API answer")
    parser.add_argument("--deadline", type=float, default=600, help="seconds before giving up")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
