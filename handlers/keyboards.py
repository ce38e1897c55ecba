"""The inline keyboards of the admin screens, as pure functions of what they show."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core.i18n import Translator
from db.models import BroadcastKind, BroadcastStatus, RecipientStatus
from handlers.callbacks import (
    AmendConfirm,
    AmendKind,
    BroadcastAction,
    BroadcastButton,
    Confirm,
    ConfirmedAction,
    InviteLinks,
    ListPage,
    ProgressRefresh,
    ReachScope,
    ReadConfirmed,
    RecipientPage,
    RetryConfirm,
    TimeAbort,
    TimeAction,
    UnconfirmedPage,
)
from services.progress import ProgressSnapshot
from services.results import BroadcastSummary, Page, Reminders
from services.statuses import (
    AMENDABLE_STATUSES,
    CANCELLABLE_STATUSES,
    RETRYABLE_ERROR_CODES,
    RETRYABLE_STATUSES,
)

OPEN_PER_ROW = 5
FILTERS_PER_ROW = 3
"""Filter buttons per row: with short labels, three fit a phone's width."""


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def action_button(
    t: Translator, label: str, action: BroadcastButton, broadcast_id: int
) -> InlineKeyboardButton:
    return button(t(label), BroadcastAction(action=action, broadcast_id=broadcast_id))


def yes_no_keyboard(
    t: Translator, question: str, answer: Callable[[bool], CallbackData]
) -> InlineKeyboardMarkup:
    """The Yes / No row of a question; labels are `<question>-btn-yes` / `-btn-no`."""
    builder = InlineKeyboardBuilder()
    for label, yes in (("yes", True), ("no", False)):
        builder.add(button(t(f"{question}-btn-{label}"), answer(yes)))
    return builder.as_markup()


def confirm_keyboard(
    t: Translator, question: ConfirmedAction, broadcast_id: int, status: BroadcastStatus
) -> InlineKeyboardMarkup:
    return yes_no_keyboard(
        t,
        question,
        lambda yes: Confirm(action=question, broadcast_id=broadcast_id, status=status, yes=yes),
    )


def retry_keyboard(
    t: Translator, broadcast_id: int, status: BroadcastStatus, rounds: int
) -> InlineKeyboardMarkup:
    return yes_no_keyboard(
        t,
        "retry",
        lambda yes: RetryConfirm(broadcast_id=broadcast_id, status=status, rounds=rounds, yes=yes),
    )


def time_abort_keyboard(
    t: Translator, action: TimeAction, broadcast_id: int
) -> InlineKeyboardMarkup:
    abort = TimeAbort(action=action, broadcast_id=broadcast_id)
    return InlineKeyboardMarkup(inline_keyboard=[[button(t(f"{action}-btn-abort"), abort)]])


