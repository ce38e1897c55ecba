"""Invite links: issuing hashed one-time tokens, redeeming them, the CSV, and the CLI end to
end (CSV from `run_bot.py invite-links` → `/start <token>` through the fake Bot API)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import socket
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from core.i18n import Catalog
from db.models import InviteToken, Role, User
from db.session import SessionFactory
from db.types import utcnow
from services.invites import (
    CSV_HEADER,
    Invite,
    InviteCsv,
    LinkService,
    RedeemStatus,
    TelegramAccount,
    hash_token,
    spreadsheet_safe,
)
from services.results import InvitesIssued
from tests.bot_harness import BotHarness
from tests.conftest import TEST_TOKEN
from tests.factories import add_user

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")
EN = Catalog("en").translator("en")


async def issue(
    links: LinkService, role: Role | None = None, *, include_linked: bool = False
) -> dict[str, str]:
    """external_id -> token for one issuing run."""
    invites: list[Invite] = []
    await links.issue_invites(invites.extend, role=role, include_linked=include_linked)
    return {invite.external_id: invite.token for invite in invites}


def account(telegram_id: int, username: str | None = "someone", language: str = "ru"):
    return TelegramAccount(telegram_id, username, language)


async def load_user(session_factory: SessionFactory, user_id: int) -> User:
    async with session_factory() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


@pytest.fixture
def links(session_factory: SessionFactory) -> LinkService:
    return LinkService(session_factory, page_size=2)


async def test_issue_gives_each_active_user_an_unguessable_token_stored_only_hashed(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        for number in range(5):
            await add_user(session, role=Role.STUDENT, external_id=f"s{number}", telegram_id=None)
        await add_user(
            session, role=Role.STUDENT, external_id="gone", is_active=False, telegram_id=None
        )
    invites: list[Invite] = []
    result = await links.issue_invites(invites.extend)
    assert result == InvitesIssued(issued=5, skipped_linked=0, skipped_inactive=1)
    tokens = {invite.external_id: invite.token for invite in invites}
    assert sorted(tokens) == [f"s{number}" for number in range(5)]  # pages of 2, inactive left out
    assert len(set(tokens.values())) == 5
    assert all(TOKEN_SHAPE.fullmatch(token) and len(token) >= 32 for token in tokens.values())
    async with session_factory() as session:
        stored = set(await session.scalars(select(InviteToken.token_hash)))
    assert stored == {hash_token(token) for token in tokens.values()}
    assert not stored & set(tokens.values())


async def test_issue_filters_by_role(session_factory: SessionFactory, links: LinkService) -> None:
    async with session_factory() as session, session.begin():
        await add_user(session, role=Role.STUDENT, external_id="student", telegram_id=None)
        await add_user(session, role=Role.PARENT, external_id="parent", telegram_id=None)
    assert list(await issue(links, Role.PARENT)) == ["parent"]


async def test_by_default_only_active_people_not_linked_get_a_link_and_the_rest_keep_theirs(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        await add_user(session, role=Role.PARENT, external_id="new", telegram_id=None)
        await add_user(session, role=Role.PARENT, external_id="linked", telegram_id=610)
        await add_user(session, role=Role.PARENT, external_id="gone", is_active=False)
        await add_user(session, role=Role.STUDENT, external_id="pupil", telegram_id=None)
        await add_user(session, role=Role.STUDENT, external_id="linked-pupil", telegram_id=611)
    first = await issue(links, include_linked=True)
    assert sorted(first) == ["linked", "linked-pupil", "new", "pupil"]

    invites: list[Invite] = []
    result = await links.issue_invites(invites.extend)  # pages of 2 over 5 users

    assert result == InvitesIssued(issued=2, skipped_linked=2, skipped_inactive=1)
    assert sorted(invite.external_id for invite in invites) == ["new", "pupil"]
    assert (await links.redeem(first["new"], account(620))).status is RedeemStatus.INVALID
    # A linked person's unused link from the earlier run was not voided.
    assert (await links.redeem(first["linked"], account(621))).status is RedeemStatus.LINKED


async def test_all_includes_the_linked_but_never_the_inactive(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        await add_user(session, role=Role.TUTOR, external_id="new", telegram_id=None)
        await add_user(session, role=Role.TUTOR, external_id="linked", telegram_id=630)
        await add_user(session, role=Role.TUTOR, external_id="gone", is_active=False)
    invites: list[Invite] = []
    result = await links.issue_invites(invites.extend, include_linked=True)
    assert result == InvitesIssued(issued=2, skipped_linked=0, skipped_inactive=1)
    assert sorted(invite.external_id for invite in invites) == ["linked", "new"]


async def test_a_role_voids_only_that_roles_unused_links(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        await add_user(session, role=Role.TEACHER, external_id="teacher", telegram_id=None)
        await add_user(session, role=Role.PARENT, external_id="parent", telegram_id=None)
        await add_user(session, role=Role.PARENT, external_id="gone", is_active=False)
        await add_user(session, role=Role.STUDENT, external_id="pupil", telegram_id=640)
    first = await issue(links)
    invites: list[Invite] = []
    result = await links.issue_invites(invites.extend, role=Role.TEACHER)
    assert result == InvitesIssued(issued=1, skipped_linked=0, skipped_inactive=0)
    assert (await links.redeem(first["teacher"], account(650))).status is RedeemStatus.INVALID
    assert (await links.redeem(invites[0].token, account(650))).status is RedeemStatus.LINKED
    assert (await links.redeem(first["parent"], account(651))).status is RedeemStatus.LINKED


async def test_issuing_again_invalidates_unused_tokens_and_keeps_used_ones(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        await add_user(session, role=Role.STUDENT, external_id="a", telegram_id=None)
        await add_user(session, role=Role.STUDENT, external_id="b", telegram_id=None)
    first = await issue(links)
    assert (await links.redeem(first["a"], account(501))).status is RedeemStatus.LINKED
    second = await issue(links, include_linked=True)
    assert (await links.redeem(first["b"], account(502))).status is RedeemStatus.INVALID
    assert (await links.redeem(first["a"], account(501))).status is RedeemStatus.USED
    assert (await links.redeem(second["b"], account(502))).status is RedeemStatus.LINKED
    async with session_factory() as session:
        rows = await session.scalar(select(func.count()).select_from(InviteToken))
    assert rows == 3  # a: the used one and a fresh one; b: only the second (now used)


async def test_redeem_links_the_account_and_uses_the_token_up(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        user = await add_user(
            session,
            role=Role.PARENT,
            external_id="p",
            telegram_id=None,
            blocked=True,
            deactivated=True,  # an account deleted since: the new one is reachable
        )
    tokens = await issue(links)
    redemption = await links.redeem(tokens["p"], account(777, "mum", "en"))
    assert redemption.status is RedeemStatus.LINKED
    assert (redemption.user_id, redemption.full_name, redemption.moved_from) == (
        user.id,
        user.full_name,
        None,
    )
    linked = await load_user(session_factory, user.id)
    assert (linked.telegram_id, linked.telegram_username, linked.language_code) == (
        777,
        "mum",
        "en",
    )
    assert (linked.bot_blocked_at, linked.telegram_deactivated_at) == (None, None)
    async with session_factory() as session:
        used_at = await session.scalar(select(InviteToken.used_at))
    assert used_at is not None
    again = await links.redeem(tokens["p"], account(778))
    assert again.status is RedeemStatus.USED
    assert (await load_user(session_factory, user.id)).telegram_id == 777


@pytest.mark.parametrize("token", ["", "no such token", "x" * 65, "abc$%^", "unknownToken123"])
async def test_invalid_tokens_change_nothing(
    session_factory: SessionFactory, links: LinkService, token: str
) -> None:
    async with session_factory() as session, session.begin():
        user = await add_user(session, role=Role.STUDENT, telegram_id=None)
    await issue(links)
    assert (await links.redeem(token, account(900))).status is RedeemStatus.INVALID
    assert (await load_user(session_factory, user.id)).telegram_id is None


async def test_token_of_a_deactivated_user_is_invalid(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        user = await add_user(session, role=Role.STUDENT, external_id="x", telegram_id=None)
    tokens = await issue(links)
    async with session_factory() as session, session.begin():
        (await session.get(User, user.id)).is_active = False  # type: ignore[union-attr]
    assert (await links.redeem(tokens["x"], account(901))).status is RedeemStatus.INVALID


async def test_relinking_replaces_the_users_previous_account(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        user = await add_user(session, role=Role.TEACHER, external_id="t", telegram_id=111)
    tokens = await issue(links, include_linked=True)
    redemption = await links.redeem(tokens["t"], account(222, "newphone"))
    assert redemption.status is RedeemStatus.LINKED and redemption.moved_from is None
    relinked = await load_user(session_factory, user.id)
    assert (relinked.telegram_id, relinked.telegram_username) == (222, "newphone")


async def test_an_account_linked_to_someone_else_moves_to_the_tokens_user(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        sibling = await add_user(
            session, role=Role.STUDENT, external_id="older", full_name="Older", telegram_id=333
        )
        student = await add_user(
            session, role=Role.STUDENT, external_id="younger", telegram_id=None
        )
    tokens = await issue(links, Role.STUDENT)
    redemption = await links.redeem(tokens["younger"], account(333))
    assert redemption.status is RedeemStatus.LINKED
    assert redemption.moved_from == "Older"
    assert (await load_user(session_factory, student.id)).telegram_id == 333
    assert (await load_user(session_factory, sibling.id)).telegram_id is None


async def test_refresh_updates_details_and_clears_the_unreachable_marks(
    session_factory: SessionFactory, links: LinkService
) -> None:
    async with session_factory() as session, session.begin():
        user = await add_user(
            session, role=Role.STUDENT, telegram_id=444, blocked=True, deactivated=True
        )
    assert await links.refresh(account(444, "renamed", "en")) == user.full_name
    refreshed = await load_user(session_factory, user.id)
    assert (refreshed.bot_blocked_at, refreshed.telegram_username) == (None, "renamed")
    assert refreshed.telegram_deactivated_at is None
    assert await links.refresh(account(445)) is None


async def test_blocking_twice_keeps_the_first_time_and_unblocking_clears_it(
    session_factory: SessionFactory, links: LinkService
) -> None:
    """Unblocking also clears a deactivated mark: the account evidently works."""
    async with session_factory() as session, session.begin():
        user = await add_user(session, role=Role.STUDENT, telegram_id=555, deactivated=True)
    await links.set_bot_blocked(555, blocked=True)
    first = (await load_user(session_factory, user.id)).bot_blocked_at
    assert first is not None and first <= utcnow()
    await links.set_bot_blocked(555, blocked=True)
    assert (await load_user(session_factory, user.id)).bot_blocked_at == first
    assert (await load_user(session_factory, user.id)).telegram_deactivated_at is not None
    await links.set_bot_blocked(555, blocked=False)
    unblocked = await load_user(session_factory, user.id)
    assert (unblocked.bot_blocked_at, unblocked.telegram_deactivated_at) == (None, None)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+7 999", "'+7 999"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Anna = Smith", "Anna = Smith"),
        ("Анна", "Анна"),
        ("", ""),
    ],
)
def test_spreadsheet_safe_escapes_formula_cells(cell: str, expected: str) -> None:
    assert spreadsheet_safe(cell) == expected


def test_csv_escapes_formulas_and_round_trips() -> None:
    out = io.StringIO()
    invite_csv = InviteCsv(out, "school_bot")
    invite_csv.write([Invite("=1+1", 'Anna "Ann", Smith', Role.STUDENT, "tok_1")])
    invite_csv.write([Invite("p-2", "@evil", Role.PARENT, "tok-2")])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        list(CSV_HEADER),
        ["'=1+1", 'Anna "Ann", Smith', "student", "https://t.me/school_bot?start=tok_1"],
        ["p-2", "'@evil", "parent", "https://t.me/school_bot?start=tok-2"],
    ]


# --- the CLI against the running bot --------------------------------------------------


def run_cli(monkeypatch: pytest.MonkeyPatch, database_url: str, api_url: str, *args: str):
    monkeypatch.setenv("BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BOT_API_URL", api_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return asyncio.to_thread(main, ["invite-links", *args])


async def test_invite_link_flow_end_to_end(
    bot_harness: BotHarness,
    harness_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        parent = await add_user(
            session, role=Role.PARENT, external_id="=cmd", full_name="Мария", telegram_id=None
        )
        await add_user(session, role=Role.STUDENT, external_id="st-1")
    assert (
        await run_cli(monkeypatch, harness_database_url, bot_harness.api.url, "--role", "parent")
        == 0
    )
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert captured.err.splitlines() == ["1 invite link written."]  # the student: not a parent
    assert [(row["external_id"], row["full_name"], row["role"]) for row in rows] == [
        ("'=cmd", "Мария", "parent")
    ]
    link = rows[0]["link"]
    prefix = f"https://t.me/{bot_harness.api.bot_username}?start="
    assert link.startswith(prefix)
    token = link.removeprefix(prefix)

    replies = await bot_harness.send(8001, f"/start {token}", username="maria", language_code="ru")
    assert len(replies) == 1 and "Мария" in (replies[0].text or "")
    assert (replies[0].text or "").startswith("Готово")
    linked = await load_user(factory, parent.id)
    assert (linked.telegram_id, linked.telegram_username, linked.language_code) == (
        8001,
        "maria",
        "ru",
    )

    used = await bot_harness.send(8002, f"/start {token}")
    assert (used[0].text or "").startswith("This invite link has already been used.")
    assert (await load_user(factory, parent.id)).telegram_id == 8001


async def test_cli_refuses_a_wrong_token_and_issues_nothing(
    bot_harness: BotHarness,
    harness_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with bot_harness.app.session_factory() as session, session.begin():
        await add_user(session, role=Role.STUDENT)
    monkeypatch.setenv("BOT_TOKEN", "999:WRONG")
    monkeypatch.setenv("DATABASE_URL", harness_database_url)
    monkeypatch.setenv("BOT_API_URL", bot_harness.api.url)
    with pytest.raises(SystemExit) as stopped:
        await asyncio.to_thread(main, ["invite-links"])
    assert stopped.value.code == 2
    assert "rejected BOT_TOKEN" in capsys.readouterr().err
    async with bot_harness.app.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(InviteToken)) == 0


async def test_cli_says_when_the_bot_api_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    with pytest.raises(SystemExit) as stopped:
        await run_cli(monkeypatch, database_url, f"http://127.0.0.1:{port}")
    assert stopped.value.code == 2
    assert "cannot reach the Bot API at http://127.0.0.1" in capsys.readouterr().err
    assert not (tmp_path / "cli.sqlite3").exists()


async def test_cli_skips_the_linked_and_inactive_says_so_and_a_role_leaves_other_links_valid(
    bot_harness: BotHarness,
    harness_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    factory = bot_harness.app.session_factory
    async with factory() as session, session.begin():
        await add_user(
            session, role=Role.PARENT, external_id="p-new", full_name="Pat", telegram_id=None
        )
        await add_user(session, role=Role.PARENT, external_id="p-linked", telegram_id=8101)
        await add_user(session, role=Role.PARENT, external_id="p-gone", is_active=False)
        await add_user(
            session, role=Role.STUDENT, external_id="s-new", full_name="Sam", telegram_id=None
        )

    async def invite_links(*args: str) -> tuple[dict[str, str], list[str]]:
        """The tokens written (by external id) and the lines said on stderr."""
        assert await run_cli(monkeypatch, harness_database_url, bot_harness.api.url, *args) == 0
        captured = capsys.readouterr()
        tokens = {
            row["external_id"]: row["link"].rsplit("=", 1)[1]
            for row in csv.DictReader(io.StringIO(captured.out))
        }
        return tokens, captured.err.splitlines()

    everyone, said = await invite_links()
    assert sorted(everyone) == ["p-new", "s-new"]
    assert said == [
        "2 invite links written.",
        "Skipped: 1 already linked (use --all to include them), 1 inactive.",
    ]

    parents, said = await invite_links("--role", "parent")
    assert list(parents) == ["p-new"]
    assert said == [
        "1 invite link written.",
        "Skipped: 1 already linked (use --all to include them), 1 inactive.",
    ]

    # The student's link from the first run still works; the parent's is replaced.
    [pupil] = await bot_harness.send(8201, f"/start {everyone['s-new']}", language_code="en")
    assert pupil.text == EN("invite-linked", name="Sam")
    [stale] = await bot_harness.send(8202, f"/start {everyone['p-new']}", language_code="en")
    assert stale.text == EN("invite-invalid")
    [fresh] = await bot_harness.send(8202, f"/start {parents['p-new']}", language_code="en")
    assert fresh.text == EN("invite-linked", name="Pat")

    linked_too, said = await invite_links("--role", "parent", "--all")
    assert sorted(linked_too) == ["p-linked", "p-new"]
    assert said == ["2 invite links written.", "Skipped: 1 inactive."]
