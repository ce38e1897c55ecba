"""The sending engine as a separate process, plus the helpers its users share.

The crash and failover tests run it, kill it with SIGKILL or stop it with SIGTERM
mid-send, and run another one on the same database; the benchmarks and the engine tests
use `seed_broadcast` to build large audiences with set-based SQL and `make_bot` to reach
a fake Bot API server.

    python -m tests.sender_process --database URL --api URL [--rate 200] [--workers N]
                                   [--lease SECONDS] [--jitter-margin S]
                                   [--redis URL [--redis-namespace NS]]

Like the bot, it resumes every broadcast in `sending` whose lease is free and supervises
from then on (taking over what another instance leaves). It prints `RUNNING <ids>` once
started, `TAKEN <id>` for each broadcast the supervisor starts later, and `DONE` when no
broadcast is `sending` any more; SIGTERM stops it gracefully (`STOPPED`). `--lease`
shortens the lease (heartbeat and sweep in proportion) so takeovers take seconds. With
`--redis` its rate budget is shared with every other process using the same Redis
namespace (by default the bot's, as the bot does).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.utils.token import extract_bot_id
from sqlalchemy import String, cast, func, insert, literal, select, update

from bot.app import send_policy
from core.settings import Settings
from db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    ContentKind,
    RecipientStatus,
    Role,
    TargetGroup,
    User,
)
from db.session import SessionFactory, create_engine, create_session_factory
from db.types import utcnow
from services.lease import LeaseTerms
from services.limiter import Limiter, RateLimiter, RateLimitMiddleware
from services.sender import BroadcastSender
from services.shared_limiter import SharedRateLimiter, bot_namespace

TOKEN = "123456:TEST-TOKEN"


def make_bot(
    api_url: str, limiter: Limiter | None = None, *, connections: int = 1000, **session: Any
) -> Bot:
    """A real aiogram Bot talking HTTP to `api_url`, with HTML as default parse mode like
    production (so tests show the engine overrides it); `limiter` paces its own replies."""
    http = AiohttpSession(api=TelegramAPIServer.from_base(api_url), limit=connections, **session)
    if limiter is not None:
        http.middleware(RateLimitMiddleware(limiter))
    return Bot(TOKEN, session=http, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


async def seed_broadcast(
    session_factory: SessionFactory,
    recipients: int,
    *,
    first_chat_id: int,
    message: str = "Lessons start at 9:00 tomorrow",
    **fields: Any,
) -> int:
    """A broadcast in `sending` with `recipients` new students (chat ids `first_chat_id`
    onwards) as pending recipients; rows are generated in SQL, not in Python. Its lease is
    free, as a bot that stopped leaves it, so the next engine to start takes it."""
    now = utcnow()
    prefix = f"seed-{first_chat_id}-"
    sequence = select(literal(1).label("n")).cte("sequence", recursive=True)
    sequence = sequence.union_all(select(sequence.c.n + 1).where(sequence.c.n < recipients))
    async with session_factory() as session, session.begin():
        if recipients:
            await session.execute(
                insert(User).from_select(
                    ["external_id", "full_name", "role", "is_active", "telegram_id", "created_at"],
                    select(
                        literal(prefix) + cast(sequence.c.n, String),
                        literal("Student ") + cast(sequence.c.n, String),
                        literal(Role.STUDENT.value),
                        literal(True),
                        sequence.c.n + (first_chat_id - 1),
                        literal(now, type_=User.created_at.type),
                    ),
                )
            )
        fields.setdefault("content_kind", ContentKind.TEXT)
        fields.setdefault("lease_expires_at", now)
        broadcast = Broadcast(
            target_group=TargetGroup.ALL_STUDENTS,
            target_filter={},
            message=message,
            status=BroadcastStatus.SENDING,
            recipient_count=recipients,
            sent_at=now,
            **fields,
        )
        session.add(broadcast)
        await session.flush()
        await session.execute(
            insert(BroadcastRecipient).from_select(
                ["broadcast_id", "recipient_id", "status", "telegram_sent", "attempts"],
                select(
                    literal(broadcast.id),
                    User.id,
                    literal(RecipientStatus.PENDING.value),
                    literal(False),
                    literal(0),
                )
                .where(User.external_id.startswith(prefix))
                .order_by(User.id),
            )
        )
        return broadcast.id


async def mark_delivered(
    session_factory: SessionFactory,
    broadcast_id: int,
    count: int,
    status: BroadcastStatus = BroadcastStatus.SENT,
) -> None:
    """Every recipient of the broadcast delivered now as message 1 of their chat (a new
    chat's first message), and the broadcast finished with `status`: what the engine
    would have recorded, for a benchmark of what comes after sending."""
    now = utcnow()
    async with session_factory() as session, session.begin():
        await session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
            .values(
                status=RecipientStatus.SENT,
                telegram_sent=True,
                telegram_message_id="1",
                attempts=1,
                sent_at=now,
            )
        )
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(status=status, sent_count=count, completed_at=now)
        )


def process_settings(database_url: str, api_url: str, rate: float, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "database_url": database_url,
        "bot_api_url": api_url,
        "send_rate": rate,
        "paid_broadcast": rate > 30,
        "retry_delays": [0.05, 0.1, 0.2],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def spawn_sender(
    database_url: str,
    api_url: str,
    *,
    rate: float,
    workers: int,
    lease: float | None = None,
) -> asyncio.subprocess.Process:
    """This module as a child process; read its stdout for RUNNING, TAKEN, DONE, STOPPED."""
    args = ["--database", database_url, "--api", api_url, "--rate", str(rate)]
    args += ["--workers", str(workers)] + (["--lease", str(lease)] if lease else [])
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.sender_process", *args, stdout=asyncio.subprocess.PIPE
    )


def short_lease(length: float) -> LeaseTerms:
    """A lease of `length` seconds, renewed three times and swept four times per length."""
    return LeaseTerms(length=length, heartbeat=length / 3, sweep=length / 4)


async def _nothing_sending(session_factory: SessionFactory) -> None:
    while True:
        async with session_factory() as session:
            sending = await session.scalar(
                select(func.count()).where(Broadcast.status == BroadcastStatus.SENDING)
            )
        if not sending:
            return
        await asyncio.sleep(0.1)


async def _taken(broadcast_id: int) -> None:
    print("TAKEN", broadcast_id, flush=True)


async def _run(args: argparse.Namespace) -> None:
    settings = process_settings(args.database, args.api, args.rate)
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    shared = None
    if args.redis:
        namespace = args.redis_namespace or bot_namespace(extract_bot_id(TOKEN))
        shared = SharedRateLimiter.from_url(
            args.redis, settings.send_rate, namespace=namespace, jitter_margin=args.jitter_margin
        )
    limiter = shared or RateLimiter(settings.send_rate, jitter_margin=args.jitter_margin)
    bot = make_bot(settings.bot_api_url, limiter)
    lease = short_lease(args.lease) if args.lease else None
    sender = BroadcastSender(
        bot, session_factory, send_policy(settings), limiter, workers=args.workers, lease=lease
    )
    terminated = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
    try:
        ids = await sender.resume_all()
        print("RUNNING", *ids, flush=True)
        sender.supervise(on_started=_taken)
        finished = asyncio.create_task(_nothing_sending(session_factory))
        stopped = asyncio.create_task(terminated.wait())
        await asyncio.wait({finished, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for waiting in (finished, stopped):
            waiting.cancel()
        if finished.done() and not finished.cancelled():
            print("DONE", flush=True)
    finally:
        await sender.shutdown()
        if shared is not None:
            await shared.close()
        await bot.session.close()
        await engine.dispose()
    if terminated.is_set():
        print("STOPPED", flush=True)


def main() -> None:
    gc.freeze()  # as the bot does after its imports
    parser = argparse.ArgumentParser(prog="python -m tests.sender_process")
    parser.add_argument("--database", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--lease", type=float, default=None, help="lease length in seconds")
    parser.add_argument("--jitter-margin", type=float, default=None, help="default: the rate's")
    parser.add_argument("--redis", default=None, help="share the rate budget through this Redis")
    parser.add_argument("--redis-namespace", default=None, help="default: the bot's")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
