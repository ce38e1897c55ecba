"""Who can't be reached, fixed from the chat: the list under the wizard's preview and a
broadcast's details (pages, reasons, whose parent), "Invite links for these (N)" as a CSV
document, /reach's table, and a parent's greeting naming the children.

The real application runs against the fake Bot API over HTTP, on SQLite and PostgreSQL
(`harness_on_each_database`); documents are checked by the bytes the bot uploaded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import insert, select

from core.i18n import Catalog
from db.models import (
    BroadcastStatus,
    InviteToken,
    RecipientStatus,
    Role,
    TargetGroup,
    User,
)
from fake_bot_api import Delivered
from handlers.callbacks import InviteLinks, ReachScope, UnreachablePage
from services.invites import Invite, hash_token
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_recipient, add_user, link_guardian, make_broadcast
from tests.test_compose import Wizard

CATALOG = Catalog("en")
STRANGER_ID = 555
EXTRA = 16
"""Students of 7A with no Telegram: with the roster's others, more than a page (15)."""
BULK = 1200
"""Students of 11А with no Telegram, for the number format of /reach."""


def t(message_id: str, language: str = "en", **args: Any) -> str:
    return CATALOG.translator(language)(message_id, **args)


def buttons(message: Any) -> dict[str, str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


@pytest.fixture
def app(harness_on_each_database: BotHarness) -> BotHarness:
    return harness_on_each_database


@dataclass
class School:
    anna: User  # parent of Masha and Petya, no Telegram
    oleg: User  # parent of Lena, blocked the bot
    boris: User  # teacher, homeroom of 5B, no Telegram
    rita: User  # a student whose delivery failed as blocked, reachable again since
    unreachable_students: int


async def school(app: BotHarness, *, extra: int = EXTRA, bulk: int = 0) -> School:
    async with app.app.session_factory() as session, session.begin():
        masha = await add_user(
            session, role=Role.STUDENT, full_name="Masha Ivanova", external_id="S1", class_name="5B"
        )
        petya = await add_user(
            session,
            role=Role.STUDENT,
            full_name="Petya Ivanov",
            external_id="S2",
            class_name="5B",
            telegram_id=None,
        )
        await add_user(
            session,
            role=Role.STUDENT,
            full_name="Dima Blocked",
            external_id="S3",
            class_name="5b",
            blocked=True,
        )
        lena = await add_user(
            session,
            role=Role.STUDENT,
            full_name="Lena Deleted",
            external_id="S4",
            class_name="10А",
            deactivated=True,
            blocked=True,
        )
        rita = await add_user(
            session, role=Role.STUDENT, full_name="Rita Unblocked", external_id="S5"
        )
        gone = await add_user(
            session,
            role=Role.STUDENT,
            full_name="Gone Student",
            external_id="S6",
            telegram_id=None,
            is_active=False,
        )
        for n in range(1, extra + 1):
            await add_user(
                session,
                role=Role.STUDENT,
                full_name=f"Zed {n:02}",
                external_id=f"Z{n:02}",
                class_name="7A",
                telegram_id=None,
            )
        if bulk:
            await session.execute(
                insert(User),
                [
                    {
                        "external_id": f"B{n:04}",
                        "full_name": f"Bulk {n:04}",
                        "role": Role.STUDENT,
                        "class_name": "11А",
                        "class_key": "11а",
                    }
                    for n in range(bulk)
                ],
            )
        anna = await add_user(
            session, role=Role.PARENT, full_name="Anna Ivanova", external_id="P1", telegram_id=None
        )
        oleg = await add_user(
            session, role=Role.PARENT, full_name="Oleg Parent", external_id="P2", blocked=True
        )
        boris = await add_user(
            session,
            role=Role.TEACHER,
            full_name="Boris Teacher",
            external_id="T1",
            telegram_id=None,
            homeroom_class="5B",
        )
        for child in (masha, petya, gone):
            await link_guardian(session, anna, child)
        await link_guardian(session, oleg, lena)
    return School(anna, oleg, boris, rita, unreachable_students=3 + extra + bulk)


async def sent_to_students(app: BotHarness, found: School) -> int:
    """A completed broadcast to all students; Rita's delivery failed as blocked."""
    async with app.app.session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, target_group=TargetGroup.ALL_STUDENTS, status=BroadcastStatus.COMPLETED
        )
        await add_recipient(
            session, broadcast, found.rita, status=RecipientStatus.FAILED, error_code="blocked"
        )
    return broadcast.id


