"""/progress, the Progress button of a broadcast's details, and Refresh on a progress
message: the progress message drawn from the database."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessageUnion,
    Message,
)

from core.i18n import Catalog, Translator
from core.settings import Settings
from handlers.broadcasts.browse import ON_MESSAGE
from handlers.broadcasts.parsing import target_broadcast
from handlers.callbacks import BroadcastAction, BroadcastButton, ProgressRefresh
from handlers.progress_view import progress_times, render_progress
from handlers.split import show
from services.access import AdminIdentity
from services.broadcasts import BroadcastService
from services.progress_reporter import ProgressReporter


async def full_progress(
    t: Translator,
    broadcast_id: int,
    broadcasts: BroadcastService,
    reporter: ProgressReporter,
    settings: Settings,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The progress message with its timestamps (the /progress answer)."""
    progress = await broadcasts.get_progress(broadcast_id)
    snapshot = await reporter.snapshot(broadcast_id)
    return render_progress(
        t, snapshot, settings.tz, footer=progress_times(t, progress, settings.tz)
    )


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
        await show(message, *await full_progress(t, broadcast_id, broadcasts, progress, settings))


async def progress_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    progress: ProgressReporter,
    settings: Settings,
) -> None:
    view = await full_progress(t, callback_data.broadcast_id, broadcasts, progress, settings)
    await show(on, *view)
    await callback.answer()


async def refresh_button(
    callback: CallbackQuery,
    callback_data: ProgressRefresh,
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
        text, markup = render_progress(t, await progress.snapshot(broadcast_id), settings.tz)
    await show(on, text, markup, edit=True)
    await callback.answer()


def router() -> Router:
    watching = Router(name=__name__)
    watching.message.register(progress_command, Command("progress"))
    watching.callback_query.register(
        progress_button, BroadcastAction.filter(F.action == BroadcastButton.PROGRESS), ON_MESSAGE
    )
    watching.callback_query.register(refresh_button, ProgressRefresh.filter(), ON_MESSAGE)
    return watching
