"""Shared fixtures: a fresh database per test on SQLite, and on PostgreSQL too when
TEST_DATABASE_URL is set; settings built for tests.

Each pytest process gets its own PostgreSQL database (created from TEST_DATABASE_URL's
server and dropped at the end), so parallel runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.settings import Settings
from db.models import Base
from db.session import SessionFactory, create_engine, create_session_factory

pytest_plugins = ["tests.bot_harness", "tests.redis_db"]

TEST_TOKEN = "123456:TEST-TOKEN"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
DATABASE_BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep what the imports and collection built out of the garbage collector, as the bot
    does at start (bot/app.py): a full collection of it stalls the event loop for 0.1-0.4 s
    here, long enough for paced requests to bunch up and draw 429s in the flood tests."""
    gc.freeze()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL database for this pytest process."""
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    base = make_url(POSTGRES_URL)
    name = f"bot_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty schema built from the models."""
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=TEST_TOKEN,
        admin_ids=[1000],
        database_url=database_url,
        retry_delays=[0.05, 0.1, 0.2],
        progress_edit_interval=0.2,
        default_language="en",
    )
