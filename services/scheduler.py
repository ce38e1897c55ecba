"""Scheduled broadcasts: each one starts sending at its time, from inside the bot process.

The database is the source of truth: a scheduled broadcast is a row with status
`scheduled` and `scheduled_at`. APScheduler's AsyncIOScheduler holds only in-memory
timers, one `broadcast:<id>` job per row (rebuilt from the rows at `start`), plus a
sweep every 30 s, the service document's `process_scheduled_broadcasts`, that fires whatever is due
and was missed. Firing re-reads the row, so the stale timer of a cancelled or moved
broadcast, or of one an admin sent early, does nothing, and
`BroadcastService.start_sending` changes the status only from draft|scheduled, so a
broadcast cannot start twice.

Firing goes through `BroadcastLauncher.send_now`, like "send now": the recipients are
resolved at that moment, the live progress message goes to the admin who scheduled it
(the chat stored on the row when scheduling, else the creator's Telegram account), in
that admin's language (the one stored when scheduling, else the creator's language from
the roster, else the bot's default), and the engine sends. A broadcast nobody can
receive any more (or whose subject, tutor or teacher is gone) is marked failed, with an
error_log entry, and the admin is told through the injected `Notify` (the bot layer
words it in the same language).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, or_, select, update

from db.models import Broadcast, BroadcastKind, BroadcastStatus, User
from db.session import SessionFactory
from db.types import utcnow
from services.audience import affected_rows
from services.broadcasts import check_scheduled_at, refuse
from services.error_log import ErrorEvent, merge_error_log
from services.errors import Action, BroadcastNotFound, DomainError, InvalidStatus, ValidationFailed
from services.launcher import BroadcastLauncher

logger = logging.getLogger(__name__)

SWEEP_INTERVAL = 30.0
SWEEP_JOB_ID = "broadcast-sweep"
LATE_AFTER = timedelta(minutes=1)
"""Firing later than this after `scheduled_at` is logged as a warning with the delay."""


def job_id(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


@dataclass(frozen=True, slots=True)
class NotSent:
    """A scheduled broadcast that could not be sent at its time, and who to tell."""

    broadcast_id: int
    admin_chat_id: int
    admin_language: str | None
    error: DomainError


Notify = Callable[[NotSent], Awaitable[None]]
"""Tells the admin; must not raise (a chat that cannot be reached is the bot layer's)."""


@dataclass(frozen=True, slots=True)
class _Due:
    """What firing needs to know about a broadcast row."""

    status: BroadcastStatus
    scheduled_at: datetime | None
    admin_chat_id: int | None
    admin_language: str | None
    kind: BroadcastKind = BroadcastKind.ANNOUNCEMENT


class BroadcastScheduler:
    def __init__(
        self,
        session_factory: SessionFactory,
        launcher: BroadcastLauncher,
        notify: Notify | None = None,
        *,
        sweep_interval: float = SWEEP_INTERVAL,
    ) -> None:
        self._session_factory = session_factory
        self._launcher = launcher
        self._notify = notify
        self._sweep_interval = sweep_interval
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._firing: set[int] = set()

    async def start(self) -> None:
        """Start the timers: one per scheduled row (past-due ones fire now) and the sweep."""
        self._scheduler.start()
        self._scheduler.add_job(
            self.process_scheduled_broadcasts,
            IntervalTrigger(seconds=self._sweep_interval, timezone=UTC),
            id=SWEEP_JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        async with self._session_factory() as session:
            rows = await session.execute(
                select(Broadcast.id, Broadcast.scheduled_at).where(
                    Broadcast.status == BroadcastStatus.SCHEDULED
                )
            )
            for broadcast_id, scheduled_at in rows:
                self._set_timer(broadcast_id, scheduled_at)

    async def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def is_armed(self, broadcast_id: int) -> bool:
        return self._scheduler.get_job(job_id(broadcast_id)) is not None

    async def arm(
        self,
        broadcast_id: int,
        when: datetime,
        *,
        admin_chat_id: int | None = None,
        admin_language: str | None = None,
    ) -> None:
        """Fire a scheduled broadcast at `when` (aware). `admin_chat_id`, when given, is
        stored on the row as the chat that gets the progress message (needed for admins
        who are not in the roster: the creator's Telegram id is the fallback), and
        `admin_language` as the language it is drawn in (else the creator's, else the
        default)."""
        _require_time_zone(when)
        if admin_chat_id is not None:
            async with self._session_factory() as session, session.begin():
                await session.execute(
                    update(Broadcast)
                    .where(
                        Broadcast.id == broadcast_id,
                        Broadcast.status == BroadcastStatus.SCHEDULED,
                    )
                    .values(progress_chat_id=admin_chat_id, progress_language=admin_language)
                )
        self._set_timer(broadcast_id, when)

    async def reschedule(self, broadcast_id: int, when: datetime) -> None:
        """Move a still scheduled broadcast to `when`, which must be in the future."""
        check_scheduled_at(when)
        async with self._session_factory() as session, session.begin():
            moved = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SCHEDULED)
                .values(scheduled_at=when)
            )
            if affected_rows(moved) == 0:
                await refuse(session, broadcast_id, Action.RESCHEDULE)
        self._set_timer(broadcast_id, when)

    async def process_scheduled_broadcasts(self) -> list[int]:
        """The sweep: fire every scheduled broadcast that is due; the ids that started."""
        async with self._session_factory() as session:
            due = list(
                await session.scalars(
                    select(Broadcast.id)
                    .where(
                        Broadcast.status == BroadcastStatus.SCHEDULED,
                        or_(Broadcast.scheduled_at.is_(None), Broadcast.scheduled_at <= utcnow()),
                    )
                    .order_by(Broadcast.scheduled_at, Broadcast.id)
                )
            )
        started = []
        for broadcast_id in due:
            try:
                if await self.fire(broadcast_id):
                    started.append(broadcast_id)
            except Exception:  # one broken broadcast must not hold up the others
                logger.exception("Broadcast %s: firing failed", broadcast_id)
        return started

    async def fire(self, broadcast_id: int) -> bool:
        """Start the broadcast if it is still scheduled and due; True when it started."""
        if broadcast_id in self._firing:
            return False
        self._firing.add(broadcast_id)
        try:
            return await self._fire(broadcast_id)
        finally:
            self._firing.discard(broadcast_id)

    async def _fire(self, broadcast_id: int) -> bool:
        due = await self._load(broadcast_id)
        if due is None or due.status is not BroadcastStatus.SCHEDULED:
            logger.info("Broadcast %s is no longer scheduled; its timer does nothing", broadcast_id)
            return False
        now = utcnow()
        if due.scheduled_at is not None and due.scheduled_at > now:
            self._set_timer(broadcast_id, due.scheduled_at)  # moved to a later time
            return False
        self._log_lateness(broadcast_id, due.scheduled_at, now)
        try:
            if due.kind is BroadcastKind.REMINDER:  # an announcement's automatic reminder
                reminded = await self._launcher.start_reminder(
                    broadcast_id, due.admin_chat_id, language=due.admin_language
                )
                if reminded is None:  # everyone had confirmed: finished, sending nothing
                    return False
                started = reminded
            else:
                started = await self._launcher.send_now(
                    broadcast_id, due.admin_chat_id, language=due.admin_language
                )
        except (InvalidStatus, BroadcastNotFound) as error:
            logger.info("Broadcast %s did not fire: %s", broadcast_id, error)
            return False
        except DomainError as error:  # nobody to send to, or a subject/tutor that is gone
            await self._fail(broadcast_id, due, error)
            return False
        logger.info("Broadcast %s fired: %s recipients", broadcast_id, started.recipient_count)
        return True

    def _set_timer(self, broadcast_id: int, when: datetime | None) -> None:
        now = datetime.now(UTC)
        self._scheduler.add_job(
            self.fire,
            DateTrigger(run_date=now if when is None else max(when, now), timezone=UTC),
            args=[broadcast_id],
            id=job_id(broadcast_id),
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    async def _load(self, broadcast_id: int) -> _Due | None:
        async with self._session_factory() as session:
            row = (
                await session.execute(
                    select(
                        Broadcast.status,
                        Broadcast.scheduled_at,
                        func.coalesce(Broadcast.progress_chat_id, User.telegram_id),
                        func.coalesce(Broadcast.progress_language, User.language_code),
                        Broadcast.kind,
                    )
                    .outerjoin(User, User.id == Broadcast.created_by_id)
                    .where(Broadcast.id == broadcast_id)
                )
            ).one_or_none()
        return None if row is None else _Due(*row)

    @staticmethod
    def _log_lateness(broadcast_id: int, scheduled_at: datetime | None, now: datetime) -> None:
        if scheduled_at is None:
            return
        late = now - scheduled_at
        if late > LATE_AFTER:
            logger.warning(
                "Broadcast %s was due at %s and starts %s late (the bot was not running)",
                broadcast_id,
                scheduled_at.isoformat(timespec="seconds"),
                _duration(late),
            )
        else:
            logger.info(
                "Broadcast %s is due (%.1f s after its time)", broadcast_id, late.total_seconds()
            )

    async def _fail(self, broadcast_id: int, due: _Due, error: DomainError) -> None:
        """Mark the broadcast failed with an error_log entry and tell its admin."""
        event = ErrorEvent(error.code.lower(), str(error), utcnow())
        async with self._session_factory() as session, session.begin():
            log = await session.scalar(
                select(Broadcast.error_log).where(Broadcast.id == broadcast_id)
            )
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SCHEDULED)
                .values(
                    status=BroadcastStatus.FAILED,
                    completed_at=utcnow(),
                    error_log=merge_error_log(log, [event]),
                )
            )
        logger.error("Scheduled broadcast %s failed: %s", broadcast_id, error)
        if due.admin_chat_id is not None and self._notify is not None:
            await self._notify(NotSent(broadcast_id, due.admin_chat_id, due.admin_language, error))


def _require_time_zone(when: datetime) -> None:
    if when.tzinfo is None:
        raise ValidationFailed("The time must carry a time zone")


def _duration(delta: timedelta) -> str:
    """`2 h 5 min 3 s` style, for log lines."""
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{seconds} s"]
    return " ".join(part for part in parts if part)
