"""🔔 Remind those who have not confirmed, in an announcement's details: the question
first, then the reminder with its own live progress message below (services/reminders.py).
Refusals (the limit, one still sending, everyone confirmed) come from the service with
their facts and are worded by the error router. Also the reminder's words in each
recipient's language, which the engine sends."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, MaybeInaccessibleMessageUnion

from core.i18n import Catalog, Translator
from handlers.broadcasts.browse import ON_MESSAGE
from handlers.broadcasts.reminders_view import remind_question
from handlers.callbacks import BroadcastAction, BroadcastButton, RemindConfirm
from handlers.split import show
from services.access import AdminIdentity
from services.launcher import BroadcastLauncher
from services.reminder_action import ReminderText
from services.reminders import ReminderService


def reminder_text(catalog: Catalog) -> ReminderText:
    """The reminder in each recipient's language (`users.language_code`, else the default)."""
    return lambda language_code: catalog.translator(language_code)("reminder-text")


async def remind_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    bot: Bot,
    reminders: ReminderService,
) -> None:
    """The Yes/No question, below, with how many it would reach."""
    preview = await reminders.preview(callback_data.broadcast_id)
    text, markup = remind_question(t, preview)
    await bot.send_message(on.chat.id, text, reply_markup=markup)
    await callback.answer()


async def remind_confirmed(
    callback: CallbackQuery,
    callback_data: RemindConfirm,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    launcher: BroadcastLauncher,
    admin: AdminIdentity,
) -> None:
    """Yes: the reminder's recipients are written now and its progress message is posted
    here; a Yes after another reminder was sent is refused (RemindedMeanwhile)."""
    broadcast_id = callback_data.broadcast_id
    if not callback_data.yes:
        await show(on, t("remind-kept", id=str(broadcast_id)), edit=True)
        await callback.answer()
        return

    async def announce(count: int) -> None:
        await show(on, t("remind-started", id=str(broadcast_id), count=count), edit=True)

    await launcher.remind(
        broadcast_id,
        on.chat.id,
        language=t.language,
        expected=callback_data.sent,
        announce=announce,
        actor_id=admin.user_id,
    )
    await callback.answer()


def router() -> Router:
    reminding = Router(name=__name__)
    reminding.callback_query.register(
        remind_button, BroadcastAction.filter(F.action == BroadcastButton.REMIND), ON_MESSAGE
    )
    reminding.callback_query.register(remind_confirmed, RemindConfirm.filter(), ON_MESSAGE)
    return reminding
