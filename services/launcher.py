"""Start sending a broadcast and show its progress in an admin's chat: the one path that
"send now" (the wizard and a draft's details), a retry, a scheduled broadcast's timer and
a restart all take; and stop one that is sending, with the counts it ended on.

Starting is: the guarded status change with the recipients written
(`BroadcastService.start_sending` / `retry_failed`), then the live progress message
posted in the admin's chat, in that admin's language (stored with the message, so a
restart keeps it), then the engine. The failure cases are settled here:
* nobody reachable: NoRecipients, and nothing changed;
* the status changed meanwhile: InvalidStatus (StatusChanged when a confirmation named
  the status it asked about), and nothing changed;
* the progress message cannot be posted (the admin blocked the bot, the chat is gone):
  the broadcast is sent all the same and `Started.progress_message_id` is None.

Cancelling a broadcast that is sending stops its run at once, but the messages in flight
then still arrive: `cancel` waits for them to be recorded (at most SETTLE_TIMEOUT
seconds), so the admin is told how many got it all the same and how many will not.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiogram.exceptions import TelegramAPIError

from db.models import BroadcastStatus
from services.audience import AudienceService
from services.broadcasts import DEFAULT_RETRY_ROUNDS, BroadcastService
from services.errors import Action, NoRecipients
from services.progress_reporter import ProgressReporter
from services.quiet_hours import QuietGate
from services.reminders import ReminderService
from services.results import BroadcastDetails, CancelOutcome, Started
from services.sender import BroadcastSender

logger = logging.getLogger(__name__)

SETTLE_TIMEOUT = 3.0
"""Seconds a cancel waits for the messages in flight to be recorded (as a shutdown does)."""

Arm = Callable[..., Awaitable[None]]
"""Sets a scheduled broadcast's timer (`BroadcastScheduler.arm`): for automatic reminders."""

Announce = Callable[[int], Awaitable[None]]
"""Told how many recipients it goes to, once the broadcast is `sending` and before its
progress message is posted (so the admin reads "sent to N" above the live message)."""


@dataclass(frozen=True, slots=True)
class SendPreview:
    """What sending a saved broadcast now would do: for the question asked first."""

    details: BroadcastDetails
    reachable: int
    starts_at: datetime | None = None
    """When it would really start: the end of quiet hours; None: at once."""


