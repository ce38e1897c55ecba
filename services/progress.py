"""Live progress of a broadcast: snapshots from the engine, one edited message for the admin.

The engine publishes a `ProgressSnapshot` to the `ProgressHub` after every batch of
results it writes (only when somebody listens), a `paused` one while the database
cannot be written (services/outage.py), and, before it waits for retries, one saying
that everyone still pending waits for one and when the next is due. A
`ProgressReporter` listens for one broadcast and keeps one message in the admin's chat
up to date: at most one edit every `PROGRESS_EDIT_INTERVAL` seconds, always one with the
final state. The chat and message ids are stored on the broadcast, and so is the
language of the admin whose chat it is in, so after a restart the resumed broadcast
edits the same message in the same language. The reporter never answers a failed edit
by sending a new message: "message is not modified" is ignored, a 429 only delays the
next edit.

A cancelled broadcast is not over when its status changes: the messages in flight then
are still delivered and recorded. So each run publishes one last snapshot when it ends
and, until then, a cancelled broadcast's snapshots are `settling`: the reporter keeps
following it until one is not (when no run of it publishes here, until its stored lease
is given up), so the message ends on the real counts.

Rendering is pluggable (`Render`, called with each snapshot and the message's language):
the admin interface passes a translated renderer with buttons; `render_plain` (English
only) is the default. The text goes out with the bot's default parse mode, so a renderer
escapes whatever it shows from user input.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus
from db.session import SessionFactory
from db.types import utcnow
from services.delivery_record import counts_query
from services.errors import BroadcastNotFound
from services.lease import live_lease

logger = logging.getLogger(__name__)

RATE_WINDOW = 5.0
"""Seconds over which a run's sending rate is measured."""
SETTLE_POLL = 1.0
"""Seconds between two reads of a cancelled broadcast's stored progress while its
messages in flight are being recorded by a run that publishes nothing here."""


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


