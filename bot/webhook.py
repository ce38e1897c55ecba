"""Webhook mode, for several instances behind a load balancer: Telegram posts each update
to `WEBHOOK_URL`, the balancer hands it to any instance, and that instance handles it.

Each instance registers the webhook at start (the same URL and secret from every one, so
the last to start changes nothing) and serves aiogram's aiohttp handler on
`WEBHOOK_HOST:WEBHOOK_PORT` at the URL's path. A request without the right
`X-Telegram-Bot-Api-Secret-Token` header is refused (401) and handles nothing. `/healthz`
answers 200 for the balancer's health checks. An instance that stops leaves the webhook
in place: the others keep serving it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from core.settings import Settings

if TYPE_CHECKING:
    from bot.app import Application

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


def webhook_secret(settings: Settings) -> str:
    """`WEBHOOK_SECRET`, or one derived from the bot token: the same in every instance,
    unknown to anyone without the token."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    token = settings.bot_token.get_secret_value()
    return hashlib.sha256(f"webhook:{token}".encode()).hexdigest()


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the URL's own (`/` when it has none)."""
    return urlsplit(url).path or "/"


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


class WebhookServer:
    """The aiohttp server that feeds Telegram's webhook requests to the dispatcher."""

    def __init__(self, application: Application) -> None:
        settings = application.settings
        assert settings.webhook_url is not None  # only built in webhook mode
        self._application = application
        self._url = settings.webhook_url
        self._secret = webhook_secret(settings)
        self._host, self._port = settings.webhook_host, settings.webhook_port
        self._runner: web.AppRunner | None = None
        self._stopped = asyncio.Event()
        self.port: int | None = None
        """The port it listens on once started (WEBHOOK_PORT, or the one picked for 0)."""

    def _web_app(self) -> web.Application:
        dispatcher, bot = self._application.dispatcher, self._application.bot
        web_app = web.Application()
        # The route is added by hand: registering the handler would close the bot's session
        # when the server stops, before the engine has recorded its last results.
        handler = SimpleRequestHandler(dispatcher, bot, secret_token=self._secret)
        web_app.router.add_post(webhook_path(self._url), handler.handle)
        web_app.router.add_get(HEALTH_PATH, _healthz)
        setup_application(web_app, dispatcher, bot=bot)
        return web_app

    async def _register_webhook(self) -> None:
        dispatcher, bot = self._application.dispatcher, self._application.bot
        await bot.set_webhook(
            self._url,
            secret_token=self._secret,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        logger.info("Webhook set to %s; serving on %s:%s", self._url, self._host, self.port)

    async def start(self) -> None:
        self._runner = web.AppRunner(self._web_app(), handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.port = self._runner.addresses[0][1]
        # Only once it listens: Telegram may post the first update right after setWebhook.
        await self._register_webhook()

    def stop(self) -> None:
        self._stopped.set()

    async def serve(self, *, handle_signals: bool = True) -> None:
        """Until SIGINT/SIGTERM (or `stop()`); then the server closes and the dispatcher's
        shutdown runs."""
        if handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.stop)
        await self.start()
        try:
            await self._stopped.wait()
        finally:
            assert self._runner is not None
            await self._runner.cleanup()
