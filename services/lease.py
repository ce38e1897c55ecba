"""Leases on broadcasts: one bot instance sends each broadcast, however many instances run.

Two instances on one database (a deploy that starts the new process before the old one
has stopped, or replicas) must never send the same broadcast: each would send to
everyone the other had not recorded yet. So a `sending` broadcast is sent only by the
instance that holds its lease, `lease_owner` (an id unique to the sending process) until
`lease_expires_at`. The holder renews it with a heartbeat while it sends, and with every
batch of results it writes, in the same transaction: results are only ever recorded by
the holder. It releases the lease when it stops, so the next instance goes on at once.

Another instance takes a broadcast over only when its lease is free: released, expired
(its holder crashed, or lost the database for longer than a lease), or never taken for a
whole lease length. That last rule leaves a broadcast that just became `sending` to the
instance that started it, which takes the lease right after the status change; an
instance that is starting up takes never-taken ones at once (left by a bot that stopped
before it took them, or by a version without leases).

Taking a lease is one conditional UPDATE, so two instances never both hold one: on
PostgreSQL the row lock serialises them and the second re-checks the condition on the
row the first left; on SQLite the database's write lock does. Times come from this
process's clock: the instances' clocks must agree to well within a lease length (NTP).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from db.models import Broadcast, BroadcastStatus
from db.session import SessionFactory
from db.types import utcnow
from services.audience import affected_rows

logger = logging.getLogger(__name__)

LEASE_SECONDS = 30.0
"""How long a lease lasts unless renewed: how long a crashed instance's broadcast waits."""
HEARTBEAT_SECONDS = 10.0
"""How often a sending run renews its lease."""
SWEEP_SECONDS = 5.0
"""How often the supervisor looks for broadcasts to take over or runs to restart."""


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    """Lease timings (seconds); tests shorten them."""

    length: float = LEASE_SECONDS
    heartbeat: float = HEARTBEAT_SECONDS
    sweep: float = SWEEP_SECONDS

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat < self.length or self.sweep <= 0:
            raise ValueError("a lease needs 0 < heartbeat < length and a sweep interval > 0")


def new_instance_id() -> str:
    """`host:pid:random`, unique to this process and readable in the database."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def live_lease(now: datetime) -> ColumnElement[bool]:
    """The condition that some instance holds the broadcast's lease at `now`: a run of it
    may still record results (the messages it had in flight when it was cancelled)."""
    return and_(Broadcast.lease_owner.is_not(None), Broadcast.lease_expires_at > now)


class LeaseLost(Exception):
    """Another instance holds the broadcast's lease now: this one must stop sending it."""

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(f"Broadcast {broadcast_id}: this instance no longer holds its lease")
        self.broadcast_id = broadcast_id


class Leases:
    """The leases of one instance (`owner`): take, renew, release, and take over."""

    def __init__(
        self,
        session_factory: SessionFactory,
        owner: str,
        terms: LeaseTerms,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.owner = owner
        self.terms = terms
        self._session_factory = session_factory
        self._clock = clock

    def held(self, broadcast_id: int) -> ColumnElement[bool]:
        """The condition that this instance holds the broadcast's lease."""
        return and_(Broadcast.id == broadcast_id, Broadcast.lease_owner == self.owner)

    def renewal(self) -> dict[str, Any]:
        """The values that take or renew a lease for a full length from now."""
        expires_at = self._clock() + timedelta(seconds=self.terms.length)
        return {"lease_owner": self.owner, "lease_expires_at": expires_at}

    async def take(self, broadcast_id: int) -> str | None:
        """Take the lease to start sending (the launcher's start): unless another
        instance holds a live one. None when taken, else the instance that holds it."""
        free = or_(
            Broadcast.lease_owner.is_(None),
            Broadcast.lease_owner == self.owner,
            Broadcast.lease_expires_at < self._clock(),
        )
        async with self._session_factory() as session, session.begin():
            taken = await session.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id, free).values(**self.renewal())
            )
            if affected_rows(taken):
                return None
            holder = await session.scalar(
                select(Broadcast.lease_owner).where(Broadcast.id == broadcast_id)
            )
        return holder or "?"

    async def take_over(self, *, at_start: bool = False) -> list[int]:
        """Take every `sending` broadcast whose lease is free and renew those this instance
        holds (the supervisor's sweep): the ids this instance holds now. A broadcast never
        taken is left to its starter for a lease length, unless `at_start` (a bot that
        stopped before it took the lease leaves one so)."""
        now = self._clock()
        never_taken: ColumnElement[bool] = Broadcast.lease_expires_at.is_(None)
        if not at_start:  # left to its starter for a lease length
            since = now - timedelta(seconds=self.terms.length)
            never_taken = and_(never_taken, Broadcast.updated_at < since)
        free = or_(
            Broadcast.lease_owner == self.owner, Broadcast.lease_expires_at < now, never_taken
        )
        async with self._session_factory() as session, session.begin():
            rows = await session.scalars(
                update(Broadcast)
                .where(Broadcast.status == BroadcastStatus.SENDING, free)
                .values(**self.renewal())
                .returning(Broadcast.id)
            )
            return sorted(rows)

    async def is_held(self, broadcast_id: int) -> bool:
        """Whether any instance (this one or another) holds a live lease on the broadcast."""
        async with self._session_factory() as session:
            held = await session.scalar(
                select(Broadcast.id).where(Broadcast.id == broadcast_id, live_lease(self._clock()))
            )
        return held is not None

    async def renew(self, broadcast_id: int) -> bool:
        """The heartbeat: extend the lease; False when this instance no longer holds it."""
        async with self._session_factory() as session, session.begin():
            renewed = await session.execute(
                update(Broadcast).where(self.held(broadcast_id)).values(**self.renewal())
            )
            return affected_rows(renewed) == 1

    async def keep(self, broadcast_id: int, on_lost: Callable[[], None]) -> None:
        """A run's heartbeat: renew the lease every `heartbeat` seconds until cancelled;
        `on_lost` once another instance holds it."""
        while True:
            await asyncio.sleep(self.terms.heartbeat)
            try:
                held = await self.renew(broadcast_id)
            except Exception:  # the database is away: the lease lasts a while yet
                logger.warning("Broadcast %s: could not renew its lease", broadcast_id)
                continue
            if not held:
                logger.warning("Broadcast %s: its lease is gone, stopping", broadcast_id)
                on_lost()
                return

    async def release(self, broadcast_id: int) -> None:
        """Give the lease up now (a graceful stop), so another instance goes on at once."""
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(Broadcast)
                .where(self.held(broadcast_id))
                .values(lease_owner=None, lease_expires_at=self._clock())
            )


NO_LEASE: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
"""The lease of a broadcast that stopped sending for good (it got its final status)."""