@dataclass(frozen=True, slots=True)
class ProgressMessage:
    """Where a broadcast's progress is shown, and in which language (None: the default)."""

    chat_id: int
    message_id: int
    language: str | None


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
        running: bool = True,
        took_seconds: float | None = None,
        confirmed: int | None = None,
    ) -> None:
        """The counters as stored; `running=False` the last time, once the run is over."""
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
                settling=running and status.is_finished,
                took_seconds=took_seconds,
                confirmed=confirmed,
            )
        )

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
    session_factory: SessionFactory, broadcast_id: int, now: datetime | None = None
) -> ProgressSnapshot:
    """The broadcast's progress as stored (no rate or ETA: those need a running engine),
    with the recipients whose retry is not due by `now` (default: the current time);
    settling while it is finished but an instance still holds its lease."""
    now = now or utcnow()
    recipient = BroadcastRecipient
    async with session_factory() as session:
        row = (
            await session.execute(counts_query(broadcast_id).add_columns(live_lease(now)))
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
    status, total, sent, failed, started_at, finished_at, confirmed, leased = row
    status = BroadcastStatus(status)
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

    async def attach(self, broadcast_id: int, chat_id: int, language: str | None = None) -> int:
        """Post the progress message in `chat_id`, drawn in `language` (that chat's admin's;
        None: the default language), remember both on the broadcast and keep it updated;
        returns its message id. An earlier progress message of the broadcast (a retry
        posts a new one) loses its buttons: they act on a state that is gone."""
        earlier = await self._stored_message(broadcast_id)
        snapshot = await read_snapshot(self._session_factory, broadcast_id)
        text, markup = self._render(snapshot, language)
        message = await self._bot.send_message(chat_id, text, reply_markup=markup)
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(
                    progress_chat_id=chat_id,
                    progress_message_id=message.message_id,
                    progress_language=language,
                )
            )
        posted = ProgressMessage(chat_id, message.message_id, language)
        following = self._followers.get(broadcast_id)
        self._start(broadcast_id, posted, (text, markup))
        if earlier is not None and (earlier.chat_id, earlier.message_id) != (
            posted.chat_id,
            posted.message_id,
        ):
            if following is not None:  # stopped by _start: let it end before editing
                await asyncio.wait({following})
            await self._take_buttons_off(broadcast_id, earlier)
        return message.message_id

    async def follow(self, broadcast_id: int) -> bool:
        """Keep the broadcast's stored progress message updated (after a restart), in the
        language it was posted in.

        Returns False when the broadcast has no progress message."""
        stored = await self._stored_message(broadcast_id)
        if stored is None:
            return False
        self._start(broadcast_id, stored, None)
        return True

    async def _stored_message(self, broadcast_id: int) -> ProgressMessage | None:
        """Where the broadcast's progress message is, and its language, if it has one."""
        async with self._session_factory() as session:
            row = (
                await session.execute(
                    select(
                        Broadcast.progress_chat_id,
                        Broadcast.progress_message_id,
                        Broadcast.progress_language,
                    ).where(Broadcast.id == broadcast_id)
                )
            ).one_or_none()
        if row is None:
            raise BroadcastNotFound(broadcast_id)
        chat_id, message_id, language = row
        if chat_id is None or message_id is None:
            return None
        return ProgressMessage(chat_id, message_id, language)

    async def _take_buttons_off(self, broadcast_id: int, message: ProgressMessage) -> None:
        """Remove a superseded progress message's buttons; one that cannot be edited any
        more (deleted, too old, had none) is left as it is."""
        try:
            await self._bot.edit_message_reply_markup(
                chat_id=message.chat_id, message_id=message.message_id, reply_markup=None
            )
        except TelegramAPIError as error:
            logger.info("Earlier progress message of broadcast %s kept: %s", broadcast_id, error)

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

    def _start(self, broadcast_id: int, message: ProgressMessage, shown: Rendered | None) -> None:
        current = self._followers.get(broadcast_id)
        if current is not None and not current.done():
            current.cancel()
        follower = asyncio.create_task(
            self._follow(broadcast_id, message, shown),
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
        self, broadcast_id: int, message: ProgressMessage, shown: Rendered | None
    ) -> None:
        with self._hub.subscribe(broadcast_id) as subscription:
            # Read after subscribing, so no snapshot published in between is missed.
            snapshot: ProgressSnapshot | None = await read_snapshot(
                self._session_factory, broadcast_id
            )
            next_edit_at = time.monotonic() + (self._edit_interval if shown else 0.0)
            settling = False  # once a finished snapshot was shown that is not final yet
            while True:
                if snapshot is None:
                    snapshot = await self._next(subscription, settling=settling)
                delay = next_edit_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                snapshot = subscription.newest() or snapshot
                rendered = self._render(snapshot, message.language)
                if rendered != shown:
                    try:
                        await self._edit(message, rendered)
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
                if snapshot.final:
                    return
                settling = snapshot.finished
                snapshot = None

    async def _next(
        self, subscription: ProgressSubscription, *, settling: bool
    ) -> ProgressSnapshot:
        """The next snapshot the run publishes. While a cancelled broadcast's messages in
        flight are being recorded (`settling`), the stored one if none comes within
        SETTLE_POLL seconds: the run may be another instance's, or have ended unheard."""
        if not settling:
            return await subscription.next()
        try:
            return await asyncio.wait_for(subscription.next(), SETTLE_POLL)
        except TimeoutError:
            return await read_snapshot(self._session_factory, subscription.broadcast_id)

    async def _edit(self, message: ProgressMessage, rendered: Rendered) -> None:
        text, markup = rendered
        try:
            await self._bot.edit_message_text(
                text=text,
                chat_id=message.chat_id,
                message_id=message.message_id,
                reply_markup=markup,
            )
        except TelegramBadRequest as error:
            if "message is not modified" not in error.message:
                raise
