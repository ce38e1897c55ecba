"""Batching of delivery results: one transaction per batch, yet a wait per result.

Writing every result in a transaction of its own would cap the engine at what the
database commits per second; writing them in batches alone would let a worker go on before
its result is saved. The buffer does both: workers hand in results one by one and each
`record` returns only once the batch holding its result is written, which is what the
sender's bound on duplicates after a crash rests on.

The write it is given rides out database outages itself (services/outage.py), so a
batch that cannot be written is one that must not be: the run lost its lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Result = TypeVar("Result")


class NotRecorded(Exception):
    """The batch holding a result could not be written."""


class ResultBuffer(Generic[Result]):
    """Collects results and writes them in batches; `record` returns once its result is
    durable. A batch is written when it holds `max_size` results or its first result has
    waited `max_delay` seconds; results arriving during a write form the next batch."""

    def __init__(
        self,
        write: Callable[[list[Result]], Awaitable[None]],
        on_failure: Callable[[], None],
        max_size: int,
        max_delay: float,
    ) -> None:
        self._write = write
        self._on_failure = on_failure
        self._max_size = max_size
        self._max_delay = max_delay
        self._loop = asyncio.get_running_loop()
        self._results: list[Result] = []
        self._durable: asyncio.Future[None] = self._loop.create_future()
        self._due = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None

    async def record(self, result: Result) -> None:
        self._results.append(result)
        durable = self._durable
        if len(self._results) >= self._max_size:
            self._due.set()
        elif self._timer is None:
            self._timer = self._loop.call_later(self._max_delay, self._due.set)
        await asyncio.shield(durable)

    async def run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            batch, durable = self._results, self._durable
            self._results, self._durable = [], self._loop.create_future()
            if not batch:
                durable.set_result(None)
                continue
            try:
                await self._write(batch)
            except Exception as error:
                logger.exception("Could not record %d delivery results", len(batch))
                durable.set_exception(NotRecorded(str(error)))
                self._on_failure()
            else:
                durable.set_result(None)
