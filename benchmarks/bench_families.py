"""How fast a family audience is written: "parents of all students" materialised over a big
roster with guardian links.

Usage:
    python -m benchmarks.bench_families [--students 100000] [--postgres URL]

Builds `--students` active students (one in 50 inactive) and their families on a temporary
SQLite file, and on PostgreSQL when --postgres or TEST_DATABASE_URL gives a server (a
scratch database, dropped after): every student has one parent and every other student a
second (1.5 links per student: 150k for 100k), two students in ten are the brother or
sister of the one before and share their parents, and one parent in eleven is left out (no
Telegram, blocked the bot, or inactive). Then it times, per backend, one
`materialise_recipients` of all_students with `include: parents` and its commit, and the
preview's count of the same audience with its families, and prints times and rows/s.
PostgreSQL's statistics are gathered first (ANALYZE), as autovacuum and the roster import
do: without any, its planner takes the tables for near empty and walks every student for
every user.
Target: under 1.5 s on SQLite for 100k students and 150k links.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.bench_audience import ROSTER_CHUNK, scratch_postgres
from db.models import Base, Broadcast, GuardianLink, Role, TargetGroup, User
from db.session import create_engine, create_session_factory
from db.types import utcnow
from services.audience import count_audience, materialise_recipients
from services.targets import parse_target

TARGET = {"include": "parents"}


def family_rows(students: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(users, guardian links) as described in the module docstring, with explicit ids."""
    now = utcnow()
    users: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []

    def add(role: Role, number: int, *, active: bool = True, kind: int | None = None) -> int:
        user_id = len(users) + 1
        users.append(
            {
                "id": user_id,
                "external_id": f"{role.value[0].upper()}{number:07d}",
                "full_name": f"{role.value.title()} {number}",
                "role": role,
                "is_active": active and kind != 2,
                "telegram_id": None if kind == 0 else 10_000_000 + user_id,
                "bot_blocked_at": now if kind == 1 else None,
                "class_name": f"{number % 11 + 1}{'АБВГ'[number % 4]}"
                if role is Role.STUDENT
                else None,
                "created_at": now,
            }
        )
        return user_id

    parents = 0
    family: list[int] = []
    for number in range(students):
        student = add(Role.STUDENT, number, active=number % 50 != 49)
        # A new family, except for the siblings: the 5th of ten joins the 4th's (one
        # parent) and the 10th the 9th's (two), so there are still 1.5 links per student.
        if number % 10 not in (4, 9) or not family:
            family = []
            for _ in range(2 if number % 2 == 0 else 1):
                kind = parents // 11 % 3 if parents % 11 == 10 else None
                family.append(add(Role.PARENT, parents, kind=kind))
                parents += 1
        links.extend({"guardian_id": parent, "student_id": student} for parent in family)
    return users, links


async def measure(engine: AsyncEngine, students: int) -> dict[str, float | int]:
    users, links = family_rows(students)
    for row in users:
        if row["class_name"] is not None:
            row["class_key"] = row["class_name"].casefold()
        else:
            row["class_key"] = None
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
        for table, rows in ((User, users), (GuardianLink, links)):
            for start in range(0, len(rows), ROSTER_CHUNK):
                await connection.execute(insert(table), rows[start : start + ROSTER_CHUNK])
    if engine.dialect.name == "postgresql":  # as autovacuum, or the roster import, would
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    session_factory = create_session_factory(engine)
    async with session_factory() as session, session.begin():
        broadcast = Broadcast(
            target_group=TargetGroup.ALL_STUDENTS, target_filter=TARGET, message="Benchmark"
        )
        session.add(broadcast)
    started = time.perf_counter()
    async with session_factory() as session, session.begin():
        written = await materialise_recipients(session, broadcast.id, "all_students", TARGET)
    materialised = time.perf_counter() - started
    group, parsed = parse_target("all_students", TARGET)
    started = time.perf_counter()
    async with session_factory() as session:
        preview = await count_audience(session, group, parsed, families=True)
    counted = time.perf_counter() - started
    return {
        "students": students,
        "links": len(links),
        "written": written,
        "materialised": materialised,
        "people": preview.total,
        "families": preview.families or 0,
        "counted": counted,
    }


def report(backend: str, figures: dict[str, float | int]) -> None:
    print(
        f"{backend:<10} {figures['students']:,} students, {figures['links']:,} links: "
        f"{figures['written']:,} parents written in {figures['materialised']:.3f} s "
        f"({figures['written'] / figures['materialised']:,.0f} rows/s); preview of "
        f"{figures['families']:,} families, {figures['people']:,} people in "
        f"{figures['counted']:.3f} s"
    )


async def run(students: int, postgres_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}")
        try:
            report("sqlite", await measure(engine, students))
        finally:
            await engine.dispose()
    if postgres_url:
        async with scratch_postgres(postgres_url) as url:
            engine = create_engine(url)
            try:
                report("postgresql", await measure(engine, students))
            finally:
                await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000, help="students in the roster")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server URL (default: TEST_DATABASE_URL)",
    )
    arguments = parser.parse_args()
    asyncio.run(run(arguments.students, arguments.postgres))


if __name__ == "__main__":
    main()
