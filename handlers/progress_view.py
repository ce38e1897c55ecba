"""The live progress message as admins see it: translated text and its buttons.

`render_progress` is the renderer `services.progress.ProgressReporter` calls with each
snapshot (bind a translator with `progress_renderer`), and the one the Refresh button and
/progress use, so every progress message looks the same. It needs nothing but the
snapshot: after a restart the resumed broadcast's message keeps updating the same way.

The buttons carry the language and the view they were rendered in, so Refresh redraws a
message exactly as it was drawn (no state kept anywhere): the live message in the bot's
default language, a /progress answer in the asking admin's language with its timestamps.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import Field

from core.i18n import Translator
from db.models import BroadcastStatus
from services.broadcasts import CANCELLABLE, RETRYABLE_ERRORS
from services.progress import ProgressSnapshot, Render, format_duration, progress_bar
from services.schedule_time import format_schedule_time

MAX_BROADCAST_ID = 2**31 - 1  # ids are INTEGER columns; anything larger cannot exist
BroadcastId = Annotated[int, Field(ge=1, le=MAX_BROADCAST_ID)]
"""A broadcast id in callback data: forged out-of-range values never reach the database."""

STATUS_ICONS = {
    BroadcastStatus.DRAFT: "📝",
    BroadcastStatus.SCHEDULED: "🕒",
    BroadcastStatus.SENDING: "📤",
    BroadcastStatus.SENT: "✅",
    BroadcastStatus.COMPLETED: "⚠️",
    BroadcastStatus.FAILED: "❌",
    BroadcastStatus.CANCELLED: "🚫",
}


class ProgressButton(enum.StrEnum):
    REFRESH = "refresh"
    CANCEL = "cancel"
    RETRY = "retry"


class ProgressAction(CallbackData, prefix="pg"):
    """A button on a progress message. `lang` and `full` say how the message was drawn."""

    action: ProgressButton
    broadcast_id: BroadcastId
    lang: str
    full: bool = False


def retryable_count(snapshot: ProgressSnapshot) -> int:
    """Failed recipients that "Retry failed" would send to again."""
    return sum(count for code, count in snapshot.errors if code in RETRYABLE_ERRORS)


def error_details(t: Translator, errors: tuple[tuple[str, int], ...]) -> str:
    """`bot blocked by user (3), chat not found (2)` in the reader's language."""
    return ", ".join(f"{t(f'delivery-error-{code}')} ({count})" for code, count in errors)


def progress_times(t: Translator, progress: Mapping[str, Any], tz: ZoneInfo) -> str:
    """The seed's timestamps of `BroadcastService.get_progress`, in the school's time zone."""

    def when(value: datetime | None) -> str:
        return "—" if value is None else format_schedule_time(value, tz)

    return t(
        "progress-times",
        created=when(progress["created_at"]),
        started=when(progress["sent_at"]),
        finished=when(progress["completed_at"]),
    )


def render_progress(
    t: Translator, snapshot: ProgressSnapshot, footer: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Bar, percent, sent / failed / pending, rate and ETA while sending, status in words;
    the final summary with the errors once finished. `footer` marks the full view."""
    status = snapshot.status
    lines = [
        t(
            "progress-title",
            icon=STATUS_ICONS[status],
            id=str(snapshot.broadcast_id),
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
    if status is BroadcastStatus.SENDING:
        live = snapshot.rate > 0
        lines.append(
            t(
                "progress-rate",
                rate=f"{snapshot.rate:.1f}" if live else "—",
                eta="—"
                if not live or snapshot.eta_seconds is None
                else format_duration(snapshot.eta_seconds),
            )
        )
    if snapshot.errors:
        lines.append(
            t("progress-errors", failed=snapshot.failed, details=error_details(t, snapshot.errors))
        )
    if footer:
        lines.append(footer)
    return "\n".join(lines), progress_keyboard(t, snapshot, full=footer is not None)


def progress_keyboard(
    t: Translator, snapshot: ProgressSnapshot, *, full: bool = False
) -> InlineKeyboardMarkup | None:
    """Refresh and Cancel while it can still change; Retry failed (N) once it is over."""

    def button(text: str, action: ProgressButton) -> InlineKeyboardButton:
        data = ProgressAction(
            action=action, broadcast_id=snapshot.broadcast_id, lang=t.language, full=full
        )
        return InlineKeyboardButton(text=text, callback_data=data.pack())

    row: list[InlineKeyboardButton] = []
    if not snapshot.finished:
        row.append(button(t("progress-btn-refresh"), ProgressButton.REFRESH))
    if snapshot.status in CANCELLABLE:
        row.append(button(t("progress-btn-cancel"), ProgressButton.CANCEL))
    retryable = retryable_count(snapshot)
    if snapshot.finished and snapshot.status is not BroadcastStatus.CANCELLED and retryable:
        row.append(button(t("progress-btn-retry", count=retryable), ProgressButton.RETRY))
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


def progress_renderer(t: Translator) -> Render:
    """The renderer to give `ProgressReporter(render=...)`: the live message in `t`'s language."""
    return partial(render_progress, t)
