"""Conversation state storage: in memory by default, in Redis when REDIS_URL is set, so a
half-composed broadcast survives a restart."""

from __future__ import annotations

import os
import uuid

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage

from bot.factory import create_storage
from core.settings import Settings
from tests.conftest import TEST_TOKEN

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def settings_with(redis_url: str | None) -> Settings:
    return Settings(_env_file=None, bot_token=TEST_TOKEN, redis_url=redis_url)


async def test_memory_storage_without_redis_url() -> None:
    storage = create_storage(settings_with(None))
    assert isinstance(storage, MemoryStorage)


async def test_state_in_redis_outlives_the_storage_object() -> None:
    key = StorageKey(bot_id=123456, chat_id=uuid.uuid4().int % 10**9, user_id=42)
    first = create_storage(settings_with(REDIS_URL))
    assert isinstance(first, RedisStorage)
    await first.set_state(key, "compose:content")
    await first.set_data(key, {"target_group": "all_students"})
    await first.close()

    second = create_storage(settings_with(REDIS_URL))
    try:
        assert await second.get_state(key) == "compose:content"
        assert await second.get_data(key) == {"target_group": "all_students"}
    finally:
        await second.set_state(key, None)
        await second.set_data(key, {})
        await second.close()
