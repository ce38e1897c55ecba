"""/broadcasts, /broadcast, /recipients and /stats: looking at broadcasts, and the buttons
of a broadcast's details (progress, recipients, retry, cancel, and for a draft or a
scheduled broadcast: send now, schedule or reschedule).

A draft saved by the compose wizard is sent or scheduled from here: "Send now" asks
first, naming the audience and how many can receive it, then starts the broadcast as the
wizard does (its timer, if it was scheduled, finds it no longer scheduled and does
nothing); "Schedule" and "Reschedule" share one step that reads the typed time.

Lists are paginated newest first; their filter and page buttons edit the list in place.
The text of a `/broadcasts search ...` is kept in the conversation data (callback data
carries ids only), so its page buttons ask for a new search once that data is gone.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessageUnion,
    Message,
)
from pydantic import Field

from core.i18n import Translator
from core.settings import Settings
from db.models import BroadcastStatus, ContentKind, RecipientStatus, TargetGroup
from db.types import utcnow
from handlers.errors import describe
from handlers.progress import (
    ON_MESSAGE,
    ask_cancel,
    current_status,
    full_progress,
    launch,
    parse_broadcast_id,
    refusal,
    start_retry,
    yes_no_keyboard,
)
from handlers.progress_view import STATUS_ICONS, BroadcastId
from handlers.split import show
from services.audience import AudienceService
from services.broadcasts import CANCELLABLE, RETRIABLE, STARTABLE, BroadcastService
from services.errors import NoRecipients
from services.progress import ProgressReporter, format_duration
from services.schedule_time import ACCEPTED_FORMATS, format_schedule_time, parse_schedule_time
from services.scheduler import BroadcastScheduler
from services.sender import BroadcastSender

router = Router(name=__name__)

LIST_PAGE_SIZE = 10
RECIPIENTS_PAGE_SIZE = 15
SEARCH_KEY = "broadcasts_search"
TIME_STEP_KEY = "time_step"
PREVIEW_LENGTH = 60
NAME_LENGTH = 64
ERROR_LENGTH = 120
PageNumber = Annotated[int, Field(ge=1)]


class DetailButton(enum.StrEnum):
    OPEN = "open"
    PROGRESS = "progress"
    RECIPIENTS = "recipients"
    RETRY = "retry"
    CANCEL = "cancel"
    SEND = "send"
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"


class TimeAction(enum.StrEnum):
    """What a typed time is for: a draft's first time, or a scheduled broadcast's new one.
    The value starts the step's message ids (`schedule-ask`, `cannot-reschedule`...)."""

    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"

    @property
    def from_status(self) -> BroadcastStatus:
        """The status the broadcast must still have for the time to be taken."""
        if self is TimeAction.SCHEDULE:
            return BroadcastStatus.DRAFT
        return BroadcastStatus.SCHEDULED


class DetailAction(CallbackData, prefix="bd"):
    action: DetailButton
    broadcast_id: BroadcastId


class ListPage(CallbackData, prefix="bl"):
    status: BroadcastStatus | None = None
    page: PageNumber = 1
    search: bool = False


class RecipientPage(CallbackData, prefix="rl"):
    broadcast_id: BroadcastId
    status: RecipientStatus | None = None
    page: PageNumber = 1


class SendConfirm(CallbackData, prefix="sn"):
    broadcast_id: BroadcastId
    confirmed: bool


class TimeAbort(CallbackData, prefix="ta"):
    action: TimeAction
    broadcast_id: BroadcastId


class TimeStep(StatesGroup):
    time = State()


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: BroadcastStatus | None = None
    search: str | None = None


# --- parsing ------------------------------------------------------------------------------


def parse_list_args(args: str | None) -> ListQuery | None:
    """`/broadcasts [status]` or `/broadcasts search words`; None when it is neither."""
    words = (args or "").split(maxsplit=1)
    if not words:
        return ListQuery()
    if words[0].lower() == "search":
        return ListQuery(search=words[1].strip()) if len(words) == 2 else None
    if len(words) == 1 and words[0].lower() in set(BroadcastStatus):
        return ListQuery(status=BroadcastStatus(words[0].lower()))
    return None


