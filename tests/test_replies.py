"""People who write to the bot get a friendly note at most once a day (never "only for
administrators"), with the school's contact when it is set; admins who type what no
feature takes get a hint towards /help."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from db.models import Role
from fake_bot_api import FakeBotAPI
from tests.bot_harness import (
    ADMIN_ID,
    BotHarness,
    harness_settings,
    start_harness,
    stop_harness,
)
from tests.factories import add_user

PARENT = 4700


@pytest.fixture
async def school_harness(
    fake_api: FakeBotAPI, harness_database_url: str
) -> AsyncIterator[BotHarness]:
    settings = harness_settings(
        harness_database_url, fake_api.url, school_contact="+7 495 000-00-00, office@school"
    )
    harness, polling = await start_harness(fake_api, settings)
    async with harness.app.session_factory() as session, session.begin():
        await add_user(session, role=Role.PARENT, telegram_id=PARENT)
    try:
        yield harness
    finally:
        await stop_harness(harness, polling)


@pytest.mark.parametrize(
    ("language", "note", "contact"),
    [
        ("en", "Thank you! This chat delivers your school's announcements", "To reach the school:"),
        ("ru", "Спасибо! В этот чат приходят объявления школы", "Связаться со школой:"),
    ],
)
async def test_a_parents_reply_gets_one_friendly_note_a_day(
    school_harness: BotHarness, language: str, note: str, contact: str
) -> None:
    [first] = await school_harness.send(PARENT, "Thank you!", language_code=language)
    text = first.text or ""
    assert text.startswith(note)
    assert f"{contact} +7 495 000-00-00, office@school" in text
    assert await school_harness.send(PARENT, "Спасибо ещё раз", language_code=language) == []
    sticker = school_harness.api.make_sticker_update(PARENT, "STICKER-1")
    assert await school_harness.send_update(PARENT, sticker) == []


async def test_without_a_contact_the_note_names_none_and_a_stranger_is_not_refused(
    bot_harness: BotHarness,
) -> None:
    [note] = await bot_harness.send(5555, "hello?")
    assert (note.text or "").startswith("Thank you! This chat delivers")
    assert "To reach the school" not in (note.text or "")
    assert "only for the school's administrators" not in (note.text or "")
    # Admin commands stay refused.
    [refused] = await bot_harness.send(5555, "/stats")
    assert refused.text == "Sorry, this is only for the school's administrators."


@pytest.mark.parametrize(
    ("language", "hint"),
    [
        ("en", "I didn't catch that. /help lists what I can do; /new starts a broadcast."),
        ("ru", "Не понял. Что я умею — в /help; новая рассылка — /new."),
    ],
)
async def test_an_admins_stray_text_or_unknown_command_gets_a_hint(
    bot_harness: BotHarness, language: str, hint: str
) -> None:
    for typed in ("hello", "/nonsense"):
        replies = await bot_harness.send(ADMIN_ID, typed, language_code=language)
        assert [reply.text for reply in replies] == [hint], typed
