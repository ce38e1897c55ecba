"""``python -m fake_bot_api``: the fake server as a process of its own.

Why it exists: a benchmark must not share its event loop (and garbage collector) with
the server it measures against, so it starts this as a child process and talks to it
over HTTP only.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from fake_bot_api.server import FakeBotAPI


def _build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fake_bot_api",
        description=(
            "Fake Telegram Bot API server. Prints 'READY <url>' when listening on "
            "127.0.0.1; stops on SIGTERM/SIGINT. Keeps the fields tests need per delivery "
            "and counters, not a record per request. Control endpoints: "
            "GET /_fake/stats[?per_chat=1], GET /_fake/delivered?since=I&limit=N, "
            "GET|POST /_fake/config, POST /_fake/behaviour, POST /_fake/reset, "
            "POST /_fake/build/<kind>."
        ),
    )
    p.add_argument("--port", type=int, default=8081, help="0 = pick a free port")
    p.add_argument("--token", default="123456:TEST", help="'any' accepts every token")
    p.add_argument("--rate", type=float, default=None, help="global message rate per 1 s")
    p.add_argument("--per-chat-interval", type=float, default=None)
    p.add_argument("--latency", type=float, default=0.0)
    return p


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeBotAPI(
        token=None if args.token == "any" else args.token,
        global_rate=args.rate,
        per_chat_interval=args.per_chat_interval,
        latency=args.latency,
        compact=True,
        record_requests=False,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    url = await fake.start(args.port)
    print(f"READY {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    args = _build_arg_parser().parse_args(argv)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
