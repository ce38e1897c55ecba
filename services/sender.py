"""The sending engine: delivers a broadcast's pending recipients as fast as the shared
limiter allows, losing nobody and sending nobody twice.

One run per broadcast in status `sending`:

* a feeder reads due pending recipients page by page (keyset on the row id, joined to
  users for the chat id) into a small bounded queue, so memory does not grow with the
  audience;
* `workers` concurrent senders take a grant from the process-wide `RateLimiter`, send,
  and hand the result to a buffer that writes results in small batches, one transaction
  each (recipient rows, the broadcast's counters and error log, users who blocked the
  bot). A worker takes its next recipient only after its result is durable, so at any
  moment at most `workers` messages are sent but not recorded: that is the bound on
  duplicates after a crash (`kill -9`), since a restart re-sends exactly the recipients
  without a recorded result;
* a watcher polls the broadcast's status; once it is no longer `sending` (cancelled)
  nothing new starts, in-flight requests finish and are recorded, the rest stay pending.

A 429 pauses the whole limiter and the recipient is sent again (no failure, no retry
used). Transient errors (5xx, network, timeouts) are retried as the `SendPolicy` says
(after `retry_delays`, at most `max_retries` times): the run first goes through everyone
else, then waits for the earliest retry that is due. When nothing is pending the broadcast
becomes `sent`, `completed` (some failed) or `failed` (none delivered), unless it was
cancelled meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from sqlalchemy import Select, bindparam, case, exists, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import (
    Base,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    User,
)
from db.session import SessionFactory
from db.types import utcnow
from services.content import BroadcastContent
from services.delivery_errors import (
    DeliveryError,
    Disposition,
    ErrorCode,
    classify,
)
from services.error_log import ErrorEvent, merge_error_log
from services.errors import BroadcastNotFound, InvalidStatus
from services.limiter import RateLimiter, already_granted
from services.outgoing import OutgoingContent, send_content
from services.progress import ProgressHub, ProgressSnapshot, error_breakdown, failed_by_code
from services.result_buffer import NotRecorded, ResultBuffer
from services.send_policy import SendPolicy

logger = logging.getLogger(__name__)

FLUSH_SIZE = 50
FLUSH_INTERVAL = 0.1
STATUS_POLL_INTERVAL = 0.25
RATE_WINDOW = 5.0
MAX_WORKERS = 500


def default_workers(rate: float) -> int:
    """Enough requests in flight to hold `rate` when Telegram answers in up to ~300 ms and
    a result waits up to FLUSH_INTERVAL to be written."""
    return min(math.ceil(rate * 0.4) + 4, MAX_WORKERS)


@dataclass(slots=True)
class SenderStats:
    """Counters for benchmarks and logs, summed over every run of one sender."""

    page_seconds: float = 0.0  # reading recipients
    flush_seconds: float = 0.0  # writing results
    pages: int = 0
    flushes: int = 0
    results: int = 0
    flood_waits: int = 0


@dataclass(frozen=True, slots=True)
class _Recipient:
    row_id: int
    user_id: int
    chat_id: int | None
    attempts: int


@dataclass(slots=True)
class _Result:
    recipient: _Recipient
    status: RecipientStatus
    attempts: int
    at: datetime
    message_id: str | None = None
    error: DeliveryError | None = None
    next_attempt_at: datetime | None = None
    new_chat_id: int | None = None


class _BroadcastRun:
    """Sends one broadcast until nothing is pending, or until it is stopped."""

    def __init__(
        self, sender: BroadcastSender, broadcast_id: int, content: OutgoingContent, task_id: str
    ) -> None:
        self.sender = sender
        self.broadcast_id = broadcast_id
        self.task_id = task_id
        self.stopping = False
        self._content = content
        self._policy = sender.policy
        self._limiter = sender.limiter
        self._stats = sender.stats
        self._queue: asyncio.Queue[_Recipient] = asyncio.Queue(
            maxsize=max(sender.policy.send_batch_size, sender.workers)
        )
        self._workers: list[asyncio.Task[None]] = []
        self._sending: set[asyncio.Task[Any]] = set()  # workers that must not be cancelled
        self._feeder: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._fatal: DeliveryError | None = None
        self._failed_by_code: dict[str, int] = {}
        self._processed = 0
        self._rate_samples: deque[tuple[float, int]] = deque()
        self._buffer = ResultBuffer(self._write, self.stop, FLUSH_SIZE, FLUSH_INTERVAL)

    # ----------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        flusher = asyncio.create_task(self._buffer.run())
        watcher = asyncio.create_task(self._watch_status())
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.sender.workers)]
        self._feeder = asyncio.create_task(self._feed())
        logger.info("Broadcast %s: sending (%s)", self.broadcast_id, self.task_id)
        try:
            await asyncio.wait({self._feeder})
            if not self._feeder.cancelled() and (error := self._feeder.exception()):
                logger.error("Broadcast %s: feeding stopped", self.broadcast_id, exc_info=error)
            self.stop()
            await asyncio.wait(self._workers)
        finally:
            flusher.cancel()
            watcher.cancel()
            await asyncio.gather(flusher, watcher, return_exceptions=True)
        if self._fatal is not None:
            await self._fail_broadcast(self._fatal)
        await self._publish_final()

    def stop(self) -> None:
        """Start nothing new; requests already sent finish and are recorded."""
        if self.stopping:
            return
        self.stopping = True
        if self._feeder is not None:
            self._feeder.cancel()
        for worker in self._workers:
            if worker not in self._sending:
                worker.cancel()

    def wake(self) -> None:
        """Look for due recipients now (e.g. after failures were put back for a retry)."""
        self._wake.set()

    async def _watch_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_POLL_INTERVAL)
            try:
                async with self.sender.session_factory() as session:
                    status = await session.scalar(
                        select(Broadcast.status).where(Broadcast.id == self.broadcast_id)
                    )
            except SQLAlchemyError:  # a database hiccup: ask again at the next poll
                logger.warning(
                    "Broadcast %s: status check failed", self.broadcast_id, exc_info=True
                )
                continue
            if status is not BroadcastStatus.SENDING:
                logger.info("Broadcast %s is %s: stopping", self.broadcast_id, status)
                self.stop()
                return

    # ----------------------------------------------------------------- feeding

    async def _feed(self) -> None:
        while True:
            async with self.sender.session_factory() as session:
                self._failed_by_code = await failed_by_code(session, self.broadcast_id)
            self._wake.clear()
            fed = await self._feed_pass()
            await self._queue.join()  # everyone fed has a durable result by now
            next_due = await self._next_due()
            if next_due is None:
                await self._finish()
                return
            delay = (next_due - utcnow()).total_seconds()
            if delay <= 0 and not fed:
                delay = FLUSH_INTERVAL  # due by the database's clock only: don't spin
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    async def _feed_pass(self) -> int:
        """Queue every pending recipient that is due now, in id order; returns how many."""
        now = utcnow()
        last_id = 0
        fed = 0
        page_size = self._policy.send_batch_size
        recipient = BroadcastRecipient
        while True:
            started = time.perf_counter()
            async with self.sender.session_factory() as session:
                rows = (
                    await session.execute(
                        select(
                            recipient.id,
                            recipient.recipient_id,
                            User.telegram_id,
                            recipient.attempts,
                        )
                        .join(User, User.id == recipient.recipient_id)
                        .where(
                            recipient.broadcast_id == self.broadcast_id,
                            recipient.status == RecipientStatus.PENDING,
                            or_(
                                recipient.next_attempt_at.is_(None),
                                recipient.next_attempt_at <= now,
                            ),
                            recipient.id > last_id,
                        )
                        .order_by(recipient.id)
                        .limit(page_size)
                    )
                ).all()
            self._stats.page_seconds += time.perf_counter() - started
            self._stats.pages += 1
            for row_id, user_id, chat_id, attempts in rows:
                await self._queue.put(_Recipient(row_id, user_id, chat_id, attempts))
            fed += len(rows)
            if len(rows) < page_size:
                return fed
            last_id = rows[-1][0]

    async def _next_due(self) -> datetime | None:
        """When the earliest pending recipient may be sent; None when nothing is pending."""
        recipient = BroadcastRecipient
        async with self.sender.session_factory() as session:
            waiting, scheduled, earliest = (
                await session.execute(
                    select(
                        func.count(),
                        func.count(recipient.next_attempt_at),
                        func.min(recipient.next_attempt_at),
                    ).where(
                        recipient.broadcast_id == self.broadcast_id,
                        recipient.status == RecipientStatus.PENDING,
                    )
                )
            ).one()
        if not waiting:
            return None
        if waiting > scheduled or earliest is None:
            return utcnow()
        return earliest

    # ----------------------------------------------------------------- sending

    async def _work(self) -> None:
        worker = asyncio.current_task()
        assert worker is not None
        while not self.stopping:
            recipient = await self._queue.get()
            try:
                result = await self._deliver(recipient, worker)
                if result is not None:
                    await self._buffer.record(result)
            except NotRecorded:
                return
            except Exception:
                logger.exception("Broadcast %s: a sending worker failed", self.broadcast_id)
                self.stop()
                return
            finally:
                self._sending.discard(worker)
                self._queue.task_done()

    async def _deliver(self, recipient: _Recipient, worker: asyncio.Task[Any]) -> _Result | None:
        """Send to one recipient; None when stopped before sending (it stays pending)."""
        if recipient.chat_id is None:
            error = DeliveryError(
                Disposition.PERMANENT, ErrorCode.CHAT_NOT_FOUND, "User has no Telegram chat"
            )
            return self._failure(recipient, error)
        chat_id = recipient.chat_id
        new_chat_id: int | None = None
        while not self.stopping:
            await self._limiter.acquire(chat_id)
            if self.stopping:
                return None
            self._sending.add(worker)  # from here on the request runs to its recorded end
            try:
                with already_granted():
                    message = await send_content(
                        self.sender.bot, chat_id, self._content, paid=self._policy.paid_broadcast
                    )
            except Exception as exc:  # every failure of a send is sorted out below
                error = classify(exc)
            else:
                return _Result(
                    recipient,
                    RecipientStatus.SENT,
                    recipient.attempts,
                    utcnow(),
                    message_id=str(message.message_id),
                    new_chat_id=new_chat_id,
                )
            if error.disposition is Disposition.FLOOD_WAIT:
                logger.warning("Flood limit: pausing all sends for %ss", error.retry_after)
                self._limiter.pause(error.retry_after)
                self._stats.flood_waits += 1
            elif (
                error.disposition is Disposition.MIGRATED
                and error.migrate_to_chat_id is not None
                and new_chat_id is None  # a chat that moves twice fails below
            ):
                chat_id = new_chat_id = error.migrate_to_chat_id
            elif error.disposition is Disposition.FATAL:
                logger.error("Broadcast %s: %s", self.broadcast_id, error.description)
                self._fatal = error
                self.stop()
                return None
            elif error.disposition is Disposition.TRANSIENT:
                return self._transient(recipient, error)
            else:
                return self._failure(recipient, error)
            self._sending.discard(worker)  # waiting for the next grant may be cancelled
        return None

    def _failure(self, recipient: _Recipient, error: DeliveryError) -> _Result:
        return _Result(recipient, RecipientStatus.FAILED, recipient.attempts, utcnow(), error=error)

    def _transient(self, recipient: _Recipient, error: DeliveryError) -> _Result:
        attempts = recipient.attempts + 1
        now = utcnow()
        delay = self._policy.retry_delay(attempts)
        if delay is None:
            return _Result(recipient, RecipientStatus.FAILED, attempts, now, error=error)
        return _Result(
            recipient,
            RecipientStatus.PENDING,
            attempts,
            now,
            error=error,
            next_attempt_at=now + timedelta(seconds=delay),
        )

    # ----------------------------------------------------------------- recording

    async def _write(self, results: list[_Result]) -> None:
        """Record a batch of results in one transaction."""
        started = time.perf_counter()
        sent = sum(1 for r in results if r.status is RecipientStatus.SENT)
        failed = sum(1 for r in results if r.status is RecipientStatus.FAILED)
        events = [
            ErrorEvent(r.error.code, r.error.description, r.at)
            for r in results
            if r.error is not None and r.error.code is not None
        ]
        blocked = sorted(r.recipient.user_id for r in results if r.error and r.error.blocks_user)
        watched = self.sender.hub is not None and self.sender.hub.is_watched(self.broadcast_id)
        table = Base.metadata.tables[BroadcastRecipient.__tablename__]
        async with self.sender.session_factory() as session, session.begin():
            connection = await session.connection()
            await connection.execute(
                update(table).where(table.c.id == bindparam("row_id")),
                [_row_values(r) for r in results],
            )
            if blocked:
                await session.execute(
                    update(User).where(User.id.in_(blocked)).values(bot_blocked_at=utcnow())
                )
            for result in results:
                if result.new_chat_id is not None:
                    await _move_chat(session, result.recipient.user_id, result.new_chat_id)
            changes: dict[str, Any] = {}
            if sent:
                changes["sent_count"] = Broadcast.sent_count + sent
            if failed:
                changes["failed_count"] = Broadcast.failed_count + failed
            if events:
                changes["error_log"] = await self._merged_error_log(session, events)
            if changes:
                await session.execute(
                    update(Broadcast).where(Broadcast.id == self.broadcast_id).values(**changes)
                )
            counts = None
            if watched:
                counts = (await session.execute(self._counts_query())).one()
        self._stats.flush_seconds += time.perf_counter() - started
        self._stats.flushes += 1
        self._stats.results += len(results)
        for r in results:
            if r.status is RecipientStatus.FAILED and r.error is not None:
                code = str(r.error.code or ErrorCode.OTHER)
                self._failed_by_code[code] = self._failed_by_code.get(code, 0) + 1
        self._count_processed(sent + failed)
        if counts is not None:
            status, total, sent_count, failed_count = counts
            self._publish(BroadcastStatus(status), total, sent_count, failed_count)

    async def _merged_error_log(
        self, session: AsyncSession, events: Iterable[ErrorEvent]
    ) -> list[dict[str, Any]]:
        current = await session.scalar(
            select(Broadcast.error_log).where(Broadcast.id == self.broadcast_id).with_for_update()
        )
        return merge_error_log(current, events)

    async def _finish(self) -> None:
        """Set the final status if nothing is pending and nobody cancelled meanwhile."""
        pending = exists().where(
            BroadcastRecipient.broadcast_id == self.broadcast_id,
            BroadcastRecipient.status == RecipientStatus.PENDING,
        )
        final_status = case(
            (Broadcast.failed_count == 0, BroadcastStatus.SENT.value),
            (Broadcast.sent_count == 0, BroadcastStatus.FAILED.value),
            else_=BroadcastStatus.COMPLETED.value,
        )
        async with self.sender.session_factory() as session, session.begin():
            await session.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == self.broadcast_id,
                    Broadcast.status == BroadcastStatus.SENDING,
                    ~pending,
                )
                .values(status=final_status, completed_at=utcnow())
            )

    async def _fail_broadcast(self, error: DeliveryError) -> None:
        """Stop the broadcast as failed: the bot itself was rejected (token revoked)."""
        assert error.code is not None
        event = ErrorEvent(
            error.code,
            f"Sending stopped: Telegram rejected the bot token ({error.description})",
            utcnow(),
        )
        async with self.sender.session_factory() as session, session.begin():
            log = await self._merged_error_log(session, [event])
            await session.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == self.broadcast_id,
                    Broadcast.status == BroadcastStatus.SENDING,
                )
                .values(status=BroadcastStatus.FAILED, completed_at=utcnow(), error_log=log)
            )

    # ----------------------------------------------------------------- progress

    def _count_processed(self, count: int) -> None:
        now = time.monotonic()
        self._processed += count
        samples = self._rate_samples
        samples.append((now, self._processed))
        while len(samples) > 2 and samples[1][0] <= now - RATE_WINDOW:
            samples.popleft()

    def _rate(self) -> float:
        samples = self._rate_samples
        if len(samples) < 2:
            return 0.0
        (first_at, first), (last_at, last) = samples[0], samples[-1]
        return (last - first) / (last_at - first_at) if last_at > first_at else 0.0

    def _publish(self, status: BroadcastStatus, total: int, sent: int, failed: int) -> None:
        hub = self.sender.hub
        if hub is None:
            return
        rate = self._rate()
        pending = max(total - sent - failed, 0)
        hub.publish(
            ProgressSnapshot(
                self.broadcast_id,
                status,
                total,
                sent,
                failed,
                rate=rate,
                eta_seconds=pending / rate if rate > 0 else None,
                errors=error_breakdown(self._failed_by_code),
            )
        )

    def _counts_query(self) -> Select[BroadcastStatus, int, int, int]:
        """What a progress snapshot needs from the broadcast row."""
        return select(
            Broadcast.status,
            Broadcast.recipient_count,
            Broadcast.sent_count,
            Broadcast.failed_count,
        ).where(Broadcast.id == self.broadcast_id)

    async def _publish_final(self) -> None:
        if self.sender.hub is None or not self.sender.hub.is_watched(self.broadcast_id):
            return
        async with self.sender.session_factory() as session:
            row = (await session.execute(self._counts_query())).one_or_none()
            if row is None:
                return
            self._failed_by_code = await failed_by_code(session, self.broadcast_id)
        status, total, sent, failed = row
        self._publish(BroadcastStatus(status), total, sent, failed)


def _row_values(result: _Result) -> dict[str, Any]:
    error = result.error
    sent = result.status is RecipientStatus.SENT
    return {
        "row_id": result.recipient.row_id,
        "status": result.status.value,
        "telegram_sent": sent,
        "telegram_message_id": result.message_id,
        "telegram_error": None if sent or error is None else error.description,
        "error_code": None if sent or error is None or error.code is None else error.code.value,
        "attempts": result.attempts,
        "next_attempt_at": result.next_attempt_at,
        "sent_at": result.at if sent else None,
    }


async def _move_chat(session: AsyncSession, user_id: int, new_chat_id: int) -> None:
    """Store a migrated chat's new id, unless another user already has it."""
    other = aliased(User)
    taken = exists().where(other.telegram_id == new_chat_id)
    await session.execute(
        update(User).where(User.id == user_id, ~taken).values(telegram_id=new_chat_id)
    )


