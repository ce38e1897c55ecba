"""Quiet hours: the school's nightly window (`QUIET_HOURS`, in `TIMEZONE`) in which only
urgent broadcasts are sent.

`QuietHours` is the pure rule: given an aware `now`, is it inside the window and when
does the window end, as an aware datetime. The window may cross midnight (21:00-07:00),
and its end is the wall-clock time on the right local day, so the night the clocks change
lasts an hour more or less, not a fixed number of hours. An end the clocks skip (02:30 on
the night they go forward) is read with the offset before the change, as zoneinfo does:
an hour later on the new clock, never inside the window again.

`QuietGate` is what the sending engine and the screens ask: the rule with a clock, and a
`wake` that makes every waiting run look at the clock again, so tests move an injected
clock across the boundary instead of waiting real hours. `waits_for_quiet_hours` says
which runs it holds, for the engine and for progress read from the rows alike.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.models import BroadcastKind
from db.types import utcnow

MAX_NAP = 60.0
"""Seconds a waiting run sleeps at most before it reads the clock again (a clock that was
set, a machine that slept)."""

Clock = Callable[[], datetime]
"""The current time, aware."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From `start` (included) to `end` (excluded), local wall-clock times in `tz`; when
    `start` is later than `end` the window crosses midnight."""

    start: time
    end: time
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours need a start and an end that differ")

    def _inside(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def contains(self, now: datetime) -> bool:
        """Whether the aware `now` falls inside quiet hours."""
        return self._inside(now.astimezone(self.tz).time().replace(tzinfo=None))

    def end_after(self, now: datetime) -> datetime | None:
        """When the quiet hours that `now` falls in end (aware, in `tz`); None outside them."""
        local = now.astimezone(self.tz)
        clock = local.time().replace(tzinfo=None)
        if not self._inside(clock):
            return None
        day = local.date()
        if self.start > self.end and clock >= self.start:  # the evening part: ends tomorrow
            day += timedelta(days=1)
        # through UTC, so a wall time the clocks skip becomes the real time it stands for
        return datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)


def waits_for_quiet_hours(kind: BroadcastKind, urgent: bool) -> bool:
    """Whether a run waits while quiet hours last: an announcement unless it is urgent, a
    reminder always (it is never urgent), an edit or a delete never (a correction rings
    nobody's phone, and the wrong text should not stand until morning)."""
    if kind is BroadcastKind.ANNOUNCEMENT:
        return not urgent
    return kind is BroadcastKind.REMINDER


class QuietGate:
    """Quiet hours (or none) with the clock they are read by; `wake` after moving the
    clock makes every `nap` return at once."""

    def __init__(self, hours: QuietHours | None, clock: Clock = utcnow) -> None:
        self.hours = hours
        self.clock = clock
        self._moved = asyncio.Event()
        self.waiting = 0
        """How many senders wait for quiet hours to end right now."""

    def until(self, at: datetime | None = None) -> datetime | None:
        """When the quiet hours around `at` (default: now) end; None outside them."""
        if self.hours is None:
            return None
        return self.hours.end_after(at or self.clock())

    def start_of(self, urgent: bool, at: datetime | None = None) -> datetime | None:
        """When a broadcast that would start at `at` (default: now) really starts: the end
        of quiet hours, or None when at once (outside them, or it is urgent)."""
        return None if urgent else self.until(at)

    async def nap(self, until: datetime) -> None:
        """Sleep until `until` by the clock (at most MAX_NAP seconds) or a `wake`."""
        moved = self._moved
        # timestamps: subtracting two times in one zone would ignore a clock change between
        delay = min(max(until.timestamp() - self.clock().timestamp(), 0.0), MAX_NAP)
        self.waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), delay)
        finally:
            self.waiting -= 1

    def wake(self) -> None:
        """The clock moved: every run waiting in `nap` looks at it again."""
        self._moved.set()
        self._moved = asyncio.Event()
