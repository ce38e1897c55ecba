"""A Redis database of its own for each test that asks for `redis_url` (and for a
benchmark that runs the bot with Redis).

The Redis server (TEST_REDIS_URL, default 127.0.0.1:6379) is shared by every pytest
process on the machine, so a test never flushes a database another may be using: it
claims a numbered database (1-15) with a key in database 0 that only it can set, empties
it, and empties and releases it at the end. A claim expires by itself if its process is
killed. Database 0 holds only the claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from redis.asyncio import Redis

REDIS_SERVER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
TEST_DATABASES = range(1, 16)  # a default Redis server has 16
CLAIM_SECONDS = 900  # longer than any test; a killed run's claims lapse by themselves
CLAIM_TIMEOUT = 120.0


def server_answers() -> bool:
    """Whether the Redis server answers, for tests that skip without it (CI has it)."""
    client = redis.Redis.from_url(database_url(0), socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def database_url(number: int) -> str:
    """REDIS_SERVER with database `number`."""
    return urlunsplit(urlsplit(REDIS_SERVER)._replace(path=f"/{number}"))


def claim_key(number: int) -> str:
    return f"test-database-claim:{number}"


async def claim_database(registry: Redis, token: str) -> int:
    """The number of a database claimed for `token`, waiting while all are in use."""
    deadline = time.monotonic() + CLAIM_TIMEOUT
    while True:
        for number in TEST_DATABASES:
            if await registry.set(claim_key(number), token, nx=True, ex=CLAIM_SECONDS):
                return number
        if time.monotonic() > deadline:
            raise AssertionError(f"every Redis test database is in use ({REDIS_SERVER})")
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def claimed_database() -> AsyncIterator[str]:
    """The URL of an empty Redis database that nobody else uses until the block ends
    (then it is emptied and released)."""
    registry = Redis.from_url(database_url(0))
    token = uuid.uuid4().hex
    number = await claim_database(registry, token)
    url = database_url(number)
    database = Redis.from_url(url)
    await database.flushdb()
    try:
        yield url
    finally:
        await database.flushdb()
        await database.aclose()
        if await registry.get(claim_key(number)) == token.encode():
            await registry.delete(claim_key(number))
        await registry.aclose()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The URL of an empty Redis database that no other test uses meanwhile."""
    async with claimed_database() as url:
        yield url
