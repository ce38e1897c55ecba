"""The running bot: settings → database (migrated) → bot → services → dispatcher → polling.

`build_application` assembles everything and is what the tests start too, so they run
the same wiring as production.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.factory import create_bot, create_dispatcher
from bot.i18n import Catalog
from bot.settings import Settings
from db import migrate
from db.session import SessionFactory, create_engine, create_session_factory
from services.access import AccessService
from services.invites import LinkService

logger = logging.getLogger(__name__)


@dataclass
class Application:
    settings: Settings
    engine: AsyncEngine
    session_factory: SessionFactory
    bot: Bot
    dispatcher: Dispatcher

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        """Long polling until SIGINT/SIGTERM (aiogram handles the signals) or stop_polling()."""
        await self.dispatcher.start_polling(
            self.bot, handle_signals=handle_signals, close_bot_session=False
        )

    async def close(self) -> None:
        await self.bot.session.close()
        await self.engine.dispose()


async def build_application(settings: Settings, bot: Bot | None = None) -> Application:
    engine = create_engine(settings.database_url)
    await migrate.upgrade(engine)
    session_factory = create_session_factory(engine)
    bot = bot or create_bot(settings)
    catalog = Catalog(settings.default_language)
    access = AccessService(session_factory, settings.admin_ids)
    links = LinkService(session_factory, page_size=settings.batch_size)
    dispatcher = create_dispatcher(
        settings, catalog, access, session_factory=session_factory, links=links
    )
    return Application(settings, engine, session_factory, bot, dispatcher)


async def run(settings: Settings) -> None:
    app = await build_application(settings)
    try:
        await app.run_polling()
    finally:
        await app.close()


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
