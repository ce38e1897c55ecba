"""Deleted ("deactivated") Telegram accounts are told apart from people who blocked the
bot: a send that Telegram answers "user is deactivated" marks the account so, and the
wizard's preview counts it on its own, in English and Russian with their plural forms."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.i18n import Catalog
from db.models import Broadcast, BroadcastStatus, Role, User
from tests import factories
from tests.bot_harness import BotHarness
from tests.test_compose import Wizard, compose_text

PREVIEW = {
    "en": (
        "All students",
        "Will receive it: 2\n"
        "Not reachable: 1 without Telegram linked, 1 blocked the bot, 2 deactivated accounts",
    ),
    "ru": (
        "Все ученики",
        "Получат: 2\n"
        "Недоступны: 1 без привязанного Telegram, 1 заблокировал бота, 2 удалённых аккаунта",
    ),
}


@pytest.mark.parametrize("language", sorted(PREVIEW))
async def test_the_preview_counts_deleted_accounts_apart_from_blocked(
    bot_harness: BotHarness, language: str
) -> None:
    async with bot_harness.app.session_factory() as session, session.begin():
        for _ in range(2):
            await factories.add_user(session, role=Role.STUDENT)
        await factories.add_user(session, role=Role.STUDENT, telegram_id=None)
        await factories.add_user(session, role=Role.STUDENT, blocked=True)
        await factories.add_user(session, role=Role.STUDENT, deactivated=True)
        await factories.add_user(session, role=Role.STUDENT, deactivated=True, blocked=True)
    group, counts = PREVIEW[language]
    wizard = Wizard(bot_harness, language=language)
    await compose_text(wizard, group)
    assert (wizard.screen().text or "").endswith(counts)


@pytest.mark.parametrize(
    ("language", "blocked", "deactivated", "expected"),
    [
        ("en", 1, 0, "1 blocked the bot"),
        ("en", 0, 1, "0 blocked the bot, 1 deactivated account"),
        ("ru", 1, 1, "1 заблокировал бота, 1 удалённый аккаунт"),
        ("ru", 3, 5, "3 заблокировали бота, 5 удалённых аккаунтов"),
        ("ru", 21, 21, "21 заблокировал бота, 21 удалённый аккаунт"),
    ],
)
def test_the_counts_line_has_plural_forms_and_names_deleted_accounts_only_when_some(
    language: str, blocked: int, deactivated: int, expected: str
) -> None:
    t = Catalog("en").translator(language)
    line = t(
        "compose-preview-counts",
        reachable=4,
        no_telegram=0,
        blocked=blocked,
        deactivated=deactivated,
    )
    assert line.endswith(expected)


async def test_a_send_marks_deleted_accounts_apart_and_the_next_preview_says_so(
    bot_harness: BotHarness,
) -> None:
    """Telegram's 403 "user is deactivated" and "bot was blocked by the user" for two of
    four students: each gets its own mark, and the next broadcast's preview counts them
    apart and no longer as reachable."""
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        students = [await factories.add_user(session, role=Role.STUDENT) for _ in range(4)]
    deleted, blocking = students[0], students[1]
    api = bot_harness.api
    assert deleted.telegram_id is not None and blocking.telegram_id is not None
    api.set_deactivated(deleted.telegram_id)
    api.set_blocked(blocking.telegram_id)

    wizard = Wizard(bot_harness)
    await compose_text(wizard, "All students")
    assert "Will receive it: 4\nNot reachable: 0 without Telegram linked, 0 blocked the bot" in (
        wizard.screen().text or ""
    )
    await wizard.press("✅ Send now")

    async def finished() -> bool:
        async with factory() as session:
            status = await session.scalar(select(Broadcast.status))
        return status is BroadcastStatus.COMPLETED

    await api.wait_for(finished, timeout=10, message="the broadcast did not finish")
    async with factory() as session:
        marks = {
            user_id: (blocked_at is not None, deactivated_at is not None)
            for user_id, blocked_at, deactivated_at in await session.execute(
                select(User.id, User.bot_blocked_at, User.telegram_deactivated_at)
            )
        }
    assert marks == {
        deleted.id: (False, True),
        blocking.id: (True, False),
        students[2].id: (False, False),
        students[3].id: (False, False),
    }

    await compose_text(wizard, "All students", "Second announcement")
    assert (wizard.screen().text or "").endswith(
        "Will receive it: 2\n"
        "Not reachable: 0 without Telegram linked, 1 blocked the bot, 1 deactivated account"
    )
