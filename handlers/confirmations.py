"""Presses of "✅ I have read it" under delivered broadcasts.

Recipients are parents, students and teachers, not admins, so this router comes before the
admin router (whose guard would refuse them). A press is answered at once; only then is
the button replaced by "✅ Confirmed 14:02" (the school's time), an edit that waits its
turn in the limiter like every message the bot sends, so a slow edit never delays the
record or the answer.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery

from core.i18n import Catalog, Translator
from core.settings import Settings
from handlers.callbacks import ReadConfirmation, ReadConfirmed
from handlers.keyboards import confirmed_keyboard
from services.confirmations import ConfirmationService, ReadButton
from services.results import ConfirmOutcome

logger = logging.getLogger(__name__)


def read_button(catalog: Catalog) -> ReadButton:
    """The button the engine puts under a broadcast that asks for confirmation, labelled
    in each recipient's language (`users.language_code`, else the default language)."""
    return ReadButton(
        lambda language_code: catalog.translator(language_code)("read-btn"),
        ReadConfirmation().pack(),
    )


async def read_pressed(
    callback: CallbackQuery,
    t: Translator,
    confirmations: ConfirmationService,
    settings: Settings,
    bot: Bot,
) -> None:
    message = callback.message
    if message is None:  # a button of an inline-mode message: not one the bot delivered
        await callback.answer(t("read-refused"), show_alert=True)
        return
    chat_id, message_id = message.chat.id, message.message_id
    result = await confirmations.confirm(chat_id, message_id, callback.from_user.id)
    if result.outcome is ConfirmOutcome.REFUSED or result.confirmed_at is None:
        await callback.answer(t("read-refused"), show_alert=True)
        return
    time = result.confirmed_at.astimezone(settings.tz).strftime("%H:%M")
    if result.outcome is ConfirmOutcome.ALREADY:
        await callback.answer(t("read-already", time=time))
        return
    await callback.answer(t("read-thanks"))
    try:
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=confirmed_keyboard(t, time)
        )
    except TelegramAPIError as error:  # the confirmation is recorded all the same
        logger.warning("Confirmed button of message %s in %s: %s", message_id, chat_id, error)


async def confirmed_pressed(callback: CallbackQuery, t: Translator) -> None:
    await callback.answer(t("read-done"))


def router() -> Router:
    confirming = Router(name=__name__)
    confirming.callback_query.register(read_pressed, ReadConfirmation.filter())
    confirming.callback_query.register(confirmed_pressed, ReadConfirmed.filter())
    return confirming
