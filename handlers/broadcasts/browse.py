"""/broadcasts, /broadcast, /recipients and /stats: looking at broadcasts (and, with
`/recipients ID unconfirmed`, who has not confirmed reading one).

Lists are paginated newest first; their filter and page buttons edit the list in place.
The text of a `/broadcasts search ...` is kept in the conversation data (callback data
carries ids only), so its page buttons ask for a new search once that data is gone.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, MaybeInaccessibleMessageUnion, Message

from core.i18n import Translator
from core.settings import Settings
from db.models import BroadcastStatus, RecipientStatus
from handlers.broadcasts.parsing import (
    ListQuery,
    parse_broadcast_id,
    parse_list_args,
    parse_recipients_args,
)
from handlers.broadcasts.views import (
    details_view,
    list_view,
    recipients_view,
    stats_view,
    unconfirmed_view,
)
from handlers.callbacks import (
    BroadcastAction,
    BroadcastButton,
    ListPage,
    RecipientPage,
    UnconfirmedPage,
)
from handlers.split import show
from services.broadcasts import BroadcastService
from services.recipient_reads import RecipientReads

LIST_PAGE_SIZE = 10
RECIPIENTS_PAGE_SIZE = 15
SEARCH_KEY = "broadcasts_search"
ON_MESSAGE = F.message.as_("on")
"""Buttons are on a message; handlers get it as `on` (it may be too old to edit)."""


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
    found = await broadcasts.list_broadcasts(
        status=query.status, search=query.search, page=page, page_size=LIST_PAGE_SIZE
    )
    await show(target, *list_view(t, found, query.status, query.search, settings.tz), edit=edit)


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
    found = await broadcasts.list_recipients(
        broadcast_id, status=status, page=page, page_size=RECIPIENTS_PAGE_SIZE
    )
    await show(target, *recipients_view(t, broadcast_id, found, status, settings.tz), edit=edit)


async def send_unconfirmed(
    target: MaybeInaccessibleMessageUnion,
    t: Translator,
    recipient_reads: RecipientReads,
    broadcast_id: int,
    page: int = 1,
    *,
    edit: bool = False,
) -> None:
    found = await recipient_reads.unconfirmed(
        broadcast_id, page=page, page_size=RECIPIENTS_PAGE_SIZE
    )
    await show(target, *unconfirmed_view(t, broadcast_id, found), edit=edit)


async def send_details(
    target: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
    broadcast_id: int,
) -> None:
    details = await broadcasts.get_details(broadcast_id, recipients_page_size=1)
    await show(target, *details_view(t, details, settings.tz))


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


async def recipients_command(
    message: Message,
    command: CommandObject,
    t: Translator,
    broadcasts: BroadcastService,
    recipient_reads: RecipientReads,
    settings: Settings,
) -> None:
    query = parse_recipients_args(command.args)
    if query is None:
        await message.answer(t("usage-recipients"))
    elif query.unconfirmed:
        await send_unconfirmed(message, t, recipient_reads, query.broadcast_id)
    else:
        await send_recipients(message, t, broadcasts, settings, query.broadcast_id, query.status)


async def stats_command(message: Message, t: Translator, broadcasts: BroadcastService) -> None:
    await show(message, stats_view(t, await broadcasts.get_stats()))


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


async def unconfirmed_page(
    callback: CallbackQuery,
    callback_data: UnconfirmedPage,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    recipient_reads: RecipientReads,
) -> None:
    await send_unconfirmed(
        on, t, recipient_reads, callback_data.broadcast_id, callback_data.page, edit=True
    )
    await callback.answer()


async def open_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    await send_details(on, t, broadcasts, settings, callback_data.broadcast_id)
    await callback.answer()


async def recipients_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    await send_recipients(on, t, broadcasts, settings, callback_data.broadcast_id, None)
    await callback.answer()


async def unconfirmed_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    recipient_reads: RecipientReads,
) -> None:
    await send_unconfirmed(on, t, recipient_reads, callback_data.broadcast_id)
    await callback.answer()


def router() -> Router:
    browsing = Router(name=__name__)
    browsing.message.register(broadcasts_command, Command("broadcasts"))
    browsing.message.register(broadcast_command, Command("broadcast"))
    browsing.message.register(recipients_command, Command("recipients"))
    browsing.message.register(stats_command, Command("stats"))
    browsing.callback_query.register(list_page, ListPage.filter(), ON_MESSAGE)
    browsing.callback_query.register(recipients_page, RecipientPage.filter(), ON_MESSAGE)
    browsing.callback_query.register(unconfirmed_page, UnconfirmedPage.filter(), ON_MESSAGE)
    browsing.callback_query.register(
        open_button, BroadcastAction.filter(F.action == BroadcastButton.OPEN), ON_MESSAGE
    )
    browsing.callback_query.register(
        recipients_button,
        BroadcastAction.filter(F.action == BroadcastButton.RECIPIENTS),
        ON_MESSAGE,
    )
    browsing.callback_query.register(
        unconfirmed_button,
        BroadcastAction.filter(F.action == BroadcastButton.UNCONFIRMED),
        ON_MESSAGE,
    )
    return browsing
