"""How fast recipients are written: `materialise_recipients` for all_students over a big roster.

Usage:
    python -m benchmarks.bench_audience [--users 100000] [--postgres URL]

Builds a roster of `--users` reachable students plus one other user for every ten (no
Telegram, blocked the bot, inactive, or a teacher) on a temporary SQLite file, and on
PostgreSQL when --postgres or TEST_DATABASE_URL gives a server (a scratch database is
created there and dropped after), then times one `materialise_recipients` and its commit
per backend and prints time and rows/s.
Target: 100k recipients in under 1 s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import insert, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.models import Base, Broadcast, Role, TargetGroup, User
from db.session import create_engine, create_session_factory
from db.types import utcnow
from services.audience import materialise_recipients

ROSTER_CHUNK = 10_000


def roster_rows(reachable_students: int) -> list[dict[str, object]]:
    """Reachable students, with every eleventh user one the audience must leave out."""
    now = utcnow()
    rows = []
    for number in range(reachable_students + reachable_students // 10):
        left_out = number % 11 == 10
        kind = number // 11 % 4 if left_out else None
        rows.append(
            {
                "external_id": f"U{number:07d}",
                "full_name": f"User {number}",
                "role": Role.TEACHER if kind == 3 else Role.STUDENT,
                "is_active": kind != 2,
                "telegram_id": None if kind == 0 else 10_000_000 + number,
                "bot_blocked_at": now if kind == 1 else None,
                "created_at": now,
            }
        )
    return rows


async def measure(engine: AsyncEngine, users: int) -> tuple[int, float]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
        rows = roster_rows(users)
        for start in range(0, len(rows), ROSTER_CHUNK):
            await connection.execute(insert(User), rows[start : start + ROSTER_CHUNK])
    session_factory = create_session_factory(engine)
    async with session_factory() as session, session.begin():
        broadcast = Broadcast(target_group=TargetGroup.ALL_STUDENTS, message="Benchmark")
        session.add(broadcast)
    started = time.perf_counter()
    async with session_factory() as session, session.begin():
        written = await materialise_recipients(session, broadcast.id, "all_students", None)
    return written, time.perf_counter() - started


@asynccontextmanager
async def scratch_postgres(server_url: str) -> AsyncIterator[str]:
    base = make_url(server_url)
    name = f"bench_audience_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def report(backend: str, written: int, seconds: float) -> None:
    rate = written / seconds
    print(f"{backend:<10} {written:>8} recipients in {seconds:.3f} s ({rate:,.0f} rows/s)")


async def run(users: int, postgres_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}")
        try:
            report("sqlite", *await measure(engine, users))
        finally:
            await engine.dispose()
    if postgres_url:
        async with scratch_postgres(postgres_url) as url:
            engine = create_engine(url)
            try:
                report("postgresql", *await measure(engine, users))
            finally:
                await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users", type=int, default=100_000, help="reachable students, i.e. recipients written"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server URL (default: TEST_DATABASE_URL)",
    )
    arguments = parser.parse_args()
    asyncio.run(run(arguments.users, arguments.postgres))


if __name__ == "__main__":
    main()
