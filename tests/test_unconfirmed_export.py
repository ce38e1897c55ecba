"""Who has not confirmed reading, and the recipients CSV: `/recipients ID unconfirmed` and
its button in the details, and "📄 Export CSV" sending the recipients as a document.

The real application runs against the fake Bot API over HTTP, on SQLite and PostgreSQL
(`harness_on_each_database`); the document is checked by the bytes the bot uploaded.
Every time in the rows is fixed, so nothing depends on the clock or the machine's zone.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from core.i18n import Catalog
from db.models import BroadcastRecipient, BroadcastStatus, RecipientStatus, Role, TargetGroup
from fake_bot_api import Delivered
from handlers.callbacks import BroadcastAction, BroadcastButton, UnconfirmedPage
from tests.bot_harness import ADMIN_ID, BotHarness
from tests.factories import add_recipient, add_user, make_broadcast

DELIVERED_AT = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)  # 13:30 in the harness's Moscow
CONFIRMED_AT = datetime(2026, 12, 1, 11, 2, tzinfo=UTC)  # 14:02
WAITING = 16
"""Delivered and not confirmed: one more than a page of /recipients (15)."""
FORMULA_NAME = '=HYPERLINK("http://evil.example","Click")'
CATALOG = Catalog("en")


def t(message_id: str, language: str = "en", **args: Any) -> str:
    return CATALOG.translator(language)(message_id, **args)


def buttons(message: Delivered) -> dict[str, str]:
    """Label -> callback data of every button on the message."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


@pytest.fixture
def app(harness_on_each_database: BotHarness) -> BotHarness:
    return harness_on_each_database


async def school_broadcast(
    harness: BotHarness, *, ask_confirmation: bool = True, school: str = ""
) -> int:
    """A finished broadcast to parents: two delivered and confirmed (one of them with a
    name and an id that look like formulas), WAITING delivered and not confirmed (P01...),
    one who blocked the bot and one still pending. Another `school` prefixes the ids, for
    a second broadcast to other people."""
    async with harness.app.session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session,
            target_group=TargetGroup.ALL_PARENTS,
            status=BroadcastStatus.COMPLETED,
            ask_confirmation=ask_confirmation,
            recipient_count=WAITING + 4,
            sent_count=WAITING + 2,
            failed_count=1,
        )

        async def parent(
            external_id: str,
            name: str,
            status: RecipientStatus = RecipientStatus.SENT,
            *,
            confirmed: bool = False,
            error_code: str | None = None,
        ) -> None:
            user = await add_user(
                session, role=Role.PARENT, external_id=school + external_id, full_name=name
            )
            row = await add_recipient(
                session, broadcast, user, status=status, error_code=error_code
            )
            row.sent_at = DELIVERED_AT if status is RecipientStatus.SENT else None
            row.confirmed_at = CONFIRMED_AT if confirmed else None

        await parent("C01", "Olga Confirmed", confirmed=True)
        for n in range(1, WAITING + 1):
            await parent(f"P{n:02}", f"Parent Waiting {n}")
        await parent("B01", "Boris Blocked", RecipientStatus.FAILED, error_code="blocked")
        await parent("Q01", "Pavel Pending", RecipientStatus.PENDING)
        await parent("+79001234567", FORMULA_NAME, confirmed=True)
    return broadcast.id


# --- who has not confirmed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title", "item", "next_label"),
    [
        (
            "en",
            "<b>Not confirmed: #{id}</b> · 16 people got it and have not confirmed · page 1 of 2",
            "👀 P01 Parent Waiting 1 · parent",
            "Next ›",
        ),
        (
            "ru",
            "<b>Не подтвердили: #{id}</b> · 16 получивших не подтвердили · страница 1 из 2",
            "👀 P01 Parent Waiting 1 · родитель",
            None,
        ),
    ],
)
async def test_unconfirmed_lists_only_those_delivered_who_have_not_confirmed_by_pages(
    app: BotHarness, language: str, title: str, item: str, next_label: str | None
) -> None:
    broadcast_id = await school_broadcast(app)
    [page] = await app.send(
        ADMIN_ID, f"/recipients {broadcast_id} unconfirmed", language_code=language
    )
    lines = (page.text or "").split("\n")
    assert lines[0] == title.format(id=broadcast_id)
    assert lines[2] == item
    listed = [line.split()[1] for line in lines[2:]]
    assert listed == [f"P{n:02}" for n in range(1, 16)]  # the first 15, in order

    data = UnconfirmedPage(broadcast_id=broadcast_id, page=2).pack()
    if next_label is not None:
        assert buttons(page)[next_label] == data
    _, edits, answers = await app.click(ADMIN_ID, data, page.message_id, language_code=language)
    assert answers and not answers[0].get("show_alert")
    [second] = edits
    second_lines = (second.text or "").split("\n")
    assert [line.split()[1] for line in second_lines[2:]] == ["P16"]
    # nobody confirmed, failed or pending is on either page
    everyone = "\n".join([page.text or "", second.text or ""])
    assert all(name not in everyone for name in ("C01", "B01", "Q01", "+7900"))


