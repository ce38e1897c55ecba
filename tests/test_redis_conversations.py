"""The chat with conversation state in Redis (`REDIS_URL` set, as the README suggests):
the whole compose wizard, the monitoring commands and their buttons, a restart in the
middle of the wizard that carries on where the admin was, an edit for everyone and the
wizard's list of who can't be reached, whose steps keep their data in the chat's state.

Every test runs the real application through the fake Bot API on the real Redis server,
in a database of its own (tests/redis_db.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from db.models import Broadcast, BroadcastKind, BroadcastStatus, Role, TargetGroup
from db.session import SessionFactory
from db.types import utcnow
from fake_bot_api import FakeBotAPI
from tests import factories
from tests.bot_harness import ADMIN_ID, BotHarness, harness_settings, running_harness
from tests.test_compose import BOLD_HELLO, Roster, Wizard, broadcasts, chat_of, roster
from tests.test_edit_delete import (
    BOLD,
    NOW,
    PARENTS,
    amend,
    edit_through_the_bot,
    message_of,
    run_of,
    send,
)
from tests.test_monitoring import (
    FAR_FUTURE,
    add_broadcast,
    buttons,
    current_text,
    status_of,
    text,
)

__all__ = ["roster"]  # the roster fixture, on the Redis-backed harness below


@pytest.fixture
async def bot_harness(
    fake_api: FakeBotAPI, harness_database_url: str, redis_url: str
) -> AsyncIterator[BotHarness]:
    """The harness of tests/bot_harness.py with its conversation state in Redis."""
    settings = harness_settings(harness_database_url, fake_api.url, redis_url=redis_url)
    async with running_harness(fake_api, settings) as harness:
        yield harness


async def redis_keys(redis_url: str) -> list[str]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        return sorted(await redis.keys("*"))
    finally:
        await redis.aclose()


async def deliver_one(factory: SessionFactory, broadcast_id: int) -> None:
    """Count one more recipient as sent, as the engine would have meanwhile."""
    async with factory() as session, session.begin():
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        broadcast.sent_count += 1


# --- the compose wizard ---------------------------------------------------------------------


async def test_the_wizard_keeps_its_stack_in_redis_and_sends_now(
    bot_harness: BotHarness, roster: Roster, redis_url: str
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    keys = await redis_keys(redis_url)
    assert f"fsm:{ADMIN_ID}:{ADMIN_ID}:aiogd:stack::data" in keys, keys
    assert any(":aiogd:context:" in key for key in keys), keys

    await wizard.press("By subject")
    await wizard.type("math")
    assert wizard.labels()[:2] == ["Mathematics", "Show all"]
    await wizard.choose("Mathematics")
    replies = await wizard.compose("Hello, school", entities=BOLD_HELLO)
    assert "Audience: Students and teachers of Mathematics" in (replies[-1].text or "")
    _, edits, _ = await wizard.press("✅ Send now")
    [broadcast] = await broadcasts(bot_harness)
    assert edits[-1].text == f"Broadcast created (#{broadcast.id}). Sending to 3 recipients."
    assert broadcast.target_filter == {"subject_id": roster.mathematics_id}
    chats = [
        chat_of(roster.students[0]),
        chat_of(roster.students[1]),
        chat_of(roster.maths_teacher),
    ]
    api = bot_harness.api
    await api.wait_for(lambda: all(api.messages_to(chat) for chat in chats), timeout=10)
    # The wizard is closed: its stack is empty, its context gone.
    assert not any(":aiogd:context:" in key for key in await redis_keys(redis_url))


async def test_the_wizard_schedules_and_saves_drafts_with_redis(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.press("Custom list")
    await wizard.say(f"#{roster.students[0].id} S-2")
    await wizard.choose("Continue »")
    await wizard.compose("Parents' meeting")
    await wizard.press("🕒 Schedule")
    replies = await wizard.say("01.12.2098 09:30")
    [scheduled] = await broadcasts(bot_harness)
    assert replies[-1].text == (
        f"Broadcast created (#{scheduled.id}). Scheduled for 01.12.2098 09:30 (Europe/Moscow)."
    )
    assert scheduled.status is BroadcastStatus.SCHEDULED
    assert scheduled.target_filter == {"user_ids": [roster.students[0].id, roster.students[1].id]}

    await wizard.say("/new")
    await wizard.press("By tutor")
    await wizard.choose("Anna Tutor")
    await wizard.compose("Homework")
    await wizard.press("✏️ Edit message")
    await wizard.send_update("photo", "PHOTO-1", caption="Homework, with a photo")
    await wizard.press("« Back")  # from the preview back to the options
    await wizard.press("« Back")  # and to the content step
    await wizard.press("Keep the current message »")
    _, edits, _ = await wizard.press("💾 Save draft")
    draft = (await broadcasts(bot_harness))[-1]
    assert edits[-1].text == f"Broadcast created (#{draft.id}) and saved as a draft."
    assert (draft.status, draft.target_group) == (BroadcastStatus.DRAFT, TargetGroup.BY_TUTOR)
    assert (draft.file_id, draft.message) == ("PHOTO-1", "Homework, with a photo")

    await wizard.say("/new")
    _, edits, _ = await wizard.press("✖ Cancel")
    assert "discarded" in (edits[-1].text or "")
    assert len(await broadcasts(bot_harness)) == 2


async def test_an_old_wizard_message_still_only_alerts_with_redis(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    first = wizard.screen()
    await wizard.say("/new")
    messages, edits, answers = await wizard.press("All students", on=first)
    assert [a.get("show_alert") for a in answers] == [True]
    assert "old wizard message" in answers[0]["text"]
    assert (messages, edits) == ([], [])


# --- monitoring -----------------------------------------------------------------------------


async def test_lists_details_and_search_pages_with_redis(bot_harness: BotHarness) -> None:
    factory = bot_harness.app.session_factory
    for n in range(11):
        await add_broadcast(factory, message=f"Exam {n} moved")
    scheduled = await add_broadcast(
        factory, status=BroadcastStatus.SCHEDULED, scheduled_at=FAR_FUTURE, message="Later"
    )

    [listing] = await bot_harness.send(ADMIN_ID, "/broadcasts")
    await bot_harness.click(ADMIN_ID, buttons(listing)["Next ›"], listing.message_id)
    assert "page 2 of 2" in current_text(bot_harness, listing)

    # The search words live in the conversation data, so in Redis.
    [found] = await bot_harness.send(ADMIN_ID, "/broadcasts search exam")
    await bot_harness.click(ADMIN_ID, buttons(found)["Next ›"], found.message_id)
    assert "11 found · page 2 of 2" in current_text(bot_harness, found)

    completed = await add_broadcast(
        factory, status=BroadcastStatus.COMPLETED, sent=1, failed=("network",), sent_at=utcnow()
    )
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {completed}")
    sent, _, _ = await bot_harness.click(
        ADMIN_ID, buttons(details)["📊 Progress"], details.message_id
    )
    assert [f"#{completed}</b>" in (m.text or "") for m in sent] == [True]
    sent, _, _ = await bot_harness.click(
        ADMIN_ID, buttons(details)["👥 Recipients"], details.message_id
    )
    assert [(m.text or "").startswith(f"<b>Recipients of #{completed}</b>") for m in sent] == [True]

    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {scheduled}")
    # Reschedule waits for a typed time: a conversation state, in Redis.
    [ask], _, _ = await bot_harness.click(
        ADMIN_ID, buttons(details)["🕒 Reschedule"], details.message_id
    )
    assert (ask.text or "").startswith(f"Send the new time for broadcast #{scheduled}")
    [done] = await bot_harness.send(ADMIN_ID, "01.12.2098 09:30")
    assert done.text == text(
        "reschedule-done", id=str(scheduled), time="01.12.2098 09:30", tz="Europe/Moscow"
    )


async def test_progress_cancel_and_retry_with_redis(bot_harness: BotHarness) -> None:
    app = bot_harness.app
    factory = app.session_factory
    sending = await add_broadcast(factory, status=BroadcastStatus.SENDING, pending=2)
    [progress] = await bot_harness.send(ADMIN_ID, f"/progress {sending}")
    assert "Pending: 2 (of 2)" in (progress.text or "")
    await deliver_one(factory, sending)
    _, edits, _ = await bot_harness.click(
        ADMIN_ID, buttons(progress)["🔄 Refresh"], progress.message_id
    )
    assert [edit.message_id for edit in edits] == [progress.message_id]
    assert "Sent: 1 · Failed: 0 · Pending: 1 (of 2)" in current_text(bot_harness, progress)

    [question] = await bot_harness.send(ADMIN_ID, f"/cancel {sending}")
    assert question.text == text(
        "cancel-confirm", id=str(sending), state="sending", status="Sending"
    )
    await bot_harness.click(ADMIN_ID, buttons(question)["Yes, cancel it"], question.message_id)
    assert await status_of(factory, sending) is BroadcastStatus.CANCELLED

    failed = await add_broadcast(factory, status=BroadcastStatus.FAILED, failed=("network",))
    [question] = await bot_harness.send(ADMIN_ID, "/retry")  # the latest
    assert question.text == text("retry-confirm", count=1, id=str(failed))
    await bot_harness.click(ADMIN_ID, buttons(question)["Yes, send again"], question.message_id)
    assert current_text(bot_harness, question) == text("retry-started", count=1, id=str(failed))
    await app.sender.wait(failed)
    assert await status_of(factory, failed) is BroadcastStatus.SENT


async def test_other_buttons_work_and_cancel_closes_the_wizard_with_redis(
    bot_harness: BotHarness, redis_url: str
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    sending = await add_broadcast(factory, status=BroadcastStatus.SENDING, pending=2)
    message_id = await app.progress.attach(sending, ADMIN_ID)
    live = bot_harness.api.messages_to(ADMIN_ID)[-1]
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    [question], _, answers = await bot_harness.click(
        ADMIN_ID, buttons(live)["✖ Cancel"], message_id
    )
    assert [a.get("show_alert") for a in answers] == [None]
    await bot_harness.click(ADMIN_ID, buttons(question)["Yes, cancel it"], question.message_id)
    assert await status_of(factory, sending) is BroadcastStatus.CANCELLED

    replies = await wizard.say("/cancel")
    assert [reply.text for reply in replies] == [text("compose-discarded")]
    assert not any(":aiogd:context:" in key for key in await redis_keys(redis_url))


# --- a restart in the middle of the wizard ----------------------------------------------------


async def test_a_restart_in_the_middle_of_the_wizard_carries_on(
    fake_api: FakeBotAPI, harness_database_url: str, redis_url: str
) -> None:
    settings = harness_settings(harness_database_url, fake_api.url, redis_url=redis_url)
    async with running_harness(fake_api, settings) as harness:
        async with harness.app.session_factory() as session, session.begin():
            for number in (1, 2):
                await factories.add_user(session, role=Role.STUDENT, full_name=f"Pupil {number}")
        wizard = Wizard(harness)
        await wizard.say("/new")
        await wizard.choose("All students")
        assert "step 3 of 5" in (wizard.screen().text or "")

    async with running_harness(fake_api, settings) as harness:
        wizard = Wizard(harness)  # the same chat, a new process: the step waits for the text
        replies = await wizard.compose("Hello after a restart")
        assert replies[0].text == "Hello after a restart"
        assert "Audience: All students\nWill receive it: 2" in (replies[-1].text or "")
        preview = wizard.screen()

    async with running_harness(fake_api, settings) as harness:
        wizard = Wizard(harness)
        _, edits, _ = await wizard.press("💾 Save draft", on=preview)
        [draft] = await broadcasts(harness)
        assert edits[-1].text == f"Broadcast created (#{draft.id}) and saved as a draft."
        assert (draft.target_group, draft.message) == (
            TargetGroup.ALL_STUDENTS,
            "Hello after a restart",
        )


# --- edit for everyone and who can't be reached ---------------------------------------------


async def test_an_edit_for_everyone_keeps_the_corrected_text_in_redis_until_yes(
    bot_harness: BotHarness, redis_url: str
) -> None:
    """The corrected text and its formatting wait in the chat's state in Redis between
    the admin's message and Yes, then every delivered message reads it."""
    amend(bot_harness).service.clock = lambda: NOW
    async with bot_harness.app.session_factory() as session, session.begin():
        for chat_id, language in PARENTS.items():
            parent = await factories.add_user(session, role=Role.PARENT, telegram_id=chat_id)
            parent.language_code = language
    broadcast_id = await send(bot_harness)

    screens = await edit_through_the_bot(bot_harness, broadcast_id, "Meeting on Thursday")

    assert screens[1] == "Meeting on Thursday"  # the preview, read back from Redis
    assert "Editing broadcast" in screens[3]
    await bot_harness.app.sender.wait(
        (await run_of(bot_harness, broadcast_id, BroadcastKind.EDIT)).id
    )
    for chat_id in PARENTS:
        shown = bot_harness.api.current_message(
            chat_id, message_of(bot_harness, chat_id).message_id
        )
        assert shown is not None
        assert (shown.text, shown.entities) == ("Meeting on Thursday", BOLD)
    assert f"fsm:{ADMIN_ID}:{ADMIN_ID}:default:data" in await redis_keys(redis_url)


async def test_the_wizards_list_of_who_cant_be_reached_pages_from_redis(
    bot_harness: BotHarness, roster: Roster
) -> None:
    """The preview's list keeps the wizard's audience in the chat's state in Redis."""
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.choose("All students")
    await wizard.compose("Hello, school")
    label = next(label for label in wizard.labels() if label.startswith("🚫 Who can't be reached"))
    sent, _, answers = await wizard.press(label)
    assert [a.get("show_alert") for a in answers] == [None]
    [page] = sent
    assert (page.text or "").startswith("<b>Who can't be reached: ")
