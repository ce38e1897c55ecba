"""Messages the bot sends an admin on its own, outside any conversation: a scheduled
broadcast that could not go out at its time. The scheduler (services/) only says what
happened (`services.scheduler.NotSent`); this words it in the admin's language."""

from __future__ import annotations

import logging

from aiogram import Bot, html
from aiogram.exceptions import TelegramAPIError

from core.i18n import Catalog
from core.settings import Settings
from handlers.errors import describe
from services.errors import NoRecipients
from services.scheduler import Notify, NotSent

logger = logging.getLogger(__name__)


def scheduled_failure_notifier(bot: Bot, catalog: Catalog, settings: Settings) -> Notify:
    """The `notify` to give `BroadcastScheduler`."""

    async def notify(failure: NotSent) -> None:
        t = catalog.translator(failure.admin_language)
        error = failure.error
        if isinstance(error, NoRecipients):
            group = t(f"target-{error.target_group}")
            text = t("scheduled-no-recipients", id=failure.broadcast_id, group=group)
        else:
            reason = html.quote(describe(error, t, settings.tz))
            text = t("scheduled-not-sent", id=failure.broadcast_id, reason=reason)
        try:
            await bot.send_message(failure.admin_chat_id, text)
        except TelegramAPIError as problem:
            logger.warning(
                "Broadcast %s: could not tell the admin: %s", failure.broadcast_id, problem
            )

    return notify
