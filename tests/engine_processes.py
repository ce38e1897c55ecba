"""Several sending engines at once, each in a child process (`tests.sender_process`) with
a SQLite database and a broadcast of its own, all against one Bot API server: the
shared-budget test and `benchmarks.bench_shared_budget` run them this way.

Engine i sends to the chats `first_chat_id + i * recipients` onwards; every database is
seeded before the first engine starts, so they start sending together.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from db.models import Base
from db.session import create_engine, create_session_factory
from tests.sender_process import seed_broadcast

Process = asyncio.subprocess.Process


async def seed_database(database_url: str, recipients: int, first_chat_id: int) -> None:
    """A fresh schema with one broadcast in `sending` to `recipients` new students."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await seed_broadcast(
            create_session_factory(engine), recipients, first_chat_id=first_chat_id
        )
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def running_engines(
    folder: Path,
    api_url: str,
    *,
    count: int,
    recipients: int,
    rate: float,
    first_chat_id: int,
    redis_url: str | None = None,
    namespace: str | None = None,
    jitter_margin: float | None = None,
) -> AsyncIterator[list[Process]]:
    """`count` engine processes, sharing their budget through `redis_url` if given (else
    each with its own), with the limiter's default margin unless `jitter_margin` is given;
    any still running on the way out is killed."""
    databases = [f"sqlite+aiosqlite:///{folder / f'engine-{i}.sqlite3'}" for i in range(count)]
    for i, database_url in enumerate(databases):
        await seed_database(database_url, recipients, first_chat_id + i * recipients)
    options = [] if jitter_margin is None else ["--jitter-margin", str(jitter_margin)]
    if redis_url is not None:
        options += ["--redis", redis_url]
        if namespace is not None:
            options += ["--redis-namespace", namespace]
    processes: list[Process] = []
    try:
        for database_url in databases:
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.sender_process",
                    "--database",
                    database_url,
                    "--api",
                    api_url,
                    "--rate",
                    str(rate),
                    *options,
                    stdout=asyncio.subprocess.PIPE,
                )
            )
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def finished(processes: list[Process]) -> None:
    """Until every engine has sent its broadcast and exited; raises if one failed."""
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    for process, (output, _) in zip(processes, outputs, strict=True):
        if process.returncode != 0 or b"DONE" not in output:
            raise RuntimeError(f"an engine ended with {process.returncode}: {output!r}")