class BroadcastLauncher:
    def __init__(
        self,
        broadcasts: BroadcastService,
        audience: AudienceService,
        sender: BroadcastSender,
        progress: ProgressReporter,
        *,
        settle_timeout: float = SETTLE_TIMEOUT,
        quiet: QuietGate | None = None,
        reminders: ReminderService | None = None,
    ) -> None:
        self._broadcasts = broadcasts
        self._quiet = quiet or QuietGate(None)
        self._audience = audience
        self._sender = sender
        self._progress = progress
        self.settle_timeout = settle_timeout
        self._reminders = reminders
        self._arm: Arm | None = None

    def arm_reminders_with(self, arm: Arm) -> None:
        """The scheduler's `arm`, given once both exist (the scheduler needs the launcher):
        an announcement's automatic reminder gets its timer as the announcement starts."""
        self._arm = arm

    async def preview(self, broadcast_id: int) -> SendPreview:
        """The broadcast, how many could get it now and, in quiet hours, when it would
        start; refused (InvalidStatus) when it cannot be sent now, NoRecipients when nobody
        can be reached."""
        await self._broadcasts.status_for(broadcast_id, Action.START)
        details = await self._broadcasts.get_details(broadcast_id, recipients_page_size=1)
        summary = details.summary
        counts = await self._audience.preview(summary.target_group, summary.target_filter)
        if counts.reachable == 0:
            raise NoRecipients(summary.target_group.value)
        starts_at = self._quiet.start_of(summary.options.urgent)
        return SendPreview(details, counts.reachable, starts_at)

    async def send_now(
        self,
        broadcast_id: int,
        progress_chat_id: int | None,
        *,
        language: str | None,
        expected: BroadcastStatus | None = None,
        announce: Announce | None = None,
        actor_id: int | None = None,
    ) -> Started:
        """A draft or scheduled broadcast starts sending now; its progress message goes to
        `progress_chat_id`, in `language` (that admin's; None: the default language).
        `expected` is the status the admin confirmed (StatusChanged if it is another one now);
        `actor_id` who started it, for its history (None: the scheduler)."""
        count = await self._broadcasts.start_sending(
            broadcast_id, expected, actor_id=actor_id, quiet=self._quiet
        )
        started = await self._hand_over(broadcast_id, count, progress_chat_id, language, announce)
        await self._arm_automatic_reminder(broadcast_id, progress_chat_id, language)
        return started

    async def remind(
        self,
        broadcast_id: int,
        progress_chat_id: int | None,
        *,
        language: str | None,
        expected: int | None = None,
        announce: Announce | None = None,
        actor_id: int | None = None,
    ) -> Started:
        """A reminder to those delivered the announcement who have not confirmed, sent
        now with its own progress message (services/reminders.py; `expected`: how many
        reminders the admin's question showed; `actor_id`: who asked, for the history).
        `Started.broadcast_id` is the reminder's."""
        assert self._reminders is not None, "a launcher without reminders"
        reminder_id, count = await self._reminders.remind(broadcast_id, expected, actor_id=actor_id)
        return await self._hand_over(reminder_id, count, progress_chat_id, language, announce)

    async def start_reminder(
        self, reminder_id: int, progress_chat_id: int | None, *, language: str | None
    ) -> Started | None:
        """An automatic reminder's time has come: sent to those still unconfirmed, or
        finished at once (None) when everyone has confirmed meanwhile."""
        assert self._reminders is not None, "a launcher without reminders"
        count = await self._reminders.start_scheduled(reminder_id)
        if count == 0:
            return None
        return await self._hand_over(reminder_id, count, progress_chat_id, language, None)

    async def _arm_automatic_reminder(
        self, broadcast_id: int, chat_id: int | None, language: str | None
    ) -> None:
        """Its timer, with the chat and language of this start's progress message. Left
        to the scheduler's sweep (and its start after a restart) if this fails."""
        if self._reminders is None or self._arm is None:
            return
        try:
            upcoming = await self._reminders.pending_automatic(broadcast_id)
            if upcoming is not None:
                await self._arm(
                    upcoming.reminder_id,
                    upcoming.at,
                    admin_chat_id=chat_id,
                    admin_language=language,
                )
        except Exception:
            logger.exception("Broadcast %s: could not arm its automatic reminder", broadcast_id)

    async def retry(
        self,
        broadcast_id: int,
        progress_chat_id: int | None,
        max_retries: int = DEFAULT_RETRY_ROUNDS,
        *,
        language: str | None,
        expected: BroadcastStatus | None = None,
        expected_rounds: int | None = None,
        announce: Announce | None = None,
    ) -> Started:
        """The retryable failures go back to pending and are sent again, with a new
        progress message in `progress_chat_id`, in `language` (the earlier one loses its
        buttons). `expected` and `expected_rounds` are what the admin confirmed: a
        broadcast changed or retried since is refused (StatusChanged, RetriedMeanwhile)."""
        retried = await self._broadcasts.retry_failed(
            broadcast_id, max_retries, expected=expected, expected_rounds=expected_rounds
        )
        return await self._hand_over(
            broadcast_id, retried.retried_count, progress_chat_id, language, announce
        )

    async def cancel(
        self,
        broadcast_id: int,
        *,
        expected: BroadcastStatus | None = None,
        actor_id: int | None = None,
    ) -> CancelOutcome:
        """Cancel a draft, a scheduled or a sending broadcast (`expected`: the status the
        admin confirmed). One that was sending stops at once; the counts are read once its
        messages in flight are recorded, or when SETTLE_TIMEOUT ran out (`settled`)."""
        cancelled = await self._broadcasts.cancel_broadcast(
            broadcast_id, expected, actor_id=actor_id
        )
        previous = cancelled.previous_status
        if previous is not BroadcastStatus.SENDING:
            return CancelOutcome(broadcast_id, previous, run=cancelled.run)
        settled = await self._sender.settle(broadcast_id, self.settle_timeout)
        counts = await self._broadcasts.get_progress(broadcast_id)
        return CancelOutcome(
            broadcast_id,
            previous,
            sent=counts.sent_count,
            failed=counts.failed_count,
            stopped=counts.pending_count,
            settled=settled,
            run=cancelled.run,
        )

    async def resume_all(self) -> list[int]:
        """After a restart: every broadcast left `sending` whose lease is free goes on, and
        so does its progress message (the same message, edited)."""
        resumed = await self._sender.resume_all()
        for broadcast_id in resumed:
            await self._progress.follow(broadcast_id)
        return resumed

    def supervise(self) -> None:
        """From now until the sender's shutdown, every few seconds: broadcasts of a crashed
        instance (once their lease expires) and runs that ended early go on, and so do
        their progress messages."""
        self._sender.supervise(on_started=self._progress.follow)

    async def launch_run(
        self,
        run_id: int,
        count: int,
        progress_chat_id: int | None,
        *,
        language: str | None,
        announce: Announce | None = None,
    ) -> Started:
        """A run just written `sending` (an edit or a delete of an announcement) gets its
        progress message and the engine, as a broadcast started now does."""
        return await self._hand_over(run_id, count, progress_chat_id, language, announce)

    async def _hand_over(
        self,
        broadcast_id: int,
        count: int,
        chat_id: int | None,
        language: str | None,
        announce: Announce | None,
    ) -> Started:
        if announce is not None:
            try:
                await announce(count)
            except Exception:  # whatever befalls the admin's screen, the engine gets it
                logger.exception("Broadcast %s: could not announce it", broadcast_id)
        message_id = None
        if chat_id is not None:
            try:
                message_id = await self._progress.attach(broadcast_id, chat_id, language)
            except TelegramAPIError as error:  # the admin's chat is gone: send anyway
                logger.warning("Broadcast %s: no progress message: %s", broadcast_id, error)
        task_id = await self._sender.start(broadcast_id)
        return Started(broadcast_id, count, task_id, message_id)
