"""The wizard's class picker and its who step (the students, their parents, or both),
driven as an admin would in both languages through the fake Bot API."""

from __future__ import annotations

from typing import Any

import pytest

from db.models import Role, TargetGroup
from db.session import SessionFactory
from tests import factories
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.test_compose import WHO, Wizard, _buttons, broadcasts

WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "by_class": "By class",
        "all_students": "All students",
        "pick": "Pick the class",
        "found": "Found: 2 · page 1 of 1",
        "who": "<b>New broadcast</b> · step 3 of 6\nStudents of 10А: who should receive it?",
        "preview": "Audience: Parents of students of 10А: 2 families, 3 people; reachable 2\n"
        "Will receive it: 2\n"
        "Not reachable: 1 without Telegram linked, 0 blocked the bot",
        "both": "Audience: All students and their parents: 2 families, 7 people; reachable 6",
        "listed": "By class (10А) · parents",
        "draft": "💾 Save draft",
        "send": "✅ Send now",
    },
    "ru": {
        "by_class": "По классу",
        "all_students": "Все ученики",
        "pick": "Выберите класс",
        "found": "Найдено: 2 · страница 1 из 1",
        "who": "<b>Новая рассылка</b> · шаг 3 из 6\nУченики 10А: кто получит рассылку?",
        "preview": "Получатели: Родители учеников 10А: 2 семьи, 3 человека; доступны 2\n"
        "Получат: 2\n"
        "Недоступны: 1 без привязанного Telegram, 0 заблокировали бота",
        "both": "Получатели: Все ученики и их родители: 2 семьи, 7 человек; доступны 6",
        "listed": "По классу (10А) · родители",
        "draft": "💾 Сохранить черновик",
        "send": "✅ Отправить сейчас",
    },
}


@pytest.fixture
async def families(bot_harness: BotHarness) -> dict[str, int]:
    """10А: S1 ("10А") with parents PA and PB (no Telegram), S2 ("10а") with PC; 5B: S3
    with PA, S4 without parents."""
    factory: SessionFactory = bot_harness.app.session_factory
    add = factories.add_user
    async with factory() as session, session.begin():
        people = {
            "S1": await add(session, role=Role.STUDENT, class_name="10А"),
            "S2": await add(session, role=Role.STUDENT, class_name="10а"),
            "S3": await add(session, role=Role.STUDENT, class_name="5B"),
            "S4": await add(session, role=Role.STUDENT, class_name="5B"),
            "PA": await add(session, role=Role.PARENT),
            "PB": await add(session, role=Role.PARENT, telegram_id=None),
            "PC": await add(session, role=Role.PARENT),
        }
        for guardian, student in [("PA", "S1"), ("PB", "S1"), ("PC", "S2"), ("PA", "S3")]:
            await factories.link_guardian(session, people[guardian], people[student])
        return {name: user.id for name, user in people.items()}


@pytest.mark.parametrize("language", WORDS)
async def test_parents_of_a_class_picked_searched_and_named(
    bot_harness: BotHarness, families: dict[str, int], language: str
) -> None:
    words = WORDS[language]
    wizard = Wizard(bot_harness, language=language)
    await wizard.say("/new")
    await wizard.press(words["by_class"])
    text = wizard.screen().text or ""
    assert words["pick"] in text and words["found"] in text
    assert wizard.labels()[:2] == ["10А", "5B"]  # each class once, whatever its case
    typed = await wizard.type("0А")
    assert typed.messages == []  # the picker's own message shows the result
    assert wizard.labels()[0] == "10А" and "5B" not in wizard.labels()
    await wizard.press("10А")
    assert wizard.screen().text == words["who"]
    assert wizard.labels()[:3] == list(WHO[language].values())
    await wizard.press(WHO[language]["parents"])
    replies = await wizard.compose("Parents' meeting on Friday")
    assert words["preview"] in (replies[-1].text or "")
    await wizard.press(words["draft"])
    [draft] = await broadcasts(bot_harness)
    assert (draft.target_group, draft.target_filter) == (
        TargetGroup.BY_CLASS,
        {"class": "10А", "include": "parents"},
    )
    replies = await wizard.say("/broadcasts")
    assert words["listed"] in (replies[-1].text or "")
    replies = await wizard.say(f"/broadcast {draft.id}")
    assert words["listed"] in (replies[-1].text or "")


@pytest.mark.parametrize("language", WORDS)
async def test_all_students_and_their_parents(
    bot_harness: BotHarness, families: dict[str, int], language: str
) -> None:
    words = WORDS[language]
    wizard = Wizard(bot_harness, language=language)
    await wizard.say("/new")
    await wizard.choose(words["all_students"], who="both")
    replies = await wizard.compose("School closes at noon")
    # Four students, PA, PB and PC: PA is one person, and S1 and S3 one family (PA first).
    assert words["both"] in (replies[-1].text or "")
    await wizard.press(words["send"])
    [broadcast] = await broadcasts(bot_harness)
    assert broadcast.target_filter == {"include": "both"}
    assert broadcast.recipient_count == 6  # PB has no Telegram


async def test_the_class_picker_pages_eight_classes_at_a_time(bot_harness: BotHarness) -> None:
    async with bot_harness.app.session_factory() as session, session.begin():
        for number in range(1, 11):
            await factories.add_user(session, role=Role.STUDENT, class_name=f"{number:02d}Б")
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.press("By class")
    assert wizard.labels()[:9] == [*(f"{n:02d}Б" for n in range(1, 9)), "Next ›"]
    await wizard.press("Next ›")
    assert wizard.labels()[:3] == ["09Б", "10Б", "‹ Previous"]
    await wizard.type("10б")
    assert wizard.labels()[0] == "10Б"


async def test_a_forged_who_button_is_answered_and_changes_nothing(
    bot_harness: BotHarness, families: dict[str, int]
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.press("All students")
    screen = wizard.screen()
    real = dict(_buttons(screen))[WHO["en"]["parents"]]
    for forged in (real.replace("who:parents", "who:everyone"), real.replace("parents", "")):
        sent, edits, answers = await bot_harness.click(ADMIN_ID, forged, screen.message_id)
        assert [(a.get("text"), a.get("show_alert")) for a in answers] == [
            ("This button no longer works.", True)
        ], forged
        assert (sent, edits) == ([], []), forged
    assert wizard.screen().text == screen.text  # still the who step
    await wizard.press(WHO["en"]["parents"])
    assert "step 3 of 5" in (wizard.screen().text or "")  # the content step
