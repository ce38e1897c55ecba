"""What the broadcast screens say: lists, details, recipients, stats and the questions
asked before acting. Pure functions of the typed results, in the reader's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from fluent.runtime.types import fluent_number

from core.i18n import Translator
from db.models import BroadcastStatus, ContentKind, RecipientStatus, TargetGroup
from handlers.broadcasts.history_view import history_lines
from handlers.broadcasts.reminders_view import auto_remind_text, reminders_line
from handlers.callbacks import ConfirmedAction
from handlers.keyboards import (
    confirm_keyboard,
    details_keyboard,
    list_keyboard,
    recipients_keyboard,
    retry_keyboard,
    unconfirmed_keyboard,
)
from handlers.options_view import confirmed_line, options_text, quiet_line
from handlers.progress_view import STATUS_ICONS
from services.launcher import SendPreview
from services.progress import format_duration
from services.results import (
    BroadcastDetails,
    BroadcastSummary,
    CancelAsked,
    CancelOutcome,
    Page,
    RecipientRow,
    RetryPreview,
    RunOf,
    Stats,
)
from services.schedule_time import format_schedule_time
from services.targets import INCLUDE_KEY, Include

PREVIEW_LENGTH = 60
NAME_LENGTH = 64
FILTER_NAMES = (
    ("subject_id", "details-filter-subject"),
    ("tutor_id", "details-filter-tutor"),
    ("teacher_id", "details-filter-teacher"),
)

View = tuple[str, InlineKeyboardMarkup]


def shorten(text: str | None, limit: int) -> str:
    """One line of at most `limit` characters, HTML-escaped."""
    flat = " ".join((text or "").split())
    return html.quote(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def when(value: datetime | None, tz: ZoneInfo) -> str:
    return "—" if value is None else format_schedule_time(value, tz)


def status_name(t: Translator, status: BroadcastStatus) -> str:
    return t(f"status-{status.value}")


def audience_text(t: Translator, summary: BroadcastSummary) -> str:
    """The target group in words, with its filter and who of the students receive it:
    `By subject (Mathematics)`, `By class (5B) · parents`, or the id when the name is not
    known (`By subject (subject #5)`)."""
    return _group_text(t, summary) + _who_text(t, summary.target_filter or {})


def _group_text(t: Translator, summary: BroadcastSummary) -> str:
    name = t(f"target-{summary.target_group.value}")
    found = summary.target_filter or {}
    if summary.target_name:
        return f"{name} ({html.quote(summary.target_name)})"
    if isinstance(found.get("class"), str):
        return f"{name} ({html.quote(found['class'])})"
    for key, message_id in FILTER_NAMES:
        if key in found:
            return f"{name} ({t(message_id, id=str(found[key]))})"
    if summary.target_group is TargetGroup.CUSTOM:
        return f"{name} ({t('details-filter-custom', count=len(found.get('user_ids', [])))})"
    return name


def _who_text(t: Translator, target_filter: dict[str, Any]) -> str:
    """` · parents` or ` · students and parents`; nothing for the students alone."""
    include = target_filter.get(INCLUDE_KEY)
    if include not in (Include.PARENTS, Include.BOTH):
        return ""
    return f" · {t(f'details-who-{include}')}"


def list_when(t: Translator, item: BroadcastSummary, tz: ZoneInfo) -> str:
    """When a scheduled broadcast goes out; when any other was created."""
    if item.status is BroadcastStatus.SCHEDULED and item.scheduled_at is not None:
        return t("list-when-scheduled", time=when(item.scheduled_at, tz))
    return when(item.created_at, tz)


def list_count(t: Translator, item: BroadcastSummary) -> str:
    """How many it reaches now, before it is sent; how many got it, after."""
    if item.reachable_now is not None:
        return t("list-count-reach", count=item.reachable_now)
    return t("list-count-sent", sent=item.sent_count, total=item.recipient_count)


def list_view(
    t: Translator,
    found: Page[BroadcastSummary],
    status: BroadcastStatus | None,
    search: str | None,
    tz: ZoneInfo,
) -> View:
    filter_name = t("list-filter-all") if status is None else status_name(t, status)
    lines = [
        t(
            "list-title",
            filter=filter_name,
            count=found.count,
            page=found.page,
            pages=found.total_pages,
        )
    ]
    if search:
        lines.append(t("list-search", query=shorten(search, PREVIEW_LENGTH)))
    lines.append("")
    for item in found.items:
        lines.append(
            t(
                "list-item",
                icon=STATUS_ICONS[item.status],
                id=str(item.id),
                status=status_name(t, item.status),
                when=list_when(t, item, tz),
                audience=audience_text(t, item),
                count=list_count(t, item),
            )
        )
        lines.append(f"    {shorten(item.message, PREVIEW_LENGTH)}")
    if not found.items:
        lines.append(t("list-empty"))
    return "\n".join(lines), list_keyboard(t, found, status, searching=search is not None)


def details_view(t: Translator, details: BroadcastDetails, tz: ZoneInfo) -> View:
    """The broadcast's fields (its options, and once sent how many confirmed reading when
    it asks them to), and the buttons that make sense for its status."""
    summary = details.summary
    status = summary.status
    created = when(summary.created_at, tz)
    lines = [
        t(
            "details-title",
            icon=STATUS_ICONS[status],
            id=str(summary.id),
            status=status_name(t, status),
        ),
        t("details-audience", audience=audience_text(t, summary)),
        t("details-author", name=html.quote(summary.created_by_name), created=created)
        if summary.created_by_name
        else t("details-author-unknown", created=created),
    ]
    if status is BroadcastStatus.SCHEDULED:
        lines.append(t("details-scheduled", time=when(summary.scheduled_at, tz), tz=tz.key))
    if summary.sent_at is not None:
        lines.append(
            t(
                "details-times",
                started=when(summary.sent_at, tz),
                finished=when(summary.completed_at, tz),
            )
        )
    if summary.cancelled_at is not None:
        lines.append(t("details-cancelled", time=when(summary.cancelled_at, tz)))
    if summary.recipient_count == 0 and summary.reachable_now is not None:
        lines.append(t("details-reach", count=summary.reachable_now))
    else:
        lines.append(
            t(
                "details-counts",
                total=summary.recipient_count,
                sent=summary.sent_count,
                failed=summary.failed_count,
                pending=summary.pending_count,
            )
        )
    if details.confirmed is not None and summary.recipient_count > 0:
        lines.append(confirmed_line(t, details.confirmed, summary.sent_count))
    if options := options_text(t, summary.options):
        lines.append(t("details-options", options=options))
    if summary.auto_remind_after_minutes:
        lines.append(
            t("details-auto-remind", when=auto_remind_text(t, summary.auto_remind_after_minutes))
        )
    if details.reminders is not None and (line := reminders_line(t, details.reminders, tz)):
        lines.append(line)
    kind = summary.content_kind
    lines.append(
        t("details-content-text")
        if kind is ContentKind.TEXT
        else t("details-content-media", kind=t(f"content-kind-{kind.value}"))
    )
    lines.append(html.quote(summary.message))
    if history := history_lines(t, details.history, tz):
        lines += ["", *history]
    keyboard = details_keyboard(
        t,
        summary,
        details.retryable,
        details.unconfirmed,
        details.unreachable,
        details.reminders,
        deleted=details.deleted,
    )
    return "\n".join(lines), keyboard


def cancel_question(t: Translator, asked: CancelAsked) -> View:
    """Asked before cancelling; only a broadcast being sent has recipients to speak of. A
    run over an announcement is named by it ("Stop the reminder for broadcast #8?")."""
    broadcast_id, status, run = asked.broadcast_id, asked.status, asked.run
    if run is not None:
        text = t("cancel-confirm-run", kind=run.kind.value, id=str(run.announcement_id))
    else:
        text = t(
            "cancel-confirm",
            id=str(broadcast_id),
            state=status.value,
            status=status_name(t, status),
        )
    return text, confirm_keyboard(t, ConfirmedAction.CANCEL, broadcast_id, status)


def cancel_kept(t: Translator, broadcast_id: int, run: RunOf | None) -> str:
    """No: nothing was cancelled."""
    if run is not None:
        return t("cancel-kept-run", kind=run.kind.value, id=str(run.announcement_id))
    return t("cancel-kept", id=str(broadcast_id))


def cancel_report(t: Translator, outcome: CancelOutcome) -> str:
    """What the cancel did: a draft or a scheduled broadcast will not go out; of one that
    was sending, who will not get it and for whom it was too late (delivered all the
    same), or, if the messages in flight were not all recorded yet, at most how many. A
    run over an announcement says what it had not done yet."""
    broadcast_id = str(outcome.broadcast_id)
    if (run := outcome.run) is not None:
        return t(
            "cancel-done-run",
            kind=run.kind.value,
            id=str(run.announcement_id),
            stopped=outcome.stopped,
            settled="yes" if outcome.settled else "no",
        )
    if outcome.previous_status is not BroadcastStatus.SENDING:
        return t(f"cancel-done-{outcome.previous_status.value}", id=broadcast_id)
    done = "cancel-done-sending" if outcome.settled else "cancel-done-unsettled"
    lines = [t(done, id=broadcast_id, stopped=outcome.stopped)]
    if outcome.sent:
        lines.append(t("cancel-too-late", count=outcome.sent))
    if outcome.failed:
        lines.append(t("cancel-failed", count=outcome.failed))
    return " ".join(lines)


def run_name(t: Translator, run: RunOf) -> str:
    """ "Reminder for broadcast #8": a run named by the announcement it acts on."""
    return t("run-name", kind=run.kind.value, id=str(run.announcement_id))


def retry_question(t: Translator, preview: RetryPreview) -> View:
    """Asked before sending again to the failures worth another try: how many."""
    if preview.run is not None:
        text = t("retry-confirm-run", what=run_name(t, preview.run), count=preview.retryable)
    else:
        text = t("retry-confirm", id=str(preview.broadcast_id), count=preview.retryable)
    return text, retry_keyboard(t, preview.broadcast_id, preview.status, preview.rounds)


def retry_said(t: Translator, key: str, broadcast_id: int, run: RunOf | None, **args: int) -> str:
    """`retry-kept` or `retry-started`, a run named by its announcement."""
    if run is not None:
        return t(f"{key}-run", what=run_name(t, run), **args)
    return t(key, id=str(broadcast_id), **args)


def send_question(t: Translator, preview: SendPreview, tz: ZoneInfo) -> View:
    """The question before sending now: the audience, how many can receive it, in quiet
    hours when it will start, Yes/No."""
    summary = preview.details.summary
    text = t(
        "send-confirm",
        id=str(summary.id),
        status=status_name(t, summary.status),
        audience=audience_text(t, summary),
        count=preview.reachable,
    )
    if quiet := quiet_line(t, preview.starts_at, tz):
        text += "\n" + quiet
    return text, confirm_keyboard(t, ConfirmedAction.SEND, summary.id, summary.status)


def delivery_error(t: Translator, recipient: RecipientRow) -> str:
    """Why a failed recipient did not get it, in words (a failure without a code: other)."""
    return t(f"delivery-error-{recipient.error_code or 'other'}")


def recipient_name(recipient: RecipientRow) -> str:
    """The school's own id and the name, HTML-escaped."""
    return f"{html.quote(recipient.external_id)} {shorten(recipient.user_name, NAME_LENGTH)}"


