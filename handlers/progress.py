"""/progress, /retry and /cancel, and the buttons of the live progress message.

Without an id these commands act on the admin's latest broadcast: the latest one they
created when they are in the roster, else (an ADMIN_IDS admin without a roster row,
whose broadcasts carry no author) the latest broadcast overall. Cancelling always asks
for confirmation first. The actions here are shared with the details message's buttons
(`handlers.broadcasts`).
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessageUnion,
    Message,
)

from core.i18n import Catalog, Translator
from core.settings import Settings
from db.models import BroadcastStatus
from handlers.progress_view import (
    MAX_BROADCAST_ID,
    BroadcastId,
    ProgressAction,
    ProgressButton,
    progress_times,
    render_progress,
)
from handlers.split import show
from services.access import AdminIdentity
from services.broadcasts import CANCELLABLE, RETRIABLE, BroadcastService
from services.errors import BroadcastNotFound
from services.progress import ProgressReporter
from services.sender import BroadcastSender

router = Router(name=__name__)


class CancelConfirm(CallbackData, prefix="cx"):
    broadcast_id: BroadcastId
    confirmed: bool


def parse_broadcast_id(text: str) -> int | None:
    """`12` → 12; anything that is not a positive whole number → None. An id too large to
    exist in the database is reported as not found."""
    if not text.isdecimal() or not text.isascii():
        return None
    broadcast_id = int(text)
    if broadcast_id > MAX_BROADCAST_ID:
        raise BroadcastNotFound(broadcast_id)
    return broadcast_id


async def latest_broadcast_id(broadcasts: BroadcastService, admin: AdminIdentity) -> int | None:
    newest = await broadcasts.list_broadcasts(created_by_id=admin.user_id, page_size=1)
    return newest["results"][0]["id"] if newest["results"] else None


async def target_broadcast(
    message: Message,
    command: CommandObject,
    t: Translator,
    admin: AdminIdentity,
    broadcasts: BroadcastService,
) -> int | None:
    """The id the command names, or the admin's latest; None (after replying) if neither."""
    if command.args is None:
        broadcast_id = await latest_broadcast_id(broadcasts, admin)
        if broadcast_id is None:
            await message.answer(t("no-broadcasts-yet"))
        return broadcast_id
    broadcast_id = parse_broadcast_id(command.args.strip())
    if broadcast_id is None:
        await message.answer(t(f"usage-{command.command}"))
    return broadcast_id


async def current_status(broadcasts: BroadcastService, broadcast_id: int) -> BroadcastStatus:
    return BroadcastStatus((await broadcasts.get_progress(broadcast_id))["status"])


async def tell(event: Message | CallbackQuery, text: str) -> None:
    """A short answer: a reply to a command, an alert for a button."""
    if isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
    else:
        await event.answer(text)


def refusal(t: Translator, message_id: str, broadcast_id: int, status: BroadcastStatus) -> str:
    return t(message_id, id=str(broadcast_id), status=t(f"status-{status.value}"))