def parse_recipients_args(args: str | None) -> tuple[int, RecipientStatus | None] | None:
    """`/recipients id [sent|failed|pending]`; None when the arguments don't fit."""
    words = (args or "").split()
    if not 1 <= len(words) <= 2:
        return None
    broadcast_id = parse_broadcast_id(words[0])
    if broadcast_id is None:
        return None
    if len(words) == 1:
        return broadcast_id, None
    if words[1].lower() not in set(RecipientStatus):
        return None
    return broadcast_id, RecipientStatus(words[1].lower())


# --- views (pure) -------------------------------------------------------------------------


def shorten(text: str | None, limit: int) -> str:
    """One line of at most `limit` characters, HTML-escaped."""
    flat = " ".join((text or "").split())
    return html.quote(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def when(value: Any, tz: ZoneInfo) -> str:
    return "—" if value is None else format_schedule_time(value, tz)


def pager_row(
    t: Translator, envelope: Mapping[str, Any], page_data: Callable[[int], CallbackData]
) -> list[InlineKeyboardButton]:
    """‹ Previous · n/N · Next ›, the arrows only where there is a page to go to."""
    row = []
    if envelope["previous"]:
        row.append(
            InlineKeyboardButton(
                text=t("list-btn-prev"), callback_data=page_data(envelope["previous"]).pack()
            )
        )
    if envelope["next"]:
        row.append(
            InlineKeyboardButton(
                text=t("list-btn-next"), callback_data=page_data(envelope["next"]).pack()
            )
        )
    return row


def filter_rows(
    buttons: Sequence[tuple[str, bool, CallbackData]], per_row: int
) -> list[list[InlineKeyboardButton]]:
    """Filter buttons, the chosen one marked with •."""
    marked = [
        InlineKeyboardButton(text=f"• {label}" if chosen else label, callback_data=data.pack())
        for label, chosen, data in buttons
    ]
    return [marked[i : i + per_row] for i in range(0, len(marked), per_row)]


def audience_text(t: Translator, broadcast: Mapping[str, Any]) -> str:
    """The target group in words, with its filter: `By subject (Mathematics)`, or the id
    when the list row carries no name (`By subject (subject #5)`)."""
    group = TargetGroup(broadcast["target_group"])
    name = t(f"target-{group.value}")
    if target_name := broadcast.get("target_name"):
        return f"{name} ({html.quote(target_name)})"
    found = broadcast["target_filter"] or {}
    for key, message_id in (
        ("subject_id", "details-filter-subject"),
        ("tutor_id", "details-filter-tutor"),
        ("teacher_id", "details-filter-teacher"),
    ):
        if key in found:
            return f"{name} ({t(message_id, id=str(found[key]))})"
    if group is TargetGroup.CUSTOM:
        return f"{name} ({t('details-filter-custom', count=len(found.get('user_ids', [])))})"
    return name


def list_view(
    t: Translator, envelope: Mapping[str, Any], query: ListQuery, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    filter_name = (
        t("list-filter-all") if query.status is None else t(f"status-{query.status.value}")
    )
    lines = [
        t(
            "list-title",
            filter=filter_name,
            count=envelope["count"],
            page=envelope["page"],
            pages=envelope["total_pages"],
        )
    ]
    if query.search:
        lines.append(t("list-search", query=shorten(query.search, PREVIEW_LENGTH)))
    lines.append("")
    for item in envelope["results"]:
        status = BroadcastStatus(item["status"])
        lines.append(
            t(
                "list-item",
                icon=STATUS_ICONS[status],
                id=str(item["id"]),
                status=t(f"status-{status.value}"),
                created=when(item["created_at"], tz),
                audience=t(f"target-{item['target_group']}"),
                sent=item["sent_count"],
                total=item["recipient_count"],
            )
        )
        lines.append(f"    {shorten(item['message'], PREVIEW_LENGTH)}")
    if not envelope["results"]:
        lines.append(t("list-empty"))
    searching = query.search is not None
    filters: list[tuple[str, bool, CallbackData]] = [
        (t("list-filter-all"), query.status is None, ListPage(search=searching))
    ]
    filters += [
        (
            t(f"status-{status.value}"),
            query.status is status,
            ListPage(status=status, search=searching),
        )
        for status in BroadcastStatus
    ]
    open_buttons = [
        InlineKeyboardButton(
            text=f"#{item['id']}",
            callback_data=DetailAction(action=DetailButton.OPEN, broadcast_id=item["id"]).pack(),
        )
        for item in envelope["results"]
    ]
    rows = [open_buttons[i : i + 5] for i in range(0, len(open_buttons), 5)]
    rows.append(
        pager_row(
            t, envelope, lambda page: ListPage(status=query.status, page=page, search=searching)
        )
    )
    rows += filter_rows(filters, per_row=4)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def details_view(
    t: Translator, details: Mapping[str, Any], tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """The seed's detail fields, and the buttons that make sense for the status."""
    broadcast_id = details["id"]
    status = BroadcastStatus(details["status"])
    created = when(details["created_at"], tz)
    lines = [
        t(
            "details-title",
            icon=STATUS_ICONS[status],
            id=str(broadcast_id),
            status=t(f"status-{status.value}"),
        ),
        t("details-audience", audience=audience_text(t, details)),
        t("details-author", name=html.quote(details["created_by_name"]), created=created)
        if details["created_by_name"]
        else t("details-author-unknown", created=created),
    ]
    if status is BroadcastStatus.SCHEDULED:
        lines.append(t("details-scheduled", time=when(details["scheduled_at"], tz), tz=tz.key))
    if details["sent_at"] is not None:
        lines.append(
            t(
                "details-times",
                started=when(details["sent_at"], tz),
                finished=when(details["completed_at"], tz),
            )
        )
    if details["cancelled_at"] is not None:
        lines.append(t("details-cancelled", time=when(details["cancelled_at"], tz)))
    lines.append(
        t(
            "details-counts",
            total=details["recipient_count"],
            sent=details["sent_count"],
            failed=details["failed_count"],
            pending=details["pending_count"],
        )
    )
    kind = ContentKind(details["content_kind"])
    lines.append(
        t("details-content-text")
        if kind is ContentKind.TEXT
        else t("details-content-media", kind=kind.value)
    )
    lines.append(html.quote(details["message"]))

    def button(label: str, action: DetailButton) -> InlineKeyboardButton:
        data = DetailAction(action=action, broadcast_id=broadcast_id)
        return InlineKeyboardButton(text=t(label), callback_data=data.pack())

    rows = [
        [
            button("details-btn-progress", DetailButton.PROGRESS),
            button("details-btn-recipients", DetailButton.RECIPIENTS),
        ]
    ]
    if status in STARTABLE:  # a draft gets its time, a scheduled broadcast a new one
        timing = (
            DetailButton.SCHEDULE if status is BroadcastStatus.DRAFT else DetailButton.RESCHEDULE
        )
        rows.append(
            [button("details-btn-send", DetailButton.SEND), button(f"details-btn-{timing}", timing)]
        )
    actions = []
    if status in RETRIABLE and details["failed_count"] > 0:
        actions.append(button("details-btn-retry", DetailButton.RETRY))
    if status in CANCELLABLE:
        actions.append(button("details-btn-cancel", DetailButton.CANCEL))
    if actions:
        rows.append(actions)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def send_confirm_view(
    t: Translator, details: Mapping[str, Any], reachable: int
) -> tuple[str, InlineKeyboardMarkup]:
    """The question before sending now: the audience, how many can receive it, Yes/No."""
    broadcast_id = details["id"]
    text = t(
        "send-confirm",
        id=str(broadcast_id),
        status=t(f"status-{details['status']}"),
        audience=audience_text(t, details),
        count=reachable,
    )
    return text, yes_no_keyboard(
        t, "send", lambda yes: SendConfirm(broadcast_id=broadcast_id, confirmed=yes)
    )


def recipient_line(t: Translator, recipient: Mapping[str, Any], tz: ZoneInfo) -> str:
    name = f"{shorten(recipient['user_name'], NAME_LENGTH)} (id {recipient['user_id']})"
    status = RecipientStatus(recipient["status"])
    if status is RecipientStatus.SENT:
        return t("recipients-item-sent", name=name, time=when(recipient["sent_at"], tz))
    if status is RecipientStatus.FAILED:
        label = t(f"delivery-error-{recipient['error_code'] or 'other'}")
        detail = shorten(recipient["error_message"], ERROR_LENGTH)
        return t(
            "recipients-item-failed", name=name, error=f"{label}: {detail}" if detail else label
        )
    return t("recipients-item-pending", name=name)


def recipients_view(
    t: Translator,
    broadcast_id: int,
    envelope: Mapping[str, Any],
    status: RecipientStatus | None,
    tz: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup]:
    filter_name = (
        t("recipients-filter-all") if status is None else t(f"recipient-status-{status.value}")
    )
    lines = [
        t(
            "recipients-title",
            id=str(broadcast_id),
            filter=filter_name,
            count=envelope["count"],
            page=envelope["page"],
            pages=envelope["total_pages"],
        ),
        "",
    ]
    lines += [recipient_line(t, recipient, tz) for recipient in envelope["results"]]
    if not envelope["results"]:
        lines.append(t("recipients-empty"))
    filters: list[tuple[str, bool, CallbackData]] = [
        (t("recipients-filter-all"), status is None, RecipientPage(broadcast_id=broadcast_id))
    ]
    filters += [
        (
            t(f"recipient-status-{choice.value}"),
            status is choice,
            RecipientPage(broadcast_id=broadcast_id, status=choice),
        )
        for choice in RecipientStatus
    ]
    rows = [
        pager_row(
            t,
            envelope,
            lambda page: RecipientPage(broadcast_id=broadcast_id, status=status, page=page),
        ),
        *filter_rows(filters, per_row=4),
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def stats_view(t: Translator, stats: Mapping[str, Any]) -> str:
    """The seed's Monitoring numbers: status distribution, failed-send rate, average time."""
    lines = [t("stats-title"), t("stats-broadcasts", total=stats["total_broadcasts"])]
    lines += [
        t(
            "stats-status-line",
            icon=STATUS_ICONS[status],
            status=t(f"status-{status.value}"),
            count=stats["status_distribution"].get(status.value, 0),
        )
        for status in BroadcastStatus
    ]
    lines.append(
        t(
            "stats-recipients",
            total=stats["total_recipients"],
            failed=stats["failed_recipients"],
            rate=f"{stats['failed_rate']:g}",
        )
    )
    average = stats["average_processing_seconds"]
    lines.append(
        t("stats-processing-none")
        if average is None
        else t(
            "stats-processing",
            duration=format_duration(average),
            count=stats["finished_broadcasts"],
        )
    )
    return "\n".join(lines)


# --- commands ------------------------------------------------------------------------------


async def send_list(
    target: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
    query: ListQuery,
    page: int = 1,
    *,
    edit: bool = False,
) -> None:
    envelope = await broadcasts.list_broadcasts(
        status=query.status, search=query.search, page=page, page_size=LIST_PAGE_SIZE
    )
    await show(target, *list_view(t, envelope, query, settings.tz), edit=edit)


async def send_recipients(
    target: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
    broadcast_id: int,
    status: RecipientStatus | None,
    page: int = 1,
    *,
    edit: bool = False,
) -> None:
    envelope = await broadcasts.list_recipients(
        broadcast_id, status=status, page=page, page_size=RECIPIENTS_PAGE_SIZE
    )
    view = recipients_view(t, broadcast_id, envelope, status, settings.tz)
    await show(target, *view, edit=edit)


async def send_details(
    target: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
    broadcast_id: int,
) -> None:
    details = await broadcasts.get_details(broadcast_id, recipients_page_size=1)
    await show(target, *details_view(t, details, settings.tz))


@router.message(Command("broadcasts"))
async def broadcasts_command(
    message: Message,
    command: CommandObject,
    t: Translator,
    state: FSMContext,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    query = parse_list_args(command.args)
    if query is None:
        await message.answer(t("usage-broadcasts", statuses="|".join(BroadcastStatus)))
        return
    await state.update_data({SEARCH_KEY: query.search})
    await send_list(message, t, broadcasts, settings, query)


@router.message(Command("broadcast"))
async def broadcast_command(
    message: Message,
    command: CommandObject,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    broadcast_id = parse_broadcast_id((command.args or "").strip())
    if broadcast_id is None:
        await message.answer(t("usage-broadcast"))
        return
    await send_details(message, t, broadcasts, settings, broadcast_id)


@router.message(Command("recipients"))
async def recipients_command(
    message: Message,
    command: CommandObject,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    parsed = parse_recipients_args(command.args)
    if parsed is None:
        await message.answer(t("usage-recipients"))
        return
    await send_recipients(message, t, broadcasts, settings, *parsed)


@router.message(Command("stats"))
async def stats_command(message: Message, t: Translator, broadcasts: BroadcastService) -> None:
    await show(message, stats_view(t, await broadcasts.get_stats()))


# --- list and recipient pages ---------------------------------------------------------------


@router.callback_query(ListPage.filter(), ON_MESSAGE)
async def list_page(
    callback: CallbackQuery,
    callback_data: ListPage,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    state: FSMContext,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    search = None
    if callback_data.search:
        search = (await state.get_data()).get(SEARCH_KEY)
        if not search:
            await callback.answer(t("list-search-expired"), show_alert=True)
            return
    query = ListQuery(status=callback_data.status, search=search)
    await send_list(on, t, broadcasts, settings, query, callback_data.page, edit=True)
    await callback.answer()


@router.callback_query(RecipientPage.filter(), ON_MESSAGE)
async def recipients_page(
    callback: CallbackQuery,
    callback_data: RecipientPage,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    await send_recipients(
        on,
        t,
        broadcasts,
        settings,
        callback_data.broadcast_id,
        callback_data.status,
        callback_data.page,
        edit=True,
    )
    await callback.answer()


# --- the details' buttons ------------------------------------------------------------------


@router.callback_query(DetailAction.filter(F.action == DetailButton.OPEN), ON_MESSAGE)
async def open_button(
    callback: CallbackQuery,
    callback_data: DetailAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    await send_details(on, t, broadcasts, settings, callback_data.broadcast_id)
    await callback.answer()


@router.callback_query(DetailAction.filter(F.action == DetailButton.PROGRESS), ON_MESSAGE)
async def progress_button(
    callback: CallbackQuery,
    callback_data: DetailAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    settings: Settings,
) -> None:
    view = await full_progress(t, callback_data.broadcast_id, broadcasts, progress, settings)
    await show(on, *view)
    await callback.answer()


@router.callback_query(DetailAction.filter(F.action == DetailButton.RECIPIENTS), ON_MESSAGE)
async def recipients_button(
    callback: CallbackQuery,
    callback_data: DetailAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    await send_recipients(on, t, broadcasts, settings, callback_data.broadcast_id, None)
    await callback.answer()


@router.callback_query(DetailAction.filter(F.action == DetailButton.RETRY), ON_MESSAGE)
async def retry_button(
    callback: CallbackQuery,
    callback_data: DetailAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    bot: Bot,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    sender: BroadcastSender,
) -> None:
    await start_retry(
        callback, on.chat.id, callback_data.broadcast_id, t, bot, broadcasts, progress, sender
    )


@router.callback_query(DetailAction.filter(F.action == DetailButton.CANCEL), ON_MESSAGE)
async def cancel_button(
    callback: CallbackQuery,
    callback_data: DetailAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    bot: Bot,
    broadcasts: BroadcastService,
) -> None:
    await ask_cancel(callback, on.chat.id, callback_data.broadcast_id, t, bot, broadcasts)


# --- send now -------------------------------------------------------------------------------


@router.callback_query(DetailAction.filter(F.action == DetailButton.SEND), ON_MESSAGE)
async def send_button(
    callback: CallbackQuery,
    callback_data: DetailAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    audience: AudienceService,
) -> None:
    """Ask before sending a draft or a scheduled broadcast now; nobody reachable is refused
    (by the error router) without asking."""
    broadcast_id = callback_data.broadcast_id
    details = await broadcasts.get_details(broadcast_id, recipients_page_size=1)
    status = BroadcastStatus(details["status"])
    if status not in STARTABLE:
        await callback.answer(refusal(t, "cannot-send", broadcast_id, status), show_alert=True)
        return
    counts = await audience.preview(details["target_group"], details["target_filter"])
    if counts.reachable == 0:
        raise NoRecipients(details["target_group"])
    await show(on, *send_confirm_view(t, details, counts.reachable))
    await callback.answer()


@router.callback_query(SendConfirm.filter(), ON_MESSAGE)
async def send_confirmed(
    callback: CallbackQuery,
    callback_data: SendConfirm,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    settings: Settings,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    sender: BroadcastSender,
) -> None:
    """Yes: resolve the recipients now, post the live progress message here, start the
    engine. An audience that became empty since the question leaves the broadcast as it was."""
    broadcast_id = callback_data.broadcast_id
    if not callback_data.confirmed:
        await show(on, t("send-kept", id=str(broadcast_id)), edit=True)
        await callback.answer()
        return
    status = await current_status(broadcasts, broadcast_id)
    if status not in STARTABLE:
        await callback.answer(refusal(t, "cannot-send", broadcast_id, status), show_alert=True)
        return
    try:
        count = await broadcasts.start_sending(broadcast_id)
    except NoRecipients as error:
        await show(on, html.quote(describe(error, t, settings.tz)), edit=True)
        await callback.answer()
        return
    await show(on, t("send-started", id=str(broadcast_id), count=count), edit=True)
    await callback.answer()
    await launch(broadcast_id, on.chat.id, progress, sender)


# --- scheduling a draft, rescheduling ----------------------------------------------------------


@router.callback_query(
    DetailAction.filter(F.action.in_({DetailButton.SCHEDULE, DetailButton.RESCHEDULE})),
    ON_MESSAGE,
)
async def time_button(
    callback: CallbackQuery,
    callback_data: DetailAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    state: FSMContext,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    """Ask for the time; the next text message is read as that time."""
    action = TimeAction(callback_data.action)
    broadcast_id = callback_data.broadcast_id
    status = await current_status(broadcasts, broadcast_id)
    if status is not action.from_status:
        await callback.answer(refusal(t, f"cannot-{action}", broadcast_id, status), show_alert=True)
        return
    await state.set_state(TimeStep.time)
    await state.update_data({TIME_STEP_KEY: {"action": action.value, "id": broadcast_id}})
    abort = TimeAbort(action=action, broadcast_id=broadcast_id).pack()
    await on.answer(
        t(
            f"{action}-ask",
            id=str(broadcast_id),
            tz=settings.tz.key,
            examples=", ".join(ACCEPTED_FORMATS),
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=t(f"{action}-btn-abort"), callback_data=abort)]
            ]
        ),
    )
    await callback.answer()


@router.message(TimeStep.time, F.text.as_("text"), ~F.text.startswith("/"))
async def time_typed(
    message: Message,
    text: str,
    t: Translator,
    state: FSMContext,
    settings: Settings,
    broadcasts: BroadcastService,
    scheduler: BroadcastScheduler,
) -> None:
    """A time that can't be read or has passed is explained by the error router and the
    step stays; once read, the step ends whatever happens next. A draft becomes scheduled
    and is armed to report to this chat, as the wizard's schedule does; a scheduled
    broadcast moves. One that changed status meanwhile is refused and left alone."""
    when_utc = parse_schedule_time(text, utcnow(), settings.tz)
    step = (await state.get_data())[TIME_STEP_KEY]
    action, broadcast_id = TimeAction(step["action"]), int(step["id"])
    await state.set_state(None)
    status = await current_status(broadcasts, broadcast_id)
    if status is not action.from_status:
        await message.answer(refusal(t, f"cannot-{action}", broadcast_id, status))
        return
    if action is TimeAction.SCHEDULE:
        await broadcasts.schedule(broadcast_id, when_utc)
        await scheduler.arm(broadcast_id, when_utc, admin_chat_id=message.chat.id)
    else:
        await scheduler.reschedule(broadcast_id, when_utc)
    await message.answer(
        t(
            f"{action}-done",
            id=str(broadcast_id),
            time=format_schedule_time(when_utc, settings.tz),
            tz=settings.tz.key,
        )
    )


@router.callback_query(TimeAbort.filter(), ON_MESSAGE)
async def time_abort(
    callback: CallbackQuery,
    callback_data: TimeAbort,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    state: FSMContext,
) -> None:
    step = (await state.get_data()).get(TIME_STEP_KEY)
    if step == {"action": callback_data.action.value, "id": callback_data.broadcast_id}:
        await state.set_state(None)
    await show(
        on, t(f"{callback_data.action}-aborted", id=str(callback_data.broadcast_id)), edit=True
    )
    await callback.answer()
