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
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from db.models import Broadcast, BroadcastStatus, RecipientStatus
from db.session import SessionFactory
from db.types import utcnow
from services.content import BroadcastContent
from services.delivery_errors import DeliveryError, Disposition, ErrorCode, classify
from services.delivery_record import DeliveryRecord, DeliveryResult, Recipient, counts_query
from services.errors import Action, BroadcastNotFound, InvalidStatus
from services.limiter import Limiter, already_granted
from services.outgoing import OutgoingContent, send_content
from services.progress import ProgressHub, RunProgress, failed_by_code
from services.result_buffer import NotRecorded, ResultBuffer
from services.send_policy import SendPolicy

logger = logging.getLogger(__name__)

FLUSH_SIZE = 50
FLUSH_INTERVAL = 0.1
STATUS_POLL_INTERVAL = 0.25
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
        self._queue: asyncio.Queue[Recipient] = asyncio.Queue(
            maxsize=max(sender.policy.send_batch_size, sender.workers)
        )
        self._workers: list[asyncio.Task[None]] = []
        self._sending: set[asyncio.Task[Any]] = set()  # workers that must not be cancelled
        self._feeder: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._fatal: DeliveryError | None = None
        self._failed_by_code: dict[str, int] = {}
        self._progress = RunProgress(sender.hub, broadcast_id)
        self._record = DeliveryRecord(sender.session_factory, broadcast_id)
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
            await self._record.fail(self._fatal)
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
            next_due = await self._record.next_due()
            if next_due is None:
                await self._record.finish()
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
        after_id = 0
        fed = 0
        page_size = self._policy.send_batch_size
        while True:
            started = time.perf_counter()
            page = await self._record.due(now, after_id=after_id, limit=page_size)
            self._stats.page_seconds += time.perf_counter() - started
            self._stats.pages += 1
            for recipient in page:
                await self._queue.put(recipient)
            fed += len(page)
            if len(page) < page_size:
                return fed
            after_id = page[-1].row_id

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

    async def _deliver(
        self, recipient: Recipient, worker: asyncio.Task[Any]
    ) -> DeliveryResult | None:
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
                return DeliveryResult(
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

    def _failure(self, recipient: Recipient, error: DeliveryError) -> DeliveryResult:
        return DeliveryResult(
            recipient, RecipientStatus.FAILED, recipient.attempts, utcnow(), error=error
        )

    def _transient(self, recipient: Recipient, error: DeliveryError) -> DeliveryResult:
        attempts = recipient.attempts + 1
        now = utcnow()
        delay = self._policy.retry_delay(attempts)
        if delay is None:
            return DeliveryResult(recipient, RecipientStatus.FAILED, attempts, now, error=error)
        return DeliveryResult(
            recipient,
            RecipientStatus.PENDING,
            attempts,
            now,
            error=error,
            next_attempt_at=now + timedelta(seconds=delay),
        )

    # ----------------------------------------------------------------- recording

    async def _write(self, results: list[DeliveryResult]) -> None:
        """Record a batch of results, then count it for the progress snapshot."""
        started = time.perf_counter()
        counts = await self._record.write(results, read_counts=self._progress.watched)
        self._stats.flush_seconds += time.perf_counter() - started
        self._stats.flushes += 1
        self._stats.results += len(results)
        for r in results:
            if r.status is RecipientStatus.FAILED and r.error is not None:
                code = str(r.error.code or ErrorCode.OTHER)
                self._failed_by_code[code] = self._failed_by_code.get(code, 0) + 1
        self._progress.count(sum(1 for r in results if r.status is not RecipientStatus.PENDING))
        if counts is not None:
            status, total, sent_count, failed_count = counts
            self._progress.publish(
                BroadcastStatus(status), total, sent_count, failed_count, self._failed_by_code
            )

    async def _publish_final(self) -> None:
        if not self._progress.watched:
            return
        async with self.sender.session_factory() as session:
            row = (await session.execute(counts_query(self.broadcast_id))).one_or_none()
            if row is None:
                return
            self._failed_by_code = await failed_by_code(session, self.broadcast_id)
        status, total, sent, failed = row
        self._progress.publish(BroadcastStatus(status), total, sent, failed, self._failed_by_code)


class BroadcastSender:
    """Runs broadcasts: `start` one (also the launcher for "send now" and retries),
    `resume_all` after a restart, `shutdown` gracefully."""

    def __init__(
        self,
        bot: Bot,
        session_factory: SessionFactory,
        policy: SendPolicy,
        limiter: Limiter,
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
                raise InvalidStatus(broadcast_id, Action.DELIVER, broadcast.status)
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