async def test_unconfirmed_is_refused_for_a_broadcast_that_does_not_ask(app: BotHarness) -> None:
    broadcast_id = await school_broadcast(app, ask_confirmation=False)
    [reply] = await app.send(ADMIN_ID, f"/recipients {broadcast_id} unconfirmed")
    assert reply.text == t("error-confirmation-not-asked", id=str(broadcast_id))
    assert "does not ask recipients to confirm reading" in (reply.text or "")
    [russian] = await app.send(
        ADMIN_ID, f"/recipients {broadcast_id} unconfirmed", language_code="ru"
    )
    assert russian.text == t("error-confirmation-not-asked", "ru", id=str(broadcast_id))
    assert "не просит подтвердить прочтение" in (russian.text or "")
    # a page button forged for it: an alert, nothing on screen changes
    data = UnconfirmedPage(broadcast_id=broadcast_id, page=1).pack()
    _, edits, answers = await app.click(ADMIN_ID, data, reply.message_id)
    assert edits == []
    assert [(a["show_alert"], a["text"]) for a in answers] == [
        (True, t("error-confirmation-not-asked", id=str(broadcast_id)))
    ]


async def test_the_usage_line_names_the_unconfirmed_filter(app: BotHarness) -> None:
    [reply] = await app.send(ADMIN_ID, "/recipients 1 unread")
    assert reply.text == "Usage: /recipients ID [sent|failed|pending|unconfirmed]"


@pytest.mark.parametrize(
    ("language", "unconfirmed", "export"),
    [
        ("en", f"👀 Not confirmed ({WAITING})", "📄 Export CSV"),
        ("ru", f"👀 Не подтвердили ({WAITING})", "📄 Выгрузить CSV"),
    ],
)
async def test_the_details_offer_the_unconfirmed_list_with_its_count_and_the_export(
    app: BotHarness, language: str, unconfirmed: str, export: str
) -> None:
    asking = await school_broadcast(app)
    not_asking = await school_broadcast(app, ask_confirmation=False, school="N")
    [details] = await app.send(ADMIN_ID, f"/broadcast {asking}", language_code=language)
    found = buttons(details)
    assert (
        found[unconfirmed]
        == BroadcastAction(action=BroadcastButton.UNCONFIRMED, broadcast_id=asking).pack()
    )
    assert (
        found[export] == BroadcastAction(action=BroadcastButton.EXPORT, broadcast_id=asking).pack()
    )

    # the button opens the list in a new message, with the same count
    sent, _, answers = await app.click(
        ADMIN_ID, found[unconfirmed], details.message_id, language_code=language
    )
    assert answers and not answers[0].get("show_alert")
    [listed] = sent
    assert f"{WAITING}" in (listed.text or "").split("\n")[0]
    assert (listed.text or "").split("\n")[2].startswith("👀 P01 Parent Waiting 1")

    [plain] = await app.send(ADMIN_ID, f"/broadcast {not_asking}", language_code=language)
    assert [label for label in buttons(plain) if label.startswith("👀")] == []
    assert export in buttons(plain)


async def test_no_unconfirmed_button_once_everyone_delivered_has_confirmed(
    app: BotHarness,
) -> None:
    broadcast_id = await school_broadcast(app)
    async with app.app.session_factory() as session, session.begin():
        await session.execute(
            update(BroadcastRecipient)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.status == RecipientStatus.SENT,
            )
            .values(confirmed_at=CONFIRMED_AT)
        )
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}")
    assert [label for label in buttons(details) if label.startswith("👀")] == []
    assert f"Confirmed: {WAITING + 2} of {WAITING + 2} delivered (100%)" in (details.text or "")


