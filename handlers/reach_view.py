"""What the reach screens say: who cannot be reached (a page of them), the /reach table
and the invite-links CSV. Pure functions of `services.reach`'s typed results, in the
reader's language, numbers in its format (Fluent's)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

from core.i18n import Translator
from handlers.broadcasts.views import NAME_LENGTH, View, shorten
from handlers.keyboards import school_reach_keyboard, unreachable_keyboard
from services.audience import AudiencePreview
from services.invites import Invite, deep_link, spreadsheet_safe
from services.reach import Child, SchoolReach, UnreachableList, UnreachablePerson

CLASS_WIDTH = 8
"""The longest class name the table shows whole; longer ones are cut with …"""
CSV_COLUMNS = ("csv-name", "csv-external-id", "csv-role", "csv-class", "csv-invite-link")
ENCODING = "utf-8-sig"
"""UTF-8 with a BOM, so Excel shows Cyrillic names as they are."""


def joined(t: Translator, items: Sequence[str]) -> str:
    """`A`, `A and B`, `A, B and C` in the reader's language."""
    if len(items) < 2:
        return "".join(items)
    return t("list-and", items=", ".join(items[:-1]), last=items[-1])


def child_name(child: Child) -> str:
    name = shorten(child.name, NAME_LENGTH)
    return f"{name} ({html.quote(child.class_name)})" if child.class_name else name


def unreachable_line(t: Translator, person: UnreachablePerson) -> str:
    """The school's id and name, role and class, why; under a parent, whose parent."""
    name = f"{html.quote(person.external_id)} {shorten(person.full_name, NAME_LENGTH)}"
    role = t(f"role-{person.role.value}")
    if person.class_name:
        role = f"{role}, {html.quote(person.class_name)}"
    line = t(
        "unreachable-item", name=name, role=role, reason=t(f"unreachable-{person.reason.value}")
    )
    if person.children:
        children = joined(t, [child_name(child) for child in person.children])
        line += "\n" + t("unreachable-parent-of", children=children)
    return line


def unreachable_view(
    t: Translator,
    found: UnreachableList,
    whose: str,
    page_data: Callable[[int], CallbackData],
    export: CallbackData,
) -> View:
    """One page; `whose` says whose list it is, `page_data` and `export` are its buttons'."""
    people = found.people
    lines = [
        t(
            "unreachable-title",
            whose=whose,
            count=people.count,
            page=people.page,
            pages=people.total_pages,
        ),
        "",
    ]
    lines += [unreachable_line(t, person) for person in people.items]
    if not people.items:
        lines.append(t("unreachable-empty"))
    if found.not_linked:
        lines += ["", t("unreachable-not-linked", count=found.not_linked)]
    keyboard = unreachable_keyboard(t, people, page_data, export, found.not_linked)
    return "\n".join(lines), keyboard


def _number(t: Translator, value: int) -> str:
    return t("reach-number", n=value)


def _cut(name: str) -> str:
    return name if len(name) <= CLASS_WIDTH else name[: CLASS_WIDTH - 1] + "…"


def _table(t: Translator, rows: list[tuple[str, AudiencePreview]]) -> list[str]:
    """Monospace rows (each its own <code>, so a long table splits between lines): the
    name, then reachable, blocked, deleted, not linked."""
    header = [t(f"reach-col-{column}") for column in ("linked", "blocked", "deleted", "none")]
    cells = [
        [
            name,
            *(
                _number(t, value)
                for value in (reach.reachable, reach.blocked, reach.deactivated, reach.no_telegram)
            ),
        ]
        for name, reach in rows
    ]
    table = [["", *header], *cells]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) + 1)]
    lines = []
    for row in table:
        numbers = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        lines.append(f"<code>{html.quote(' '.join([row[0].ljust(widths[0]), *numbers]))}</code>")
    return lines


def school_reach_view(t: Translator, reach: SchoolReach) -> tuple[str, InlineKeyboardMarkup | None]:
    """Per role, the whole school, and per class of students; the legend; the export."""
    total = reach.total
    lines = [t("reach-title", total=total.total, reachable=total.reachable), ""]
    roles = [(t(f"reach-role-{role.value}"), counts) for role, counts in reach.roles]
    lines += _table(t, [*roles, (t("reach-all"), total)])
    if reach.classes:
        lines += ["", t("reach-classes-title")]
        lines += _table(
            t,
            [
                (_cut(found.class_name) if found.class_name else t("reach-no-class"), found.reach)
                for found in reach.classes
            ],
        )
    lines += ["", t("reach-legend")]
    if total.no_telegram:
        lines.append(t("reach-not-linked", count=total.no_telegram))
    return "\n".join(lines), school_reach_keyboard(t, total.no_telegram)


class InviteLinksCsv:
    """The admin's invite CSV, written page by page as the links are issued: the headers
    in the reader's language, then a row per person with their personal link."""

    def __init__(self, t: Translator, bot_username: str) -> None:
        self._t = t
        self._bot_username = bot_username
        self._out = io.StringIO()
        self._writer = csv.writer(self._out)
        self._writer.writerow([t(column) for column in CSV_COLUMNS])

    def write(self, page: list[Invite]) -> None:
        for invite in page:
            cells = (
                invite.full_name,
                invite.external_id,
                self._t(f"role-{invite.role.value}"),
                invite.class_name or "",
            )
            self._writer.writerow(
                [
                    *(spreadsheet_safe(cell) for cell in cells),
                    deep_link(self._bot_username, invite.token),
                ]
            )

    def content(self) -> bytes:
        return self._out.getvalue().encode(ENCODING)
