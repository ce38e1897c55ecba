"""A storm of "✅ I have read it" presses against the real bot: all recorded, all answered
in time, and the sending engine kept at its rate meanwhile.

    python -m benchmarks.bench_presses [--presses 5000] [--within 60 | --within 0]
        [--broadcast 3000] [--rate 30] [--latency 0.05] [--database sqlite|URL]

It seeds a finished broadcast that asks for confirmation, delivered to `--presses`
students (rows set-based in SQL; the messages with their button are put into the fake
Bot API by plain sends, so the "Confirmed" edits find them), starts the real bot
(`run_bot.py`, long polling against the fake server in this process) and pushes one
press from each chat, evenly spread over `--within` seconds (0: all at once). For each
press it measures the time from pushing the update to its answerCallbackQuery reaching
the server, and prints presses/s, p50/p95/max answer time, the answers by kind, the rows
recorded, whether the count an admin sees (the broadcast's details) agrees with the rows,
and how long the "✅ Confirmed" buttons took to replace the read buttons.

With `--broadcast N` it first lets the bot send a broadcast to N other students alone,
then another one to N more with the storm running, and prints both broadcasts' msg/s
(the second also while the storm lasted).

The fake server enforces `--rate` per 1 s window and 1 s per chat, like Telegram, and
answers every request after `--latency` seconds. A `--database` URL must point to a
scratch database: its tables are recreated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import func, select

from core.i18n import Catalog
from db import migrate
from db.models import Base, Broadcast, BroadcastRecipient, BroadcastStatus
from db.session import SessionFactory, create_engine, create_session_factory
from fake_bot_api import FakeBotAPI
from handlers.confirmations import read_button
from services.broadcast_reads import BroadcastReads
from tests.sender_process import TOKEN, make_bot, mark_delivered, seed_broadcast

ROOT = Path(__file__).resolve().parents[1]
PRESS_CHATS = 3_000_000
ALONE_CHATS = 4_000_000
STORM_CHATS = 5_000_000
CATALOG = Catalog("en")
T = CATALOG.translator("en")
READ_LABEL = T("read-btn")
PUSH_TICK = 0.01  # seconds between two rounds of pushing the presses that are due


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def answer_kind(answer: dict[str, Any]) -> str:
    text = answer.get("text", "")
    if text == T("read-thanks"):
        return "recorded"
    if text.startswith(T("read-already", time="\0").split("\0")[0]):
        return "already confirmed"
    return "refused or other"


async def fresh_database(url: str) -> SessionFactory:
    """No tables but the migrated schema, as the bot finds a database it migrated."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await migrate.upgrade(engine)
    return create_session_factory(engine)


async def seed_delivered(session_factory: SessionFactory, presses: int) -> int:
    """A completed broadcast asking for confirmation, delivered to `presses` students as
    message 1 of each chat (what the engine would have recorded)."""
    broadcast_id = await seed_broadcast(
        session_factory, presses, first_chat_id=PRESS_CHATS, ask_confirmation=True
    )
    await mark_delivered(session_factory, broadcast_id, presses, BroadcastStatus.COMPLETED)
    return broadcast_id


async def deliver_to_fake(api: FakeBotAPI, presses: int) -> None:
    """The fake gets each chat's message 1 with its read button, as the engine sent it."""
    rate, interval = api.global_rate, api.per_chat_interval
    api.global_rate = api.per_chat_interval = None
    bot = make_bot(api.url, connections=200)
    markup: InlineKeyboardMarkup = read_button(CATALOG, ZoneInfo("UTC")).markup(None)
    chats = iter(range(PRESS_CHATS, PRESS_CHATS + presses))

    async def sender() -> None:
        for chat_id in chats:
            sent = await bot.send_message(chat_id, "Meeting on Friday", reply_markup=markup)
            assert sent.message_id == 1, "the seeded rows say message 1"

    await asyncio.gather(*(sender() for _ in range(200)))
    await bot.session.close()
    api.global_rate, api.per_chat_interval = rate, interval


