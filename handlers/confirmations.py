"""Presses of "✅ I have read it" under delivered broadcasts.

Recipients are parents, students and teachers, not admins, so this router comes before the
admin router (whose guard would refuse them). A press is answered at once; only then is
the button replaced by "✅ Confirmed 14:02" (the school's time), an edit that waits its
turn in the limiter like every message the bot sends, so a slow edit never delays the
record or the answer; after a flood wait it is made again. The edits queue behind the
other messages (`in_background`): a storm of presses takes at most one grant in W + 1
from a broadcast its W workers are sending.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup

from core.i18n import Catalog, Translator
from core.settings import Settings
from handlers.callbacks import ReadConfirmation, ReadConfirmed
from handlers.keyboards import confirmed_keyboard
from services.confirmations import ConfirmationService, ReadButton
from services.limiter import in_background
from services.results import ConfirmOutcome

logger = logging.getLogger(__name__)
EDIT_ATTEMPTS = 3


def read_button(catalog: Catalog, tz: ZoneInfo) -> ReadButton:
    """The button the engine puts under a broadcast that asks for confirmation, labelled
    in each recipient's language (`users.language_code`, else the default language),
    and "✅ Confirmed 14:02" (the school's time) that an edit keeps once pressed."""
    return ReadButton(
        lambda language_code: catalog.translator(language_code)("read-btn"),
        ReadConfirmation().pack(),
        lambda language_code, at: catalog.translator(language_code)(
            "read-btn-confirmed", time=at.astimezone(tz).strftime("%H:%M")
        ),
        ReadConfirmed().pack(),
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
    confirmed = confirmed_keyboard(t, time)
    with in_background():  # a broadcast sending meanwhile keeps its rate
        await replace_button(bot, chat_id, message_id, confirmed)
        if result.original_message_id is not None:  # a reminder's: the original's too
            await replace_button(bot, chat_id, result.original_message_id, confirmed)


async def replace_button(
    bot: Bot, chat_id: int, message_id: int, markup: InlineKeyboardMarkup
) -> None:
    """The edit to "Confirmed"; after a flood wait (which has paused the limiter for every
    sender) it is made again. A failure is logged: the confirmation is recorded anyway."""
    for _ in range(EDIT_ATTEMPTS):
        try:
            await bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
            return
        except TelegramRetryAfter:
            continue
        except TelegramAPIError as error:
            logger.warning("Confirmed button of message %s in %s: %s", message_id, chat_id, error)
            return
    logger.warning("Confirmed button of message %s in %s: flood waits", message_id, chat_id)


async def confirmed_pressed(callback: CallbackQuery, t: Translator) -> None:
    await callback.answer(t("read-done"))


def router() -> Router:
    confirming = Router(name=__name__)
    confirming.callback_query.register(read_pressed, ReadConfirmation.filter())
    confirming.callback_query.register(confirmed_pressed, ReadConfirmed.filter())
    return confirming
