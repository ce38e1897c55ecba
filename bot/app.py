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
from bot.webhook import WebhookServer
from core.i18n import Catalog
from core.settings import Settings
from db import migrate
from db.session import SessionFactory, create_engine, create_session_factory
from handlers.broadcasts.reminders import reminder_text
from handlers.confirmations import read_button
from handlers.notices import scheduled_failure_notifier
from handlers.progress_view import progress_renderer
from services.access import AccessService
from services.amend import AmendService
from services.amend_launcher import AmendLauncher
from services.audience import AudienceService
from services.broadcasts import BroadcastRules, BroadcastService
from services.confirmations import ConfirmationService
from services.invites import LinkService
from services.launcher import BroadcastLauncher
from services.limiter import CHAT_INTERVAL, RateLimiter, RateLimitMiddleware
from services.progress import ProgressHub
from services.progress_reporter import ProgressReporter
from services.quiet_hours import Clock, QuietGate, QuietHours
from services.reach import ReachService
from services.recipient_reads import RecipientReads
from services.reminders import ReminderService
from services.scheduler import BroadcastScheduler
from services.send_policy import SendPolicy
from services.sender import BroadcastSender
from services.shared_limiter import SharedRateLimiter, bot_namespace

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
    launcher: BroadcastLauncher
    scheduler: BroadcastScheduler
    shared_limiter: SharedRateLimiter | None = None

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        """Long polling until SIGINT/SIGTERM (aiogram handles the signals) or stop_polling().

        A webhook left by an earlier webhook-mode run would make Telegram refuse polling,
        so it is removed first (the updates waiting for it are kept)."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.start_background()
        await self.dispatcher.start_polling(
            self.bot, handle_signals=handle_signals, close_bot_session=False
        )

    async def run_webhook(self, server: WebhookServer, *, handle_signals: bool = True) -> None:
        """Serve Telegram's webhook requests until SIGINT/SIGTERM or `server.stop()`."""
        await self.start_background()
        await server.serve(handle_signals=handle_signals)

    async def start_background(self) -> None:
        """Resume what a restart interrupted: broadcasts left sending (their progress
        messages keep updating) and the timers of scheduled ones; then supervise sending
        (a crashed instance's broadcasts, runs that ended early)."""
        await self.launcher.resume_all()
        self.launcher.supervise()
        await self.scheduler.start()

    async def close(self) -> None:
        await self.scheduler.shutdown()
        await self.sender.shutdown()
        await self.progress.shutdown()
        if self.shared_limiter is not None:
            await self.shared_limiter.close()
        await self.bot.session.close()
        await self.engine.dispose()


async def build_application(
    settings: Settings,
    bot: Bot | None = None,
    *,
    chat_interval: float = CHAT_INTERVAL,
    clock: Clock | None = None,
) -> Application:
    """`chat_interval` is Telegram's 1 s per chat; only tests that do not look at the
    pacing pass less, so they do not wait a second after each reply. `clock` is what
    quiet hours are read by (default: the system's); tests move one across them."""
    engine = create_engine(settings.database_url)
    await migrate.upgrade(engine)
    session_factory = create_session_factory(engine)
    bot = bot or create_bot(settings)
    catalog = Catalog(settings.default_language)
    access = AccessService(session_factory, settings.admin_ids)
    links = LinkService(session_factory, page_size=settings.batch_size)
    broadcasts = BroadcastService(
        session_factory, BroadcastRules(settings.message_max_length, settings.tz)
    )
    audience = AudienceService(session_factory)
    # With Redis every instance of the bot draws from one budget, else this process alone.
    shared_limiter = None
    if settings.redis_url:
        shared_limiter = SharedRateLimiter.from_url(
            settings.redis_url,
            settings.send_rate,
            namespace=bot_namespace(bot.id),
            chat_interval=chat_interval,
        )
    limiter = shared_limiter or RateLimiter(settings.send_rate, chat_interval=chat_interval)
    bot.session.middleware(RateLimitMiddleware(limiter))
    hub = ProgressHub()
    quiet = quiet_gate(settings, clock)
    sender = BroadcastSender(
        bot,
        session_factory,
        send_policy(settings),
        limiter,
        hub,
        read_button=read_button(catalog, settings.tz),
        quiet=quiet,
        reminder_text=reminder_text(catalog),
    )
    progress = ProgressReporter(
        bot,
        session_factory,
        hub,
        edit_interval=settings.progress_edit_interval,
        render=progress_renderer(catalog, settings.tz),
        quiet=quiet,
    )
    reminders = ReminderService(session_factory)
    launcher = BroadcastLauncher(
        broadcasts, audience, sender, progress, quiet=quiet, reminders=reminders
    )
    amend = AmendLauncher(AmendService(session_factory, settings.message_max_length), launcher)
    scheduler = BroadcastScheduler(
        session_factory, launcher, scheduled_failure_notifier(bot, catalog, settings)
    )
    launcher.arm_reminders_with(scheduler.arm)
    dispatcher = create_dispatcher(
        settings,
        catalog,
        access,
        links=links,
        audience=audience,
        broadcasts=broadcasts,
        progress=progress,
        launcher=launcher,
        amend=amend,
        scheduler=scheduler,
        quiet_hours=quiet,
        confirmations=ConfirmationService(session_factory),
        recipient_reads=RecipientReads(session_factory, page_size=settings.batch_size),
        reach=ReachService(session_factory, links),
        reminders=reminders,
    )
    return Application(
        settings,
        engine,
        session_factory,
        bot,
        dispatcher,
        sender,
        progress,
        launcher,
        scheduler,
        shared_limiter,
    )


def quiet_gate(settings: Settings, clock: Clock | None = None) -> QuietGate:
    """The school's quiet hours (QUIET_HOURS in TIMEZONE, or none), read by `clock`."""
    window = settings.quiet_hours
    hours = None if window is None else QuietHours(*window, settings.tz)
    return QuietGate(hours) if clock is None else QuietGate(hours, clock)


def send_policy(settings: Settings) -> SendPolicy:
    """The part of the settings the sending engine runs by."""
    return SendPolicy(
        send_batch_size=settings.send_batch_size,
        max_retries=settings.max_retries,
        retry_delays=tuple(settings.retry_delays),
        paid_broadcast=settings.paid_broadcast,
    )


async def run(settings: Settings) -> None:
    app = await build_application(settings)
    # aiogram's many long-lived model objects make full collections pause for ~200 ms,
    # long enough for paced requests to bunch up and draw 429s; keep them out of the GC.
    gc.freeze()
    try:
        if settings.webhook_url:
            await app.run_webhook(WebhookServer(app))
        else:
            await app.run_polling()
    finally:
        await app.close()