class RunningBot:
    """`run_bot.py` as a child process, polling the fake server."""

    def __init__(self, args: argparse.Namespace, api: FakeBotAPI, log: Path) -> None:
        self._args = args
        self._api = api
        self._log = log
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> RunningBot:
        environment = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "DATABASE_URL": self._args.database_url,
            "BOT_API_URL": self._api.url,
            "SEND_RATE": str(self._args.rate),
            "DEFAULT_LANGUAGE": "en",
            "LOG_LEVEL": "WARNING",
        }
        polls = len(self._api.requests_for("getUpdates"))
        with self._log.open("a") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "run_bot.py"), cwd=ROOT, env=environment, stderr=log
            )
        await self._api.wait_for(
            lambda: len(self._api.requests_for("getUpdates")) > polls,
            timeout=60,
            message="the bot did not start polling",
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        await self._process.wait()


class Storm:
    """Pushes one press per chat, evenly over `within` seconds, and times the answers."""

    def __init__(self, api: FakeBotAPI, chats: Iterable[int], within: float) -> None:
        self._api = api
        self._chats = list(chats)
        self._within = within
        self.pushed_at: dict[str, float] = {}
        self.started = self.ended = 0.0

    async def run(self) -> None:
        api = self._api
        self.started = time.monotonic()
        step = self._within / len(self._chats)
        for index, chat_id in enumerate(self._chats):
            due = self.started + index * step
            if due > time.monotonic() + PUSH_TICK / 2:
                await asyncio.sleep(due - time.monotonic())
            press = api.make_button_press(chat_id, chat_id, 1, READ_LABEL, language_code=None)
            api.push_update(press)
            self.pushed_at[press["callback_query"]["id"]] = time.monotonic()
        self.ended = time.monotonic()

    def answered_at(self) -> dict[str, float]:
        """Callback query id -> when its answer reached the server (the journal records
        each answer and its request in the same step, so the two lists pair up)."""
        requests = [r for r in self._api.requests_for("answerCallbackQuery") if r.status == 200]
        return {
            answer["callback_query_id"]: request.timestamp
            for answer, request in zip(self._api.callback_answers, requests, strict=True)
            if answer["callback_query_id"] in self.pushed_at
        }

    async def wait_answered(self, timeout: float) -> None:  # noqa: ASYNC109
        await self._api.wait_for(
            lambda: len(self._api.callback_answers) >= len(self._chats),
            timeout=timeout,
            message="not every press was answered",
        )

    def report(self) -> None:
        answered = self.answered_at()
        times = [answered[q] - pushed for q, pushed in self.pushed_at.items() if q in answered]
        span = self.ended - self.started
        last_answer = max(answered.values(), default=self.started)
        kinds = Counter(answer_kind(answer) for answer in self._api.callback_answers)
        print(
            f"  presses:    {len(self.pushed_at)} pushed in {span:.1f} s "
            f"({len(self.pushed_at) / max(span, 1e-9):.0f}/s); answered {len(times)} "
            f"({len(times) / max(last_answer - self.started, 1e-9):.0f}/s, first push to "
            f"last answer): " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        )
        print(
            f"  answer:     p50 {1000 * quantile(times, 0.5):.0f} / p95 "
            f"{1000 * quantile(times, 0.95):.0f} / max {1000 * quantile(times, 1):.0f} ms "
            f"(push to answerCallbackQuery at the server, {1000 * self._api.latency:.0f} ms "
            f"latency included); over 2 s: {sum(t > 2 for t in times)}"
        )

    async def report_edits(self, timeout: float) -> None:  # noqa: ASYNC109
        """How long the "Confirmed" buttons took to replace the read buttons."""
        chats = set(self._chats)
        confirmed = T("read-btn-confirmed", time="").strip()

        def edits() -> list[float]:
            return [
                e.timestamp
                for e in self._api.edits
                if e.chat_id in chats and confirmed in str(e.reply_markup)
            ]

        with contextlib.suppress(AssertionError):  # a timeout: report how many there are
            await self._api.wait_for(lambda: len(edits()) >= len(chats), timeout=timeout)
        done = edits()
        print(
            f'  buttons:    {len(done)} of {len(chats)} replaced by "Confirmed", the last '
            f"{max(done, default=self.started) - self.started:.1f} s after the first press"
        )


async def check_rows(session_factory: SessionFactory, broadcast_id: int, presses: int) -> None:
    async with session_factory() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(BroadcastRecipient)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.confirmed_at.is_not(None),
            )
        )
    details = await BroadcastReads(session_factory, ZoneInfo("UTC")).get_details(broadcast_id)
    print(
        f"  database:   {rows} of {presses} rows confirmed ({presses - (rows or 0)} lost); "
        f"the admin's details say {details.confirmed}: "
        + ("agree" if details.confirmed == rows else "DISAGREE")
    )


