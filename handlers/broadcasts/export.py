"""📄 Export CSV in a broadcast's details: its recipients as a document in the chat.

The service reads the recipients a page at a time (`RecipientReads.export`); this module
only writes them as CSV, in the reader's language: the headers, the role and the reason
of a failure in words (as /recipients gives it), the times in the school's `TIMEZONE`.
Cells that a spreadsheet would run as a formula are neutralised as in the invite CSV, and
the file is UTF-8 with a BOM, so Excel shows Cyrillic names as they are.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.types import BufferedInputFile, CallbackQuery, MaybeInaccessibleMessageUnion

from core.i18n import Translator
from core.settings import Settings
from db.models import RecipientStatus
from handlers.broadcasts.views import delivery_error
from handlers.callbacks import BroadcastAction, BroadcastButton
from services.invites import spreadsheet_safe
from services.recipient_reads import RecipientReads
from services.results import RecipientRow

COLUMNS = (
    "csv-name",
    "csv-external-id",
    "csv-role",
    "csv-delivered-at",
    "csv-confirmed-at",
    "csv-reminders",
)
ERROR_COLUMN = "csv-error"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""Sortable, and read as a date and time by every spreadsheet."""
ENCODING = "utf-8-sig"
"""UTF-8 with a BOM: without it Excel reads the file in the system's 8-bit code page."""


class RecipientsCsv:
    """The CSV, written page by page: the header at once, then a row per recipient."""

    def __init__(self, t: Translator, tz: ZoneInfo) -> None:
        self._t = t
        self._tz = tz
        self._out = io.StringIO()
        self._writer = csv.writer(self._out)
        self._writer.writerow([*(t(column, tz=tz.key) for column in COLUMNS), t(ERROR_COLUMN)])
        self.rows = 0

    def _time(self, value: datetime | None) -> str:
        return "" if value is None else value.astimezone(self._tz).strftime(TIME_FORMAT)

    def write(self, page: list[RecipientRow]) -> None:
        for row in page:
            failed = row.status is RecipientStatus.FAILED
            cells = (
                row.user_name,
                row.external_id,
                self._t(f"role-{row.role.value}"),
                self._time(row.sent_at),
                self._time(row.confirmed_at),
                str(row.reminders),
                delivery_error(self._t, row) if failed else "",
            )
            self._writer.writerow([spreadsheet_safe(cell) for cell in cells])
        self.rows += len(page)

    def content(self) -> bytes:
        return self._out.getvalue().encode(ENCODING)


async def export_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    bot: Bot,
    recipient_reads: RecipientReads,
    settings: Settings,
) -> None:
    """The document goes to the chat the details are in; a broadcast that is gone (a
    stale or forged button) is refused with an alert before anything is sent."""
    broadcast_id = callback_data.broadcast_id
    table = RecipientsCsv(t, settings.tz)
    async for page in recipient_reads.export(broadcast_id):
        table.write(page)
    await callback.answer()
    await bot.send_document(
        on.chat.id,
        BufferedInputFile(table.content(), filename=f"broadcast-{broadcast_id}-recipients.csv"),
        caption=t("export-caption", id=str(broadcast_id), count=table.rows, tz=settings.tz.key),
    )


def router() -> Router:
    exporting = Router(name=__name__)
    exporting.callback_query.register(
        export_button,
        BroadcastAction.filter(F.action == BroadcastButton.EXPORT),
        F.message.as_("on"),
    )
    return exporting
