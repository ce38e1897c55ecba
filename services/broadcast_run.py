"""One sending run: delivers a broadcast's pending recipients as fast as the shared
limiter allows, losing nobody and sending nobody twice.

One run per broadcast in status `sending` (services/sender.py starts and stops them):

* a feeder reads due pending recipients page by page (keyset on the row id, joined to
  users for the chat id) into a small bounded queue, so memory does not grow with the
  audience;
* `workers` concurrent senders take a grant from the bot's one `Limiter` (this process's
  `RateLimiter`, or the budget shared through Redis by every instance), send, and hand
  the result to a buffer that writes results in small batches, one transaction
  each (recipient rows, the broadcast's counters and error log, users who blocked the
  bot or whose account is deleted). A worker takes its next recipient only after its
  result is durable, so at any moment at most `workers` messages are sent but not
  recorded: that is the bound on duplicates after a crash (`kill -9`), since a restart
  re-sends exactly the recipients without a recorded result;
* a watcher polls the broadcast's status; once it is no longer `sending` (cancelled)
  nothing new starts, in-flight requests finish and are recorded, the rest stay pending;
* a heartbeat renews the broadcast's lease (services/lease.py); a run whose lease went to
  another instance stops, and what it had not recorded yet is not recorded;
* a broadcast that is not urgent is not sent during quiet hours (services/quiet_hours.py):
  before each send, and again once its grant comes, a worker asks the sender's
  `QuietGate`; inside quiet hours it keeps its recipient (still pending in the database)
  and waits for their end, while the requests already in flight finish and are recorded.
  The heartbeat and the status watcher go on meanwhile (a paused run keeps its lease and
  can be cancelled), and the progress says until when it waits.

`stop` lets requests in flight finish and be recorded; `abandon` (at shutdown, once the
grace is over) cancels them too, leaving their recipients pending as a kill would.

Every database call rides out an outage (services/outage.py): retried with backoff while
sending pauses by itself (workers wait for durable results) and the progress snapshot
says `paused`.

A 429 pauses the whole limiter and the recipient is sent again (no failure, no retry
used). Transient errors (5xx, network, timeouts) are retried as the `SendPolicy` says
(after `retry_delays`, at most `max_retries` times): the run first goes through everyone
else, then waits for the earliest retry that is due (the progress says so, and when).
When nothing is pending the broadcast becomes `sent`, `completed` (some failed) or
`failed` (none delivered), unless it was cancelled meanwhile.

An announcement corrected while it is sent (services/amend.py) gets a new content
revision: the next batch written meets it (ContentRevised), the run loads the corrected
content for everyone still pending, and edits the messages it had sent with the previous
text before recording them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from aiogram.types import Message
from sqlalchemy import select

from db.models import Broadcast, BroadcastStatus, RecipientStatus
from db.types import utcnow
from services.delivery_errors import DeliveryError, Disposition, ErrorCode, classify
from services.delivery_record import (
    ContentRevised,
    Counts,
    DeliveryRecord,
    DeliveryResult,
    Recipient,
    counts_query,
)
from services.lease import LeaseLost
from services.limiter import already_granted
from services.outage import OutageGuard
from services.progress import RunProgress, elapsed_seconds, failed_by_code, format_duration
from services.result_buffer import NotRecorded, ResultBuffer

if TYPE_CHECKING:
    from services.run_actions import LoadedAction
    from services.sender import BroadcastSender

logger = logging.getLogger(__name__)

FLUSH_SIZE = 50
FLUSH_INTERVAL = 0.1
STATUS_POLL_INTERVAL = 0.25
RELEASE_TIMEOUT = 1.0
"""Seconds a stopping run waits to release its lease (else it expires by itself)."""


@dataclass(slots=True)
class SenderStats:
    """Counters for benchmarks and logs, summed over every run of one sender."""

    page_seconds: float = 0.0  # reading recipients
    flush_seconds: float = 0.0  # writing results
    pages: int = 0
    flushes: int = 0
    results: int = 0
    flood_waits: int = 0
    runs: int = 0  # runs started: one per broadcast unless a run had to be restarted


class BroadcastRun:
    """Sends one broadcast until nothing is pending, or until it is stopped."""

    def __init__(
        self, sender: BroadcastSender, broadcast_id: int, action: LoadedAction, task_id: str
    ) -> None:
        self.sender = sender
        self.broadcast_id = broadcast_id
        self.task_id = task_id
        self.stopping = False
        self.abandoned = False
        self._loaded = action
        self._quiet = sender.quiet if action.waits_for_quiet_hours else None
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
        self._progress = RunProgress(sender.hub, broadcast_id, action.kind, action.parent_id)
        self._leases = sender.leases
        self._guard = OutageGuard(self._progress.pause, give_up=(LeaseLost, ContentRevised))
        self._record = DeliveryRecord(sender.session_factory, broadcast_id, sender.leases)
        self._buffer = ResultBuffer(self._write, self.stop, FLUSH_SIZE, FLUSH_INTERVAL)

    # ----------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        helpers = [
            asyncio.create_task(self._buffer.run()),
            asyncio.create_task(self._watch_status()),
            asyncio.create_task(self._leases.keep(self.broadcast_id, on_lost=self.stop)),
        ]
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
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        if not self.abandoned:
            if (fatal := self._fatal) is not None:
                await self._guard.call(partial(self._record.fail, fatal), self._what("failing"))
            if self._progress.watched:
                await self._guard.call(
                    partial(self._refresh_progress, running=False), self._what("final progress")
                )
            await self._log_outcome()
        with contextlib.suppress(Exception):  # else the lease expires by itself
            await asyncio.wait_for(self._leases.release(self.broadcast_id), RELEASE_TIMEOUT)

    async def _log_outcome(self) -> None:
        """One line when the broadcast is over: its outcome, counts and how long it took."""
        try:
            outcome = await self._record.outcome()
        except Exception:  # a log line is not worth failing the run's end over
            logger.warning("Broadcast %s: could not read its outcome", self.broadcast_id)
            return
        if outcome is None or not outcome.status.is_finished:
            return
        seconds = elapsed_seconds(outcome.started_at, outcome.finished_at)
        took = "—" if seconds is None else format_duration(seconds)
        logger.info(
            "Broadcast %s %s: %s sent, %s failed, %s pending of %s in %s",
            self.broadcast_id,
            outcome.status.value,
            outcome.sent,
            outcome.failed,
            outcome.pending,
            outcome.total,
            took,
        )

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

    def abandon(self) -> None:
        """Stop without waiting for requests in flight (shutting down): their recipients
        stay pending, so the next run sends them again, as after a kill."""
        self.abandoned = True
        self.stop()
        for worker in self._workers:
            worker.cancel()

    def wake(self) -> None:
        """Look for due recipients now (e.g. after failures were put back for a retry)."""
        self._wake.set()

    async def _watch_status(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(STATUS_POLL_INTERVAL)
            try:
                async with self.sender.session_factory() as session:
                    status = await session.scalar(
                        select(Broadcast.status).where(Broadcast.id == self.broadcast_id)
                    )
            except Exception:  # the database is away: ask again at the next poll
                if not failing:
                    logger.warning("Broadcast %s: status check failed", self.broadcast_id)
                failing = True
                continue
            failing = False
            if status is not BroadcastStatus.SENDING:
                logger.info("Broadcast %s is %s: stopping", self.broadcast_id, status)
                self.stop()
                return

    def _what(self, doing: str) -> str:
        return f"Broadcast {self.broadcast_id}: {doing}"

    # ----------------------------------------------------------------- feeding

    async def _feed(self) -> None:
        while True:
            await self._guard.call(self._refresh_progress, self._what("reading progress"))
            self._wake.clear()
            fed = await self._feed_pass()
            await self._queue.join()  # everyone fed has a durable result by now
            next_due = await self._guard.call(self._record.next_due, self._what("next due"))
            if next_due is None:
                await self._guard.call(self._record.finish, self._what("finishing"))
                return
            delay = (next_due - utcnow()).total_seconds()
            if delay > 0:  # everyone still pending waits for a retry
                self._progress.wait_for_retries(next_due)
            elif not fed:
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
            page = await self._guard.call(
                partial(self._record.due, now, after_id=after_id, limit=page_size),
                self._what("reading recipients"),
            )
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
        """Act in one recipient's chat; None when stopped before (it stays pending)."""
        if recipient.chat_id is None:
            no_chat = DeliveryError(
                Disposition.PERMANENT, ErrorCode.CHAT_NOT_FOUND, "User has no Telegram chat"
            )
            return self._failure(recipient, no_chat)
        chat_id = recipient.chat_id
        new_chat_id: int | None = None
        while not self.stopping:
            await self._sit_out_quiet_hours()
            await self._limiter.acquire(chat_id, bulk=True)  # replies to people go first
            if self.stopping:
                return None
            if self._quiet is not None and self._quiet.until() is not None:
                continue  # they began while this worker waited for its grant
            self._sending.add(worker)  # from here on the request runs to its recorded end
            error: DeliveryError | None = None
            loaded = self._loaded
            try:
                with already_granted():
                    answer = await loaded.action(
                        self.sender.bot, chat_id, recipient, paid=self._policy.paid_broadcast
                    )
            except Exception as exc:  # every failure of a send is sorted out below
                error = classify(exc)
                answer = True  # an edit that changes nothing is as good as made
            if error is None or error.disposition is Disposition.DONE:
                return DeliveryResult(
                    recipient,
                    RecipientStatus.SENT,
                    recipient.attempts,
                    utcnow(),
                    message_id=str(answer.message_id) if isinstance(answer, Message) else None,
                    new_chat_id=new_chat_id,
                    revision=loaded.revision,
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

    async def _sit_out_quiet_hours(self) -> None:
        """Return once sending is allowed: at once for an urgent broadcast or outside quiet
        hours, else when they end (the progress says until when meanwhile)."""
        if self._quiet is None:
            return
        while (until := self._quiet.until()) is not None:
            self._progress.quiet(until)
            await self._quiet.nap(until)
        self._progress.quiet(None)

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
        """Record a batch of results (through an outage), then count it for progress."""
        started = time.perf_counter()
        while True:
            await self._amend(results)
            try:
                counts = await self._guard.call(
                    partial(
                        self._record.write,
                        results,
                        read_counts=self._progress.watched,
                        revision=self._loaded.revision,
                    ),
                    self._what(f"recording {len(results)} delivery results"),
                )
                break
            except ContentRevised:
                self._loaded = await self._guard.call(
                    partial(self.sender.load_action, self.broadcast_id, any_status=True),
                    self._what("loading its corrected content"),
                )
                logger.info("Broadcast %s: sending its corrected content", self.broadcast_id)
        self._stats.flush_seconds += time.perf_counter() - started
        self._stats.flushes += 1
        self._stats.results += len(results)
        for r in results:
            if r.status is RecipientStatus.FAILED and r.error is not None:
                code = str(r.error.code or ErrorCode.OTHER)
                self._failed_by_code[code] = self._failed_by_code.get(code, 0) + 1
        self._progress.count(sum(1 for r in results if r.status is not RecipientStatus.PENDING))
        if counts is not None:
            self._publish(counts)

    async def _amend(self, results: list[DeliveryResult]) -> None:
        """Correct the messages of `results` sent with an older content revision than the
        one loaded now, one paced edit each; one that cannot be corrected is logged and
        counted as sent (it was)."""
        loaded = self._loaded
        for result in results:
            if result.revision == loaded.revision:
                continue
            result.revision = loaded.revision
            chat_id = result.new_chat_id or result.recipient.chat_id
            if loaded.amend is None or result.message_id is None or chat_id is None:
                continue
            sent = replace(result.recipient, source_message_id=int(result.message_id))
            await self._limiter.acquire(chat_id, bulk=True)
            try:
                with already_granted():
                    await loaded.amend(self.sender.bot, chat_id, sent, paid=False)
            except Exception as error:  # the message went out; the correction is best effort
                if classify(error).disposition is not Disposition.DONE:
                    logger.warning(
                        "Broadcast %s: message %s in %s not corrected: %s",
                        self.broadcast_id,
                        result.message_id,
                        chat_id,
                        error,
                    )

    async def _refresh_progress(self, *, running: bool = True) -> None:
        """Read the stored counters and failures, and publish them (`running=False`: the
        last time, once every result of this run is recorded)."""
        async with self.sender.session_factory() as session:
            row = (await session.execute(counts_query(self.broadcast_id))).one_or_none()
            self._failed_by_code = await failed_by_code(session, self.broadcast_id)
        if row is not None:
            self._publish(row, running=running)

    def _publish(self, counts: Counts, *, running: bool = True) -> None:
        status, total, sent, failed, started_at, finished_at, confirmed = counts
        self._progress.publish(
            BroadcastStatus(status),
            total,
            sent,
            failed,
            self._failed_by_code,
            running=running,
            took_seconds=elapsed_seconds(started_at, finished_at),
            confirmed=confirmed,
        )