class BroadcastSender:
    """Runs broadcasts: `start` one (also the launcher for "send now" and retries),
    `resume_all` after a restart, `shutdown` gracefully."""

    def __init__(
        self,
        bot: Bot,
        session_factory: SessionFactory,
        policy: SendPolicy,
        limiter: RateLimiter,
        hub: ProgressHub | None = None,
        *,
        workers: int | None = None,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.policy = policy
        self.limiter = limiter
        self.hub = hub
        self.workers = workers or default_workers(limiter.rate)
        self.stats = SenderStats()
        self._runs: dict[int, _BroadcastRun] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._starting = asyncio.Lock()
        self._task_numbers = itertools.count(1)

    def is_running(self, broadcast_id: int) -> bool:
        return broadcast_id in self._runs

    async def start(self, broadcast_id: int) -> str:
        """Send the broadcast (status `sending`) in the background unless it already runs;
        returns the id of the task that sends it."""
        async with self._starting:
            run = self._runs.get(broadcast_id)
            if run is not None and run.stopping:
                await asyncio.wait({self._tasks[broadcast_id]})
                run = None
            if run is not None:
                run.wake()
                return run.task_id
            content = await self._load_content(broadcast_id)
            task_id = f"send-{broadcast_id}-{next(self._task_numbers)}"
            run = _BroadcastRun(self, broadcast_id, content, task_id)
            task = asyncio.create_task(run.run(), name=task_id)
            self._runs[broadcast_id] = run
            self._tasks[broadcast_id] = task
            task.add_done_callback(lambda done: self._forget(broadcast_id, run, done))
            return task_id

    def _forget(self, broadcast_id: int, run: _BroadcastRun, task: asyncio.Task[None]) -> None:
        if self._runs.get(broadcast_id) is run:
            del self._runs[broadcast_id]
            del self._tasks[broadcast_id]
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("Broadcast %s: the run failed", broadcast_id, exc_info=error)

    async def _load_content(self, broadcast_id: int) -> OutgoingContent:
        async with self.session_factory() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise BroadcastNotFound(broadcast_id)
            if broadcast.status is not BroadcastStatus.SENDING:
                raise InvalidStatus(f"Cannot send broadcast with status {broadcast.status.value}")
            return OutgoingContent.of(
                BroadcastContent(
                    broadcast.content_kind, broadcast.message, broadcast.entities, broadcast.file_id
                )
            )

    async def resume_all(self) -> list[int]:
        """Start every broadcast left in `sending` (after a restart or a crash)."""
        async with self.session_factory() as session:
            ids = list(
                await session.scalars(
                    select(Broadcast.id)
                    .where(Broadcast.status == BroadcastStatus.SENDING)
                    .order_by(Broadcast.id)
                )
            )
        for broadcast_id in ids:
            await self.start(broadcast_id)
        return ids

    async def wait(self, broadcast_id: int) -> None:
        """Until the broadcast's run (if any) has ended."""
        task = self._tasks.get(broadcast_id)
        if task is not None:
            await asyncio.wait({task})

    async def shutdown(self) -> None:
        """Stop feeding every run, let requests in flight finish and be recorded."""
        for run in list(self._runs.values()):
            run.stop()
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks)
