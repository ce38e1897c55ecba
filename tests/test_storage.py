"""Conversation state storage: in memory by default, in Redis when REDIS_URL is set, so a
half-composed broadcast survives a restart."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.factory import create_storage
from core.settings import Settings
from tests.conftest import TEST_TOKEN

KEY = StorageKey(bot_id=123456, chat_id=1000, user_id=42)


def settings_with(redis_url: str | None) -> Settings:
    return Settings(_env_file=None, bot_token=TEST_TOKEN, redis_url=redis_url)


async def test_memory_storage_without_redis_url() -> None:
    storage = create_storage(settings_with(None))
    assert isinstance(storage, MemoryStorage)


async def test_state_in_redis_outlives_the_storage_object(redis_url: str) -> None:
    first = create_storage(settings_with(redis_url))
    assert isinstance(first, RedisStorage)
    await first.set_state(KEY, "compose:content")
    await first.set_data(KEY, {"target_group": "all_students"})
    await first.close()

    second = create_storage(settings_with(redis_url))
    try:
        assert await second.get_state(KEY) == "compose:content"
        assert await second.get_data(KEY) == {"target_group": "all_students"}
    finally:
        await second.close()


async def test_each_destiny_has_its_own_redis_key(redis_url: str) -> None:
    """aiogram-dialog keeps a wizard's stack and each of its contexts under a destiny of
    their own, next to the chat's plain state: none may overwrite another."""
    storage = create_storage(settings_with(redis_url))
    stack = StorageKey(bot_id=KEY.bot_id, chat_id=1000, user_id=1000, destiny="aiogd:stack:")
    context = StorageKey(bot_id=KEY.bot_id, chat_id=1000, user_id=1000, destiny="aiogd:context:abc")
    plain = StorageKey(bot_id=KEY.bot_id, chat_id=1000, user_id=1000)
    try:
        await storage.set_data(stack, {"intents": ["abc"]})
        await storage.set_data(context, {"state": "ComposeStates:audience"})
        await storage.set_data(plain, {"broadcasts_search": "exam"})
        assert await storage.get_data(stack) == {"intents": ["abc"]}
        assert await storage.get_data(context) == {"state": "ComposeStates:audience"}
        assert await storage.get_data(plain) == {"broadcasts_search": "exam"}
    finally:
        await storage.close()
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        assert sorted(await redis.keys("*")) == [
            "fsm:1000:1000:aiogd:context:abc:data",
            "fsm:1000:1000:aiogd:stack::data",
            "fsm:1000:1000:default:data",
        ]
    finally:
        await redis.aclose()
