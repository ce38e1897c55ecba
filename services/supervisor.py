"""The supervisor: no `sending` broadcast stays without a sender for long.

A run can end while its broadcast is still `sending` (a bug in a worker, a lost lease),
and a bot instance can crash; before, such a broadcast stayed frozen until someone
restarted the bot. Every few seconds (`LeaseTerms.sweep`) the supervisor has the sender
resume what needs it (`BroadcastSender.resume_all`): broadcasts whose lease this instance
holds with no live run, and broadcasts whose lease is free or has expired (another
instance stopped or crashed). Each one started is handed to `on_started`, which the
launcher uses to follow its progress message again, as after a restart. It is one asyncio
task per process, started once the broadcasts left at start have been resumed and
stopped first at shutdown, so a stopping instance takes nothing new.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class SendSupervisor:
    """Calls `resume` every `interval` seconds; tells `on_started` what it started."""

    def __init__(
        self,
        resume: Callable[[], Awaitable[list[int]]],
        interval: float,
        on_started: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        self._resume = resume
        self._interval = interval
        self._on_started = on_started
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name="send-supervisor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    async def sweep(self) -> list[int]:
        """One look: the broadcasts it started (none when the database is away)."""
        try:
            started = await self._resume()
        except Exception:  # the database is away, or a broadcast is broken: next sweep
            logger.warning("Sending supervisor: the sweep failed", exc_info=True)
            return []
        for broadcast_id in started:
            logger.warning("Broadcast %s: resumed by the supervisor", broadcast_id)
            if self._on_started is not None:
                try:
                    await self._on_started(broadcast_id)
                except Exception:  # the progress message is not worth stopping for
                    logger.warning("Broadcast %s: could not follow its progress", broadcast_id)
        return started

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.sweep()