def confirmed_keyboard(t: Translator, time: str) -> InlineKeyboardMarkup:
    """What replaces "I have read it" once pressed: "✅ Confirmed 14:02", which only answers."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(t("read-btn-confirmed", time=time), ReadConfirmed())]]
    )


def retryable_count(snapshot: ProgressSnapshot) -> int:
    """Failed recipients that "Retry failed" would send to again."""
    return sum(count for code, count in snapshot.errors if code in RETRYABLE_ERROR_CODES)


def progress_keyboard(
    t: Translator, snapshot: ProgressSnapshot, *, full: bool = False
) -> InlineKeyboardMarkup | None:
    """Refresh while it can still change (a cancelled one too, until the messages in
    flight are recorded) and Cancel while it can be cancelled; once it is over, Retry
    failed (N), or Details for a cancelled one (who got it, who did not)."""
    broadcast_id = snapshot.broadcast_id
    row: list[InlineKeyboardButton] = []
    if not snapshot.final:
        refresh = ProgressRefresh(broadcast_id=broadcast_id, lang=t.language, full=full)
        row.append(button(t("progress-btn-refresh"), refresh))
    if snapshot.status in CANCELLABLE_STATUSES:
        row.append(action_button(t, "progress-btn-cancel", BroadcastButton.CANCEL, broadcast_id))
    if snapshot.status is BroadcastStatus.CANCELLED:  # a run's: its announcement's details
        shown = broadcast_id if snapshot.parent_id is None else snapshot.parent_id
        row.append(action_button(t, "progress-btn-details", BroadcastButton.OPEN, shown))
    retryable = retryable_count(snapshot)
    if snapshot.finished and snapshot.status is not BroadcastStatus.CANCELLED and retryable:
        retry = BroadcastAction(action=BroadcastButton.RETRY, broadcast_id=broadcast_id)
        row.append(button(t("progress-btn-retry", count=retryable), retry))
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


def remind_button(
    t: Translator, broadcast_id: int, unconfirmed: int, reminders: Reminders
) -> InlineKeyboardButton:
    """🔔 Remind (N), saying how many reminders are left; with none left it says so (a
    press is refused with the limit)."""
    remind = BroadcastAction(action=BroadcastButton.REMIND, broadcast_id=broadcast_id)
    if reminders.left == 0:
        return button(t("details-btn-remind-none-left", limit=reminders.limit), remind)
    label = t("details-btn-remind", count=unconfirmed, left=reminders.left, limit=reminders.limit)
    return button(label, remind)


def details_keyboard(
    t: Translator,
    summary: BroadcastSummary,
    retryable: int,
    unconfirmed: int | None = None,
    unreachable: int = 0,
    reminders: Reminders | None = None,
    deleted: bool = False,
) -> InlineKeyboardMarkup:
    """The buttons that make sense for the broadcast's status; Retry only with something
    to retry, and how many; Not confirmed only when it asks for confirmation and someone
    delivered has not given it (`unconfirmed`), and then the reminder to them; Who can't
    be reached when someone of its audience cannot be; once it was `deleted` for
    everyone, no reminder, edit or delete."""
    broadcast_id, status = summary.id, summary.status
    builder = InlineKeyboardBuilder()
    if status not in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        # before it is sent it has no progress and no recipients to show
        builder.row(
            action_button(t, "details-btn-progress", BroadcastButton.PROGRESS, broadcast_id),
            action_button(t, "details-btn-recipients", BroadcastButton.RECIPIENTS, broadcast_id),
        )
        readers = []
        if unconfirmed:
            show = BroadcastAction(action=BroadcastButton.UNCONFIRMED, broadcast_id=broadcast_id)
            readers.append(button(t("details-btn-unconfirmed", count=unconfirmed), show))
        readers.append(action_button(t, "details-btn-export", BroadcastButton.EXPORT, broadcast_id))
        builder.row(*readers)
        if unconfirmed and reminders is not None and not deleted:
            builder.row(remind_button(t, broadcast_id, unconfirmed, reminders))
    if status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        # a draft gets its time, a scheduled broadcast a new one
        timing = (
            BroadcastButton.SCHEDULE
            if status is BroadcastStatus.DRAFT
            else BroadcastButton.RESCHEDULE
        )
        builder.row(
            action_button(t, "details-btn-send", BroadcastButton.SEND, broadcast_id),
            action_button(t, f"details-btn-{timing}", timing, broadcast_id),
        )
    if unreachable:
        who = BroadcastAction(action=BroadcastButton.UNREACHABLE, broadcast_id=broadcast_id)
        builder.row(button(t("reach-btn-unreachable", count=unreachable), who))
    actions = []
    if status in RETRYABLE_STATUSES and retryable > 0:
        retry = BroadcastAction(action=BroadcastButton.RETRY, broadcast_id=broadcast_id)
        actions.append(button(t("details-btn-retry", count=retryable), retry))
    if status in CANCELLABLE_STATUSES:
        actions.append(action_button(t, "details-btn-cancel", BroadcastButton.CANCEL, broadcast_id))
    if actions:
        builder.row(*actions)
    if amendable(summary) and not deleted:
        builder.row(
            action_button(t, "details-btn-edit", BroadcastButton.EDIT, broadcast_id),
            action_button(t, "details-btn-delete", BroadcastButton.DELETE, broadcast_id),
        )
    return builder.as_markup()


def amendable(summary: BroadcastSummary) -> bool:
    """An announcement delivered to someone, sending or over: it can be edited or deleted
    for everyone (the service has the last word: a delete done, a run going on)."""
    return (
        summary.kind is BroadcastKind.ANNOUNCEMENT
        and summary.status in AMENDABLE_STATUSES
        and summary.sent_count > 0
    )


def amend_keyboard(t: Translator, kind: AmendKind, broadcast_id: int) -> InlineKeyboardMarkup:
    """The Yes / No of an edit or delete for everyone (`edit-btn-yes`, `delete-btn-no`)."""
    return yes_no_keyboard(
        t, kind, lambda yes: AmendConfirm(kind=kind, broadcast_id=broadcast_id, yes=yes)
    )


def amend_abort_keyboard(t: Translator, broadcast_id: int) -> InlineKeyboardMarkup:
    """Under "send the corrected text": give the edit up."""
    abort = AmendConfirm(kind=AmendKind.EDIT, broadcast_id=broadcast_id, yes=False)
    return InlineKeyboardMarkup(inline_keyboard=[[button(t("edit-btn-abort"), abort)]])


def pager_row(
    t: Translator, page: Page[Any], page_data: Callable[[int], CallbackData]
) -> list[InlineKeyboardButton]:
    """‹ Previous · Next ›, each only where there is a page to go to."""
    row = []
    if page.previous:
        row.append(button(t("list-btn-prev"), page_data(page.previous)))
    if page.next:
        row.append(button(t("list-btn-next"), page_data(page.next)))
    return row


def filter_rows(
    choices: Sequence[tuple[str, bool, CallbackData]],
) -> list[list[InlineKeyboardButton]]:
    """Filter buttons, the chosen one marked with •."""
    marked = [button(f"• {label}" if chosen else label, data) for label, chosen, data in choices]
    return [marked[i : i + FILTERS_PER_ROW] for i in range(0, len(marked), FILTERS_PER_ROW)]


def markup(rows: Sequence[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """The rows that have buttons."""
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def list_keyboard(
    t: Translator,
    found: Page[BroadcastSummary],
    status: BroadcastStatus | None,
    searching: bool,
) -> InlineKeyboardMarkup:
    """A button to open each broadcast, the pages, and the status filters."""
    opens = [
        button(f"#{item.id}", BroadcastAction(action=BroadcastButton.OPEN, broadcast_id=item.id))
        for item in found.items
    ]
    rows = [opens[i : i + OPEN_PER_ROW] for i in range(0, len(opens), OPEN_PER_ROW)]
    rows.append(
        pager_row(t, found, lambda page: ListPage(status=status, page=page, search=searching))
    )
    choices: list[tuple[str, bool, CallbackData]] = [
        (t("list-filter-all"), status is None, ListPage(search=searching))
    ]
    choices += [
        (
            t(f"status-short-{choice.value}"),
            status is choice,
            ListPage(status=choice, search=searching),
        )
        for choice in BroadcastStatus
    ]
    return markup([*rows, *filter_rows(choices)])


def recipients_keyboard(
    t: Translator, broadcast_id: int, found: Page[Any], status: RecipientStatus | None
) -> InlineKeyboardMarkup:
    choices: list[tuple[str, bool, CallbackData]] = [
        (t("recipients-filter-all"), status is None, RecipientPage(broadcast_id=broadcast_id))
    ]
    choices += [
        (
            t(f"recipient-status-{choice.value}"),
            status is choice,
            RecipientPage(broadcast_id=broadcast_id, status=choice),
        )
        for choice in RecipientStatus
    ]
    pages = pager_row(
        t, found, lambda page: RecipientPage(broadcast_id=broadcast_id, status=status, page=page)
    )
    return markup([pages, *filter_rows(choices)])


def unconfirmed_keyboard(
    t: Translator, broadcast_id: int, found: Page[Any]
) -> InlineKeyboardMarkup:
    """The pages of those who have not confirmed, and the way back to all recipients."""
    pages = pager_row(t, found, lambda page: UnconfirmedPage(broadcast_id=broadcast_id, page=page))
    everyone = button(t("unconfirmed-btn-all"), RecipientPage(broadcast_id=broadcast_id))
    return markup([pages, [everyone]])


def unreachable_keyboard(
    t: Translator,
    found: Page[Any],
    page_data: Callable[[int], CallbackData],
    export: CallbackData,
    not_linked: int,
) -> InlineKeyboardMarkup:
    """The pages of who cannot be reached, and their invite links when some have no
    Telegram linked."""
    invite = [button(t("reach-btn-invite", count=not_linked), export)] if not_linked else []
    return markup([pager_row(t, found, page_data), invite])


def school_reach_keyboard(t: Translator, not_linked: int) -> InlineKeyboardMarkup | None:
    """/reach's one button: the invite links of everyone with no Telegram linked."""
    if not not_linked:
        return None
    export = InviteLinks(scope=ReachScope.SCHOOL)
    return markup([[button(t("reach-btn-invite", count=not_linked), export)]])
