"""A broadcast's delivery options: chosen in the wizard's options step (in both
languages), shown in the preview and the details, kept by a draft sent later, and carried
by every message the engine sends (silent, protected, the read button).

Conversations run the real application against the fake Bot API; the sends themselves
are checked on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import send_policy
from core.settings import Settings
from db.models import Broadcast, BroadcastStatus, Role, TargetGroup
from db.session import SessionFactory
from handlers.callbacks import ReadConfirmation
from services.limiter import RateLimiter
from services.sender import BroadcastSender
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_user, make_broadcast
from tests.sender_process import make_bot
from tests.test_compose import Wizard, broadcasts
from tests.test_monitoring import buttons, text

STUDENTS = (5001, 5002)

WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "group": "All students",
        "step": "step 4 of 5",
        "asks": "How should it be delivered?",
        "toggles": [
            "Ask to confirm reading",
            "Silent: no sound",
            "Protected: no forwarding or saving",
            "Urgent: at once, with sound, even in quiet hours",
        ],
        "continue": "Continue »",
        "back": "« Back",
        "cancel": "✖ Cancel",
        "options": "Options: asks to confirm reading, protected",
        "draft": "💾 Save draft",
        "read": "✅ I have read it",
    },
    "ru": {
        "group": "Все ученики",
        "step": "шаг 4 из 5",
        "asks": "Как доставить сообщение?",
        "toggles": [
            "Просить подтвердить прочтение",
            "Без звука",
            "Защищённое: нельзя переслать или сохранить",
            "Срочное: сразу, со звуком, даже в тихие часы",
        ],
        "continue": "Продолжить »",
        "back": "« Назад",
        "cancel": "✖ Отмена",
        "options": "Параметры: с подтверждением прочтения, защищённое",
        "draft": "💾 Сохранить черновик",
        "read": "✅ I have read it",  # the students' own language: none set, so the default
    },
}


async def add_students(harness: BotHarness) -> None:
    async with harness.app.session_factory() as session, session.begin():
        for chat_id in STUDENTS:
            await add_user(session, role=Role.STUDENT, telegram_id=chat_id)


@pytest.mark.parametrize("language", WORDS)
async def test_the_options_step_toggles_each_option_and_a_draft_keeps_them(
    bot_harness: BotHarness, language: str
) -> None:
    words = WORDS[language]
    confirm, silent, protected, urgent = words["toggles"]
    await add_students(bot_harness)
    wizard = Wizard(bot_harness, language=language)
    await wizard.say("/new")
    await wizard.choose(words["group"])
    await wizard.say("Exams move to Monday")
    screen = wizard.screen().text or ""
    assert words["step"] in screen and words["asks"] in screen
    assert wizard.labels() == [
        f"⬜ {confirm}",
        f"⬜ {silent}",
        f"⬜ {protected}",
        f"⬜ {urgent}",
        words["continue"],
        words["back"],
        words["cancel"],
    ]
    for label in (f"⬜ {confirm}", f"⬜ {protected}", f"✅ {protected}", f"⬜ {protected}"):
        await wizard.press(label)
    assert wizard.labels()[:4] == [
        f"✅ {confirm}",
        f"⬜ {silent}",
        f"✅ {protected}",
        f"⬜ {urgent}",
    ]
    # Urgent rings: switching it on switches Silent off, and the reverse.
    await wizard.press(f"⬜ {silent}")
    await wizard.press(f"⬜ {urgent}")
    assert wizard.labels()[1:4] == [f"⬜ {silent}", f"✅ {protected}", f"✅ {urgent}"]
    await wizard.press(f"⬜ {silent}")
    assert wizard.labels()[1:4] == [f"✅ {silent}", f"✅ {protected}", f"⬜ {urgent}"]
    await wizard.press(f"✅ {silent}")

    replies = await wizard.past_options()
    assert words["options"] in (replies[-1].text or "").split("\n")
    await wizard.press(words["draft"])
    [draft] = await broadcasts(bot_harness)
    assert (draft.status, draft.ask_confirmation, draft.silent, draft.protected) == (
        BroadcastStatus.DRAFT,
        True,
        False,
        True,
    )
    [details] = await bot_harness.send(ADMIN_ID, f"/broadcast {draft.id}", language_code=language)
    assert words["options"] in (details.text or "").split("\n")

    # Sent later from its details, the draft goes out with its options.
    send_now = buttons(details)[text("details-btn-send", language)]
    [question], _, _ = await bot_harness.click(
        ADMIN_ID, send_now, details.message_id, language_code=language
    )
    yes = buttons(question)[text("send-btn-yes", language)]
    await bot_harness.click(ADMIN_ID, yes, question.message_id, language_code=language)
    await bot_harness.app.sender.wait(draft.id)
    for chat_id in STUDENTS:
        [message] = bot_harness.api.messages_to(chat_id)
        assert (message.text, message.protect_content, message.disable_notification) == (
            "Exams move to Monday",
            True,
            False,
        )
        [[read]] = (message.reply_markup or {})["inline_keyboard"]
        assert read == {"text": words["read"], "callback_data": ReadConfirmation().pack()}


async def test_without_touching_the_options_nothing_is_switched_on(
    bot_harness: BotHarness,
) -> None:
    await add_students(bot_harness)
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.choose("All students")
    replies = await wizard.compose("Hello")
    assert "Options:" not in (replies[-1].text or "")
    await wizard.press("💾 Save draft")
    [draft] = await broadcasts(bot_harness)
    assert (draft.ask_confirmation, draft.silent, draft.protected) == (False, False, False)


@pytest.mark.parametrize(
    "options",
    [{"silent": True}, {"protected": True}, {"silent": True, "protected": True}, {}],
    ids=["silent", "protected", "both", "neither"],
)
async def test_silent_and_protected_sends_carry_their_flags(
    harness_on_each_database: BotHarness, options: dict[str, Any]
) -> None:
    app = harness_on_each_database
    await add_students(app)
    async with app.app.session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, target_group=TargetGroup.ALL_STUDENTS, message="Quiet news", **options
        )
    await app.app.launcher.send_now(broadcast.id, ADMIN_ID, language="en")
    await app.app.sender.wait(broadcast.id)
    silent, protected = options.get("silent", False), options.get("protected", False)
    for chat_id in STUDENTS:
        [message] = app.api.messages_to(chat_id)
        assert (message.disable_notification, message.protect_content) == (silent, protected)
        assert ("disable_notification" in message.params) is silent
        assert ("protect_content" in message.params) is protected
        assert message.reply_markup is None
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast.id}")
    names = [name for name, on in (("silent", silent), ("protected", protected)) if on]
    if names:
        assert f"Options: {', '.join(names)}" in (details.text or "").split("\n")
    else:
        assert "Options:" not in (details.text or "")


async def test_a_sender_without_a_read_button_refuses_a_broadcast_that_asks_for_one(
    session_factory: SessionFactory, settings: Settings
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, status=BroadcastStatus.SENDING, ask_confirmation=True
        )
    limiter = RateLimiter(30)
    bot = make_bot("http://127.0.0.1:9", limiter)  # never asked: it refuses before sending
    sender = BroadcastSender(bot, session_factory, send_policy(settings), limiter)
    try:
        with pytest.raises(RuntimeError, match="asks for confirmation"):
            await sender.start(broadcast.id)
        assert not sender.is_running(broadcast.id)
    finally:
        await sender.shutdown()
        await bot.session.close()
    async with session_factory() as session:
        row = await session.get(Broadcast, broadcast.id)
        assert row is not None and row.status is BroadcastStatus.SENDING
