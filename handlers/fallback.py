"""The last router: a button press that nothing else answered still gets an answer, and
an admin's message that no feature took (plain text outside the wizard, an unknown
command) gets a one-line hint towards /help.

Telegram shows a spinner on a pressed button until the bot answers the press. Data that
no handler matches (a forged or mangled value, an id out of range, a button of a feature
that changed since the message was sent) would leave it spinning; here it gets a short
alert instead and nothing changes. So does a press whose handler failed on data that
parsed but made no sense (a forged choice of a wizard button, say): the failure is
logged, the admin gets the alert. Only admins get this far: the admin router's guard
answers everyone else with "not allowed", and refusals the services explain are
answered by `handlers.errors` before the errors reach this router.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery, ErrorEvent, Message

from core.i18n import Translator

logger = logging.getLogger(__name__)


async def unknown_button(callback: CallbackQuery, t: Translator) -> None:
    await callback.answer(t("button-unknown"), show_alert=True)


async def failed_button(event: ErrorEvent, callback: CallbackQuery, t: Translator) -> None:
    logger.error(
        "Button %r pressed by %s failed",
        callback.data,
        callback.from_user.id,
        exc_info=event.exception,
    )
    await unknown_button(callback, t)


async def admin_hint(message: Message, t: Translator) -> None:
    """Only admins' messages get here: commands of everyone else are refused by the admin
    router's guard, and their other messages are taken by `handlers.replies`."""
    await message.answer(t("admin-hint"))


def router() -> Router:
    fallback = Router(name=__name__)
    fallback.message.register(admin_hint)
    fallback.callback_query.register(unknown_button)
    fallback.errors.register(failed_button, F.update.callback_query.as_("callback"))
    return fallback
