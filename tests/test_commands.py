"""The command menus (setMyCommands) recorded by the fake Bot API when the bot starts:
/start and /help for everyone, the admin list in each admin chat's scope, per language."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from core.i18n import Catalog
from db import migrate
from db.models import Role
from db.session import create_engine, create_session_factory
from fake_bot_api import FakeBotAPI
from handlers.commands import ADMIN_COMMANDS, MENU_LANGUAGES, PUBLIC_COMMANDS, set_bot_commands
from services.access import AccessService
from tests.bot_harness import ADMIN_ID, BotHarness, harness_settings, start_harness, stop_harness
from tests.conftest import TEST_TOKEN
from tests.factories import add_user

ROSTER_ADMIN = 3000
CATALOG = Catalog("en")


def chat_scope(chat_id: int) -> dict[str, object]:
    return {"type": "chat", "chat_id": chat_id}


@pytest.fixture
async def started(fake_api: FakeBotAPI, harness_database_url: str) -> AsyncIterator[BotHarness]:
    """The bot started on a roster with one linked admin, and others who get no admin menu."""
    engine = create_engine(harness_database_url)
    await migrate.upgrade(engine)
    async with create_session_factory(engine)() as session, session.begin():
        await add_user(session, role=Role.ADMIN, telegram_id=ROSTER_ADMIN)
        await add_user(session, role=Role.ADMIN, telegram_id=3001, is_active=False)
        await add_user(session, role=Role.ADMIN, telegram_id=None)
        await add_user(session, role=Role.TEACHER, telegram_id=3002)
    await engine.dispose()
    harness, polling = await start_harness(
        fake_api, harness_settings(harness_database_url, fake_api.url, default_language="ru")
    )
    try:
        # The last admin's menu in the last language is the last call made at start.
        await fake_api.wait_for(
            lambda: fake_api.get_commands(chat_scope(ROSTER_ADMIN), MENU_LANGUAGES[-1]),
            message="the admin menus are set at start",
        )
        yield harness
    finally:
        await stop_harness(harness, polling)


def names(commands: list[dict[str, object]]) -> tuple[object, ...]:
    return tuple(command["command"] for command in commands)


async def test_everyone_sees_start_and_help_in_their_language(
    started: BotHarness, fake_api: FakeBotAPI
) -> None:
    for language in (None, "en", "ru"):
        assert names(fake_api.get_commands(None, language)) == PUBLIC_COMMANDS
    descriptions = {
        language: [c["description"] for c in fake_api.get_commands(None, language)]
        for language in (None, "en", "ru")
    }
    assert descriptions["en"] == ["Start the bot", "What I can do for you"]
    assert descriptions["ru"] == ["Запустить бота", "Что я умею"]
    assert descriptions[None] == descriptions["ru"]  # DEFAULT_LANGUAGE=ru


async def test_each_admin_chat_gets_the_admin_list_and_nobody_else_does(
    started: BotHarness, fake_api: FakeBotAPI
) -> None:
    for chat_id in (ADMIN_ID, ROSTER_ADMIN):
        for language in (None, "en", "ru"):
            commands = fake_api.get_commands(chat_scope(chat_id), language)
            assert names(commands) == ADMIN_COMMANDS, (chat_id, language)
    english = fake_api.get_commands(chat_scope(ADMIN_ID), "en")
    assert {"command": "progress", "description": "Progress of a broadcast: [ID]"} in english
    scoped_chats = {
        call.scope["chat_id"]
        for call in fake_api.commands_calls
        if call.scope and call.scope.get("type") == "chat"
    }
    assert scoped_chats == {ADMIN_ID, ROSTER_ADMIN}


async def test_a_failing_menu_is_logged_and_does_not_stop_the_bot(
    fake_api: FakeBotAPI, session_factory, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.set_unauthorized()
    bot = Bot(TEST_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake_api.url)))
    try:
        with caplog.at_level(logging.WARNING, logger="handlers.commands"):
            await set_bot_commands(bot, CATALOG, AccessService(session_factory, [ADMIN_ID]))
    finally:
        await bot.session.close()
    assert fake_api.commands == {}
    assert "Command menu not set" in caplog.text
