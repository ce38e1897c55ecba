"""The sending engine: runs broadcasts, one run each (services/broadcast_run.py), and
keeps every `sending` broadcast sent by exactly one bot instance.

`start` sends a broadcast the launcher has just set to `sending` (or wakes its run),
taking its lease (services/lease.py) unless another instance holds a live one. At start
`resume_all` takes over what was left `sending` with a free or expired lease, and from
then on `supervise` does so every few seconds (services/supervisor.py): the broadcasts of
an instance that crashed, once their lease has expired, and any of this instance's own
broadcasts whose run ended early. `shutdown` gives requests in flight `SHUTDOWN_GRACE`
seconds to finish and be recorded, then abandons them (their recipients stay pending, so
the next run sends them again, as after a kill); each run releases its lease on the way
out, so the next instance goes on at once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections.abc import Awaitable, Callable
from functools import partial

from aiogram import Bot
from sqlalchemy import exists, select

from db.models import Broadcast, BroadcastKind, BroadcastStatus
from db.session import SessionFactory
from services.broadcast_run import (
    RELEASE_TIMEOUT,
    STATUS_POLL_INTERVAL,
    BroadcastRun,
    SenderStats,
)
from services.confirmations import ReadButton
from services.delivery_record import DeliveryRecord
from services.errors import Action, BroadcastNotFound, DomainError, InvalidStatus
from services.lease import Leases, LeaseTerms, new_instance_id
from services.limiter import Limiter
from services.progress import ProgressHub
from services.quiet_hours import QuietGate
from services.reminder_action import ReminderText
from services.run_actions import LoadedAction, load_action
from services.send_policy import SendPolicy
from services.supervisor import SendSupervisor

logger = logging.getLogger(__name__)

MAX_WORKERS = 500
SHUTDOWN_GRACE = 3.0
"""Seconds requests in flight get at shutdown to finish and be recorded."""


def default_workers(rate: float) -> int:
    """Enough requests in flight to hold `rate` when Telegram answers in up to ~300 ms and
    a result waits up to FLUSH_INTERVAL to be written."""
    return min(math.ceil(rate * 0.4) + 4, MAX_WORKERS)


class BroadcastSender:
    """Runs broadcasts: `start` one (also the launcher for "send now" and retries),
    `resume_all` after a restart, `supervise` from then on, `shutdown` within a grace."""

    def __init__(
        self,
        bot: Bot,
        session_factory: SessionFactory,
        policy: SendPolicy,
        limiter: Limiter,
        hub: ProgressHub | None = None,
        *,
        workers: int | None = None,
        lease: LeaseTerms | None = None,
        instance_id: str | None = None,
        read_button: ReadButton | None = None,
        quiet: QuietGate | None = None,
        reminder_text: ReminderText | None = None,
    ) -> None:
        """`read_button` is the "I have read it" button (services/confirmations.py); a
        sender without one refuses broadcasts that ask for confirmation. `quiet`: the
        quiet hours in which only urgent broadcasts are sent (default: none).
        `reminder_text` is a reminder's words in a recipient's language
        (services/reminder_action.py)."""
        self.bot = bot
        self.read_button = read_button
        self.quiet = quiet or QuietGate(None)
        self.reminder_text = reminder_text
        self.session_factory = session_factory
        self.policy = policy
        self.limiter = limiter
        self.hub = hub
        self.workers = workers or default_workers(limiter.rate)
        self.leases = Leases(
            session_factory, instance_id or new_instance_id(), lease or LeaseTerms()
        )
        self.stats = SenderStats()
        self._runs: dict[int, BroadcastRun] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._starting = asyncio.Lock()
        self._task_numbers = itertools.count(1)
        self._supervisor: SendSupervisor | None = None

    def is_running(self, broadcast_id: int) -> bool:
        return broadcast_id in self._runs

    async def start(self, broadcast_id: int) -> str:
        """Send the broadcast (status `sending`) in the background unless it already runs
        here or another instance holds its lease; returns the id of the task sending it."""
        async with self._starting:
            run = self._runs.get(broadcast_id)
            if run is not None and run.stopping:
                await asyncio.wait({self._tasks[broadcast_id]})
                run = None
            if run is not None:
                run.wake()
                return run.task_id
            action = await self.load_action(broadcast_id)
            holder = await self.leases.take(broadcast_id)
            if holder is not None:
                logger.info("Broadcast %s is being sent by instance %s", broadcast_id, holder)
                return f"send-{broadcast_id}@{holder}"
            return self._launch(broadcast_id, action)

    def _launch(self, broadcast_id: int, action: LoadedAction) -> str:
        """Start a run of a broadcast whose lease this instance has just taken."""
        task_id = f"send-{broadcast_id}-{next(self._task_numbers)}"
        run = BroadcastRun(self, broadcast_id, action, task_id)
        task = asyncio.create_task(run.run(), name=task_id)
        self._runs[broadcast_id] = run
        self._tasks[broadcast_id] = task
        self.stats.runs += 1
        task.add_done_callback(lambda done: self._forget(broadcast_id, run, done))
        return task_id

    def _forget(self, broadcast_id: int, run: BroadcastRun, task: asyncio.Task[None]) -> None:
        if self._runs.get(broadcast_id) is run:
            del self._runs[broadcast_id]
            del self._tasks[broadcast_id]
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("Broadcast %s: the run failed", broadcast_id, exc_info=error)

    async def load_action(self, broadcast_id: int, *, any_status: bool = False) -> LoadedAction:
        """The action of a `sending` broadcast, read with its content as it is now (a run
        loads it again when the content was corrected meanwhile: `any_status`, as it may
        have been cancelled since, and its messages in flight are still corrected)."""
        async with self.session_factory() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise BroadcastNotFound(broadcast_id)
            if not any_status and broadcast.status is not BroadcastStatus.SENDING:
                raise InvalidStatus(broadcast_id, Action.DELIVER, broadcast.status)
            parent = None
            if broadcast.parent_id is not None:
                parent = await session.get(Broadcast, broadcast.parent_id)
            deleted = await session.scalar(
                select(
                    exists().where(
                        Broadcast.parent_id == broadcast_id, Broadcast.kind == BroadcastKind.DELETE
                    )
                )
            )
            return load_action(
                broadcast,
                self.read_button,
                parent,
                deleted=bool(deleted),
                reminder_text=self.reminder_text,
            )

    async def resume_all(self, *, at_start: bool = True) -> list[int]:
        """Take over every `sending` broadcast whose lease is free or expired, and go on
        with those whose lease this instance holds without sending them (their run ended
        early); returns the ids started. At start, then at every sweep of `supervise`."""
        async with self._starting:
            started = []
            for broadcast_id in await self.leases.take_over(at_start=at_start):
                if broadcast_id in self._runs:
                    continue
                try:
                    action = await self.load_action(broadcast_id)
                except DomainError as refused:  # finished or cancelled meanwhile
                    logger.info("Broadcast %s not resumed: %s", broadcast_id, refused)
                    continue
                self._launch(broadcast_id, action)
                started.append(broadcast_id)
                await self._log_resumed(broadcast_id)
        return started

    async def _log_resumed(self, broadcast_id: int) -> None:
        """One line per broadcast taken up again: how many it still has to reach."""
        try:
            outcome = await DeliveryRecord(
                self.session_factory, broadcast_id, self.leases
            ).outcome()
        except Exception:  # a log line is not worth stopping a resume over
            logger.info("Resumed broadcast %s", broadcast_id)
            return
        if outcome is not None:
            logger.info("Resumed broadcast %s: %s pending", broadcast_id, outcome.pending)

    def supervise(self, on_started: Callable[[int], Awaitable[object]] | None = None) -> None:
        """Resume what needs it every `LeaseTerms.sweep` seconds until `shutdown`;
        `on_started` hears of every broadcast started that way."""
        if self._supervisor is None:
            sweep = partial(self.resume_all, at_start=False)
            self._supervisor = SendSupervisor(sweep, self.leases.terms.sweep, on_started)
            self._supervisor.start()

    async def wait(self, broadcast_id: int) -> None:
        """Until the broadcast's run (if any) has ended."""
        task = self._tasks.get(broadcast_id)
        if task is not None:
            await asyncio.wait({task})

    async def settle(self, broadcast_id: int, within: float) -> bool:
        """After a cancel: stop this instance's run of the broadcast at once (nothing new
        goes out) and wait, at most `within` seconds, until no run of it may record
        results any more (the messages in flight are recorded, the run has ended and given
        its lease up; another instance's run is followed through its lease). True once
        none may; False when the time ran out first."""
        run, task = self._runs.get(broadcast_id), self._tasks.get(broadcast_id)
        if run is not None and task is not None:
            run.stop()
            done, _ = await asyncio.wait({task}, timeout=within)
            return bool(done)
        deadline = asyncio.get_running_loop().time() + within
        while await self.leases.is_held(broadcast_id):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            await asyncio.sleep(min(STATUS_POLL_INTERVAL, left))
        return True

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Stop every run: requests in flight get `grace` seconds to finish and be
        recorded, then they are abandoned (their recipients stay pending for the next
        run); each run releases its lease on the way out."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            await supervisor.stop()
        runs = list(self._runs.values())
        tasks = [self._tasks[run.broadcast_id] for run in runs]
        for run in runs:
            run.stop()
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        if late:
            logger.warning("Shutting down: abandoning requests in flight of %d runs", len(late))
            for run, task in zip(runs, tasks, strict=True):
                if task in late:
                    run.abandon()
            _, stuck = await asyncio.wait(late, timeout=RELEASE_TIMEOUT + 0.5)
            for task in stuck:
                task.cancel()
