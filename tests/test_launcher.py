"""The one path that starts a broadcast (`BroadcastLauncher`), and its failure cases: the
progress message cannot be posted, nobody is reachable, the status changed meanwhile.
Run on the assembled application against the fake Bot API."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from db.models import Broadcast, BroadcastRecipient, BroadcastStatus, Role, TargetGroup
from services.errors import InvalidStatus, NoRecipients, StatusChanged
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_user, make_broadcast

STUDENTS = (3101, 3102, 3103)


async def draft_for_students(harness: BotHarness, *, reachable: bool = True) -> int:
    async with harness.app.session_factory() as session, session.begin():
        for chat_id in STUDENTS:
            await add_user(session, role=Role.STUDENT, telegram_id=chat_id, blocked=not reachable)
        broadcast = await make_broadcast(session, target_group=TargetGroup.ALL_STUDENTS)
    return broadcast.id


async def stored(harness: BotHarness, broadcast_id: int) -> tuple[BroadcastStatus, int]:
    async with harness.app.session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        rows = await session.scalar(
            select(func.count(BroadcastRecipient.id)).where(
                BroadcastRecipient.broadcast_id == broadcast_id
            )
        )
    return broadcast.status, rows or 0


async def test_send_now_announces_then_posts_progress_then_sends(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    broadcast_id = await draft_for_students(bot_harness)
    announced: list[int] = []

    async def announce(count: int) -> None:
        announced.append(count)
        assert not bot_harness.api.messages_to(ADMIN_ID)  # before the progress message

    started = await app.launcher.send_now(broadcast_id, ADMIN_ID, language="en", announce=announce)
    await app.sender.wait(broadcast_id)
    await app.progress.wait(broadcast_id)

    assert announced == [3]
    assert (started.broadcast_id, started.recipient_count) == (broadcast_id, 3)
    [progress] = bot_harness.api.messages_to(ADMIN_ID)
    assert started.progress_message_id == progress.message_id
    delivered = Counter(d.chat_id for d in bot_harness.api.delivered if d.chat_id in STUDENTS)
    assert delivered == Counter(STUDENTS)
    assert await stored(bot_harness, broadcast_id) == (BroadcastStatus.SENT, 3)


async def test_a_progress_message_that_cannot_be_posted_does_not_stop_the_broadcast(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    broadcast_id = await draft_for_students(bot_harness)
    bot_harness.api.set_blocked(ADMIN_ID)  # the admin's chat refuses messages

    started = await app.launcher.send_now(broadcast_id, ADMIN_ID, language="en")
    await app.sender.wait(broadcast_id)

    assert started.progress_message_id is None
    delivered = Counter(d.chat_id for d in bot_harness.api.delivered if d.chat_id in STUDENTS)
    assert delivered == Counter(STUDENTS)
    assert await stored(bot_harness, broadcast_id) == (BroadcastStatus.SENT, 3)


async def test_nobody_reachable_is_refused_and_changes_nothing(bot_harness: BotHarness) -> None:
    app = bot_harness.app
    broadcast_id = await draft_for_students(bot_harness, reachable=False)

    with pytest.raises(NoRecipients) as refused:
        await app.launcher.send_now(broadcast_id, ADMIN_ID, language="en")
    with pytest.raises(NoRecipients):
        await app.launcher.preview(broadcast_id)

    assert refused.value.target_group == TargetGroup.ALL_STUDENTS.value
    assert await stored(bot_harness, broadcast_id) == (BroadcastStatus.DRAFT, 0)
    assert not bot_harness.api.messages_to(ADMIN_ID)
    assert not app.sender.is_running(broadcast_id)


async def test_a_status_changed_meanwhile_is_refused_with_its_facts(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    broadcast_id = await draft_for_students(bot_harness)
    await app.dispatcher["broadcasts"].cancel_broadcast(broadcast_id)

    with pytest.raises(InvalidStatus) as refused:
        await app.launcher.send_now(broadcast_id, ADMIN_ID, language="en")
    assert (refused.value.broadcast_id, refused.value.status) == (
        broadcast_id,
        BroadcastStatus.CANCELLED,
    )
    assert not isinstance(refused.value, StatusChanged)
    assert await stored(bot_harness, broadcast_id) == (BroadcastStatus.CANCELLED, 0)


async def test_a_confirmed_status_that_moved_on_is_refused_as_changed(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    broadcast_id = await draft_for_students(bot_harness)
    confirmed_as = BroadcastStatus.SCHEDULED  # the question showed a scheduled broadcast

    with pytest.raises(StatusChanged) as changed:
        await app.launcher.send_now(broadcast_id, ADMIN_ID, language="en", expected=confirmed_as)

    assert (changed.value.expected, changed.value.status) == (
        BroadcastStatus.SCHEDULED,
        BroadcastStatus.DRAFT,
    )
    assert await stored(bot_harness, broadcast_id) == (BroadcastStatus.DRAFT, 0)
    assert not bot_harness.api.messages_to(ADMIN_ID)