def recipient_line(t: Translator, recipient: RecipientRow, tz: ZoneInfo) -> str:
    """The school's own id and the name; for a failure, why, in words (Telegram's own
    description stays in the database and the CSV, not on the admin's screen)."""
    name = recipient_name(recipient)
    if recipient.status is RecipientStatus.SENT:
        return t("recipients-item-sent", name=name, time=when(recipient.sent_at, tz))
    if recipient.status is RecipientStatus.FAILED:
        return t("recipients-item-failed", name=name, error=delivery_error(t, recipient))
    return t("recipients-item-pending", name=name)


def recipients_view(
    t: Translator,
    broadcast_id: int,
    found: Page[RecipientRow],
    status: RecipientStatus | None,
    tz: ZoneInfo,
) -> View:
    filter_name = (
        t("recipients-filter-all") if status is None else t(f"recipient-status-{status.value}")
    )
    lines = [
        t(
            "recipients-title",
            id=str(broadcast_id),
            filter=filter_name,
            count=found.count,
            page=found.page,
            pages=found.total_pages,
        ),
        "",
    ]
    lines += [recipient_line(t, recipient, tz) for recipient in found.items]
    if not found.items:
        lines.append(t("recipients-empty"))
    return "\n".join(lines), recipients_keyboard(t, broadcast_id, found, status)


