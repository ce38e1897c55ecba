"""Live progress of a broadcast: snapshots from the engine, one edited message for the admin.

The engine publishes a `ProgressSnapshot` to the `ProgressHub` after every batch of
results it writes (only when somebody listens), and a `paused` one while the database
cannot be written (services/outage.py). A `ProgressReporter` listens for one
broadcast and keeps one message in the admin's chat up to date: at most one edit every
`PROGRESS_EDIT_INTERVAL` seconds, always one with the final state. The chat and message
ids are stored on the broadcast, so after a restart the resumed broadcast edits the
same message. The reporter never answers a failed edit by sending a new message:
"message is not modified" is ignored, a 429 only delays the next edit.

Rendering is pluggable (`Render`): the admin interface passes a translated renderer
with buttons; `render_plain` is the default. The text goes out with the bot's default
parse mode, so a renderer escapes whatever it shows from user input.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus
from db.session import SessionFactory
from services.confirmations import confirmed_column
from services.errors import BroadcastNotFound

logger = logging.getLogger(__name__)

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
    confirmed: int | None = None  # read confirmations, when the broadcast asks for them

    @property
    def pending(self) -> int:
        return max(self.total - self.sent - self.failed, 0)

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100 if self.finished else 0
        return min(100, (self.sent + self.failed) * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.status.is_finished


Render = Callable[[ProgressSnapshot], tuple[str, InlineKeyboardMarkup | None]]


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
    RATE_WINDOW seconds and the time left at that rate, and whether sending is paused.
    Counting is free when nobody watches the broadcast."""

    def __init__(self, hub: ProgressHub | None, broadcast_id: int) -> None:
        self._hub = hub
        self._broadcast_id = broadcast_id
        self._processed = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._paused = False
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
        confirmed: int | None = None,
    ) -> None:
        rate = 0.0 if self._paused else self.rate()
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
                confirmed=confirmed,
            )
        )

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


async def read_snapshot(session_factory: SessionFactory, broadcast_id: int) -> ProgressSnapshot:
    """The broadcast's progress as stored (no rate or ETA: those need a running engine)."""
    async with session_factory() as session:
        row = (
            await session.execute(
                select(
                    Broadcast.status,
                    Broadcast.recipient_count,
                    Broadcast.sent_count,
                    Broadcast.failed_count,
                    confirmed_column(broadcast_id),
                ).where(Broadcast.id == broadcast_id)
            )
        ).one_or_none()
        if row is None:
            raise BroadcastNotFound(broadcast_id)
        errors = await failed_by_code(session, broadcast_id)
    status, total, sent, failed, confirmed = row
    return ProgressSnapshot(
        broadcast_id,
        BroadcastStatus(status),
        total,
        sent,
        failed,
        errors=error_breakdown(errors),
        confirmed=confirmed,
    )