def sending_rate(api: FakeBotAPI, first_chat: int, count: int, window: tuple[float, float]) -> str:
    stamps = [d.timestamp for d in api.delivered if first_chat <= d.chat_id < first_chat + count]
    if len(stamps) < 2:
        return f"{len(stamps)} delivered"
    overall = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    text = f"{len(stamps)} delivered, {overall:.1f} msg/s first to last delivery"
    start, end = window
    if end > start:
        inside = sum(start <= s <= end for s in stamps)
        text += f", {inside / (end - start):.1f} msg/s while the storm lasted"
    return text


async def broadcast_done(session_factory: SessionFactory, broadcast_id: int) -> bool:
    async with session_factory() as session:
        status = await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
    return status is not None and status.is_finished


async def storm_phase(
    args: argparse.Namespace, api: FakeBotAPI, session_factory: SessionFactory, log: Path
) -> None:
    press_broadcast = await seed_delivered(session_factory, args.presses)
    await deliver_to_fake(api, args.presses)
    storm = Storm(api, range(PRESS_CHATS, PRESS_CHATS + args.presses), args.within)
    sending = 0
    if args.broadcast:
        sending = await seed_broadcast(session_factory, args.broadcast, first_chat_id=STORM_CHATS)
    async with RunningBot(args, api, log):
        if sending:  # the storm starts once the engine sends at its pace
            await api.wait_for(
                lambda: sum(d.chat_id >= STORM_CHATS for d in api.delivered) >= 2 * args.rate,
                timeout=60,
            )
        await storm.run()
        await storm.wait_answered(timeout=120)
        storm.report()
        await storm.report_edits(timeout=args.presses / args.rate * 1.5 + 30)
        await check_rows(session_factory, press_broadcast, args.presses)
        if sending:
            await api.wait_for(lambda: broadcast_done(session_factory, sending), timeout=600)
            print(
                f"  broadcast:  {args.broadcast} recipients with the storm: "
                + sending_rate(api, STORM_CHATS, args.broadcast, (storm.started, storm.ended))
            )


async def alone_phase(
    args: argparse.Namespace, api: FakeBotAPI, session_factory: SessionFactory, log: Path
) -> None:
    broadcast_id = await seed_broadcast(session_factory, args.broadcast, first_chat_id=ALONE_CHATS)
    async with RunningBot(args, api, log):
        await api.wait_for(lambda: broadcast_done(session_factory, broadcast_id), timeout=600)
    print(
        f"  broadcast:  {args.broadcast} recipients alone: "
        + sending_rate(api, ALONE_CHATS, args.broadcast, (0, 0))
    )


async def main(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if args.database == "sqlite":
            args.database_url = f"sqlite+aiosqlite:///{folder / 'presses.sqlite3'}"
        else:
            args.database_url = args.database
        session_factory = await fresh_database(args.database_url)
        print(
            f"{args.presses} presses within {args.within:g} s on "
            f"{args.database_url.split(':', 1)[0]}, rate {args.rate:g}/s, latency "
            f"{1000 * args.latency:.0f} ms; load average {load[0]:.1f} / {load[1]:.1f} / "
            f"{load[2]:.1f} on {os.cpu_count()} cores"
        )
        log = folder / "bot.log"
        async with FakeBotAPI(
            token=TOKEN, global_rate=args.rate, per_chat_interval=1.0, latency=args.latency
        ) as api:
            if args.broadcast:
                await alone_phase(args, api, session_factory, log)
            await storm_phase(args, api, session_factory, log)
            print(f"  429s:       {api.count_429()}")
        warnings = log.read_text().splitlines()
        if warnings:
            print(f"  bot log:    {len(warnings)} lines, the last: {warnings[-1][:200]}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_presses",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--presses", type=int, default=5000)
    parser.add_argument(
        "--within", type=float, default=60, help="seconds to spread them over (0: at once)"
    )
    parser.add_argument(
        "--broadcast", type=int, default=0, help="recipients of the broadcast sent alongside"
    )
    parser.add_argument("--rate", type=float, default=30, help="SEND_RATE")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API answer")
    parser.add_argument("--database", default="sqlite", help="sqlite (a temp file) or a URL")
    args = parser.parse_args()
    if args.presses < 1 or args.within < 0:
        parser.error("--presses must be positive and --within not negative")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
