"""What reminders look like to admins: the line in an announcement's details, its button's
label and the question asked before one is sent."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from core.i18n import Translator
from db.models import BroadcastStatus
from handlers.callbacks import RemindConfirm
from handlers.keyboards import yes_no_keyboard
from services.reminders import ReminderPreview
from services.results import ReminderRun, Reminders
from services.schedule_time import format_schedule_time

View = tuple[str, InlineKeyboardMarkup]


def auto_remind_text(t: Translator, minutes: int | None) -> str:
    """`after 2 h`, `after 24 h`, `never`."""
    if not minutes:
        return t("auto-remind-never")
    return t("auto-remind-after", hours=minutes // 60)


def _run_text(t: Translator, run: ReminderRun, tz: ZoneInfo) -> str:
    at = run.sent_at or run.scheduled_at
    time = "—" if at is None else format_schedule_time(at, tz)
    if run.status is BroadcastStatus.SENDING:
        return t("reminders-run-sending", time=time, sent=run.sent_count, total=run.recipient_count)
    return t("reminders-run", time=time, sent=run.sent_count)


def reminders_line(t: Translator, reminders: Reminders, tz: ZoneInfo) -> str | None:
    """`Reminders: 2 of 3 — 14:05 (37 sent), next automatic at 16:00`; None before any."""
    if not reminders.runs:
        return None
    done = [
        _run_text(t, run, tz)
        for run in reminders.runs
        if run.status not in (BroadcastStatus.SCHEDULED, BroadcastStatus.CANCELLED)
    ]
    parts = [", ".join(done)] if done else []
    upcoming = reminders.next_automatic
    if upcoming is not None and upcoming.scheduled_at is not None:
        parts.append(
            t("reminders-next-automatic", time=format_schedule_time(upcoming.scheduled_at, tz))
        )
    return t(
        "reminders-line",
        counted=reminders.counted,
        limit=reminders.limit,
        runs=", ".join(parts) if parts else "—",
    )


def remind_question(t: Translator, preview: ReminderPreview) -> View:
    text = t("remind-confirm", id=str(preview.broadcast_id), count=preview.unconfirmed)
    markup = yes_no_keyboard(
        t,
        "remind",
        lambda yes: RemindConfirm(broadcast_id=preview.broadcast_id, sent=preview.sent, yes=yes),
    )
    return text, markup
