"""The live progress message as admins see it: translated text and its buttons.

`render_progress` is the renderer `services.progress.ProgressReporter` calls with each
snapshot and the message's language (`progress_renderer` gives it the catalog and the
school's time zone), and the one the Refresh button and /progress use, so every progress
message looks the same. It needs nothing but the snapshot and the language, which is
stored with the live message: after a restart the resumed broadcast's message keeps
updating the same way.

Its Refresh button carries the language and the view it was rendered in, so Refresh
redraws a message exactly as it was drawn (no state kept anywhere): the live message in
the language of the admin whose chat it is in, a /progress answer in the asking admin's
language with its timestamps. The keyboard itself is `handlers.keyboards.progress_keyboard`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from fluent.runtime.types import fluent_number

from core.i18n import Catalog, Translator
from db.models import BroadcastKind, BroadcastStatus
from handlers.keyboards import progress_keyboard
from handlers.options_view import clock_time, confirmed_line
from services.progress import (
    ProgressSnapshot,
    Render,
    Rendered,
    format_duration,
    progress_bar,
)
from services.results import Progress
from services.schedule_time import format_schedule_time

STATUS_ICONS = {
    BroadcastStatus.DRAFT: "📝",
    BroadcastStatus.SCHEDULED: "🕒",
    BroadcastStatus.SENDING: "📤",
    BroadcastStatus.SENT: "✅",
    BroadcastStatus.COMPLETED: "⚠️",
    BroadcastStatus.FAILED: "❌",
    BroadcastStatus.CANCELLED: "🚫",
}


def error_details(t: Translator, errors: tuple[tuple[str, int], ...]) -> str:
    """`bot blocked by user (3), chat not found (2)` in the reader's language."""
    return ", ".join(f"{t(f'delivery-error-{code}')} ({count})" for code, count in errors)


def progress_times(t: Translator, progress: Progress, tz: ZoneInfo) -> str:
    """The timestamps of `BroadcastService.get_progress`, in the school's time zone."""

    def when(value: datetime | None) -> str:
        return "—" if value is None else format_schedule_time(value, tz)

    return t(
        "progress-times",
        created=when(progress.created_at),
        started=when(progress.sent_at),
        finished=when(progress.completed_at),
    )


PROGRESS_TITLES = {
    BroadcastKind.ANNOUNCEMENT: "progress-title",
    BroadcastKind.REMINDER: "progress-title-reminder",
    BroadcastKind.EDIT: "progress-title-edit",
    BroadcastKind.DELETE: "progress-title-delete",
}
"""A run over an announcement is titled by the announcement, the number admins know."""


def render_progress(
    t: Translator, snapshot: ProgressSnapshot, tz: ZoneInfo, footer: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Bar, percent, sent / failed / pending, the read confirmations when it asks for them,
    rate and ETA while sending (or that it is paused, waiting for the database or for quiet
    hours to end, or that it starts when they end, or waiting for retries and when the next
    is due; times in the school's time zone `tz`), status in words; the final summary with
    how long it took and the errors once finished. `footer` marks the full view."""
    status = snapshot.status
    lines = [
        t(
            PROGRESS_TITLES[snapshot.kind],
            icon=STATUS_ICONS[status],
            id=str(snapshot.broadcast_id if snapshot.parent_id is None else snapshot.parent_id),
            status=t(f"status-{status.value}"),
        ),
        f"{progress_bar(snapshot.percent / 100)} {snapshot.percent}%",
        t(
            "progress-counts",
            sent=snapshot.sent,
            failed=snapshot.failed,
            pending=snapshot.pending,
            total=snapshot.total,
        ),
    ]
    if snapshot.confirmed is not None:
        lines.append(confirmed_line(t, snapshot.confirmed, snapshot.sent))
    if status is BroadcastStatus.SENDING and snapshot.paused:
        lines.append(t("progress-paused"))
    elif status is BroadcastStatus.SENDING and snapshot.quiet_until is not None:
        key = "progress-quiet-paused" if snapshot.started else "progress-quiet-start"
        lines.append(t(key, time=clock_time(snapshot.quiet_until, tz)))
    elif snapshot.waiting_for_retries and snapshot.next_retry_at is not None:
        due = snapshot.next_retry_at.astimezone(tz)
        lines.append(t("progress-retry-wait", count=snapshot.retry_waiting, time=f"{due:%H:%M:%S}"))
    elif status is BroadcastStatus.SENDING:
        live = snapshot.rate > 0
        lines.append(
            t(
                "progress-rate",
                rate=fluent_number(snapshot.rate, minimumFractionDigits=1, maximumFractionDigits=1)
                if live
                else "—",
                eta="—"
                if not live or snapshot.eta_seconds is None
                else format_duration(snapshot.eta_seconds),
            )
        )
    if snapshot.finished and snapshot.took_seconds is not None:
        lines.append(t("progress-took", duration=format_duration(snapshot.took_seconds)))
    if snapshot.errors:
        lines.append(
            t("progress-errors", failed=snapshot.failed, details=error_details(t, snapshot.errors))
        )
    if footer:
        lines.append(footer)
    return "\n".join(lines), progress_keyboard(t, snapshot, full=footer is not None)


def progress_renderer(catalog: Catalog, tz: ZoneInfo) -> Render:
    """The renderer to give `ProgressReporter(render=...)`: each live message in its own
    language (the catalog's default for None, as for messages posted before languages were
    stored), times in the school's time zone `tz`."""

    def render(snapshot: ProgressSnapshot, language: str | None) -> Rendered:
        return render_progress(catalog.translator(language), snapshot, tz)

    return render
