"""Building the aiogram Bot and Dispatcher from the settings."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage

from core.i18n import Catalog
from core.settings import Settings
from handlers import get_routers
from handlers.commands import set_bot_commands
from handlers.errors import register_error_handler
from handlers.middlewares import I18nMiddleware
from services.access import AccessService
from services.sender import default_workers


def create_bot(settings: Settings) -> Bot:
    """A Bot that talks to `BOT_API_URL` (Telegram, a self-hosted server or the tests' fake)."""
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.bot_api_url),
        # enough connections for every concurrent sender (aiogram's default is 100)
        limit=max(100, default_workers(settings.send_rate)),
    )
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_storage(settings: Settings) -> BaseStorage:
    """Conversation state in Redis when REDIS_URL is set (survives restarts), else in memory.

    aiogram-dialog keeps each wizard's stack and contexts under a "destiny" of their own
    (`aiogd:stack:...`, `aiogd:context:...`), so the Redis keys must carry it: aiogram's
    default key builder refuses any destiny but the default one (a ValueError on every
    update that reaches the wizard's routers).
    """
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_destiny=True)
        )
    return MemoryStorage()


def create_dispatcher(
    settings: Settings, catalog: Catalog, access: AccessService, **dependencies: Any
) -> Dispatcher:
    """The Dispatcher with every router; `dependencies` reach handlers by parameter name."""
    dispatcher = Dispatcher(
        storage=create_storage(settings),
        settings=settings,
        catalog=catalog,
        access=access,
        **dependencies,
    )
    i18n = I18nMiddleware(catalog)
    dispatcher.update.outer_middleware(i18n)
    dispatcher.include_routers(*get_routers(access))
    register_error_handler(dispatcher)
    dispatcher.startup.register(set_bot_commands)
    return dispatcher
