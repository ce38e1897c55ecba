"""Searching in a picker of the compose wizard: the picker's own message is edited (no new
message, its buttons stay live), the typed words are deleted, the prompt says that typing
searches, and an announcement typed one step too early is neither searched for nor taken
as the content. In English and Russian."""

from __future__ import annotations

import pytest

from tests.bot_harness import ADMIN_ID, BotHarness
from tests.test_compose import Roster, Wizard, _buttons, roster

__all__ = ["roster"]  # the fixture of tests/test_compose.py

LANGUAGES = {
    "en": {
        "by_subject": "By subject",
        "by_tutor": "By tutor",
        "subject_hint": "Type part of the subject's name to search.",
        "person_hint": "Type part of the name to search.",
        "searched": "Search: «math»",
        "found": "Found: 1 · page 1 of 1",
        "content_step": "step 3 of 6",
        "not_a_name": "This step only finds the subject",
        "stale": "old wizard message",
    },
    "ru": {
        "by_subject": "По предмету",
        "by_tutor": "По тьютору",
        "subject_hint": "Напишите часть названия, чтобы найти предмет.",
        "person_hint": "Напишите часть имени, чтобы найти человека.",
        "searched": "Поиск: «math»",
        "found": "Найдено: 1 · страница 1 из 1",
        "content_step": "шаг 3 из 6",
        "not_a_name": "На этом шаге выбирают предмет",
        "stale": "старого сообщения мастера",
    },
}
ANNOUNCEMENT = "Dear parents,\ntomorrow's lessons start at 10:00."


@pytest.fixture(params=sorted(LANGUAGES))
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def open_picker(harness: BotHarness, language: str, group: str = "by_subject") -> Wizard:
    wizard = Wizard(harness, language=language)
    await wizard.say("/new")
    await wizard.press(LANGUAGES[language][group])
    return wizard


async def test_the_pickers_prompts_say_that_typing_searches(
    bot_harness: BotHarness, roster: Roster, language: str
) -> None:
    words = LANGUAGES[language]
    subjects = await open_picker(bot_harness, language)
    assert words["subject_hint"] in (subjects.screen().text or "")
    await subjects.say("/new")
    await subjects.press(words["by_tutor"])
    prompt = subjects.screen().text or ""
    assert words["person_hint"] in prompt and words["subject_hint"] not in prompt


async def test_a_search_edits_the_picker_whose_buttons_keep_working(
    bot_harness: BotHarness, roster: Roster, language: str
) -> None:
    words = LANGUAGES[language]
    wizard = await open_picker(bot_harness, language)
    picker = wizard.screen()

    typed = await wizard.type("math")
    assert typed.messages == []  # no new message: the picker itself shows the result
    [edit] = typed.edits
    assert edit.message_id == picker.message_id
    assert words["searched"] in (edit.text or "") and words["found"] in (edit.text or "")
    assert bot_harness.api.deleted[-1] == (ADMIN_ID, typed.message_id)

    messages, edits, answers = await wizard.press("Mathematics", on=picker)
    assert answers[-1].get("show_alert") is not True
    assert messages == [] and [e.message_id for e in edits] == [picker.message_id]
    assert words["content_step"] in (edits[-1].text or "")


async def test_paging_and_show_all_after_a_search_act_on_the_same_message(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = await open_picker(bot_harness, "en")
    picker = wizard.screen()
    typed = await wizard.type("subject")
    assert "Found: 10 · page 1 of 2" in (typed.edits[-1].text or "")
    for label, expected in (("Next ›", "page 2 of 2"), ("Show all", "Found: 11 · page 1 of 2")):
        assert wizard.screen().message_id == picker.message_id
        messages, edits, answers = await wizard.press(label)
        assert answers[-1].get("show_alert") is not True and messages == []
        assert edits[-1].message_id == picker.message_id and expected in (edits[-1].text or "")
    again = await wizard.type("subject")  # the same search twice: still one live message
    assert again.messages == [] and [e.message_id for e in again.edits] == [picker.message_id]


async def test_the_announcement_typed_in_a_picker_is_kept_apart(
    bot_harness: BotHarness, roster: Roster, language: str
) -> None:
    """Several lines are no name: not searched, not the content, not deleted; a hint below
    it, and the picker stays where it was and takes its buttons."""
    words = LANGUAGES[language]
    wizard = await open_picker(bot_harness, language)
    picker = wizard.screen()
    api = bot_harness.api

    typed = await wizard.type(ANNOUNCEMENT)
    [hint] = typed.messages
    assert words["not_a_name"] in (hint.text or "") and typed.edits == []
    assert api.current_message(ADMIN_ID, typed.message_id) is not None
    assert api.current_message(ADMIN_ID, picker.message_id) == picker  # unchanged

    photo = await wizard.send_update("photo", "PHOTO-1", caption="Timetable")
    assert words["not_a_name"] in (photo[-1].text or "")

    _, edits, answers = await wizard.press("Mathematics", on=picker)
    assert answers[-1].get("show_alert") is not True
    assert words["content_step"] in (edits[-1].text or "")  # the content is still to come


async def test_only_the_picker_is_live_after_a_search_and_a_hint(
    bot_harness: BotHarness, roster: Roster, language: str
) -> None:
    """The guard against presses on other messages of the live wizard still holds: the
    picker's button data sent from the hint below it gets the old-message alert."""
    words = LANGUAGES[language]
    wizard = await open_picker(bot_harness, language)
    picker = wizard.screen()
    await wizard.type("math")
    [hint] = (await wizard.type(ANNOUNCEMENT)).messages
    data = dict(_buttons(wizard.screen()))["Mathematics"]
    assert wizard.screen().message_id == picker.message_id

    messages, edits, answers = await bot_harness.click(
        ADMIN_ID, data, hint.message_id, language_code=language
    )
    assert answers[-1]["show_alert"] is True and words["stale"] in answers[-1]["text"]
    assert (messages, edits) == ([], [])
    _, edits, answers = await wizard.press("Mathematics", on=picker)
    assert answers[-1].get("show_alert") is not True
    assert words["content_step"] in (edits[-1].text or "")
