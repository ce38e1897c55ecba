"""The compose wizard, driven as an admin would: updates go through the fake Bot API into
the real application, and the bot's answers are read from the fake server's records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from db.models import Broadcast, BroadcastStatus, ContentKind, Role, TargetGroup, User
from db.session import SessionFactory
from db.types import utcnow
from fake_bot_api import Delivered, Edit, MessageState
from tests import factories
from tests.bot_harness import ADMIN_ID, BotHarness

STRANGER_ID = 555
CONTINUE = {"en": "Continue »", "ru": "Продолжить »"}
WHO = {
    "en": {
        "students": "🎒 Students",
        "parents": "👪 Their parents",
        "both": "🎒👪 Students and parents",
    },
    "ru": {
        "students": "🎒 Ученики",
        "parents": "👪 Их родители",
        "both": "🎒👪 Ученики и родители",
    },
}
BOLD_HELLO = [{"type": "bold", "offset": 0, "length": 5}]


@dataclass
class Roster:
    """Who is in the harness's database, by role."""

    students: list[User]
    unlinked_student: User
    blocked_student: User
    maths_teacher: User
    tutor: User
    mathematics_id: int


def chat_of(user: User) -> int:
    assert user.telegram_id is not None, f"{user.full_name} has no Telegram"
    return user.telegram_id


@pytest.fixture
async def roster(bot_harness: BotHarness) -> Roster:
    """Three linked students, one without Telegram, one who blocked the bot; Mathematics
    (taught by Boris to two of them) among 11 subjects; Anna tutors one student."""
    factory: SessionFactory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        add = factories.add_user
        students = [
            await add(session, role=Role.STUDENT, full_name=f"Student {n}", external_id=f"S-{n}")
            for n in range(1, 4)
        ]
        students[0].telegram_username = "first_student"
        unlinked = await add(session, role=Role.STUDENT, full_name="Unlinked", telegram_id=None)
        blocked = await add(session, role=Role.STUDENT, full_name="Blocked", blocked=True)
        teacher = await add(session, role=Role.TEACHER, full_name="Boris Teacher")
        tutor = await add(session, role=Role.TUTOR, full_name="Anna Tutor")
        mathematics = await factories.add_subject(session, "Mathematics")
        for number in range(1, 11):
            await factories.add_subject(session, f"Subject {number:02d}")
        for student in (students[0], students[1], unlinked):
            await factories.enroll(session, student, mathematics, teacher)
        await factories.assign_tutor(session, tutor, students[2])
    return Roster(students, unlinked, blocked, teacher, tutor, mathematics.id)


@dataclass(frozen=True)
class Typed:
    """A message the admin typed, and what the bot did about it."""

    message_id: int
    messages: list[Delivered]
    edits: list[Edit]


