"""Edit or delete a sent announcement for everyone, from its details.

Delete asks first with the counts it will touch (and how many are too old, or still
pending and cancelled). Edit asks for the corrected text the way the wizard takes
content (a message with its formatting; a media broadcast's caption), refuses one the
wizard would refuse and stays at the step, shows it as it will read, and asks. The text
waits in the chat's state until Yes; a Yes whose edit is no longer the open one (an old
or a forged question) is answered and does nothing. The refusals (a delete done, an edit
or delete still running, nothing delivered) come from the service with their facts.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, MaybeInaccessibleMessageUnion, Message, MessageEntity

from core.i18n import Translator
from db.models import BroadcastKind, ContentKind
from handlers.broadcasts.amend_views import amend_question, ask_text, started_text
from handlers.broadcasts.browse import ON_MESSAGE
from handlers.callbacks import AmendConfirm, AmendKind, BroadcastAction, BroadcastButton
from handlers.compose.draft import content_from_message
from handlers.keyboards import amend_abort_keyboard
from handlers.split import show
from services.access import AdminIdentity
from services.amend_launcher import AmendLauncher

EDIT_KEY = "amend_edit"


class EditStep(StatesGroup):
    text = State()
    confirm = State()


async def delete_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    amend: AmendLauncher,
) -> None:
    preview = await amend.preview(callback_data.broadcast_id, BroadcastKind.DELETE)
    await show(on, *amend_question(t, preview))
    await callback.answer()


async def edit_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    state: FSMContext,
    amend: AmendLauncher,
) -> None:
    """Ask for the corrected text; the next message is read as it."""
    preview = await amend.preview(callback_data.broadcast_id, BroadcastKind.EDIT)
    await state.set_state(EditStep.text)
    await state.update_data(
        {EDIT_KEY: {"id": preview.broadcast_id, "kind": preview.content_kind.value}}
    )
    await show(on, ask_text(t, preview), amend_abort_keyboard(t, preview.broadcast_id))
    await callback.answer()


async def text_sent(
    message: Message, t: Translator, state: FSMContext, amend: AmendLauncher, bot: Bot
) -> None:
    """The corrected text: refused like the wizard refuses one (the step stays), else shown
    as it will read with the question."""
    step: dict[str, Any] = (await state.get_data())[EDIT_KEY]
    content = content_from_message(message)
    if content is None:
        await message.answer(t("edit-text-wanted"))
        return
    kind = ContentKind(step["kind"])
    amend.service.check_content(kind, content.text, content.entities)
    preview = await amend.preview(int(step["id"]), BroadcastKind.EDIT)
    await state.update_data(
        {EDIT_KEY: {**step, "text": content.text, "entities": content.entities}}
    )
    await state.set_state(EditStep.confirm)
    entities = [MessageEntity.model_validate(entity) for entity in content.entities or []]
    await bot.send_message(
        message.chat.id, content.text, entities=entities or None, parse_mode=None
    )
    text, markup = amend_question(t, preview)
    await message.answer(text, reply_markup=markup)


async def amend_confirmed(
    callback: CallbackQuery,
    callback_data: AmendConfirm,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    state: FSMContext,
    admin: AdminIdentity,
    amend: AmendLauncher,
) -> None:
    broadcast_id = callback_data.broadcast_id
    kind = callback_data.kind
    step = (await state.get_data()).get(EDIT_KEY) or {}
    is_open = step.get("id") == broadcast_id
    if kind is AmendKind.EDIT and is_open and not callback_data.yes:
        await state.update_data({EDIT_KEY: None})
        await state.set_state(None)
    if not callback_data.yes:
        await show(on, t(f"{kind}-kept", id=str(broadcast_id)), edit=True)
        await callback.answer()
        return
    if kind is AmendKind.EDIT and (not is_open or "text" not in step):
        await callback.answer(t("edit-stale"), show_alert=True)
        return

    async def announce(count: int) -> None:
        await show(on, started_text(t, kind, broadcast_id, count), edit=True)

    common: dict[str, Any] = {
        "actor_id": admin.user_id,
        "progress_chat_id": on.chat.id,
        "language": t.language,
        "announce": announce,
    }
    if kind is AmendKind.EDIT:
        await state.update_data({EDIT_KEY: None})
        await state.set_state(None)
        await amend.edit(broadcast_id, step["text"], step["entities"], **common)
    else:
        await amend.delete(broadcast_id, **common)
    await callback.answer()


def router() -> Router:
    amending = Router(name=__name__)
    buttons = amending.callback_query
    buttons.register(
        edit_button, BroadcastAction.filter(F.action == BroadcastButton.EDIT), ON_MESSAGE
    )
    buttons.register(
        delete_button, BroadcastAction.filter(F.action == BroadcastButton.DELETE), ON_MESSAGE
    )
    buttons.register(amend_confirmed, AmendConfirm.filter(), ON_MESSAGE)
    amending.message.register(text_sent, EditStep.text, ~F.text.startswith("/"))
    return amending
