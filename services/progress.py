"""Live progress of a broadcast: the snapshots the engine publishes, and how they read.

The engine publishes a `ProgressSnapshot` to the `ProgressHub` after every batch of
results it writes (only when somebody listens), a `paused` one while the database
cannot be written (services/outage.py), one saying until when it waits for quiet hours
to end (services/quiet_hours.py), and, before it waits for retries, one saying
that everyone still pending waits for one and when the next is due. `read_snapshot`
gives the same from the database, for a Refresh button, a command or another instance's
broadcast. The message that shows them is kept up to date by
`services.progress_reporter.ProgressReporter`.

A cancelled broadcast is not over when its status changes: the messages in flight then
are still delivered and recorded. So each run publishes one last snapshot when it ends
and, until then, a cancelled broadcast's snapshots are `settling`.

Rendering is pluggable (`Render`, called with each snapshot and the message's language):
the admin interface passes a translated renderer with buttons; `render_plain` (English
only) is the default. The text goes out with the bot's default parse mode, so a renderer
escapes whatever it shows from user input.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Broadcast,
    BroadcastKind,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
)
from db.session import SessionFactory
from db.types import utcnow
from services.delivery_record import counts_query
from services.errors import BroadcastNotFound
from services.lease import live_lease
from services.quiet_hours import QuietGate, waits_for_quiet_hours

RATE_WINDOW = 5.0
"""Seconds over which a run's sending rate is measured."""


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    broadcast_id: int
    status: BroadcastStatus
    total: int
    sent: int
    failed: int
    rate: float = 0.0  # results per second over the last few seconds
    eta_seconds: float | None = None
    errors: tuple[tuple[str, int], ...] = ()  # failed recipients per error code, most first
    paused: bool = False  # sending waits for the database to come back
    settling: bool = False
    """Finished (cancelled), but the run that was sending it has not ended yet: the
    messages it had in flight may still be delivered and recorded."""
    retry_waiting: int = 0  # pending recipients whose next attempt is not due yet
    next_retry_at: datetime | None = None  # when the first of them is due
    took_seconds: float | None = None  # from the start of sending to the end, once finished
    confirmed: int | None = None  # read confirmations, when the broadcast asks for them
    quiet_until: datetime | None = None
    """Sending waits for quiet hours to end at this time (nothing sent yet: it starts then)."""
    kind: BroadcastKind = BroadcastKind.ANNOUNCEMENT
    parent_id: int | None = None
    """A run over an announcement (a reminder, an edit, a delete): the announcement's id,
    the number admins know it by."""

    @property
    def pending(self) -> int:
        return max(self.total - self.sent - self.failed, 0)

    @property
    def waiting_for_retries(self) -> bool:
        """Nothing can be sent before `next_retry_at`: everyone pending waits for a retry."""
        return (
            not self.finished
            and 0 < self.pending <= self.retry_waiting
            and self.next_retry_at is not None
        )

    @property
    def started(self) -> bool:
        """Someone has a result already: waiting now is a pause, not a later start."""
        return self.sent + self.failed > 0

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100 if self.finished else 0
        return min(100, (self.sent + self.failed) * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.status.is_finished

    @property
    def final(self) -> bool:
        """Finished, with every result recorded: the message will not change again."""
        return self.finished and not self.settling


Rendered = tuple[str, InlineKeyboardMarkup | None]


Render = Callable[[ProgressSnapshot, str | None], Rendered]
"""Draws a snapshot in a language (a language code; None: the renderer's default)."""


class ProgressSubscription:
    """The latest snapshot of one broadcast; older ones are dropped, never queued."""

    def __init__(self, broadcast_id: int) -> None:
        self.broadcast_id = broadcast_id
        self._latest: ProgressSnapshot | None = None
        self._fresh = asyncio.Event()

    def _push(self, snapshot: ProgressSnapshot) -> None:
        self._latest = snapshot
        self._fresh.set()

    async def next(self) -> ProgressSnapshot:
        """Wait for a snapshot newer than the last one taken."""
        await self._fresh.wait()
        return self._take()

    def newest(self) -> ProgressSnapshot | None:
        """A snapshot newer than the last one taken, if one arrived, without waiting."""
        return self._take() if self._fresh.is_set() else None

    def _take(self) -> ProgressSnapshot:
        self._fresh.clear()
        assert self._latest is not None
        return self._latest


class ProgressHub:
    """Fans snapshots out to subscribers of each broadcast; publishing to nobody is free."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[ProgressSubscription]] = {}

    def is_watched(self, broadcast_id: int) -> bool:
        return broadcast_id in self._subscribers

    def publish(self, snapshot: ProgressSnapshot) -> None:
        for subscription in self._subscribers.get(snapshot.broadcast_id, ()):
            subscription._push(snapshot)

    @contextlib.contextmanager
    def subscribe(self, broadcast_id: int) -> Iterator[ProgressSubscription]:
        subscription = ProgressSubscription(broadcast_id)
        self._subscribers.setdefault(broadcast_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers[broadcast_id]
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[broadcast_id]


class RunProgress:
    """What one sending run tells the hub: the stored counters, the rate over the last
    RATE_WINDOW seconds and the time left at that rate, whether sending is paused, and
    when it waits for retries. Counting is free when nobody watches the broadcast."""

    def __init__(
        self,
        hub: ProgressHub | None,
        broadcast_id: int,
        kind: BroadcastKind = BroadcastKind.ANNOUNCEMENT,
        parent_id: int | None = None,
    ) -> None:
        self._hub = hub
        self._broadcast_id = broadcast_id
        self._kind = kind
        self._parent_id = parent_id
        self._processed = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._paused = False
        self._quiet_until: datetime | None = None
        self._last: ProgressSnapshot | None = None

    @property
    def watched(self) -> bool:
        return self._hub is not None and self._hub.is_watched(self._broadcast_id)

    def count(self, processed: int) -> None:
        """`processed` more recipients have a final result."""
        now = time.monotonic()
        self._processed += processed
        samples = self._samples
        samples.append((now, self._processed))
        while len(samples) > 2 and samples[1][0] <= now - RATE_WINDOW:
            samples.popleft()

    def rate(self) -> float:
        samples = self._samples
        if len(samples) < 2:
            return 0.0
        (first_at, first), (last_at, last) = samples[0], samples[-1]
        return (last - first) / (last_at - first_at) if last_at > first_at else 0.0

    def publish(
        self,
        status: BroadcastStatus,
        total: int,
        sent: int,
        failed: int,
        failed_by_code: dict[str, int],
        *,
        running: bool = True,
        took_seconds: float | None = None,
        confirmed: int | None = None,
    ) -> None:
        """The counters as stored; `running=False` the last time, once the run is over."""
        rate = 0.0 if self._paused or self._quiet_until else self.rate()
        pending = max(total - sent - failed, 0)
        self._publish(
            ProgressSnapshot(
                self._broadcast_id,
                status,
                total,
                sent,
                failed,
                rate=rate,
                eta_seconds=pending / rate if rate > 0 else None,
                errors=error_breakdown(failed_by_code),
                paused=self._paused,
                settling=running and status.is_finished,
                took_seconds=took_seconds,
                confirmed=confirmed,
                quiet_until=self._quiet_until,
                kind=self._kind,
                parent_id=self._parent_id,
            )
        )

    def quiet(self, until: datetime | None) -> None:
        """Sending waits for quiet hours to end at `until` (None: it goes on): the last
        counters, so marked. Telling the same twice publishes nothing new."""
        if until == self._quiet_until:
            return
        self._quiet_until = until
        self._samples.clear()  # the rate after quiet hours starts afresh
        if self._last is not None:
            self._publish(replace(self._last, quiet_until=until, rate=0.0, eta_seconds=None))

    def wait_for_retries(self, next_at: datetime) -> None:
        """Everyone still pending waits for a retry, the first due at `next_at`: the last
        counters, so marked until the next publish. The rate after the wait starts afresh."""
        self._samples.clear()
        if self._last is not None:
            last = self._last
            waiting = replace(last, retry_waiting=last.pending, next_retry_at=next_at)
            self._publish(replace(waiting, rate=0.0, eta_seconds=None))

    def pause(self, paused: bool) -> None:
        """Sending waits for the database (or goes on): the last counters, so marked."""
        self._paused = paused
        if paused:
            self._samples.clear()  # the rate after the pause starts afresh
        if self._last is not None:
            self._publish(replace(self._last, paused=paused, rate=0.0, eta_seconds=None))

    def _publish(self, snapshot: ProgressSnapshot) -> None:
        self._last = snapshot
        if self._hub is not None:
            self._hub.publish(snapshot)


async def failed_by_code(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    """How many recipients failed with each error code."""
    code = func.coalesce(BroadcastRecipient.error_code, "other")
    rows = await session.execute(
        select(code, func.count())
        .where(
            BroadcastRecipient.broadcast_id == broadcast_id,
            BroadcastRecipient.status == RecipientStatus.FAILED,
        )
        .group_by(code)
    )
    return {str(error_code): int(count) for error_code, count in rows.all()}


def error_breakdown(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(((c, n) for c, n in counts.items() if n > 0), key=lambda i: (-i[1], i[0])))


async def read_snapshot(
    session_factory: SessionFactory,
    broadcast_id: int,
    now: datetime | None = None,
    quiet: QuietGate | None = None,
) -> ProgressSnapshot:
    """The broadcast's progress as stored (no rate or ETA: those need a running engine),
    with the recipients whose retry is not due by `now` (default: the current time);
    settling while it is finished but an instance still holds its lease; and, by `quiet`,
    until when one that is sending waits for quiet hours to end."""
    now = now or utcnow()
    recipient = BroadcastRecipient
    async with session_factory() as session:
        row = (
            await session.execute(
                counts_query(broadcast_id).add_columns(
                    live_lease(now), Broadcast.kind, Broadcast.parent_id, Broadcast.urgent
                )
            )
        ).one_or_none()
        if row is None:
            raise BroadcastNotFound(broadcast_id)
        errors = await failed_by_code(session, broadcast_id)
        waiting, next_retry_at = (
            await session.execute(
                select(func.count(), func.min(recipient.next_attempt_at)).where(
                    recipient.broadcast_id == broadcast_id,
                    recipient.status == RecipientStatus.PENDING,
                    recipient.next_attempt_at > now,
                )
            )
        ).one()
    status, total, sent, failed, started_at, finished_at, confirmed, leased = row[:8]
    kind, parent_id, urgent = row[8:]
    status = BroadcastStatus(status)
    quiet_until = None
    if quiet is not None and status is BroadcastStatus.SENDING:
        quiet_until = quiet.start_of(not waits_for_quiet_hours(kind, urgent))
    return ProgressSnapshot(
        broadcast_id,
        status,
        total,
        sent,
        failed,
        errors=error_breakdown(errors),
        retry_waiting=waiting,
        next_retry_at=next_retry_at,
        took_seconds=elapsed_seconds(started_at, finished_at),
        settling=status.is_finished and bool(leased),
        confirmed=confirmed,
        quiet_until=quiet_until,
        kind=kind,
        parent_id=parent_id,
    )


def elapsed_seconds(started_at: datetime | None, finished_at: datetime | None) -> float | None:
    """How long from one stored time to another, when both are known."""
    if started_at is None or finished_at is None:
        return None
    return (finished_at - started_at).total_seconds()


def progress_bar(fraction: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def render_plain(
    snapshot: ProgressSnapshot, language: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The default progress text, in English whatever the language: bar, percent,
    counters, rate and ETA (or what sending waits for), status, how long it took, errors."""
    lines = [
        f"Broadcast #{snapshot.broadcast_id}: {snapshot.status.value}",
        f"{progress_bar(snapshot.percent / 100)} {snapshot.percent}%",
        f"Sent: {snapshot.sent} · Failed: {snapshot.failed} · "
        f"Pending: {snapshot.pending} (of {snapshot.total})",
    ]
    if snapshot.paused and not snapshot.finished:
        lines.append("Paused: database unavailable, retrying")
    elif snapshot.quiet_until is not None and not snapshot.finished:
        lines.append(
            f"{'Paused for quiet hours until' if snapshot.started else 'Will start at'} "
            f"{snapshot.quiet_until:%H:%M} ({snapshot.quiet_until.tzname()})"
        )
    elif snapshot.waiting_for_retries and snapshot.next_retry_at is not None:
        lines.append(
            f"Waiting for retries: {snapshot.retry_waiting} pending, "
            f"next at {snapshot.next_retry_at:%H:%M:%S} UTC"
        )
    elif not snapshot.finished:
        eta = "—" if snapshot.eta_seconds is None else format_duration(snapshot.eta_seconds)
        lines.append(f"Rate: {snapshot.rate:.1f} msg/s · ETA: {eta}")
    if snapshot.finished and snapshot.took_seconds is not None:
        lines.append(f"Took {format_duration(snapshot.took_seconds)}")
    if snapshot.errors:
        lines.append("Errors: " + ", ".join(f"{code} ({n})" for code, n in snapshot.errors))
    return "\n".join(lines), None