async def draft_to(app: BotHarness, *people: User) -> int:
    async with app.app.session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            target_group=TargetGroup.CUSTOM,
            target_filter={"user_ids": [person.id for person in people]},
        )
    return broadcast.id


def items(message: Any) -> list[str]:
    """The list's entry lines (a parent's children line stays with its entry)."""
    lines = (message.text or "").split("\n")[2:]
    return [line for line in lines if line.startswith("🚫")]


# --- the list ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_broadcasts_list_pages_through_who_cannot_be_reached_and_why(
    app: BotHarness, language: str
) -> None:
    found = await school(app)
    broadcast_id = await sent_to_students(app, found)
    count = found.unreachable_students + 1  # and Rita, whose delivery failed as blocked
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code=language)
    label = t("reach-btn-unreachable", language, count=count)
    sent, _, answers = await app.click(
        ADMIN_ID, buttons(details)[label], details.message_id, language_code=language
    )
    assert [a.get("show_alert") for a in answers] == [None]
    [page] = sent
    title = t(
        "unreachable-title",
        language,
        whose=t("unreachable-whose-broadcast", language, id=str(broadcast_id)),
        count=count,
        page=1,
        pages=2,
    )
    assert (page.text or "").split("\n")[0] == title
    role = t("role-student", language)

    def line(external_id: str, name: str, reason: str, class_name: str | None = None) -> str:
        who = f"{role}, {class_name}" if class_name else role
        return t(
            "unreachable-item",
            language,
            name=f"{external_id} {name}",
            role=who,
            reason=t(f"unreachable-{reason}", language),
        )

    first = items(page)
    assert first[:3] == [
        line("S3", "Dima Blocked", "blocked", "5b"),
        line("S4", "Lena Deleted", "deactivated", "10А"),  # deleted counts before blocked
        line("S2", "Petya Ivanov", "no_telegram", "5B"),
    ]
    assert first[3] == line("S5", "Rita Unblocked", "blocked")
    assert len(first) == 15
    assert "Gone Student" not in (page.text or "") and "Masha" not in (page.text or "")
    not_linked = 1 + EXTRA
    assert t("unreachable-not-linked", language, count=not_linked) in (page.text or "")
    keyboard = buttons(page)
    assert (
        keyboard[t("reach-btn-invite", language, count=not_linked)]
        == InviteLinks(scope=ReachScope.BROADCAST, broadcast_id=broadcast_id).pack()
    )

    next_data = keyboard[t("list-btn-next", language)]
    assert (
        next_data
        == UnreachablePage(scope=ReachScope.BROADCAST, broadcast_id=broadcast_id, page=2).pack()
    )
    _, edits, answers = await app.click(
        ADMIN_ID, next_data, page.message_id, language_code=language
    )
    assert [a.get("show_alert") for a in answers] == [None]
    [second] = edits
    assert items(second) == [
        line(f"Z{n:02}", f"Zed {n:02}", "no_telegram", "7A") for n in range(12, EXTRA + 1)
    ]


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_parent_is_listed_with_whose_parent_and_a_teacher_with_the_homeroom_class(
    app: BotHarness, language: str
) -> None:
    found = await school(app, extra=0)
    broadcast_id = await draft_to(app, found.anna, found.oleg, found.boris)
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code=language)
    # a draft's count is its preview's: everyone of the audience who cannot be reached
    label = t("reach-btn-unreachable", language, count=3)
    sent, _, _ = await app.click(
        ADMIN_ID, buttons(details)[label], details.message_id, language_code=language
    )
    [page] = sent
    lines = (page.text or "").split("\n")[2:]
    children = t("list-and", language, items="Masha Ivanova (5B)", last="Petya Ivanov (5B)")
    parent = t("role-parent", language)
    assert lines[:5] == [
        t(
            "unreachable-item",
            language,
            name="P1 Anna Ivanova",
            role=parent,
            reason=t("unreachable-no_telegram", language),
        ),
        t("unreachable-parent-of", language, children=children),  # not the inactive child
        t(
            "unreachable-item",
            language,
            name="T1 Boris Teacher",
            role=f"{t('role-teacher', language)}, 5B",
            reason=t("unreachable-no_telegram", language),
        ),
        t(
            "unreachable-item",
            language,
            name="P2 Oleg Parent",
            role=parent,
            reason=t("unreachable-blocked", language),
        ),
        t("unreachable-parent-of", language, children="Lena Deleted (10А)"),
    ]


