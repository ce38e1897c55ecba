"""/start, /help, blocking and unblocking the bot, and what non-admins may not do, through
the real Dispatcher and the fake Bot API, in English and Russian."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.i18n import Catalog
from db.models import Broadcast, BroadcastStatus, Role, User
from db.session import SessionFactory
from fake_bot_api import Delivered
from handlers.callbacks import BroadcastAction, BroadcastButton, Confirm, ConfirmedAction
from handlers.compose import NewBroadcast
from services.invites import Invite, LinkService
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_user, make_broadcast

STRANGER = 555
CATALOG = Catalog("en")


def text(language: str, message_id: str, **args: object) -> str:
    return CATALOG.translator(language)(message_id, **args)


def button_texts(message: Delivered) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def load_user(session_factory: SessionFactory, user_id: int) -> User:
    async with session_factory() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


async def invite_token(session_factory: SessionFactory, external_id: str) -> str:
    """A fresh invite token for one user, linked or not (issuing to everyone replaces
    everyone's unused tokens)."""
    invites: list[Invite] = []
    await LinkService(session_factory).issue_invites(invites.extend, include_linked=True)
    return {invite.external_id: invite.token for invite in invites}[external_id]


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_strangers_plain_start_explains_how_to_join(
    bot_harness: BotHarness, language: str
) -> None:
    replies = await bot_harness.send(STRANGER, "/start", language_code=language)
    assert [reply.text for reply in replies] == [text(language, "start-unknown")]


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_linked_users_start_clears_the_unreachable_marks_and_refreshes_details(
    bot_harness: BotHarness, language: str
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        user = await add_user(
            session,
            role=Role.STUDENT,
            telegram_id=4242,
            full_name="Ivan <Petrov>",
            blocked=True,
            deactivated=True,
        )
    replies = await bot_harness.send(4242, "/start", language_code=language, username="ivan")
    assert [reply.text for reply in replies] == [
        text(language, "start-linked", name="Ivan &lt;Petrov&gt;")
    ]
    refreshed = await load_user(factory, user.id)
    assert (refreshed.bot_blocked_at, refreshed.telegram_deactivated_at) == (None, None)
    assert (refreshed.telegram_username, refreshed.language_code) == ("ivan", language)


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_an_admins_start_offers_a_new_broadcast_button(
    bot_harness: BotHarness, language: str
) -> None:
    [greeting] = await bot_harness.send(ADMIN_ID, "/start", language_code=language)
    assert greeting.text == text(language, "start-admin")
    assert greeting.reply_markup == {
        "inline_keyboard": [
            [
                {
                    "text": text(language, "compose-new-broadcast"),
                    "callback_data": NewBroadcast().pack(),
                }
            ]
        ]
    }


async def test_the_new_broadcast_button_opens_the_wizard_like_new(bot_harness: BotHarness) -> None:
    [greeting] = await bot_harness.send(ADMIN_ID, "/start")
    opened, _, _ = await bot_harness.click(ADMIN_ID, NewBroadcast().pack(), greeting.message_id)
    [by_command] = await bot_harness.send(ADMIN_ID, "/new")
    assert len(opened) == 1
    assert opened[0].text == by_command.text
    assert button_texts(opened[0]) == button_texts(by_command) != []


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_start_with_an_invalid_token_explains_and_links_nothing(
    bot_harness: BotHarness, language: str
) -> None:
    replies = await bot_harness.send(STRANGER, "/start NotARealToken_123", language_code=language)
    assert [reply.text for reply in replies] == [text(language, "invite-invalid")]
    async with bot_harness.app.session_factory() as session:
        linked = await session.scalar(select(func.count()).where(User.telegram_id == STRANGER))
    assert linked == 0


async def test_relinking_moves_the_user_to_the_new_account(bot_harness: BotHarness) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        user = await add_user(session, role=Role.PARENT, external_id="p1", telegram_id=6001)
    token = await invite_token(factory, "p1")
    replies = await bot_harness.send(6002, f"/start {token}", language_code="en")
    assert replies[0].text == text("en", "invite-linked", name=user.full_name)
    assert (await load_user(factory, user.id)).telegram_id == 6002
    old_account = await bot_harness.send(6001, "/start", language_code="en")
    assert old_account[0].text == text("en", "start-unknown")


async def test_an_account_linked_to_someone_else_moves_and_the_reply_says_so(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        older = await add_user(session, role=Role.STUDENT, full_name="Анна", telegram_id=6100)
        younger = await add_user(
            session, role=Role.STUDENT, external_id="young", full_name="Борис", telegram_id=None
        )
    token = await invite_token(factory, "young")
    [reply] = await bot_harness.send(6100, f"/start {token}", language_code="ru")
    assert reply.text == "\n\n".join(
        [
            text("ru", "invite-linked", name="Борис"),
            text("ru", "invite-moved", previous="Анна"),
        ]
    )
    assert (await load_user(factory, younger.id)).telegram_id == 6100
    assert (await load_user(factory, older.id)).telegram_id is None


async def test_a_roster_admin_linking_gets_the_admin_greeting_and_menu(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        await add_user(
            session, role=Role.ADMIN, external_id="head", full_name="Head", telegram_id=None
        )
    token = await invite_token(factory, "head")
    [reply] = await bot_harness.send(7100, f"/start {token}", language_code="en")
    assert reply.text == "\n\n".join(
        [text("en", "invite-linked", name="Head"), text("en", "start-admin")]
    )
    scopes = {call.scope.get("chat_id") for call in bot_harness.api.commands_calls if call.scope}
    assert 7100 in scopes


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_help_for_a_non_admin(bot_harness: BotHarness, language: str) -> None:
    replies = await bot_harness.send(STRANGER, "/help", language_code=language)
    assert [reply.text for reply in replies] == [text(language, "help-user")]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "I deliver your school's announcements here, Olga Ivanova. Your account is linked"),
        ("ru", "Здесь вы получаете объявления школы, Olga Ivanova. Аккаунт привязан"),
    ],
)
async def test_help_for_a_linked_person_says_all_is_set_not_to_open_an_invite(
    bot_harness: BotHarness, language: str, expected: str
) -> None:
    async with bot_harness.app.session_factory() as session, session.begin():
        await add_user(session, role=Role.PARENT, telegram_id=4600, full_name="Olga Ivanova")
    [reply] = await bot_harness.send(4600, "/help", language_code=language)
    assert (reply.text or "").startswith(expected)
    assert reply.text != text(language, "help-user")


async def test_blocking_and_unblocking_the_bot_is_recorded(bot_harness: BotHarness) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        user = await add_user(session, role=Role.STUDENT, telegram_id=4300)
    api = bot_harness.api
    await bot_harness.push(api.make_my_chat_member_update(4300, "kicked"))
    blocked_at = (await load_user(factory, user.id)).bot_blocked_at
    assert blocked_at is not None
    await bot_harness.push(api.make_my_chat_member_update(4300, "member"))
    assert (await load_user(factory, user.id)).bot_blocked_at is None
    assert api.messages_to(4300) == []  # nothing is said to the user


async def test_membership_changes_in_groups_are_ignored(bot_harness: BotHarness) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        user = await add_user(session, role=Role.TEACHER, telegram_id=4400)
    update = bot_harness.api.make_my_chat_member_update(4400, "kicked", chat_id=-100500)
    await bot_harness.push(update)
    assert (await load_user(factory, user.id)).bot_blocked_at is None


# --- access: non-admins are refused and nothing changes -----------------------------


async def test_non_admins_are_refused_admin_commands_and_forged_buttons(
    bot_harness: BotHarness,
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        student = await add_user(session, role=Role.STUDENT, telegram_id=4500)
        broadcast = await make_broadcast(session, status=BroadcastStatus.SCHEDULED)
    not_allowed = text("en", "not-allowed")
    for command in ("/new", "/stats", f"/cancel {broadcast.id}"):
        replies = await bot_harness.send(student.telegram_id, command)  # type: ignore[arg-type]
        assert [reply.text for reply in replies] == [not_allowed], command
    forged = (
        Confirm(
            action=ConfirmedAction.CANCEL,
            broadcast_id=broadcast.id,
            status=BroadcastStatus.SCHEDULED,
            yes=True,
        ).pack(),
        BroadcastAction(action=BroadcastButton.CANCEL, broadcast_id=broadcast.id).pack(),
        NewBroadcast().pack(),
    )
    for data in forged:
        sent, edits, answers = await bot_harness.click(4500, data, message_id=1)
        assert (sent, edits) == ([], []), data
        assert [(answer["text"], answer.get("show_alert")) for answer in answers] == [
            (not_allowed, True)
        ], data
    async with factory() as session:
        statuses = list(await session.scalars(select(Broadcast.status)))
    assert statuses == [BroadcastStatus.SCHEDULED]
    # The same data from an admin is a live button: it does cancel.
    await bot_harness.click(ADMIN_ID, forged[0], message_id=1)
    async with factory() as session:
        statuses = list(await session.scalars(select(Broadcast.status)))
    assert statuses == [BroadcastStatus.CANCELLED]
