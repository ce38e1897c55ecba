"""📄 Export CSV in a broadcast's details: its recipients as a document in the chat.

The service reads the recipients a page at a time (`RecipientReads.export`); this module
only writes them as CSV, in the reader's language: the headers, the role and the reason
of a failure in words (as /recipients gives it), the times in the school's `TIMEZONE`.
Cells that a spreadsheet would run as a formula are neutralised as in the invite CSV, and
the file is UTF-8 with a BOM, so Excel shows Cyrillic names as they are.

A broadcast that was edited or deleted for everyone gets three more columns (when each
message was edited, deleted, or why that failed), and a second document beside it: its
history, one event a row (a separate table, so each sorts and filters on its own).
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
from services.history import HistoryEntry
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
AMEND_COLUMNS = ("csv-edited-at", "csv-deleted-at")
AMEND_ERROR_COLUMN = "csv-amend-error"
HISTORY_COLUMNS = ("csv-history-at", "csv-history-who", "csv-history-what")
HISTORY_PREVIOUS_COLUMN = "csv-history-previous"
AMENDED = frozenset({"edited", "deleted"})
"""History kinds after which the recipients' CSV has the edit and delete columns."""
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""Sortable, and read as a date and time by every spreadsheet."""
ENCODING = "utf-8-sig"
"""UTF-8 with a BOM: without it Excel reads the file in the system's 8-bit code page."""


class RecipientsCsv:
    """The CSV, written page by page: the header at once, then a row per recipient."""

    def __init__(self, t: Translator, tz: ZoneInfo, *, amended: bool = False) -> None:
        self._t = t
        self._tz = tz
        self._amended = amended
        self._out = io.StringIO()
        self._writer = csv.writer(self._out)
        header = [*(t(column, tz=tz.key) for column in COLUMNS), t(ERROR_COLUMN)]
        if amended:
            header += [*(t(column, tz=tz.key) for column in AMEND_COLUMNS), t(AMEND_ERROR_COLUMN)]
        self._writer.writerow(header)
        self.rows = 0

    def _time(self, value: datetime | None) -> str:
        return "" if value is None else value.astimezone(self._tz).strftime(TIME_FORMAT)

    def write(self, page: list[RecipientRow]) -> None:
        for row in page:
            failed = row.status is RecipientStatus.FAILED
            cells: tuple[str, ...] = (
                row.user_name,
                row.external_id,
                self._t(f"role-{row.role.value}"),
                self._time(row.sent_at),
                self._time(row.confirmed_at),
                str(row.reminders),
                delivery_error(self._t, row) if failed else "",
            )
            if self._amended:
                error = row.amend_error_code
                cells += (
                    self._time(row.edited_at),
                    self._time(row.deleted_at),
                    self._t(f"delivery-error-{error}") if error else "",
                )
            self._writer.writerow([spreadsheet_safe(cell) for cell in cells])
        self.rows += len(page)

    def content(self) -> bytes:
        return self._out.getvalue().encode(ENCODING)


def history_csv(t: Translator, tz: ZoneInfo, history: list[HistoryEntry]) -> bytes:
    """The history as a table: when, who, what happened, and the text an edit replaced."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [*(t(column, tz=tz.key) for column in HISTORY_COLUMNS), t(HISTORY_PREVIOUS_COLUMN)]
    )
    for entry in history:
        cells = (
            entry.at.astimezone(tz).strftime(TIME_FORMAT),
            entry.actor_name or t("history-nobody"),
            t(f"csv-history-{entry.kind}"),
            entry.previous_text or "",
        )
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    return out.getvalue().encode(ENCODING)


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
    table: RecipientsCsv | None = None
    async for page in recipient_reads.export(broadcast_id):
        if table is None:  # the broadcast exists: its history is worth reading
            history = await recipient_reads.history(broadcast_id)
            amended = any(entry.kind in AMENDED for entry in history)
            table = RecipientsCsv(t, settings.tz, amended=amended)
        table.write(page)
    if table is None:
        history, table = await recipient_reads.history(broadcast_id), RecipientsCsv(t, settings.tz)
    await callback.answer()
    await bot.send_document(
        on.chat.id,
        BufferedInputFile(table.content(), filename=f"broadcast-{broadcast_id}-recipients.csv"),
        caption=t("export-caption", id=str(broadcast_id), count=table.rows, tz=settings.tz.key),
    )
    if history:
        await bot.send_document(
            on.chat.id,
            BufferedInputFile(
                history_csv(t, settings.tz, history),
                filename=f"broadcast-{broadcast_id}-history.csv",
            ),
            caption=t("export-history-caption", id=str(broadcast_id), count=len(history)),
        )


def router() -> Router:
    exporting = Router(name=__name__)
    exporting.callback_query.register(
        export_button,
        BroadcastAction.filter(F.action == BroadcastButton.EXPORT),
        F.message.as_("on"),
    )
    return exporting
