"""Webhook mode over real HTTP: the bot registers its webhook with a secret, serves
updates posted with that secret, refuses and ignores any other request, answers /healthz;
and polling mode removes a webhook left behind so polling works again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import aiohttp
import pytest

from bot.app import Application, build_application
from bot.webhook import WebhookServer, webhook_path, webhook_secret
from core.settings import Settings
from fake_bot_api import FakeBotAPI
from tests.bot_harness import ADMIN_ID, harness_settings, start_harness, stop_harness

WEBHOOK_URL = "https://bot.school.example/telegram/updates"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_update_ids = count(5000)


@dataclass
class Served:
    app: Application
    server: WebhookServer
    settings: Settings

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
async def served(fake_api: FakeBotAPI, harness_database_url: str) -> AsyncIterator[Served]:
    settings = harness_settings(
        harness_database_url,
        fake_api.url,
        webhook_url=WEBHOOK_URL,
        webhook_host="127.0.0.1",
        webhook_port=0,
    )
    app = await build_application(settings)
    server = WebhookServer(app)
    serving = asyncio.create_task(app.run_webhook(server, handle_signals=False))
    await fake_api.wait_for(lambda: fake_api.webhook is not None, message="no setWebhook")
    try:
        yield Served(app, server, settings)
    finally:
        server.stop()
        await asyncio.wait_for(serving, timeout=10)
        await app.close()


def start_update(fake_api: FakeBotAPI, text: str = "/start") -> dict[str, Any]:
    update = fake_api.make_message_update(ADMIN_ID, text)
    update["update_id"] = next(_update_ids)
    return update


async def post(served: Served, update: dict[str, Any], secret: str | None) -> int:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    path = webhook_path(WEBHOOK_URL)
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{served.base}{path}", json=update, headers=headers) as response,
    ):
        return response.status


async def test_the_webhook_is_registered_with_its_secret_and_serves_updates(
    fake_api: FakeBotAPI, served: Served
) -> None:
    secret = webhook_secret(served.settings)
    assert fake_api.webhook == {"url": WEBHOOK_URL, "secret_token": secret}
    assert len(secret) == 64 and secret != served.settings.bot_token.get_secret_value()

    assert await post(served, start_update(fake_api), secret) == 200
    await fake_api.wait_for(lambda: fake_api.messages_to(ADMIN_ID), message="no answer")
    [greeting] = fake_api.messages_to(ADMIN_ID)
    assert "New broadcast" in str(greeting.reply_markup)


async def test_a_request_without_the_right_secret_is_refused_and_handles_nothing(
    fake_api: FakeBotAPI, served: Served
) -> None:
    refused = [
        await post(served, start_update(fake_api, "/help"), None),
        await post(served, start_update(fake_api, "/help"), "wrong-secret"),
        await post(served, start_update(fake_api, "/help"), webhook_secret(served.settings)[:-1]),
    ]
    assert refused == [401, 401, 401]

    # A good request after them is answered, and it is the only one.
    assert await post(served, start_update(fake_api), webhook_secret(served.settings)) == 200
    await fake_api.wait_for(lambda: fake_api.messages_to(ADMIN_ID), message="no answer")
    await asyncio.sleep(0.2)  # room for a wrongly accepted update to be answered too
    assert len(fake_api.messages_to(ADMIN_ID)) == 1


async def test_healthz_answers_and_other_paths_do_not(served: Served) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{served.base}/healthz") as health:
            assert (health.status, await health.text()) == (200, "ok")
        async with client.post(f"{served.base}/elsewhere", json={}) as elsewhere:
            assert elsewhere.status == 404


async def test_polling_removes_a_webhook_left_behind(
    fake_api: FakeBotAPI, harness_database_url: str
) -> None:
    fake_api.webhook = {"url": WEBHOOK_URL, "secret_token": "old"}
    harness, polling = await start_harness(
        fake_api, harness_settings(harness_database_url, fake_api.url)
    )
    try:
        replies = await harness.send(ADMIN_ID, "/help")
        assert replies and "/progress" in (replies[0].text or "")
        assert fake_api.webhook is None
    finally:
        await stop_harness(harness, polling)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"webhook_url": "http://bot.school.example/x"}, "WEBHOOK_URL must be the public https"),
        ({"webhook_secret": "has spaces"}, "WEBHOOK_SECRET may hold only letters"),
        ({"webhook_port": 70000}, "WEBHOOK_PORT"),
    ],
)
def test_webhook_settings_are_checked(
    values: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.settings import load_settings

    with pytest.raises(SystemExit) as stopped:
        load_settings(_env_file=None, bot_token="123:abc", **values)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