class Wizard:
    """One person's side of the chat: type, press buttons by their label, read screens.

    Each action waits for the bot's answer (a message, or a callback answer), including
    answers given by error handlers, which run after the harness sees the update handled.
    """

    def __init__(self, harness: BotHarness, user_id: int = ADMIN_ID, language: str = "en"):
        self.harness = harness
        self.api = harness.api
        self.user_id = user_id
        self.language = language

    async def say(self, text: str, **kwargs: Any) -> list[Delivered]:
        update = self.api.make_message_update(
            self.user_id, text, language_code=self.language, **kwargs
        )
        return await self._answered(update)

    async def type(self, text: str) -> Typed:
        """Send `text` and wait until it is handled, for steps that may answer with an
        edit alone (a picker's search)."""
        api = self.api
        before = (len(api.messages_to(self.user_id)), len(api.edits))
        update = api.make_message_update(self.user_id, text, language_code=self.language)
        await self.harness.push(update)
        return Typed(
            update["message"]["message_id"],
            api.messages_to(self.user_id)[before[0] :],
            api.edits[before[1] :],
        )

    async def send_update(self, kind: str, file_id: str, **kwargs: Any) -> list[Delivered]:
        build = getattr(self.api, f"make_{kind}_update")
        return await self._answered(
            build(self.user_id, file_id, language_code=self.language, **kwargs)
        )

    async def past_options(self) -> list[Delivered]:
        """Continue from the options step (nothing switched on): the content as recipients
        will get it, then the preview."""
        messages, _, _ = await self.press(CONTINUE[self.language])
        return messages

    async def choose(
        self, label: str, who: str = "students"
    ) -> tuple[list[Delivered], list[Edit], list[dict[str, Any]]]:
        """Press the group, class, subject or person `label`; when the wizard then asks
        who of the students receive it, answer `who`. What the last press did."""
        pressed = await self.press(label)
        if WHO[self.language][who] in self.labels():
            return await self.press(WHO[self.language][who])
        return pressed

    async def compose(self, text: str, **kwargs: Any) -> list[Delivered]:
        """Send the content and go on past the options to the preview."""
        await self.say(text, **kwargs)
        return await self.past_options()

    async def compose_media(self, kind: str, file_id: str, **kwargs: Any) -> list[Delivered]:
        await self.send_update(kind, file_id, **kwargs)
        return await self.past_options()

    async def _answered(self, update: dict[str, Any]) -> list[Delivered]:
        before = len(self.api.messages_to(self.user_id))
        await self.harness.push(update)
        await self.api.wait_for(lambda: len(self.api.messages_to(self.user_id)) > before)
        return self.api.messages_to(self.user_id)[before:]

    def screen(self) -> MessageState:
        """The wizard's live message: the newest one from the bot that has buttons."""
        for message in reversed(self.api.messages_to(self.user_id)):
            state = self.api.current_message(self.user_id, message.message_id)
            if state is not None and state.reply_markup:
                return state
        raise AssertionError(f"no message with buttons\n{self.api.dump()}")

    def labels(self) -> list[str]:
        return [label for label, _ in _buttons(self.screen())]

    async def press(
        self, label: str, on: MessageState | None = None
    ) -> tuple[list[Delivered], list[Edit], list[dict[str, Any]]]:
        """Press the button labelled `label` on the live screen (or on the message `on`)."""
        screen = on or self.screen()
        data = dict(_buttons(screen)).get(label)
        assert data is not None, f"no button {label!r} in {_buttons(screen)}"
        api = self.api
        before = (len(api.messages_to(self.user_id)), len(api.edits), len(api.callback_answers))
        update = api.make_callback_update(
            self.user_id, data, screen.message_id, language_code=self.language
        )
        await self.harness.push(update)
        await api.wait_for(lambda: len(api.callback_answers) > before[2])
        return (
            api.messages_to(self.user_id)[before[0] :],
            api.edits[before[1] :],
            api.callback_answers[before[2] :],
        )


def _buttons(state: MessageState) -> list[tuple[str, str]]:
    markup = state.reply_markup or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def broadcasts(harness: BotHarness) -> list[Broadcast]:
    async with harness.app.session_factory() as session:
        return list(await session.scalars(select(Broadcast).order_by(Broadcast.id)))


async def compose_text(wizard: Wizard, group_label: str, text: str = "Hello, school") -> None:
    """/new, an audience without a step 2, and a text with formatting: up to the preview."""
    await wizard.say("/new")
    await wizard.choose(group_label)
    await wizard.compose(text, entities=BOLD_HELLO)


# --- step 1 and the preview, for every target group -----------------------------------


