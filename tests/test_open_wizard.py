"""The rest of the chat while a compose wizard is open in it: buttons of progress
messages, details, lists and confirmations act as they do without a wizard; only the
wizard's own old messages get the "old wizard message" alert; a time asked for from the
details is read as that time; `/cancel` alone closes the wizard, `/cancel ID` still
cancels broadcast ID."""

from __future__ import annotations

from typing import Any

from db.models import Broadcast, BroadcastStatus
from db.session import SessionFactory
from db.types import utcnow
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.test_compose import Wizard, broadcasts
from tests.test_monitoring import (
    FAR_FUTURE,
    add_broadcast,
    buttons,
    current_buttons,
    current_text,
    status_of,
    text,
)


async def deliver_one(factory: SessionFactory, broadcast_id: int) -> None:
    """Count one more recipient as sent, as the engine would have meanwhile."""
    async with factory() as session, session.begin():
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        broadcast.sent_count += 1


def no_alerts(answers: list[dict[str, Any]]) -> bool:
    """Exactly one answer to the press, and not an alert."""
    return [answer.get("show_alert") for answer in answers] in ([None], [False])


async def open_wizard(harness: BotHarness) -> Wizard:
    wizard = Wizard(harness)
    await wizard.say("/new")
    assert "Who should receive it?" in (wizard.screen().text or "")
    return wizard


async def test_progress_buttons_and_a_cancel_confirmation_act_while_a_wizard_is_open(
    bot_harness: BotHarness,
) -> None:
    app = bot_harness.app
    factory = app.session_factory
    broadcast_id = await add_broadcast(factory, status=BroadcastStatus.SENDING, pending=2)
    message_id = await app.progress.attach(broadcast_id, ADMIN_ID)
    live = bot_harness.api.messages_to(ADMIN_ID)[-1]
    wizard = await open_wizard(bot_harness)
    step_one = wizard.screen()

    await deliver_one(factory, broadcast_id)
    _, edits, answers = await bot_harness.click(ADMIN_ID, buttons(live)["🔄 Refresh"], message_id)
    assert no_alerts(answers) and [edit.message_id for edit in edits] == [message_id]
    assert "Sent: 1 · Failed: 0 · Pending: 1 (of 2)" in current_text(bot_harness, live)

    sent, _, answers = await bot_harness.click(ADMIN_ID, buttons(live)["✖ Cancel"], message_id)
    [question] = sent
    assert no_alerts(answers)
    assert question.text == text(
        "cancel-confirm", id=str(broadcast_id), state="sending", status="Sending"
    )
    _, _, answers = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, cancel it"], question.message_id
    )
    assert no_alerts(answers)
    assert await status_of(factory, broadcast_id) is BroadcastStatus.CANCELLED
    assert current_text(bot_harness, question) == (
        f"Broadcast #{broadcast_id} cancelled: 1 will not get it. "
        "Too late for 1: already delivered."
    )

    # The wizard is still where it was and takes its own buttons.
    _, edits, answers = await wizard.press("All students", on=step_one)
    assert no_alerts(answers) and "step 2 of 5" in (edits[-1].text or "")


async def test_details_lists_and_recipient_pages_act_while_a_wizard_is_open(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    for n in range(11):
        await add_broadcast(factory, message=f"Notice {n}")
    completed = await add_broadcast(
        factory,
        status=BroadcastStatus.COMPLETED,
        sent=1,
        failed=("network",),
        sent_at=utcnow(),
        completed_at=utcnow(),
    )
    wizard = await open_wizard(bot_harness)
    first = wizard.screen()

    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {completed}")
    sent, _, answers = await bot_harness.click(
        ADMIN_ID, buttons(details)["📊 Progress"], details.message_id
    )
    assert no_alerts(answers)
    assert [f"#{completed}</b>" in (m.text or "") for m in sent] == [True]
    [recipients], _, answers = await bot_harness.click(
        ADMIN_ID, buttons(details)["👥 Recipients"], details.message_id
    )
    assert no_alerts(answers)
    assert (recipients.text or "").startswith(f"<b>Recipients of #{completed}</b> · All")
    _, _, answers = await bot_harness.click(
        ADMIN_ID, buttons(recipients)["Failed"], recipients.message_id
    )
    assert no_alerts(answers)
    assert "· Failed · 1 found" in current_text(bot_harness, recipients)
    [question], _, answers = await bot_harness.click(
        ADMIN_ID, buttons(details)["🔁 Retry failed (1)"], details.message_id
    )
    assert no_alerts(answers)
    assert question.text == text("retry-confirm", count=1, id=str(completed))
    _, _, answers = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, send again"], question.message_id
    )
    assert no_alerts(answers)
    assert current_text(bot_harness, question) == text("retry-started", count=1, id=str(completed))
    await bot_harness.app.sender.wait(completed)

    [listing] = await bot_harness.send(ADMIN_ID, "/broadcasts")
    _, _, answers = await bot_harness.click(
        ADMIN_ID, buttons(listing)["Next ›"], listing.message_id
    )
    assert no_alerts(answers) and "page 2 of 2" in current_text(bot_harness, listing)
    _, _, answers = await bot_harness.click(
        ADMIN_ID, current_buttons(bot_harness, listing)["Sent"], listing.message_id
    )
    assert no_alerts(answers)
    assert "Sent · 12 found" in current_text(bot_harness, listing)  # the retry sent the 12th

    # Only the wizard's own old messages are stale: the screen of one restarted since.
    await wizard.say("/new")
    messages, edits, answers = await wizard.press("All students", on=first)
    assert [answer.get("show_alert") for answer in answers] == [True]
    assert answers[0]["text"] == text("compose-stale")
    assert (messages, edits) == ([], [])


