"""Leases on broadcasts, on SQLite and PostgreSQL: who may send a broadcast, when another
instance may take it over, and that only the holder records results. The clock is
injected, so expiry is a step of the clock, not a wait."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from db.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus
from db.session import SessionFactory
from db.types import utcnow
from services.delivery_record import DeliveryRecord, DeliveryResult, Recipient
from services.lease import LeaseLost, Leases, LeaseTerms
from tests.sender_process import seed_broadcast

TERMS = LeaseTerms(length=30.0, heartbeat=10.0, sweep=5.0)


class Clock:
    """A clock the test moves; it starts at the real time (rows' `updated_at` use it)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def instances(session_factory: SessionFactory, clock: Clock) -> tuple[Leases, Leases]:
    return (
        Leases(session_factory, "host-a:1:aaaa", TERMS, clock=clock),
        Leases(session_factory, "host-b:2:bbbb", TERMS, clock=clock),
    )


async def lease_of(session_factory: SessionFactory, broadcast_id: int) -> tuple[str | None, ...]:
    async with session_factory() as session:
        row = (
            await session.execute(
                select(Broadcast.lease_owner, Broadcast.lease_expires_at).where(
                    Broadcast.id == broadcast_id
                )
            )
        ).one()
    owner, expires_at = row
    return owner, None if expires_at is None else expires_at.isoformat()


def test_terms_need_a_heartbeat_shorter_than_the_lease() -> None:
    with pytest.raises(ValueError, match="heartbeat < length"):
        LeaseTerms(length=5.0, heartbeat=5.0)
    with pytest.raises(ValueError, match="sweep"):
        LeaseTerms(sweep=0)


async def test_only_one_instance_holds_a_lease_until_it_expires_or_is_released(
    session_factory: SessionFactory, clock: Clock
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 1, first_chat_id=50_000)
    a, b = instances(session_factory, clock)

    assert await a.take(broadcast_id) is None
    assert await b.take(broadcast_id) == a.owner  # alive: b is told who sends it
    assert await a.take(broadcast_id) is None  # taking one's own lease again renews it
    clock.advance(TERMS.length - 1)
    assert await a.renew(broadcast_id)
    clock.advance(TERMS.length - 1)  # renewed: still alive
    assert await b.take(broadcast_id) == a.owner

    clock.advance(2)  # a stopped renewing (crashed): the lease expired
    assert await b.take(broadcast_id) is None
    assert not await a.renew(broadcast_id)  # a learns it is b's now
    owner, _ = await lease_of(session_factory, broadcast_id)
    assert owner == b.owner

    await a.release(broadcast_id)  # not a's to release: nothing changes
    assert (await lease_of(session_factory, broadcast_id))[0] == b.owner
    await b.release(broadcast_id)  # a graceful stop: free at once, no expiry to wait for
    assert await a.take(broadcast_id) is None


async def test_the_sweep_takes_over_expired_and_released_leases_but_not_live_ones(
    session_factory: SessionFactory, clock: Clock
) -> None:
    live = await seed_broadcast(session_factory, 1, first_chat_id=51_000)
    expired = await seed_broadcast(session_factory, 1, first_chat_id=51_100)
    released = await seed_broadcast(session_factory, 1, first_chat_id=51_200)
    finished = await seed_broadcast(session_factory, 1, first_chat_id=51_300)
    a, b = instances(session_factory, clock)
    for broadcast_id in (live, expired, released, finished):
        assert await a.take(broadcast_id) is None
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Broadcast).where(Broadcast.id == finished).values(status=BroadcastStatus.SENT)
        )
    clock.advance(TERMS.length - 5)
    assert await a.renew(live)
    await a.release(released)
    clock.advance(10)  # `expired` was last renewed 35 s ago, `live` 10 s ago

    assert await b.take_over() == sorted([expired, released])
    assert await a.take_over() == [live]  # a renews what it still holds
    assert await b.take_over() == sorted([expired, released])  # ... and so does b


async def test_a_broadcast_just_set_to_sending_is_left_to_whoever_set_it(
    session_factory: SessionFactory, clock: Clock
) -> None:
    # Never taken: as the launcher leaves it between the status change and its own take.
    broadcast_id = await seed_broadcast(
        session_factory, 1, first_chat_id=52_000, lease_expires_at=None
    )
    a, b = instances(session_factory, clock)
    assert await b.take_over() == []
    clock.advance(TERMS.length + 1)  # nobody took it for a whole lease: the starter is gone
    assert await b.take_over() == [broadcast_id]
    assert await a.take(broadcast_id) == b.owner


async def test_an_instance_starting_up_takes_what_a_stopped_bot_never_took(
    session_factory: SessionFactory, clock: Clock
) -> None:
    broadcast_id = await seed_broadcast(
        session_factory, 1, first_chat_id=52_500, lease_expires_at=None
    )
    a, _ = instances(session_factory, clock)
    assert await a.take_over(at_start=True) == [broadcast_id]


def result(recipient: Recipient, status: RecipientStatus = RecipientStatus.SENT) -> DeliveryResult:
    return DeliveryResult(recipient, status, recipient.attempts, utcnow(), message_id="1")


async def test_results_are_recorded_only_by_the_holder_and_once_however_often_written(
    session_factory: SessionFactory, clock: Clock
) -> None:
    broadcast_id = await seed_broadcast(session_factory, 4, first_chat_id=53_000)
    a, b = instances(session_factory, clock)
    assert await a.take(broadcast_id) is None
    record_a = DeliveryRecord(session_factory, broadcast_id, a)
    record_b = DeliveryRecord(session_factory, broadcast_id, b)
    due = await record_a.due(utcnow(), after_id=0, limit=10)
    first, second = [result(r) for r in due[:2]], [result(r) for r in due[2:]]

    with pytest.raises(LeaseLost):
        await record_b.write(first, read_counts=False)
    counts = await record_a.write(first, read_counts=True)
    assert counts is not None and tuple(counts)[1:4] == (4, 2, 0)
    assert counts[-1] is None  # no confirmations asked
    # The same batch again (a retry after a commit whose answer was lost): counted once.
    counts = await record_a.write(first, read_counts=True)
    assert counts is not None and tuple(counts)[1:4] == (4, 2, 0)

    clock.advance(TERMS.length + 1)
    assert await b.take(broadcast_id) is None  # a crashed; b took over
    with pytest.raises(LeaseLost):  # a's late results roll back entirely
        await record_a.write(second, read_counts=False)
    await record_b.write(second, read_counts=False)
    await record_a.finish()  # not a's any more: no final status from it
    async with session_factory() as session:
        assert (
            await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
            is BroadcastStatus.SENDING
        )
    await record_b.finish()

    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        statuses = Counter(
            await session.scalars(
                select(BroadcastRecipient.status).where(
                    BroadcastRecipient.broadcast_id == broadcast_id
                )
            )
        )
    assert broadcast is not None
    assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
        BroadcastStatus.SENT,
        4,
        0,
    )
    assert (broadcast.lease_owner, broadcast.lease_expires_at) == (None, None)
    assert statuses == Counter({RecipientStatus.SENT: 4})
