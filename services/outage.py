"""Riding out a database outage: a sending run retries its database calls until they
succeed, and says it is paused meanwhile.

Before, one failed write of results ended the run and left the broadcast `sending` with
nobody sending it until the bot was restarted. Now every database call of a run (writing
results, reading who is due, setting the final status) goes through an `OutageGuard`:
it is retried with a growing delay (0.25 s doubling up to 2 s) for as long as it
fails, and the run is paused while any call fails or has hung for STALLED_AFTER seconds
(an SQLite statement waits out its whole busy timeout before it fails); the live
progress message says so.
Nothing is lost and nothing is sent again: results stay buffered and each worker still
waits for its own result to be durable, so sending stops by itself. The one error not
retried is the one that means retrying is pointless (the lease went to another
instance); a run that is stopped cancels its calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY = 0.25
LONGEST_DELAY = 2.0
STALLED_AFTER = 3.0
"""A call still waiting after this many seconds (an SQLite write lock held elsewhere, a
connection that hangs) pauses the run as a failure would: the progress message says so."""


class OutageGuard:
    """Retries the database calls of one run; tells `on_pause` when the run becomes
    paused (a call fails or stalls) and when it goes on (no call fails or stalls any more)."""

    def __init__(
        self,
        on_pause: Callable[[bool], None],
        *,
        give_up: tuple[type[Exception], ...] = (),
        first_delay: float = FIRST_DELAY,
        longest_delay: float = LONGEST_DELAY,
        stalled_after: float = STALLED_AFTER,
    ) -> None:
        self._on_pause = on_pause
        self._give_up = give_up
        self._first_delay = first_delay
        self._longest_delay = longest_delay
        self._stalled_after = stalled_after
        self._troubled = 0  # calls failing or stalled right now

    @property
    def paused(self) -> bool:
        return self._troubled > 0

    async def call(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        """`operation()` until it succeeds; `what` names it in the log."""
        loop = asyncio.get_running_loop()
        delay = self._first_delay
        troubled = failed = False

        def trouble() -> None:
            nonlocal troubled
            if not troubled:
                troubled = True
                self._troubled += 1
                if self._troubled == 1:
                    self._on_pause(True)

        try:
            while True:
                stalled = loop.call_later(self._stalled_after, trouble)
                try:
                    result = await operation()
                except self._give_up:
                    raise
                except Exception:  # the database is away (or locked): try again later
                    logger.warning(
                        "%s failed; retrying in %.2g s", what, delay, exc_info=not failed
                    )
                    failed = True
                    trouble()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._longest_delay)
                    continue
                finally:
                    stalled.cancel()
                if troubled:
                    logger.info("%s went through again", what)
                    troubled = False
                    self._troubled -= 1
                    if self._troubled == 0:
                        self._on_pause(False)
                return result
        finally:
            if troubled:  # cancelled or given up while in trouble: no longer counts
                self._troubled -= 1