def progress_bar(fraction: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def render_plain(snapshot: ProgressSnapshot) -> tuple[str, InlineKeyboardMarkup | None]:
    """The default progress text: bar, percent, counters, rate and ETA, status, errors."""
    lines = [
        f"Broadcast #{snapshot.broadcast_id}: {snapshot.status.value}",
        f"{progress_bar(snapshot.percent / 100)} {snapshot.percent}%",
        f"Sent: {snapshot.sent} · Failed: {snapshot.failed} · "
        f"Pending: {snapshot.pending} (of {snapshot.total})",
    ]
    if snapshot.paused and not snapshot.finished:
        lines.append("Paused: database unavailable, retrying")
    elif not snapshot.finished:
        eta = "—" if snapshot.eta_seconds is None else format_duration(snapshot.eta_seconds)
        lines.append(f"Rate: {snapshot.rate:.1f} msg/s · ETA: {eta}")
    if snapshot.errors:
        lines.append("Errors: " + ", ".join(f"{code} ({n})" for code, n in snapshot.errors))
    return "\n".join(lines), None


class ProgressReporter:
    """Keeps one progress message per broadcast up to date in the admin's chat."""

    def __init__(
        self,
        bot: Bot,
        session_factory: SessionFactory,
        hub: ProgressHub,
        *,
        edit_interval: float,
        render: Render = render_plain,
    ) -> None:
        self._bot = bot
        self._session_factory = session_factory
        self._hub = hub
        self._edit_interval = edit_interval
        self._render = render
        self._followers: dict[int, asyncio.Task[None]] = {}

    async def attach(self, broadcast_id: int, chat_id: int) -> int:
        """Post the progress message in `chat_id`, remember it on the broadcast and keep it
        updated; returns its message id."""
        snapshot = await read_snapshot(self._session_factory, broadcast_id)
        text, markup = self._render(snapshot)
        message = await self._bot.send_message(chat_id, text, reply_markup=markup)
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(progress_chat_id=chat_id, progress_message_id=message.message_id)
            )
        self._start(broadcast_id, chat_id, message.message_id, (text, markup))
        return message.message_id

    async def follow(self, broadcast_id: int) -> bool:
        """Keep the broadcast's stored progress message updated (after a restart or a retry).

        Returns False when the broadcast has no progress message."""
        async with self._session_factory() as session:
            row = (
                await session.execute(
                    select(Broadcast.progress_chat_id, Broadcast.progress_message_id).where(
                        Broadcast.id == broadcast_id
                    )
                )
            ).one_or_none()
        if row is None:
            raise BroadcastNotFound(broadcast_id)
        chat_id, message_id = row
        if chat_id is None or message_id is None:
            return False
        self._start(broadcast_id, chat_id, message_id, None)
        return True

    async def snapshot(self, broadcast_id: int) -> ProgressSnapshot:
        """The broadcast's progress as stored, for a Refresh button or a command."""
        return await read_snapshot(self._session_factory, broadcast_id)

    async def wait(self, broadcast_id: int) -> None:
        """Until the broadcast's message shows its final state (or following stopped)."""
        follower = self._followers.get(broadcast_id)
        if follower is not None:
            await asyncio.wait({follower})

    async def shutdown(self) -> None:
        followers = list(self._followers.values())
        for follower in followers:
            follower.cancel()
        await asyncio.gather(*followers, return_exceptions=True)

    def _start(
        self,
        broadcast_id: int,
        chat_id: int,
        message_id: int,
        shown: tuple[str, InlineKeyboardMarkup | None] | None,
    ) -> None:
        current = self._followers.get(broadcast_id)
        if current is not None and not current.done():
            current.cancel()
        follower = asyncio.create_task(
            self._follow(broadcast_id, chat_id, message_id, shown),
            name=f"progress-{broadcast_id}",
        )
        self._followers[broadcast_id] = follower
        follower.add_done_callback(
            lambda task: (
                self._followers.pop(broadcast_id, None)
                if self._followers.get(broadcast_id) is task
                else None
            )
        )

    async def _follow(
        self,
        broadcast_id: int,
        chat_id: int,
        message_id: int,
        shown: tuple[str, InlineKeyboardMarkup | None] | None,
    ) -> None:
        with self._hub.subscribe(broadcast_id) as subscription:
            # Read after subscribing, so no snapshot published in between is missed.
            snapshot: ProgressSnapshot | None = await read_snapshot(
                self._session_factory, broadcast_id
            )
            next_edit_at = time.monotonic() + (self._edit_interval if shown else 0.0)
            while True:
                if snapshot is None:
                    snapshot = await subscription.next()
                delay = next_edit_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                snapshot = subscription.newest() or snapshot
                rendered = self._render(snapshot)
                if rendered != shown:
                    try:
                        await self._edit(chat_id, message_id, rendered)
                    except TelegramRetryAfter as error:
                        next_edit_at = time.monotonic() + error.retry_after
                        continue
                    except TelegramBadRequest as error:
                        logger.warning("Progress message of broadcast %s: %s", broadcast_id, error)
                        return
                    except TelegramAPIError as error:
                        logger.warning(
                            "Progress edit of broadcast %s failed: %s", broadcast_id, error
                        )
                        next_edit_at = time.monotonic() + self._edit_interval
                        continue
                    shown = rendered
                    next_edit_at = time.monotonic() + self._edit_interval
                if snapshot.finished:
                    return
                snapshot = None

    async def _edit(
        self, chat_id: int, message_id: int, rendered: tuple[str, InlineKeyboardMarkup | None]
    ) -> None:
        text, markup = rendered
        try:
            await self._bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except TelegramBadRequest as error:
            if "message is not modified" not in error.message:
                raise