async def test_the_previews_button_lists_the_wizards_audience_and_stale_pages_are_refused(
    app: BotHarness,
) -> None:
    found = await school(app)
    wizard = Wizard(app)
    await wizard.say("/new")
    await wizard.choose("All students")
    replies = await wizard.compose("Hello, school")
    preview = replies[-1]
    count = found.unreachable_students
    # the preview's own figures: 1 + 16 without Telegram, 1 blocked, 1 deleted
    assert "Not reachable: 17 without Telegram linked, 1 blocked the bot" in (preview.text or "")
    label = t("reach-btn-unreachable", count=count)
    assert label in wizard.labels()
    sent, edits, answers = await wizard.press(label)
    assert [a.get("show_alert") for a in answers] == [None]
    assert edits == []  # the preview stays as it was
    [page] = sent
    whose = t("unreachable-whose-draft")
    assert (page.text or "").split("\n")[0] == t(
        "unreachable-title", whose=whose, count=count, page=1, pages=2
    )
    next_data = buttons(page)[t("list-btn-next")]
    _, edits, _ = await app.click(ADMIN_ID, next_data, page.message_id)
    [second] = edits
    assert len(items(second)) == count - 15

    # a page of a list opened for another audience (or forged): an alert, nothing changes
    stale = UnreachablePage(scope=ReachScope.DRAFT, key="0123abcd", page=2).pack()
    _, edits, answers = await app.click(ADMIN_ID, stale, page.message_id)
    assert edits == []
    assert [(a["show_alert"], a["text"]) for a in answers] == [(True, t("reach-list-expired"))]
    # the wizard carries on: the preview's buttons still work
    _, _, answers = await wizard.press(
        t("compose-btn-draft"), on=app.api.current_message(ADMIN_ID, preview.message_id)
    )
    assert answers


# --- the invite links ------------------------------------------------------------------


def parse_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def press_invites(
    app: BotHarness, on: Delivered, count: int, language: str
) -> tuple[Delivered, list[list[str]]]:
    label = t("reach-btn-invite", language, count=count)
    sent, _, answers = await app.click(
        ADMIN_ID, buttons(on)[label], on.message_id, language_code=language
    )
    assert [a.get("show_alert") for a in answers] == [None]
    [document] = sent
    assert (document.method, document.kind) == ("sendDocument", "document")
    return document, parse_csv(app.api.upload_of(document).content)


async def unused_tokens(app: BotHarness, user_id: int) -> list[str]:
    async with app.app.session_factory() as session:
        rows = await session.scalars(
            select(InviteToken.token_hash).where(
                InviteToken.user_id == user_id, InviteToken.used_at.is_(None)
            )
        )
        return list(rows)


