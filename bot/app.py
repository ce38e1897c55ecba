"""The running bot: settings → database (migrated) → bot → services → dispatcher → polling.

`build_application` assembles everything and is what the tests start too, so they run
the same wiring as production.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.factory import create_bot, create_dispatcher
from core.i18n import Catalog
from core.settings import Settings
from db import migrate
from db.session import SessionFactory, create_engine, create_session_factory
from handlers.progress_view import progress_renderer
from services.access import AccessService
from services.audience import AudienceService
from services.broadcasts import BroadcastService
from services.invites import LinkService
from services.limiter import CHAT_INTERVAL, RateLimiter, RateLimitMiddleware
from services.progress import ProgressHub, ProgressReporter
from services.scheduler import BroadcastScheduler
from services.sender import BroadcastSender

logger = logging.getLogger(__name__)


@dataclass
class Application:
    settings: Settings
    engine: AsyncEngine
    session_factory: SessionFactory
    bot: Bot
    dispatcher: Dispatcher
    sender: BroadcastSender
    progress: ProgressReporter
    scheduler: BroadcastScheduler

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        """Long polling until SIGINT/SIGTERM (aiogram handles the signals) or stop_polling()."""
        await self.start_background()
        await self.dispatcher.start_polling(
            self.bot, handle_signals=handle_signals, close_bot_session=False
        )

    async def start_background(self) -> None:
        """Resume what a restart interrupted: broadcasts left sending (their progress
        messages keep updating) and the timers of scheduled ones."""
        for broadcast_id in await self.sender.resume_all():
            await self.progress.follow(broadcast_id)
        await self.scheduler.start()

    async def close(self) -> None:
        await self.scheduler.shutdown()
        await self.sender.shutdown()
        await self.progress.shutdown()
        await self.bot.session.close()
        await self.engine.dispose()


async def build_application(
    settings: Settings, bot: Bot | None = None, *, chat_interval: float = CHAT_INTERVAL
) -> Application:
    """`chat_interval` is Telegram's 1 s per chat; only tests that do not look at the
    pacing pass less, so they do not wait a second after each reply."""
    engine = create_engine(settings.database_url)
    await migrate.upgrade(engine)
    session_factory = create_session_factory(engine)
    bot = bot or create_bot(settings)
    catalog = Catalog(settings.default_language)
    access = AccessService(session_factory, settings.admin_ids)
    links = LinkService(session_factory, page_size=settings.batch_size)
    broadcasts = BroadcastService(session_factory, settings)
    limiter = RateLimiter(settings.send_rate, chat_interval=chat_interval)
    bot.session.middleware(RateLimitMiddleware(limiter))
    hub = ProgressHub()
    sender = BroadcastSender(bot, session_factory, settings, limiter, hub)
    progress = ProgressReporter(
        bot,
        session_factory,
        hub,
        edit_interval=settings.progress_edit_interval,
        render=progress_renderer(catalog.translator(settings.default_language)),
    )
    scheduler = BroadcastScheduler(session_factory, broadcasts, sender, progress, bot, catalog)
    dispatcher = create_dispatcher(
        settings,
        catalog,
        access,
        session_factory=session_factory,
        links=links,
        audience=AudienceService(session_factory),
        broadcasts=broadcasts,
        sender=sender,
        progress=progress,
        scheduler=scheduler,
    )
    return Application(
        settings, engine, session_factory, bot, dispatcher, sender, progress, scheduler
    )


async def run(settings: Settings) -> None:
    app = await build_application(settings)
    # aiogram's many long-lived model objects make full collections pause for ~200 ms,
    # long enough for paced requests to bunch up and draw 429s; keep them out of the GC.
    gc.freeze()
    try:
        await app.run_polling()
    finally:
        await app.close()
