"""The one place where a refused request becomes an answer in the user's language.

Any handler may raise a `services.errors.DomainError`; this router catches it for every
update: a button press gets an alert (nothing on screen changes), a message gets a reply.
Every refusal carries its facts (`services.errors`) and is worded here in the user's
language; a DomainError this module does not know shows its own (English) text.
`bot/factory.py` registers it on the Dispatcher itself (`register_error_handler`), so it
sees the errors of every router.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Dispatcher, html
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from core.i18n import Translator
from core.settings import Settings
from services.errors import (
    AlreadyDeleted,
    BroadcastNotFound,
    ConfirmationNotAsked,
    ContentInvisible,
    ContentTooLong,
    DomainError,
    InvalidStatus,
    NobodyToRemind,
    NoRecipients,
    NothingDelivered,
    NothingToRetry,
    RemindedMeanwhile,
    ReminderInProgress,
    ReminderLimitReached,
    RetriedMeanwhile,
    RetryLimitReached,
    RunInProgress,
    StatusChanged,
)
from services.schedule_time import (
    DISPLAY_FORMAT,
    NonexistentTime,
    TimeInPast,
    UnparseableTime,
    format_schedule_time,
)


def describe(error: DomainError, t: Translator, tz: ZoneInfo | None = None) -> str:
    """The error's message for the user, in their language (plain text, not HTML).

    `tz` is the school's time zone, for errors that name a time (UTC when not given).
    """
    zone = tz or ZoneInfo("UTC")
    if isinstance(error, BroadcastNotFound):
        return t("error-broadcast-not-found", id=str(error.broadcast_id))
    if isinstance(error, ConfirmationNotAsked):
        return t("error-confirmation-not-asked", id=str(error.broadcast_id))
    if isinstance(error, StatusChanged):
        return t(
            "confirm-changed",
            id=str(error.broadcast_id),
            was=t(f"status-{error.expected.value}"),
            status=t(f"status-{error.status.value}"),
        )
    if isinstance(error, InvalidStatus):
        return t(
            f"cannot-{error.action.value}",
            id=str(error.broadcast_id),
            status=t(f"status-{error.status.value}"),
        )
    if isinstance(error, RetryLimitReached):
        return t(
            "error-retry-limit", id=str(error.broadcast_id), rounds=error.rounds, limit=error.limit
        )
    if isinstance(error, RetriedMeanwhile):
        return t("error-retried-meanwhile", id=str(error.broadcast_id), rounds=error.rounds)
    if isinstance(error, ReminderLimitReached):
        return t(
            "error-reminder-limit", id=str(error.broadcast_id), sent=error.sent, limit=error.limit
        )
    if isinstance(error, ReminderInProgress):
        return t(
            "error-reminder-in-progress",
            id=str(error.broadcast_id),
            reminder=str(error.reminder_id),
        )
    if isinstance(error, RemindedMeanwhile):
        return t("error-reminded-meanwhile", id=str(error.broadcast_id), sent=error.sent)
    if isinstance(error, NobodyToRemind):
        return t("error-nobody-to-remind", id=str(error.broadcast_id))
    if isinstance(error, NothingDelivered):
        if error.too_old:
            return t("error-nothing-deletable", id=str(error.broadcast_id), count=error.too_old)
        return t("error-nothing-delivered", id=str(error.broadcast_id))
    if isinstance(error, RunInProgress):
        return t(
            "error-run-in-progress",
            id=str(error.broadcast_id),
            kind=error.kind.value,
            run=str(error.run_id),
        )
    if isinstance(error, AlreadyDeleted):
        time = format_schedule_time(error.deleted_at, zone)
        return t("error-already-deleted", id=str(error.broadcast_id), time=time)
    if isinstance(error, NothingToRetry):
        return t("retry-nothing", id=str(error.broadcast_id))
    if isinstance(error, ContentTooLong):
        return t("error-content-too-long", length=error.length, limit=error.limit)
    if isinstance(error, ContentInvisible):
        return t("error-content-invisible", what=error.what.lower())
    if isinstance(error, NoRecipients):
        return t("error-no-recipients", group=t(f"target-{error.target_group}"))
    if isinstance(error, UnparseableTime):
        return t("error-time-unparseable", text=error.text, examples=t("schedule-examples"))
    if isinstance(error, TimeInPast):
        return t("error-time-past", time=format_schedule_time(error.when, zone), tz=zone.key)
    if isinstance(error, NonexistentTime):
        local = error.local.strftime(DISPLAY_FORMAT)  # as typed: it has no UTC equivalent
        return t("error-time-nonexistent", time=local, tz=zone.key)
    return str(error)


async def domain_error(event: ErrorEvent, t: Translator, settings: Settings) -> None:
    assert isinstance(event.exception, DomainError)  # guaranteed by the filter below
    text = describe(event.exception, t, settings.tz)
    if event.update.callback_query is not None:
        await event.update.callback_query.answer(text, show_alert=True)
    elif event.update.message is not None:
        await event.update.message.answer(html.quote(text))


def register_error_handler(dispatcher: Dispatcher) -> None:
    dispatcher.errors.register(domain_error, ExceptionTypeFilter(DomainError))