@pytest.mark.parametrize(
    ("language", "header", "greeting"),
    [
        (
            "en",
            ["Name", "School ID", "Role", "Class", "Invite link"],
            "Welcome, Anna Ivanova! This Telegram account is now linked: you will get the "
            "school's messages about Masha Ivanova and Petya Ivanov in this chat.",
        ),
        (
            "ru",
            ["Имя", "ID в школе", "Роль", "Класс", "Ссылка-приглашение"],
            "Добро пожаловать, Anna Ivanova! Этот аккаунт Telegram привязан: сюда будут "
            "приходить сообщения школы о ваших детях — Masha Ivanova и Petya Ivanov.",
        ),
    ],
)
async def test_invite_links_for_the_list_are_a_csv_of_fresh_links_for_those_without_telegram(
    app: BotHarness, language: str, header: list[str], greeting: str
) -> None:
    found = await school(app, extra=0)
    links = app.app.dispatcher["links"]
    earlier: list[Invite] = []
    await links.issue_invites(earlier.extend, role=Role.PARENT)
    [anna_before] = [invite.token for invite in earlier if invite.external_id == "P1"]
    broadcast_id = await draft_to(app, found.anna, found.oleg, found.boris)
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code=language)
    sent, _, _ = await app.click(
        ADMIN_ID,
        buttons(details)[t("reach-btn-unreachable", language, count=3)],
        details.message_id,
        language_code=language,
    )
    [page] = sent
    document, rows = await press_invites(app, page, 2, language)
    assert document.caption == t("reach-invite-caption", language, count=2)
    assert app.api.upload_of(document).filename == f"invite-links-{broadcast_id}.csv"
    assert rows[0] == header
    prefix = f"https://t.me/{app.api.bot_username}?start="
    by_id = {row[1]: row for row in rows[1:]}
    assert sorted(by_id) == ["P1", "T1"]  # Oleg is linked (he blocked the bot): no link
    assert by_id["P1"][:4] == ["Anna Ivanova", "P1", t("role-parent", language), ""]
    assert by_id["T1"][:4] == ["Boris Teacher", "T1", t("role-teacher", language), "5B"]
    tokens = {key: row[4].removeprefix(prefix) for key, row in by_id.items()}
    assert all(row[4].startswith(prefix) for row in by_id.values())
    # issued by the invite rules: one fresh unused token each, the earlier one voided
    assert await unused_tokens(app, found.anna.id) == [hash_token(tokens["P1"])]
    assert await unused_tokens(app, found.boris.id) == [hash_token(tokens["T1"])]
    [stale] = await app.send(8101, f"/start {anna_before}", language_code=language)
    assert stale.text == t("invite-invalid", language)

    [welcome] = await app.send(8102, f"/start {tokens['P1']}", language_code=language)
    assert welcome.text == greeting
    [used] = await app.send(8103, f"/start {tokens['P1']}", language_code=language)
    assert used.text == t("invite-used", language)


async def test_a_list_with_nobody_unlinked_has_no_invite_button_and_a_forged_one_issues_nothing(
    app: BotHarness,
) -> None:
    found = await school(app, extra=0)
    broadcast_id = await draft_to(app, found.oleg)
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    sent, _, _ = await app.click(
        ADMIN_ID, buttons(details)[t("reach-btn-unreachable", count=1)], details.message_id
    )
    [page] = sent
    assert [label for label in buttons(page) if label.startswith("📨")] == []
    forged = InviteLinks(scope=ReachScope.BROADCAST, broadcast_id=broadcast_id).pack()
    sent, _, answers = await app.click(ADMIN_ID, forged, page.message_id)
    assert [(a["show_alert"], a["text"]) for a in answers] == [(True, t("reach-invite-none"))]
    assert sent == [] and app.api.uploads == {}


async def test_buttons_of_a_broadcast_that_is_gone_or_of_no_list_get_an_alert(
    app: BotHarness,
) -> None:
    [reply] = await app.send(ADMIN_ID, "/help")
    for data in (
        InviteLinks(scope=ReachScope.BROADCAST, broadcast_id=999).pack(),
        UnreachablePage(scope=ReachScope.BROADCAST, broadcast_id=999, page=3).pack(),
    ):
        sent, edits, answers = await app.click(ADMIN_ID, data, reply.message_id)
        assert [(a["show_alert"], a["text"]) for a in answers] == [
            (True, t("error-broadcast-not-found", id="999"))
        ]
        assert (sent, edits) == ([], [])
    for data in (
        UnreachablePage(scope=ReachScope.SCHOOL).pack(),
        InviteLinks(scope=ReachScope.DRAFT, key="abc").pack(),
    ):
        sent, edits, answers = await app.click(ADMIN_ID, data, reply.message_id)
        assert [(a["show_alert"], a["text"]) for a in answers] == [(True, t("reach-list-expired"))]
        assert (sent, edits) == ([], [])
    # out-of-range data never reaches a handler, and is answered all the same
    _, _, answers = await app.click(ADMIN_ID, "nr:broadcast:-1::1", reply.message_id)
    assert [a.get("text") for a in answers] == [t("button-unknown")]
    assert app.api.uploads == {}


# --- /reach ----------------------------------------------------------------------------------


def table(text: str, title: str) -> dict[str, list[str]]:
    """The monospace rows after the line `title` ("": from the top), by their first cell:
    the four number cells (split at plain spaces: a grouped number keeps its NBSP). The
    header row is under ""."""
    lines = text.split("\n")
    start = lines.index(title) + 1 if title else 0
    while not lines[start].startswith("<code>"):
        start += 1
    rows: dict[str, list[str]] = {}
    for line in lines[start:]:
        if not line.startswith("<code>"):
            break
        cells = [cell for cell in line[6:].removesuffix("</code>").split(" ") if cell]
        rows[" ".join(cells[:-4])] = cells[-4:]
    return rows


