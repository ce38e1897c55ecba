"""The command menus Telegram shows (setMyCommands), in Russian and English.

Everyone sees /start and /help (the default scope); each admin chat gets the admin list
in its own `BotCommandScopeChat`. Every list is set once per supported language and once
without a language code (the default language), so Telegram picks the user's language.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from core.i18n import SUPPORTED_LANGUAGES, Catalog, Translator
from services.access import AccessService

PUBLIC_COMMANDS = ("start", "help")
ADMIN_COMMANDS = (
    "new",
    "broadcasts",
    "broadcast",
    "progress",
    "retry",
    "cancel",
    "recipients",
    "stats",
    "reach",
    "help",
    "start",
)
# None: the list Telegram shows when no language-specific list matches the user.
MENU_LANGUAGES: tuple[str | None, ...] = (None, *SUPPORTED_LANGUAGES)

logger = logging.getLogger(__name__)


def command_menu(t: Translator, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(command=name, description=t(f"command-{name}")) for name in names]


async def set_admin_commands(bot: Bot, catalog: Catalog, chat_id: int) -> None:
    """Give one admin chat the admin menu (call it too when a roster admin links Telegram).

    A chat the bot cannot reach yet (the admin never opened it) is logged and skipped.
    """
    try:
        for language in MENU_LANGUAGES:
            await bot.set_my_commands(
                command_menu(catalog.translator(language), ADMIN_COMMANDS),
                scope=BotCommandScopeChat(chat_id=chat_id),
                language_code=language,
            )
    except TelegramAPIError as error:
        logger.warning("Admin commands not set for chat %s: %s", chat_id, error)


async def set_bot_commands(bot: Bot, catalog: Catalog, access: AccessService) -> None:
    """Public menu for everyone, admin menu for every admin chat. Runs at polling start."""
    try:
        for language in MENU_LANGUAGES:
            await bot.set_my_commands(
                command_menu(catalog.translator(language), PUBLIC_COMMANDS),
                scope=BotCommandScopeDefault(),
                language_code=language,
            )
    except TelegramAPIError as error:
        logger.warning("Command menu not set: %s", error)
        return
    for chat_id in await access.admin_telegram_ids():
        await set_admin_commands(bot, catalog, chat_id)
