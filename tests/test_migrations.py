"""Migrations: a stairway (upgrade, downgrade, upgrade for every revision), agreement
between the models and the migrations (autogenerate finds nothing to do), and the data
a revision moves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import column, insert, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import migrate
from db.models import (
    Base,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    Role,
    TargetGroup,
    User,
)
from db.session import create_engine, create_session_factory

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


DEACTIVATED_REVISION = "0005"
MARKED_AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def insert_only(session: AsyncSession, table_name: str, **values: Any) -> int:
    """A row written with just these columns; the model's defaults would also fill columns
    that later revisions add. Its id."""
    model = Base.metadata.tables[table_name]
    columns = [column(name, model.c[name].type) for name in ("id", *values)]
    statement = insert(table(table_name, *columns)).values(values).returning(columns[0])
    return int((await session.execute(statement)).scalar_one())


async def blocked_user(session: AsyncSession, name: str) -> int:
    """A user marked blocked."""
    return await insert_only(
        session,
        User.__tablename__,
        external_id=name,
        full_name=name,
        role=Role.STUDENT,
        bot_blocked_at=MARKED_AT,
        created_at=MARKED_AT,
    )


async def failed_recipient(
    session: AsyncSession, broadcast_id: int, user_id: int, error_code: str
) -> None:
    await insert_only(
        session,
        BroadcastRecipient.__tablename__,
        broadcast_id=broadcast_id,
        recipient_id=user_id,
        status=RecipientStatus.FAILED,
        error_code=error_code,
    )


async def user_marks(engine: AsyncEngine, *columns: str) -> dict[str, tuple[Any, ...]]:
    users = Base.metadata.tables[User.__tablename__]
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(users.c.external_id, *(users.c[name] for name in columns))
        )
        return {name: tuple(marks) for name, *marks in rows}


async def test_deleted_accounts_marked_blocked_get_their_own_mark_and_back(
    empty_engine: AsyncEngine,
) -> None:
    """Before 0005 "user is deactivated" set bot_blocked_at: users whose failures say so
    move to telegram_deactivated_at (same time); a downgrade folds the mark back."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    before = script.get_revision(DEACTIVATED_REVISION).down_revision
    assert isinstance(before, str)
    await migrate.upgrade(empty_engine, before)
    async with create_session_factory(empty_engine)() as session, session.begin():
        deleted, blocked = (
            await blocked_user(session, "deleted"),
            await blocked_user(session, "blocked"),
        )
        broadcast = await insert_only(
            session,
            Broadcast.__tablename__,
            target_group=TargetGroup.ALL_STUDENTS,
            target_filter={},
            message="Hello, school",
            error_log=[],
            status=BroadcastStatus.COMPLETED,
            created_at=MARKED_AT,
            updated_at=MARKED_AT,
        )
        await failed_recipient(session, broadcast, deleted, "deactivated")
        await failed_recipient(session, broadcast, blocked, "blocked")

    await migrate.upgrade(empty_engine, DEACTIVATED_REVISION)
    assert await user_marks(empty_engine, "bot_blocked_at", "telegram_deactivated_at") == {
        "deleted": (None, MARKED_AT),
        "blocked": (MARKED_AT, None),
    }
    await migrate.downgrade(empty_engine, before)
    assert await user_marks(empty_engine, "bot_blocked_at") == {
        "deleted": (MARKED_AT,),
        "blocked": (MARKED_AT,),
    }