async def full_progress(
    t: Translator,
    broadcast_id: int,
    broadcasts: BroadcastService,
    reporter: ProgressReporter,
    settings: Settings,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The progress message with the seed's timestamps (the /progress answer)."""
    progress = await broadcasts.get_progress(broadcast_id)
    snapshot = await reporter.snapshot(broadcast_id)
    return render_progress(t, snapshot, footer=progress_times(t, progress, settings.tz))


async def launch(
    broadcast_id: int, chat_id: int, progress: ProgressReporter, sender: BroadcastSender
) -> None:
    """Post the live progress message of a broadcast now in `sending` in `chat_id`, then
    hand it to the engine. `sender.start` wakes the run the service's launcher may already
    have started, so the engine runs exactly once either way."""
    await progress.attach(broadcast_id, chat_id)
    await sender.start(broadcast_id)


def yes_no_keyboard(
    t: Translator, question: str, answer: Callable[[bool], CallbackData]
) -> InlineKeyboardMarkup:
    """The Yes / No row of a confirmation; labels are `<question>-btn-yes` / `-btn-no`."""
    buttons = [
        InlineKeyboardButton(text=t(f"{question}-btn-{label}"), callback_data=answer(yes).pack())
        for label, yes in (("yes", True), ("no", False))
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def ask_cancel(
    event: Message | CallbackQuery,
    chat_id: int,
    broadcast_id: int,
    t: Translator,
    bot: Bot,
    broadcasts: BroadcastService,
) -> None:
    """Post the Yes/No question, unless the broadcast can no longer be cancelled."""
    status = await current_status(broadcasts, broadcast_id)
    if status not in CANCELLABLE:
        await tell(event, refusal(t, "cannot-cancel", broadcast_id, status))
        return
    await bot.send_message(
        chat_id,
        refusal(t, "cancel-confirm", broadcast_id, status),
        reply_markup=yes_no_keyboard(
            t, "cancel", lambda yes: CancelConfirm(broadcast_id=broadcast_id, confirmed=yes)
        ),
    )
    if isinstance(event, CallbackQuery):
        await event.answer()


async def start_retry(
    event: Message | CallbackQuery,
    chat_id: int,
    broadcast_id: int,
    t: Translator,
    bot: Bot,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    sender: BroadcastSender,
) -> bool:
    """The seed's retry, then a new progress message in `chat_id`; True when it started."""
    status = await current_status(broadcasts, broadcast_id)
    if status not in RETRIABLE:
        await tell(event, refusal(t, "cannot-retry", broadcast_id, status))
        return False
    result = await broadcasts.retry_failed(broadcast_id)
    if result["retried_count"] == 0:
        await tell(event, t("retry-nothing", id=str(broadcast_id)))
        return False
    await bot.send_message(
        chat_id, t("retry-started", count=result["retried_count"], id=str(broadcast_id))
    )
    await launch(broadcast_id, chat_id, progress, sender)
    if isinstance(event, CallbackQuery):
        await event.answer()
    return True


# --- commands ----------------------------------------------------------------------------


@router.message(Command("progress"))
async def progress_command(
    message: Message,
    command: CommandObject,
    t: Translator,
    admin: AdminIdentity,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    settings: Settings,
) -> None:
    broadcast_id = await target_broadcast(message, command, t, admin, broadcasts)
    if broadcast_id is not None:
        text, markup = await full_progress(t, broadcast_id, broadcasts, progress, settings)
        await show(message, text, markup)


@router.message(Command("retry"))
async def retry_command(
    message: Message,
    command: CommandObject,
    t: Translator,
    admin: AdminIdentity,
    bot: Bot,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    sender: BroadcastSender,
) -> None:
    broadcast_id = await target_broadcast(message, command, t, admin, broadcasts)
    if broadcast_id is not None:
        await start_retry(
            message, message.chat.id, broadcast_id, t, bot, broadcasts, progress, sender
        )


@router.message(Command("cancel"))
async def cancel_command(
    message: Message,
    command: CommandObject,
    t: Translator,
    admin: AdminIdentity,
    bot: Bot,
    broadcasts: BroadcastService,
) -> None:
    broadcast_id = await target_broadcast(message, command, t, admin, broadcasts)
    if broadcast_id is not None:
        await ask_cancel(message, message.chat.id, broadcast_id, t, bot, broadcasts)


# --- buttons -----------------------------------------------------------------------------


ON_MESSAGE = F.message.as_("on")
"""Buttons are on a message; handlers get it as `on` (it may be too old to edit)."""


@router.callback_query(ProgressAction.filter(F.action == ProgressButton.REFRESH), ON_MESSAGE)
async def refresh_button(
    callback: CallbackQuery,
    callback_data: ProgressAction,
    on: MaybeInaccessibleMessageUnion,
    catalog: Catalog,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    settings: Settings,
) -> None:
    """Redraw the message from the database, in the language and view it was drawn in."""
    t = catalog.translator(callback_data.lang)
    broadcast_id = callback_data.broadcast_id
    if callback_data.full:
        text, markup = await full_progress(t, broadcast_id, broadcasts, progress, settings)
    else:
        text, markup = render_progress(t, await progress.snapshot(broadcast_id))
    await show(on, text, markup, edit=True)
    await callback.answer()


@router.callback_query(ProgressAction.filter(F.action == ProgressButton.CANCEL), ON_MESSAGE)
async def cancel_button(
    callback: CallbackQuery,
    callback_data: ProgressAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    bot: Bot,
    broadcasts: BroadcastService,
) -> None:
    await ask_cancel(callback, on.chat.id, callback_data.broadcast_id, t, bot, broadcasts)


@router.callback_query(ProgressAction.filter(F.action == ProgressButton.RETRY), ON_MESSAGE)
async def retry_button(
    callback: CallbackQuery,
    callback_data: ProgressAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    bot: Bot,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    sender: BroadcastSender,
) -> None:
    """Retry, then take the button off the finished message: the new message goes on."""
    started = await start_retry(
        callback, on.chat.id, callback_data.broadcast_id, t, bot, broadcasts, progress, sender
    )
    if started and isinstance(on, Message):
        await on.edit_reply_markup(reply_markup=None)


@router.callback_query(CancelConfirm.filter(), ON_MESSAGE)
async def cancel_confirmed(
    callback: CallbackQuery,
    callback_data: CancelConfirm,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
) -> None:
    broadcast_id = callback_data.broadcast_id
    if not callback_data.confirmed:
        await show(on, t("cancel-kept", id=str(broadcast_id)), edit=True)
        await callback.answer()
        return
    status = await current_status(broadcasts, broadcast_id)
    if status not in CANCELLABLE:
        await callback.answer(refusal(t, "cannot-cancel", broadcast_id, status), show_alert=True)
        return
    await broadcasts.cancel_broadcast(broadcast_id)
    await show(on, t("cancel-done", id=str(broadcast_id)), edit=True)
    await callback.answer()
