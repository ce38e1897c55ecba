"""Every button press gets exactly one answer, however malformed its data: no button is
left spinning on the admin's phone. Data no handler matches gets "This button no longer
works.", a forged wizard intent "old wizard message", an id that parses but does not
exist "not found"; each is an alert, and nothing is sent or edited."""

from __future__ import annotations

import pytest

from db.models import BroadcastStatus
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.test_compose import Wizard
from tests.test_monitoring import add_broadcast, buttons, text

STRANGER = 555
UNKNOWN = "button-unknown"
STALE = "compose-stale"
NOT_FOUND = "error-broadcast-not-found"

MALFORMED: list[tuple[str, str]] = [
    ("", UNKNOWN),  # empty
    ("zz:1", UNKNOWN),  # unknown prefix
    ("bA:open:1", UNKNOWN),  # a prefix in the wrong case
    ("ba", UNKNOWN),  # a prefix alone
    ("ba:", UNKNOWN),
    ("ba:open", UNKNOWN),  # truncated
    ("ba:open:abc", UNKNOWN),  # non-numeric id
    ("ba:open:1.5", UNKNOWN),
    ("ba:open:٣", UNKNOWN),  # a non-ASCII digit
    ("ba:open:0", UNKNOWN),  # ids out of range
    ("ba:open:-5", UNKNOWN),
    (f"ba:open:{2**31}", UNKNOWN),
    ("ba:open:" + "9" * 40, UNKNOWN),
    ("ba:explode:1", UNKNOWN),  # unknown enum value
    ("ba:open:1:extra", UNKNOWN),  # an extra field
    ("pr:abc:en", UNKNOWN),
    ("pr:0:en", UNKNOWN),
    ("pr:1", UNKNOWN),
    ("pr:1:en:maybe", UNKNOWN),  # not a boolean
    ("cf:cancel:1:sending", UNKNOWN),
    ("cf:explode:1:sending:1", UNKNOWN),
    ("cf:cancel:1:lost:1", UNKNOWN),
    ("cf:cancel:1:sending:perhaps", UNKNOWN),
    ("ta:reschedule", UNKNOWN),
    ("ta:never:1", UNKNOWN),
    ("bl:lost:1:0", UNKNOWN),
    ("bl::0:0", UNKNOWN),  # page 0
    ("bl::-1:0", UNKNOWN),
    ("rl:1:lost:1", UNKNOWN),
    ("rl:abc::1", UNKNOWN),
    ("new:extra", UNKNOWN),
    ("x" * 65, UNKNOWN),  # longer than Telegram's 64 bytes
    ("ba:open:1" + ":" * 60, UNKNOWN),
    ("\x1dcancel", UNKNOWN),  # aiogram-dialog's separator without an intent id
    ("\x1d", UNKNOWN),
    ("0a1b2c\x1dcancel", STALE),  # an intent id of no wizard
    ("0a1b2c\x1d\x1d", STALE),
    ("aiogd\x1dgroups:all_students", STALE),
    ("ba:open:99999", NOT_FOUND),  # well formed, but no such broadcast
    ("pr:99999:en:0", NOT_FOUND),
    ("cf:cancel:99999:sending:1", NOT_FOUND),
    ("rl:99999::1", NOT_FOUND),
]


def expected_text(answer_id: str) -> str:
    return text(answer_id, id="99999") if answer_id == NOT_FOUND else text(answer_id)


async def press_each(harness: BotHarness, message_id: int, user_id: int = ADMIN_ID) -> None:
    """Press every malformed button on `message_id`: one alert each, nothing on screen."""
    for data, answer_id in MALFORMED:
        sent, edits, answers = await harness.click(user_id, data, message_id)
        expected = text("not-allowed") if user_id != ADMIN_ID else expected_text(answer_id)
        assert [(a.get("text"), a.get("show_alert")) for a in answers] == [(expected, True)], data
        assert (sent, edits) == ([], []), data


def test_the_set_covers_at_least_25_shapes() -> None:
    assert len({data for data, _ in MALFORMED}) == len(MALFORMED) >= 25


async def test_malformed_buttons_without_a_wizard_are_each_answered_once(
    bot_harness: BotHarness,
) -> None:
    await add_broadcast(bot_harness.app.session_factory, status=BroadcastStatus.SENDING, pending=1)
    [progress] = await bot_harness.send(ADMIN_ID, "/progress")
    await press_each(bot_harness, progress.message_id)


async def test_malformed_buttons_with_a_wizard_open_are_each_answered_once(
    bot_harness: BotHarness,
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    screen = wizard.screen()
    await press_each(bot_harness, screen.message_id)
    # The wizard is untouched and still takes its own buttons.
    _, edits, answers = await wizard.press("All students", on=screen)
    assert [a.get("show_alert") for a in answers] in ([None], [False])
    assert "step 2 of 5" in (edits[-1].text or "")


async def test_forged_choices_on_the_live_wizard_are_answered_once(
    bot_harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """Data with the live wizard's own intent id: a choice it does not offer makes its
    handler fail, which is logged and answered with the alert; a widget it does not have
    is answered by aiogram-dialog itself, and the screen stays as it was."""
    wizard = Wizard(bot_harness)
    [screen] = await wizard.say("/new")
    intent_id = buttons(screen)["All students"].split("\x1d")[0]
    for choice in ("group:bogus", "group:", "group:all_students:x"):
        sent, edits, answers = await bot_harness.click(
            ADMIN_ID, f"{intent_id}\x1d{choice}", screen.message_id
        )
        assert [(a.get("text"), a.get("show_alert")) for a in answers] == [(text(UNKNOWN), True)], (
            choice
        )
        assert (sent, edits) == ([], []), choice
    assert "failed" in caplog.text and "group:bogus" in caplog.text
    sent, edits, answers = await bot_harness.click(
        ADMIN_ID, f"{intent_id}\x1dno-such-widget", screen.message_id
    )
    assert (len(answers), sent, edits) == (1, [], [])
    _, edits, _ = await wizard.press("All students")
    assert "step 2 of 5" in (edits[-1].text or "")


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_the_alert_speaks_the_admins_language(bot_harness: BotHarness, language: str) -> None:
    _, _, answers = await bot_harness.click(ADMIN_ID, "zz:1", 1, language_code=language)
    assert [a["text"] for a in answers] == [text(UNKNOWN, language)]


async def test_a_stranger_pressing_malformed_buttons_is_told_not_allowed(
    bot_harness: BotHarness,
) -> None:
    await press_each(bot_harness, message_id=1, user_id=STRANGER)