async def test_a_time_asked_for_by_the_details_is_read_as_that_time_while_a_wizard_is_open(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    scheduled = await add_broadcast(
        factory, status=BroadcastStatus.SCHEDULED, scheduled_at=FAR_FUTURE
    )
    wizard = await open_wizard(bot_harness)
    await wizard.choose("All students")  # the wizard now waits for the content

    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {scheduled}")
    [ask], _, answers = await bot_harness.click(
        ADMIN_ID, buttons(details)["🕒 Reschedule"], details.message_id
    )
    assert no_alerts(answers)
    assert (ask.text or "").startswith(f"Send the new time for broadcast #{scheduled}")
    [done] = await bot_harness.send(ADMIN_ID, "01.12.2098 09:30")
    assert done.text == text(
        "reschedule-done", id=str(scheduled), time="01.12.2098 09:30", tz="Europe/Moscow"
    )

    # The time question is over: the next text is the wizard's content again.
    replies = await wizard.compose("Hello, school")
    assert replies[0].text == "Hello, school"
    assert "Audience: All students" in (replies[-1].text or "")


async def test_a_new_wizard_drops_a_time_question_still_waiting(bot_harness: BotHarness) -> None:
    factory = bot_harness.app.session_factory
    scheduled = await add_broadcast(
        factory, status=BroadcastStatus.SCHEDULED, scheduled_at=FAR_FUTURE
    )
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {scheduled}")
    await bot_harness.click(ADMIN_ID, buttons(details)["🕒 Reschedule"], details.message_id)
    wizard = await open_wizard(bot_harness)
    await wizard.choose("All students")
    replies = await wizard.compose("01.12.2098 09:30")  # the wizard's content, not a time
    assert replies[0].text == "01.12.2098 09:30"
    assert "Audience: All students" in (replies[-1].text or "")
    async with factory() as session:
        unchanged = await session.get(Broadcast, scheduled)
    assert unchanged is not None and unchanged.scheduled_at == FAR_FUTURE


# --- /cancel typed inside the wizard ---------------------------------------------------------


async def test_cancel_typed_inside_the_wizard_discards_it_and_leaves_broadcasts_alone(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    latest = await add_broadcast(factory, status=BroadcastStatus.SCHEDULED, scheduled_at=FAR_FUTURE)
    wizard = await open_wizard(bot_harness)
    await wizard.choose("All students")
    screen = wizard.screen()

    replies = await wizard.say("/cancel")
    assert [reply.text for reply in replies] == [text("compose-discarded")]
    assert (ADMIN_ID, screen.message_id) in bot_harness.api.deleted  # the wizard's message
    assert await status_of(factory, latest) is BroadcastStatus.SCHEDULED
    assert [row.id for row in await broadcasts(bot_harness)] == [latest]
    # The wizard is closed: text is no longer its content (only hinted at), and /cancel
    # means a broadcast.
    assert [m.text for m in await bot_harness.send(ADMIN_ID, "Hello")] == [text("admin-hint")]
    [question] = await bot_harness.send(ADMIN_ID, "/cancel")
    assert question.text == text("cancel-confirm", id=str(latest), state="scheduled")


async def test_cancel_with_an_id_inside_the_wizard_cancels_that_broadcast(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    target = await add_broadcast(factory, status=BroadcastStatus.SCHEDULED, scheduled_at=FAR_FUTURE)
    await add_broadcast(factory, status=BroadcastStatus.DRAFT)  # the latest, not asked about
    wizard = await open_wizard(bot_harness)

    [question] = await bot_harness.send(ADMIN_ID, f"/cancel {target}")
    assert question.text == text("cancel-confirm", id=str(target), state="scheduled")
    _, _, answers = await bot_harness.click(
        ADMIN_ID, buttons(question)["Yes, cancel it"], question.message_id
    )
    assert no_alerts(answers)
    assert await status_of(factory, target) is BroadcastStatus.CANCELLED

    _, edits, answers = await wizard.press("All students")  # the wizard is still open
    assert no_alerts(answers) and "step 2 of 5" in (edits[-1].text or "")