# --- the CSV -----------------------------------------------------------------------------


async def export(app: BotHarness, broadcast_id: int, language: str) -> tuple[Delivered, bytes]:
    """Press Export CSV under the broadcast's details; the document and its bytes."""
    [details] = await app.send(ADMIN_ID, f"/broadcast {broadcast_id}", language_code=language)
    label = t("details-btn-export", language)
    sent, _, answers = await app.click(
        ADMIN_ID, buttons(details)[label], details.message_id, language_code=language
    )
    assert [a.get("show_alert") for a in answers] == [None]
    [document] = sent
    assert (document.method, document.kind) == ("sendDocument", "document")
    upload = app.api.upload_of(document)
    assert upload.filename == f"broadcast-{broadcast_id}-recipients.csv"
    return document, upload.content


@pytest.mark.parametrize(
    ("language", "header", "role", "blocked", "caption"),
    [
        (
            "en",
            [
                "Name",
                "School ID",
                "Role",
                "Delivered at (Europe/Moscow)",
                "Confirmed at (Europe/Moscow)",
                "Reminders sent",
                "Error",
            ],
            "parent",
            "bot blocked by user",
            "Recipients of broadcast #{id}: 20 rows, times in Europe/Moscow.",
        ),
        (
            "ru",
            [
                "Имя",
                "ID в школе",
                "Роль",
                "Доставлено (Europe/Moscow)",
                "Подтверждено (Europe/Moscow)",
                "Отправлено напоминаний",
                "Ошибка",
            ],
            "родитель",
            "бот заблокирован пользователем",
            "Получатели рассылки #{id}: 20 строк, время — Europe/Moscow.",
        ),
    ],
)
async def test_the_export_sends_every_recipient_as_a_csv_in_the_readers_language(
    app: BotHarness,
    language: str,
    header: list[str],
    role: str,
    blocked: str,
    caption: str,
) -> None:
    broadcast_id = await school_broadcast(app)
    document, content = await export(app, broadcast_id, language)
    assert document.caption == caption.format(id=broadcast_id)
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == header
    assert len(rows) == 1 + WAITING + 4
    by_id = {row[1]: row for row in rows[1:]}
    assert by_id["C01"] == [
        "Olga Confirmed",
        "C01",
        role,
        "2026-12-01 13:30:00",
        "2026-12-01 14:02:00",
        "0",
        "",
    ]
    assert by_id["P01"] == ["Parent Waiting 1", "P01", role, "2026-12-01 13:30:00", "", "0", ""]
    assert by_id["B01"] == ["Boris Blocked", "B01", role, "", "", "0", blocked]
    assert by_id["Q01"] == ["Pavel Pending", "Q01", role, "", "", "0", ""]
    # a name and an id a spreadsheet would run as formulas are kept as text
    assert by_id["'+79001234567"][:2] == ["'" + FORMULA_NAME, "'+79001234567"]


async def test_the_export_is_streamed_a_page_at_a_time(app: BotHarness) -> None:
    """With pages smaller than the broadcast, every recipient is still there, once."""
    broadcast_id = await school_broadcast(app)
    reads = app.app.dispatcher["recipient_reads"]
    reads._page_size = 3
    pages = [page async for page in reads.export(broadcast_id)]
    assert [len(page) for page in pages] == [3, 3, 3, 3, 3, 3, 2]
    ids = [row.id for page in pages for row in page]
    assert ids == sorted(set(ids)) and len(ids) == WAITING + 4


async def test_an_export_button_of_a_broadcast_that_is_gone_gets_an_alert(
    app: BotHarness,
) -> None:
    [reply] = await app.send(ADMIN_ID, "/help")
    data = BroadcastAction(action=BroadcastButton.EXPORT, broadcast_id=999).pack()
    sent, _, answers = await app.click(ADMIN_ID, data, reply.message_id)
    assert [(a["show_alert"], a["text"]) for a in answers] == [
        (True, t("error-broadcast-not-found", id="999"))
    ]
    assert sent == []
    assert app.api.uploads == {}
