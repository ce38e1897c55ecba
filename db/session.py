"""The async engine and session factory.

SQLite gets WAL, a busy timeout and enforced foreign keys so the sender, the scheduler
and the handlers can share one file; its folder is created on first use. Its `lower()`
is made Unicode-aware like PostgreSQL's, so case-insensitive search (`icontains`) also
matches Cyrillic names.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]

SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds an SQLite statement waits for another connection's write lock before failing."""


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(busy_timeout: float, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
    cursor.close()
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def create_engine(
    url: str, *, sqlite_busy_timeout: float = SQLITE_BUSY_TIMEOUT, **kwargs: Any
) -> AsyncEngine:
    """An engine for `url`; SQLite files get their folder and pragmas."""
    if make_url(url).get_backend_name() == "sqlite":
        _ensure_sqlite_folder(url)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", partial(_configure_sqlite, sqlite_busy_timeout))
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