def unconfirmed_view(t: Translator, broadcast_id: int, found: Page[RecipientRow]) -> View:
    """Who was delivered the broadcast and has not confirmed reading: the school's id, the
    name and the role."""
    lines = [
        t(
            "unconfirmed-title",
            id=str(broadcast_id),
            count=found.count,
            page=found.page,
            pages=found.total_pages,
        ),
        "",
    ]
    lines += [
        t(
            "unconfirmed-item",
            name=recipient_name(row),
            role=t(f"role-{row.role.value}"),
            reminders=row.reminders,
        )
        for row in found.items
    ]
    if not found.items:
        lines.append(t("unconfirmed-empty"))
    return "\n".join(lines), unconfirmed_keyboard(t, broadcast_id, found)


def stats_view(t: Translator, stats: Stats) -> str:
    """The monitoring numbers: status distribution, failed-send rate, average time."""
    lines = [t("stats-title"), t("stats-broadcasts", total=stats.total_broadcasts)]
    lines += [
        t(
            "stats-status-line",
            icon=STATUS_ICONS[status],
            status=status_name(t, status),
            count=stats.status_distribution.get(status, 0),
        )
        for status in BroadcastStatus
    ]
    lines.append(
        t(
            "stats-recipients",
            total=stats.total_recipients,
            failed=stats.failed_recipients,
            rate=fluent_number(stats.failed_rate, maximumFractionDigits=2),
        )
    )
    average = stats.average_processing_seconds
    lines.append(
        t("stats-processing-none")
        if average is None
        else t(
            "stats-processing",
            duration=format_duration(average),
            count=stats.finished_broadcasts,
        )
    )
    return "\n".join(lines)