@pytest.mark.parametrize(
    ("language", "bulk_cell"),
    [("en", "1,203"), ("ru", "1\xa0203")],
)
async def test_reach_tables_the_school_per_role_and_class_with_the_invite_export(
    app: BotHarness, language: str, bulk_cell: str
) -> None:
    found = await school(app, extra=2, bulk=BULK)
    [reply] = await app.send(ADMIN_ID, "/reach", language_code=language)
    text = reply.text or ""
    active = 5 + 2 + BULK + 2 + 1  # students, 7A, 11А, parents, teacher (the admin is no user)
    reachable = 2  # Masha, Rita
    assert text.split("\n")[0] == t("reach-title", language, total=active, reachable=reachable)
    roles = table(text, "")
    assert roles[""] == [
        t(f"reach-col-{c}", language) for c in ("linked", "blocked", "deleted", "none")
    ]
    students = t("reach-role-student", language)
    # linked, blocked, deleted, not linked: Lena (deleted and blocked) counts as deleted
    assert roles[students] == ["2", "1", "1", bulk_cell]
    assert roles[t("reach-role-parent", language)] == ["0", "1", "0", "1"]
    assert roles[t("reach-role-teacher", language)] == ["0", "0", "0", "1"]
    not_linked = 1 + 2 + BULK + 1 + 1
    classes = table(text, t("reach-classes-title", language))
    assert list(classes) == ["", "5B", "7A", "10А", "11А", t("reach-no-class", language)]
    assert classes["5B"] == ["1", "1", "0", "1"]  # 5B and 5b are one class
    assert classes["10А"] == ["0", "0", "1", "0"]
    assert classes[t("reach-no-class", language)] == ["1", "0", "0", "0"]
    assert t("reach-not-linked", language, count=not_linked) in text

    document, rows = await press_invites(app, reply, not_linked, language)
    assert app.api.upload_of(document).filename == "invite-links.csv"
    assert len(rows) == 1 + not_linked
    assert {"P1", "T1", "S2", "Z01"} <= {row[1] for row in rows[1:]}
    assert "S6" not in {row[1] for row in rows[1:]}  # inactive
    assert found.anna.external_id == "P1"


async def test_reach_is_for_admins_only_and_listed_in_the_menu_and_help(app: BotHarness) -> None:
    [refused] = await app.send(STRANGER_ID, "/reach")
    assert refused.text == t("not-allowed")
    data = InviteLinks(scope=ReachScope.SCHOOL).pack()
    _, _, answers = await app.click(STRANGER_ID, data, refused.message_id)
    assert [(a["show_alert"], a["text"]) for a in answers] == [(True, t("not-allowed"))]
    assert app.api.uploads == {}
    [help_] = await app.send(ADMIN_ID, "/help")
    assert "/reach — who can be reached" in (help_.text or "")


async def test_a_broadcast_whose_stored_target_no_longer_parses_lists_only_its_failures(
    app: BotHarness,
) -> None:
    found = await school(app, extra=0)
    async with app.app.session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, target_group=TargetGroup.BY_SUBJECT, status=BroadcastStatus.COMPLETED
        )  # no subject_id: it does not parse any more
        await add_recipient(
            session, broadcast, found.rita, status=RecipientStatus.FAILED, error_code="blocked"
        )
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast.id}")
    sent, _, _ = await app.click(
        ADMIN_ID, buttons(details)[t("reach-btn-unreachable", count=1)], details.message_id
    )
    [page] = sent
    assert items(page) == [
        t(
            "unreachable-item",
            name="S5 Rita Unblocked",
            role=t("role-student"),
            reason=t("unreachable-blocked"),
        )
    ]


def test_a_parent_of_one_child_is_greeted_about_that_child() -> None:
    one = t("invite-linked-parent", "ru", name="Anna", children="Masha", count=1)
    two = t("invite-linked-parent", "ru", name="Anna", children="Masha и Petya", count=2)
    assert one.endswith("сообщения школы о вашем ребёнке — Masha.")
    assert two.endswith("сообщения школы о ваших детях — Masha и Petya.")