async def test_role_groups_preview_their_audience_and_counts(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    assert "Who should receive it?" in (wizard.screen().text or "")
    assert wizard.labels() == [
        "All students",
        "All teachers",
        "All tutors",
        "All parents",
        "By class",
        "By subject",
        "By tutor",
        "By teacher",
        "Custom list",
        "✖ Cancel",
    ]
    _, edits, _ = await wizard.press("All students")
    assert "step 2 of 5" in (edits[-1].text or "")  # no picker on this path, but who
    assert "All students: who should receive it?" in (edits[-1].text or "")
    assert wizard.labels() == [*WHO["en"].values(), "« Back", "✖ Cancel"]
    _, edits, _ = await wizard.press(WHO["en"]["students"])
    assert "step 3 of 5" in (edits[-1].text or "")
    replies = await wizard.compose("Hello, school", entities=BOLD_HELLO)
    preview, screen = replies[-2], replies[-1]
    assert (preview.text, preview.entities, preview.parse_mode) == (
        "Hello, school",
        BOLD_HELLO,
        None,
    )
    assert (screen.text or "").endswith(
        "Audience: All students\n"
        "Will receive it: 3\n"
        "Not reachable: 1 without Telegram linked, 1 blocked the bot"
    )
    assert wizard.labels()[:2] == ["✅ Send now", "🕒 Schedule"]

    for label in ("All teachers", "All tutors"):
        await wizard.press("👥 Edit audience")
        await wizard.press(label)
        assert f"Audience: {label}\nWill receive it: 1\n" in (wizard.screen().text or "")

    await wizard.press("👥 Edit audience")
    await wizard.press("All parents")
    assert "No recipients found for group All parents" in (wizard.screen().text or "")
    labels = wizard.labels()
    assert "✅ Send now" not in labels and "🕒 Schedule" not in labels
    assert "💾 Save draft" in labels


async def test_by_subject_pages_of_eight_search_and_pick(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.press("By subject")
    first_page = wizard.labels()
    assert first_page[:8] == ["Mathematics", *[f"Subject {n:02d}" for n in range(1, 8)]]
    assert "Next ›" in first_page and "‹ Previous" not in first_page
    assert "Found: 11 · page 1 of 2" in (wizard.screen().text or "")
    rows = (wizard.screen().reply_markup or {}).get("inline_keyboard", [])
    assert rows and all(rows), rows  # no empty row above the page buttons
    await wizard.press("Next ›")
    second_page = wizard.labels()
    assert second_page[:3] == ["Subject 08", "Subject 09", "Subject 10"]
    assert "‹ Previous" in second_page and "Next ›" not in second_page
    await wizard.press("‹ Previous")
    assert wizard.labels()[0] == "Mathematics"

    await wizard.type("chemistry")
    assert "Nothing found" in (wizard.screen().text or "")
    await wizard.press("Show all")
    assert "Found: 11" in (wizard.screen().text or "")
    await wizard.type("math")
    assert "Search: «math»" in (wizard.screen().text or "")
    assert wizard.labels()[:2] == ["Mathematics", "Show all"]
    await wizard.choose("Mathematics")
    replies = await wizard.compose("Homework for Monday")
    text = replies[-1].text or ""
    assert "Audience: Students and teachers of Mathematics" in text
    assert "Will receive it: 3" in text  # two linked students and their teacher
    assert "Not reachable: 1 without Telegram linked, 0 blocked the bot" in text


@pytest.mark.parametrize(
    ("group", "person", "audience", "reachable"),
    [
        ("By tutor", "Anna Tutor", "Students of tutor Anna Tutor", 1),
        ("By teacher", "Boris Teacher", "Students of teacher Boris Teacher", 2),
    ],
)
async def test_by_tutor_and_by_teacher_pick_a_person(
    bot_harness: BotHarness,
    roster: Roster,
    group: str,
    person: str,
    audience: str,
    reachable: int,
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.press(group)
    assert wizard.labels()[0] == person
    await wizard.choose(person)
    replies = await wizard.compose("Meeting at 5")
    assert f"Audience: {audience}" in (replies[-1].text or "")
    assert f"Will receive it: {reachable}" in (replies[-1].text or "")
    await wizard.press("💾 Save draft")
    [draft] = await broadcasts(bot_harness)
    key = "tutor_id" if group == "By tutor" else "teacher_id"
    person_id = roster.tutor.id if group == "By tutor" else roster.maths_teacher.id
    assert draft.target_filter == {key: person_id}


async def test_custom_list_says_what_matched_and_lists_every_miss(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    first, second, third = roster.students
    await wizard.say("/new")
    await wizard.press("Custom list")
    assert "Continue »" not in wizard.labels()
    replies = await wizard.say("@ghost, S-999")
    assert (
        replies[0].text
        == "Nobody was found. Check the list and send it again.\n\nNot found (2): @ghost, S-999"
    )
    assert "Continue »" not in wizard.labels()

    typed = f"#{first.id}, s-2\n@FIRST_STUDENT {third.telegram_id};; @nobody 99999999 S-404"
    replies = await wizard.say(typed)
    report = replies[0].text or ""
    # Who was found, by the school's id and name; the school's ids match in any case.
    found = ", ".join(f"{person.external_id} {person.full_name}" for person in roster.students)
    assert f"Found (3): {found}" in report
    assert "Not found (3): @nobody, 99999999, S-404" in report
    assert replies[0].parse_mode is None
    assert "Selected: 3" in (wizard.screen().text or "")
    await wizard.choose("Continue »")
    await wizard.press("« Back")  # from the content step: the who question
    await wizard.press("« Back")  # and from there: the list is still there
    assert "Selected: 3" in (wizard.screen().text or "")
    await wizard.choose("Continue »")
    replies = await wizard.compose("Only for you")
    assert "Audience: Custom list of 3 users" in (replies[-1].text or "")
    await wizard.press("💾 Save draft")
    [draft] = await broadcasts(bot_harness)
    assert draft.target_group is TargetGroup.CUSTOM
    assert draft.target_filter == {"user_ids": [first.id, second.id, third.id]}


# --- back, cancel, edit -----------------------------------------------------------------


async def test_back_walks_every_step_in_reverse(bot_harness: BotHarness, roster: Roster) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.press("Custom list")
    assert "step 2 of 6" in (wizard.screen().text or "")
    await wizard.press("« Back")
    assert "· step 1\n" in (wizard.screen().text or "")  # the path is not chosen yet
    await wizard.press("By subject")
    await wizard.press("« Back")
    assert "· step 1\n" in (wizard.screen().text or "")
    await wizard.press("By subject")
    assert "step 2 of 6" in (wizard.screen().text or "")
    await wizard.press("Mathematics")
    assert "step 3 of 6" in (wizard.screen().text or "")  # who of its students
    await wizard.press("« Back")  # who -> the picker it came from
    assert "Pick the subject" in (wizard.screen().text or "")
    await wizard.choose("Mathematics")
    assert "step 4 of 6" in (wizard.screen().text or "")
    await wizard.press("« Back")  # content -> who
    assert "step 3 of 6" in (wizard.screen().text or "")
    await wizard.press(WHO["en"]["students"])
    await wizard.say("Text")
    assert "step 5 of 6" in (wizard.screen().text or "")  # the options
    await wizard.press("« Back")  # options -> content
    assert "step 4 of 6" in (wizard.screen().text or "")
    await wizard.press("Keep the current message »")
    await wizard.press("🕒 Schedule")
    assert "When should it go out?" in (wizard.screen().text or "")
    await wizard.press("« Back")  # schedule -> preview
    assert "step 6 of 6" in (wizard.screen().text or "")
    await wizard.press("« Back")  # preview -> options
    assert "step 5 of 6" in (wizard.screen().text or "")
    await wizard.press("« Back")  # options -> content, which can keep the message
    assert "step 4 of 6" in (wizard.screen().text or "")
    await wizard.press("Keep the current message »")
    assert "Audience: Students and teachers of Mathematics" in (wizard.screen().text or "")
    assert await broadcasts(bot_harness) == []


@pytest.mark.parametrize("steps_before_cancel", [0, 3, 4])
async def test_cancel_at_any_step_discards_everything(
    bot_harness: BotHarness, roster: Roster, steps_before_cancel: int
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    actions = [
        lambda: wizard.press("By subject"),
        lambda: wizard.choose("Mathematics"),
        lambda: wizard.say("Hello"),
        wizard.past_options,
    ]
    for action in actions[:steps_before_cancel]:
        await action()
    screen = wizard.screen()
    _, edits, _ = await wizard.press("✖ Cancel")
    assert edits[-1].message_id == screen.message_id
    assert "discarded" in (edits[-1].text or "") and edits[-1].reply_markup is None
    assert await broadcasts(bot_harness) == []


async def test_edit_content_and_edit_audience_from_the_preview(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All students")
    await wizard.press("✏️ Edit message")
    assert "The current message is shown above" in (wizard.screen().text or "")
    replies = await wizard.send_update(
        "photo",
        "PHOTO-1",
        caption="Look",
        caption_entities=[{"type": "italic", "offset": 0, "length": 4}],
    )
    photo = replies[0]
    assert (photo.method, photo.file_id, photo.text) == ("sendPhoto", "PHOTO-1", "Look")
    assert photo.entities == [{"type": "italic", "offset": 0, "length": 4}]
    await wizard.press("👥 Edit audience")
    assert "Keep the current audience »" in wizard.labels()
    _, _, _ = await wizard.press("All teachers")
    # With the content known, a new audience goes straight back to the preview.
    assert "Audience: All teachers" in (wizard.screen().text or "")
    assert wizard.api.messages_to(ADMIN_ID)[-2].file_id == "PHOTO-1"
    await wizard.press("💾 Save draft")
    [draft] = await broadcasts(bot_harness)
    assert draft.target_group is TargetGroup.ALL_TEACHERS
    assert (draft.content_kind, draft.file_id, draft.message) == (
        ContentKind.PHOTO,
        "PHOTO-1",
        "Look",
    )


async def test_keep_the_current_audience_returns_to_the_preview(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All tutors")
    await wizard.press("👥 Edit audience")
    await wizard.press("By subject")
    await wizard.press("« Back")
    await wizard.press("Keep the current audience »")
    assert "Audience: All tutors" in (wizard.screen().text or "")


# --- content ------------------------------------------------------------------------------


async def test_media_are_previewed_with_their_own_method(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.choose("All students")
    for kind, method in (
        ("video", "sendVideo"),
        ("document", "sendDocument"),
        ("animation", "sendAnimation"),
    ):
        if kind == "video":  # the first content goes on to the options step
            replies = await wizard.compose_media(kind, "VIDEO-7", caption="See attached")
        else:  # a replacement goes straight back to the preview
            await wizard.press("✏️ Edit message")
            replies = await wizard.send_update(kind, f"{kind.upper()}-7", caption="See attached")
        assert (replies[0].method, replies[0].file_id, replies[0].text) == (
            method,
            f"{kind.upper()}-7",
            "See attached",
        )
    await wizard.press("💾 Save draft")
    [draft] = await broadcasts(bot_harness)
    assert (draft.content_kind, draft.file_id) == (ContentKind.ANIMATION, "ANIMATION-7")


async def test_over_long_text_gets_its_length_and_the_limit_and_stays(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.choose("All students")
    replies = await wizard.say("x" * 1001)
    assert [reply.text for reply in replies] == [
        "The message is 1,001 characters long; the limit is 1,000."
    ]
    assert "step 3 of 5" in (wizard.screen().text or "")
    replies = await wizard.compose("x" * 1000)
    assert replies[0].text == "x" * 1000
    assert "step 5 of 5" in (replies[-1].text or "")


async def test_over_long_caption_is_refused(bot_harness: BotHarness, roster: Roster) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.choose("All students")
    replies = await wizard.send_update("photo", "PHOTO-2", caption="c" * 1025)
    assert [reply.text for reply in replies] == [
        "The message is 1,025 characters long; the limit is 1,024."
    ]
    assert "step 3 of 5" in (wizard.screen().text or "")


INVISIBLE_REFUSALS = {
    "en": (
        "All students",
        "The message has no visible characters: only spaces or invisible ones, so recipients "
        "would see nothing. Send a text with something to read.",
        "step 3 of 5",
        "step 5 of 5",
    ),
    "ru": (
        "Все ученики",
        "В сообщении нет видимых символов: только пробелы или невидимые знаки, получатели "
        "ничего не увидят. Отправьте текст, который можно прочитать.",
        "шаг 3 из 5",
        "шаг 5 из 5",
    ),
}


@pytest.mark.parametrize("language", INVISIBLE_REFUSALS)
async def test_an_invisible_text_is_refused_in_the_admins_language_and_stays(
    bot_harness: BotHarness, roster: Roster, language: str
) -> None:
    group, refusal, content_step, preview_step = INVISIBLE_REFUSALS[language]
    wizard = Wizard(bot_harness, language=language)
    await wizard.say("/new")
    await wizard.choose(group)
    replies = await wizard.say("\u200b\u200d \u3164\u2800\ufeff")
    assert [reply.text for reply in replies] == [refusal]
    assert content_step in (wizard.screen().text or "")
    replies = await wizard.compose("\u200b👍")
    assert replies[0].text == "\u200b👍"
    assert preview_step in (replies[-1].text or "")
    assert await broadcasts(bot_harness) == []


async def test_an_invisible_caption_is_refused(bot_harness: BotHarness, roster: Roster) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.choose("All students")
    replies = await wizard.send_update("photo", "PHOTO-3", caption="\u2060\u200b")
    assert [reply.text for reply in replies] == [
        "The caption has no visible characters: only spaces or invisible ones, so recipients "
        "would see nothing. Send the file again with a caption to read, or without one."
    ]
    assert "step 3 of 5" in (wizard.screen().text or "")
    replies = await wizard.compose_media("photo", "PHOTO-3")
    assert (replies[0].method, replies[0].file_id) == ("sendPhoto", "PHOTO-3")
    assert "step 5 of 5" in (replies[-1].text or "")


async def test_unsupported_content_gets_a_hint(bot_harness: BotHarness, roster: Roster) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    await wizard.choose("All students")
    replies = await wizard.send_update("sticker", "STICKER-1")
    assert "I can't broadcast this kind of message" in (replies[0].text or "")
    assert "step 3 of 5" in (wizard.screen().text or "")


# --- draft, send, schedule ----------------------------------------------------------------


async def test_save_draft_confirms_with_its_id(bot_harness: BotHarness, roster: Roster) -> None:
    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All students")
    _, edits, _ = await wizard.press("💾 Save draft")
    [draft] = await broadcasts(bot_harness)
    assert edits[-1].text == f"Broadcast created (#{draft.id}) and saved as a draft."
    assert edits[-1].reply_markup is None
    assert draft.status is BroadcastStatus.DRAFT
    assert (draft.message, draft.entities) == ("Hello, school", BOLD_HELLO)
    assert draft.created_by_id is None  # this admin is in ADMIN_IDS, not in the roster


async def test_send_now_delivers_to_every_reachable_recipient(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All students")
    _, edits, _ = await wizard.press("✅ Send now")
    [broadcast] = await broadcasts(bot_harness)
    assert edits[-1].text == f"Broadcast created (#{broadcast.id}). Sending to 3 recipients."
    chats = [chat_of(student) for student in roster.students]
    api = bot_harness.api
    await api.wait_for(lambda: all(api.messages_to(chat) for chat in chats), timeout=10)
    for chat in chats:
        [delivered] = api.messages_to(chat)
        assert (delivered.text, delivered.entities, delivered.parse_mode) == (
            "Hello, school",
            BOLD_HELLO,
            None,
        )
    assert not api.messages_to(chat_of(roster.blocked_student))
    progress = [m for m in api.messages_to(ADMIN_ID) if m.message_id > edits[-1].message_id]
    assert progress, "the progress message is posted in the admin's chat"


async def test_schedule_in_one_hour(bot_harness: BotHarness, roster: Roster) -> None:
    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All students")
    await wizard.press("🕒 Schedule")
    before = utcnow()
    _, edits, _ = await wizard.press("In 1 hour")
    [broadcast] = await broadcasts(bot_harness)
    assert broadcast.status is BroadcastStatus.SCHEDULED
    assert broadcast.scheduled_at is not None
    expected = (before + timedelta(hours=1)).replace(second=0, microsecond=0)
    assert expected <= broadcast.scheduled_at <= expected + timedelta(minutes=1)
    local = broadcast.scheduled_at.astimezone(bot_harness.app.settings.tz)
    assert edits[-1].text == (
        f"Broadcast created (#{broadcast.id}). "
        f"Scheduled for {local:%d.%m.%Y %H:%M} (Europe/Moscow)."
    )
    assert bot_harness.app.dispatcher["scheduler"].is_armed(broadcast.id)


async def test_schedule_tomorrow_morning(bot_harness: BotHarness, roster: Roster) -> None:
    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All students")
    await wizard.press("🕒 Schedule")
    tz = bot_harness.app.settings.tz
    before = utcnow().astimezone(tz).date()
    _, edits, _ = await wizard.press("Tomorrow 09:00")
    after = utcnow().astimezone(tz).date()
    [broadcast] = await broadcasts(bot_harness)
    assert broadcast.scheduled_at is not None
    local = broadcast.scheduled_at.astimezone(tz)
    assert (local.hour, local.minute) == (9, 0)
    # The day after the press, even when the press straddles midnight in the school's zone.
    assert local.date() in {before + timedelta(days=1), after + timedelta(days=1)}
    assert f"Scheduled for {local:%d.%m.%Y} 09:00 (Europe/Moscow)" in (edits[-1].text or "")


async def test_a_typed_time_is_explained_until_it_is_valid(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All students")
    await wizard.press("🕒 Schedule")

    replies = await wizard.say("next friday-ish")
    [reply] = replies
    assert "I can't read «next friday-ish» as a date and time" in (reply.text or "")
    assert "01.12.2026 09:30" in (reply.text or "")
    replies = await wizard.say("01.01.2020 10:00")
    assert [reply.text for reply in replies] == [
        "01.01.2020 10:00 (Europe/Moscow) has already passed; pick a time in the future."
    ]
    assert "When should it go out?" in (wizard.screen().text or "")
    assert await broadcasts(bot_harness) == []

    year = utcnow().year + 1
    replies = await wizard.say(f"01.12.{year} 09:30")
    [broadcast] = await broadcasts(bot_harness)
    assert broadcast.scheduled_at == datetime(year, 12, 1, 6, 30, tzinfo=UTC)
    assert replies[-1].text == (
        f"Broadcast created (#{broadcast.id}). Scheduled for 01.12.{year} 09:30 (Europe/Moscow)."
    )


# --- stale and forged buttons ---------------------------------------------------------------


async def test_a_button_of_a_finished_wizard_only_alerts(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All students")
    preview = wizard.screen()
    await wizard.press("💾 Save draft")
    messages, edits, answers = await wizard.press("💾 Save draft", on=preview)
    assert answers[-1]["show_alert"] is True
    assert "old wizard message" in answers[-1]["text"]
    assert (messages, edits) == ([], [])
    assert len(await broadcasts(bot_harness)) == 1


async def test_a_restarted_wizard_disowns_the_old_one(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    first = wizard.screen()
    await wizard.say("/new")
    messages, edits, answers = await wizard.press("All students", on=first)
    assert answers[-1]["show_alert"] is True and (messages, edits) == ([], [])


async def test_an_earlier_message_of_the_live_wizard_only_alerts(
    bot_harness: BotHarness, roster: Roster
) -> None:
    wizard = Wizard(bot_harness)
    await wizard.say("/new")
    step_one = wizard.screen()
    await wizard.choose("All students")
    await wizard.compose("Hello")  # the options, then the preview: new messages below
    messages, edits, answers = await wizard.press("All parents", on=step_one)
    assert answers[-1]["show_alert"] is True and (messages, edits) == ([], [])
    assert "Audience: All students" in (wizard.screen().text or "")


async def test_a_stranger_forging_a_wizard_button_is_refused(
    bot_harness: BotHarness, roster: Roster
) -> None:
    admin = Wizard(bot_harness)
    await admin.say("/new")
    stranger = Wizard(bot_harness, user_id=STRANGER_ID)
    data = dict(_buttons(admin.screen()))["All students"]
    _, edits, answers = await bot_harness.click(STRANGER_ID, data, admin.screen().message_id)
    assert answers[-1]["text"] == "Sorry, this is only for the school's administrators."
    assert edits == []
    replies = await stranger.say("/new")
    assert [reply.text for reply in replies] == [
        "Sorry, this is only for the school's administrators."
    ]


# --- entry points and languages -------------------------------------------------------------


async def test_the_new_broadcast_button_opens_the_wizard(
    bot_harness: BotHarness, roster: Roster
) -> None:
    from handlers.compose import NewBroadcast

    messages, _, answers = await bot_harness.click(ADMIN_ID, NewBroadcast().pack(), 1)
    assert "Who should receive it?" in (messages[-1].text or "")
    assert answers[-1].get("show_alert") is not True


async def test_the_whole_wizard_speaks_russian(bot_harness: BotHarness, roster: Roster) -> None:
    wizard = Wizard(bot_harness, language="ru")
    await wizard.say("/new")
    assert "Кому отправить?" in (wizard.screen().text or "")
    await wizard.choose("Все ученики")
    replies = await wizard.compose("Привет, школа")
    assert "Получатели: Все ученики" in (replies[-1].text or "")
    _, edits, _ = await wizard.press("💾 Сохранить черновик")
    [draft] = await broadcasts(bot_harness)
    assert edits[-1].text == f"Рассылка успешно создана (#{draft.id}) и сохранена как черновик."


def test_the_new_broadcast_keyboard_carries_the_wizard_callback() -> None:
    from core.i18n import Catalog
    from handlers.compose import NewBroadcast, new_broadcast_keyboard

    keyboard = new_broadcast_keyboard(Catalog("en").translator("ru"))
    [[button]] = keyboard.inline_keyboard
    assert (button.text, button.callback_data) == ("📝 Новая рассылка", NewBroadcast().pack())


@pytest.mark.parametrize(
    ("language", "group", "schedule", "own", "other"),
    [
        ("en", "All students", "🕒 Schedule", "tomorrow 9:00", "завтра"),
        ("ru", "Все ученики", "🕒 Запланировать", "завтра 9:00", "tomorrow"),
    ],
)
async def test_the_schedule_step_shows_examples_in_the_admins_language_only(
    bot_harness: BotHarness,
    roster: Roster,
    language: str,
    group: str,
    schedule: str,
    own: str,
    other: str,
) -> None:
    wizard = Wizard(bot_harness, language=language)
    await compose_text(wizard, group)
    await wizard.press(schedule)
    prompt = wizard.screen().text or ""
    assert own in prompt and other not in prompt
    [unreadable] = await wizard.say("someday")
    assert own in (unreadable.text or "") and other not in (unreadable.text or "")
