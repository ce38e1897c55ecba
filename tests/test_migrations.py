"""Migrations: a stairway (upgrade, downgrade, upgrade for every revision) and agreement
between the models and the migrations (autogenerate finds nothing to do)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from db import migrate
from db.models import Base
from db.session import create_engine

REVISIONS = [
    script.revision
    for script in reversed(
        list(ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions())
    )
]


@pytest.fixture
async def empty_engine(database_url: str):
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    yield engine
    await engine.dispose()


async def test_stairway_upgrade_downgrade_upgrade_each_revision(empty_engine) -> None:
    previous = "base"
    for revision in REVISIONS:
        await migrate.upgrade(empty_engine, revision)
        await migrate.downgrade(empty_engine, previous)
        await migrate.upgrade(empty_engine, revision)
        previous = revision
    async with empty_engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert set(Base.metadata.tables) <= tables


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(empty_engine) -> None:
    await migrate.upgrade(empty_engine)
    async with empty_engine.connect() as connection:
        differences = await connection.run_sync(_diff)
    assert differences == []


async def test_downgrade_to_base_removes_every_table(empty_engine) -> None:
    await migrate.upgrade(empty_engine)
    await migrate.downgrade(empty_engine, "base")
    async with empty_engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert tables & set(Base.metadata.tables) == set()
