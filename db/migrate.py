"""Applying Alembic migrations from inside the program (at start and via `run_bot.py migrate`).

An upgrade reports its outcome in one line at INFO ("Database is up to date (revision
0002)", "Database migrated from 0001 to 0002"); Alembic's own lines (the dialect, each
step) are for DEBUG (see `bot.cli.configure_logging`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

logger = logging.getLogger(__name__)


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _current(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(heads) if heads else None


def _upgrade(connection: Connection, revision: str) -> str:
    before = _current(connection)
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    after = _current(connection)
    if after == before:
        return f"Database is up to date (revision {after})"
    if before is None:
        return f"Database migrated to {after} (it was empty)"
    return f"Database migrated from {before} to {after}"


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head", *, report: bool = True) -> str:
    """Bring the database up to `revision` (all pending migrations by default) and return
    the outcome in words; it is logged at INFO unless `report` is false (the caller says
    it instead)."""
    async with engine.begin() as connection:
        outcome = await connection.run_sync(_upgrade, revision)
    if report:
        logger.info("%s", outcome)
    return outcome


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, revision)
