"""Time and peak memory of the roster import on a big generated roster, fresh and again.

Usage:
    python -m benchmarks.bench_roster [--users 200000] [--postgres URL]

Writes a roster of `--users` users into a temporary folder: per 1,000 users 800 students,
60 teachers, 20 tutors, 118 parents and 2 admins, seven in ten with a Telegram id; every
student takes 3 of 20 subjects (one in ten of them without a teacher) and one student in
four has a tutor, so 200,000 users come with 480,000 enrollments and 40,000 tutoring rows.
Then, on a temporary SQLite file and on PostgreSQL when --postgres or TEST_DATABASE_URL
gives a server (a scratch database is created there and dropped after), it imports the
roster into an empty schema, then imports the same files again (everything unchanged).
Each import runs in a child process of its own, as `run_bot.py import-roster` would, and
the figures are the import's time inside that child and the child's peak RSS (from
`os.wait4`), next to the peak RSS of a child that only loads the same modules.
Target: 200k users in under 12 s and 300 MB on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_audience import scratch_postgres
from db.models import Base
from db.session import create_engine, create_session_factory
from services.roster import import_roster

SUBJECTS = [
    "Mathematics",
    "Physics",
    "Chemistry",
    "Biology",
    "Russian Language",
    "Literature",
    "English",
    "German",
    "History",
    "Social Studies",
    "Geography",
    "Computer Science",
    "Art",
    "Music",
    "Physical Education",
    "Technology",
    "Astronomy",
    "Economics",
    "Law",
    "Life Safety",
]
FIRST_NAMES = ["Анна", "Борис", "Мария", "Dmitry", "Ольга", "Ivan", "Екатерина", "Sergey"]
LAST_NAMES = ["Иванова", "Petrov", "Смирнова", "Kuznetsov", "Волкова", "Sokolov", "Попова"]
SUBJECTS_PER_STUDENT = 3


def role_of(number: int) -> str:
    """Per 1,000 users: 800 students, 60 teachers, 20 tutors, 118 parents, 2 admins."""
    slot = number % 1000
    for role, end in (("student", 800), ("teacher", 860), ("tutor", 880), ("parent", 998)):
        if slot < end:
            return role
    return "admin"


def telegram_id_of(number: int) -> int:
    """Distinct, scattered like real Telegram ids (7919 is prime: a permutation mod 9e8)."""
    return 100_000_000 + number * 7919 % 900_000_000


def write_roster(folder: Path, users: int) -> dict[str, Path]:
    """users.csv, enrollments.csv and tutoring.csv of the shape in the module docstring."""
    paths = {name: folder / f"{name}.csv" for name in ("users", "enrollments", "tutoring")}
    ids_by_role: dict[str, list[str]] = {}
    with paths["users"].open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["external_id", "full_name", "email", "role", "telegram_id", "is_active", "language"]
        )
        for number in range(users):
            role = role_of(number)
            external_id = f"{role[0].upper()}{number:07d}"
            ids_by_role.setdefault(role, []).append(external_id)
            name = f"{LAST_NAMES[number % 7]} {FIRST_NAMES[number % 8]} {number}"
            with_email = role in ("teacher", "admin") or number % 2 == 0
            writer.writerow(
                [
                    external_id,
                    name,
                    f"user{number}@school.example.org" if with_email else "",
                    role,
                    str(telegram_id_of(number)) if number % 10 < 7 else "",
                    "false" if number % 50 == 49 else "true",
                    ("ru", "en", "")[number % 3],
                ]
            )
    students, teachers, tutors = (
        ids_by_role["student"],
        ids_by_role["teacher"],
        ids_by_role["tutor"],
    )
    with paths["enrollments"].open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["student_external_id", "subject", "teacher_external_id"])
        for number, student in enumerate(students):
            for offset in range(SUBJECTS_PER_STUDENT):
                subject = (number + offset * 7) % len(SUBJECTS)
                teacher = (
                    ""
                    if (number + offset) % 10 == 0
                    else teachers[(number + offset) % len(teachers)]
                )
                writer.writerow([student, SUBJECTS[subject], teacher])
    with paths["tutoring"].open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["tutor_external_id", "student_external_id"])
        for number, student in enumerate(students[::4]):
            writer.writerow([tutors[number % len(tutors)], student])
    return paths


async def create_schema(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()


async def child_import(url: str, folder: Path) -> None:
    """In the child: one import, then its time and summary as JSON on stdout."""
    engine = create_engine(url)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = await import_roster(
            create_session_factory(engine),
            folder / "users.csv",
            folder / "enrollments.csv",
            folder / "tutoring.csv",
        )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        await engine.dispose()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "summary": report.summary_lines()}))


def run_child(*arguments: str) -> tuple[dict[str, object], float]:
    """Runs this module as a child with `arguments`; its JSON output and peak RSS in MB."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_roster", *arguments], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"child {arguments} exited with {child.returncode}")
    return json.loads(output or b"{}"), usage.ru_maxrss / 1024  # KiB on Linux


def measure(backend: str, url: str, folder: Path) -> None:
    asyncio.run(create_schema(url))
    for run in ("fresh", "re-import"):
        result, peak_mb = run_child("--child", url, str(folder))
        print(
            f"{backend:<10} {run:<9} {result['seconds']:6.2f} s (CPU {result['cpu']:5.2f} s)"
            f"  peak RSS {peak_mb:4.0f} MB"
        )
        for line in result["summary"]:  # type: ignore[attr-defined]
            print(f"{'':21}{line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200_000, help="users in users.csv")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server URL (default: TEST_DATABASE_URL)",
    )
    parser.add_argument("--child", nargs=2, metavar=("URL", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--idle-child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.idle_child:
        print("{}")
        return
    if arguments.child:
        url, folder = arguments.child
        asyncio.run(child_import(url, Path(folder)))
        return

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        paths = write_roster(folder, arguments.users)
        rows = {key: sum(1 for _ in path.open(encoding="utf-8")) - 1 for key, path in paths.items()}
        print(
            f"roster: {rows['users']:,} users, {rows['enrollments']:,} enrollments, "
            f"{rows['tutoring']:,} tutoring rows (written in {time.perf_counter() - started:.1f} s)"
        )
        load, cores = os.getloadavg()[0], os.cpu_count()
        print(f"load average {load:.1f} on {cores} cores (times grow when it exceeds them)")
        _, idle_mb = run_child("--idle-child")
        print(f"a child that only loads the modules peaks at {idle_mb:.0f} MB")
        measure("sqlite", f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}", folder)
        if arguments.postgres:

            async def scratch() -> None:
                async with scratch_postgres(arguments.postgres) as url:
                    await asyncio.to_thread(measure, "postgresql", url, folder)

            asyncio.run(scratch())


if __name__ == "__main__":
    main()
