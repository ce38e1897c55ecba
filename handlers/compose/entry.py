"""Ways into and out of the compose wizard (/new, the "New broadcast" button, /cancel
typed while it is open) and what of the chat reaches it.

aiogram-dialog loads the chat's open wizard for every update, so without a filter its
router would take every button press in the chat, a progress message's Cancel included.
Only presses on the wizard's own buttons (their data carries the wizard's intent id)
reach it, and only on its latest message. Commands go past it to their own handlers,
except /cancel without an id, which closes it as its Cancel button does; so does the
answer to a time question asked from a broadcast's details meanwhile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, ExceptionTypeFilter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram_dialog import DialogManager, ShowMode, StartMode
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent
from aiogram_dialog.context.intent_filter import IntentFilter
from aiogram_dialog.utils import remove_intent_id

from core.i18n import Translator
from handlers.compose.dialog import compose_dialog
from handlers.compose.states import ComposeStates
from handlers.compose.steps import finish


class NewBroadcast(CallbackData, prefix="new"):
    """The "New broadcast" button (on the admin's /start greeting)."""


def new_broadcast_keyboard(t: Translator) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=t("compose-new-broadcast"), callback_data=NewBroadcast().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def new_broadcast(message: Message, dialog_manager: DialogManager, state: FSMContext) -> None:
    await state.set_state(None)  # a time still asked for from a broadcast's details is dropped
    await dialog_manager.start(ComposeStates.audience, mode=StartMode.RESET_STACK)


async def new_broadcast_button(
    callback: CallbackQuery, dialog_manager: DialogManager, state: FSMContext
) -> None:
    await callback.answer()
    await state.set_state(None)
    await dialog_manager.start(
        ComposeStates.audience, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
    )


async def cancel_typed(message: Message, dialog_manager: DialogManager, t: Translator) -> None:
    """/cancel (without an id) typed while the wizard is open discards it."""
    await finish(dialog_manager, t("compose-discarded"))


def pressed_on_wizard_button(callback: CallbackQuery) -> bool:
    """The press is on a button the wizard drew: aiogram-dialog prefixes their data with
    the wizard's intent id (every other button's data has none)."""
    intent_id, _ = remove_intent_id(callback.data or "")
    return bool(intent_id)


async def closed_wizard(event: ErrorEvent, t: Translator) -> None:
    """A button (or a reply) on a message of a wizard that has ended or been restarted."""
    if event.update.callback_query is not None:
        await event.update.callback_query.answer(t("compose-stale"), show_alert=True)
    elif event.update.message is not None:
        await event.update.message.answer(t("compose-stale"))


async def reject_old_messages(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """Only the wizard's latest message is live: a press on an earlier one (its keyboard
    is normally removed, but a client may still show it) gets an alert."""
    manager: DialogManager = data["dialog_manager"]
    assert isinstance(event, CallbackQuery)
    if event.message is None or event.message.message_id != manager.current_stack().last_message_id:
        await event.answer(data["t"]("compose-stale"), show_alert=True)
        return None
    return await handler(event, data)


def router() -> Router:
    """/new, the New broadcast button, /cancel inside the wizard, and the wizard itself."""
    compose = Router(name=__name__)
    compose.message.register(new_broadcast, Command("new"))
    compose.message.register(
        cancel_typed, Command("cancel", magic=F.args.is_(None)), IntentFilter(ComposeStates)
    )
    compose.callback_query.register(new_broadcast_button, NewBroadcast.filter())
    compose.errors.register(closed_wizard, ExceptionTypeFilter(UnknownIntent, OutdatedIntent))
    wizard = compose_dialog()
    # Commands go past the wizard to their own handlers, even while it waits for text, and
    # so does the time a broadcast's details asked for meanwhile (handlers.broadcasts.timing).
    wizard.message.filter(~F.text.startswith("/"), StateFilter(None))
    wizard.callback_query.filter(pressed_on_wizard_button)
    wizard.callback_query.middleware(reject_old_messages)
    compose.include_router(wizard)
    return compose
