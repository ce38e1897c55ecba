"""Runs over a sent announcement read, with each recipient, the announcement's message in
that recipient's chat; an announcement's own recipients have none. Whether a run waits
out quiet hours is loaded with its action: reminders always do, corrections never."""

from __future__ import annotations

import pytest

from db.models import Broadcast, BroadcastKind, BroadcastStatus, ContentKind, RecipientStatus, Role
from db.session import SessionFactory
from db.types import utcnow
from services.confirmations import ReadButton
from services.delivery_record import DeliveryRecord
from services.lease import Leases, LeaseTerms
from services.progress import read_snapshot
from services.quiet_hours import QuietGate
from services.run_actions import load_action
from tests.factories import add_recipient, add_user, make_broadcast
from tests.test_quiet_hours import LATE, MORNING, NIGHT


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


@pytest.mark.parametrize(
    ("kind", "urgent", "waits"),
    [
        (BroadcastKind.ANNOUNCEMENT, False, True),
        (BroadcastKind.ANNOUNCEMENT, True, False),
        (BroadcastKind.REMINDER, False, True),
        (BroadcastKind.REMINDER, True, True),  # a reminder is never urgent
        (BroadcastKind.EDIT, False, False),  # edits and deletes ring nobody's phone
        (BroadcastKind.DELETE, False, False),
    ],
)
def test_only_an_urgent_announcement_and_corrections_go_out_during_quiet_hours(
    kind: BroadcastKind, urgent: bool, waits: bool
) -> None:
    broadcast = Broadcast(
        id=8,
        kind=kind,
        content_kind=ContentKind.TEXT,
        message="Meeting on Friday",
        ask_confirmation=True,
        silent=False,
        protected=False,
        urgent=urgent,
    )
    read_button = ReadButton(lambda language: "✅ I have read it", "rd")

    loaded = load_action(broadcast, read_button, reminder_text=lambda language: "🔔 Reminder")

    assert loaded.waits_for_quiet_hours is waits


async def test_progress_read_from_the_rows_tells_who_waits_for_quiet_hours(
    session_factory: SessionFactory,
) -> None:
    """At 23:00 in 21:00-07:00, a reminder run waits until 07:00; an edit run does not."""
    night = QuietGate(NIGHT, lambda: LATE)
    async with session_factory() as session, session.begin():
        announcement = await make_broadcast(session, status=BroadcastStatus.SENT)
        runs = {
            kind: await make_broadcast(
                session, status=BroadcastStatus.SENDING, kind=kind, parent_id=announcement.id
            )
            for kind in (BroadcastKind.REMINDER, BroadcastKind.EDIT)
        }

    reminder = await read_snapshot(session_factory, runs[BroadcastKind.REMINDER].id, quiet=night)
    edit = await read_snapshot(session_factory, runs[BroadcastKind.EDIT].id, quiet=night)

    assert reminder.quiet_until == MORNING
    assert edit.quiet_until is None
