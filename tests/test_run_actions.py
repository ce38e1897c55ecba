"""Runs over a sent announcement read, with each recipient, the announcement's message in
that recipient's chat; an announcement's own recipients have none."""

from __future__ import annotations

from db.models import BroadcastKind, BroadcastStatus, RecipientStatus, Role
from db.session import SessionFactory
from db.types import utcnow
from services.delivery_record import DeliveryRecord
from services.lease import Leases, LeaseTerms
from tests.factories import add_recipient, add_user, make_broadcast


async def test_a_run_over_an_announcement_reads_the_message_it_acts_on(
    session_factory: SessionFactory,
) -> None:
    async with session_factory() as session, session.begin():
        anna = await add_user(session, role=Role.STUDENT)
        boris = await add_user(session, role=Role.STUDENT)
        announcement = await make_broadcast(session, status=BroadcastStatus.SENT)
        delivered = await add_recipient(session, announcement, anna, status=RecipientStatus.SENT)
        delivered.telegram_message_id = "4711"
        await add_recipient(session, announcement, boris)
        run = await make_broadcast(
            session,
            status=BroadcastStatus.SENDING,
            kind=BroadcastKind.REMINDER,
            parent_id=announcement.id,
        )
        child = await add_recipient(session, run, anna)
        child.source_id = delivered.id
    leases = Leases(session_factory, "test", LeaseTerms())

    [reminded] = await DeliveryRecord(session_factory, run.id, leases).due(
        utcnow(), after_id=0, limit=10
    )
    [pending] = await DeliveryRecord(session_factory, announcement.id, leases).due(
        utcnow(), after_id=0, limit=10
    )

    assert (reminded.user_id, reminded.source_message_id) == (anna.id, 4711)
    assert (pending.user_id, pending.source_message_id) == (boris.id, None)
