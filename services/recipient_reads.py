"""Who of a broadcast's recipients has not confirmed reading, and every recipient for the
CSV export, each with how many reminders they were sent: reads apart from
`BroadcastReads`, over the same typed `RecipientRow`.

The export streams: recipients are read by id, a page at a time, each page in its own
short session, so a broadcast to thousands never holds one transaction open or loads
every row in one query (nor runs one query per recipient). Each page comes with what the
announcement's edits and delete did to its rows (one more query per page), and the
broadcast's history goes with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Broadcast, BroadcastKind, BroadcastRecipient, RecipientStatus
from db.session import SessionFactory
from services.broadcast_reads import check_page, recipient_row, recipients_query
from services.confirmations import not_confirmed
from services.errors import BroadcastNotFound, ConfirmationNotAsked
from services.history import HistoryEntry, history_of
from services.reminders import reminders_received
from services.results import Page, RecipientRow


def _with_reminders() -> Select[Any]:
    """Recipient rows as `recipients_query` reads them, with how many reminders each got."""
    return recipients_query().add_columns(reminders_received())


def _row(found: Row[Any]) -> RecipientRow:
    recipient: Any = tuple(found[:-1])  # the columns of `recipients_query`
    return replace(recipient_row(recipient), reminders=int(found[-1]))


class RecipientReads:
    def __init__(self, session_factory: SessionFactory, page_size: int = 1000) -> None:
        self._session_factory = session_factory
        self._page_size = page_size

    async def unconfirmed(
        self, broadcast_id: int, page: int = 1, page_size: int = 20
    ) -> Page[RecipientRow]:
        """The recipients who were delivered the broadcast and have not confirmed reading;
        refused (`ConfirmationNotAsked`) for a broadcast that does not ask them to."""
        check_page(page, page_size)
        async with self._session_factory() as session:
            asks = await session.scalar(
                select(Broadcast.ask_confirmation).where(Broadcast.id == broadcast_id)
            )
            if asks is None:
                raise BroadcastNotFound(broadcast_id)
            if not asks:
                raise ConfirmationNotAsked(broadcast_id)
            conditions = not_confirmed(broadcast_id)
            count = await session.scalar(
                select(func.count(BroadcastRecipient.id)).where(*conditions)
            )
            rows = await session.execute(
                _with_reminders().where(*conditions).offset((page - 1) * page_size).limit(page_size)
            )
            return Page([_row(found) for found in rows], count or 0, page, page_size)

    async def export(self, broadcast_id: int) -> AsyncIterator[list[RecipientRow]]:
        """Every recipient of the broadcast in id order, a page at a time. The broadcast
        is checked before the first page: an unknown one raises `BroadcastNotFound`."""
        async with self._session_factory() as session:
            if await session.get(Broadcast, broadcast_id) is None:
                raise BroadcastNotFound(broadcast_id)
        after = 0
        while True:
            async with self._session_factory() as session:
                rows = (
                    await session.execute(
                        _with_reminders()
                        .where(
                            BroadcastRecipient.broadcast_id == broadcast_id,
                            BroadcastRecipient.id > after,
                        )
                        .limit(self._page_size)
                    )
                ).all()
            if rows:
                page = [_row(found) for found in rows]
                async with self._session_factory() as session:
                    yield await _with_amendments(session, page)
                after = page[-1].id
            if len(rows) < self._page_size:
                return

    async def history(self, broadcast_id: int) -> list[HistoryEntry]:
        """The broadcast's whole history, oldest first (services/history.py)."""
        async with self._session_factory() as session:
            return await history_of(session, broadcast_id)


async def _with_amendments(session: AsyncSession, page: list[RecipientRow]) -> list[RecipientRow]:
    """The page's rows with what the edits (the last one) and the delete of their
    announcement did to each message."""
    run = BroadcastRecipient
    found = await session.execute(
        select(run.source_id, Broadcast.kind, run.status, run.sent_at, run.error_code)
        .join(Broadcast, Broadcast.id == run.broadcast_id)
        .where(
            run.source_id.in_([row.id for row in page]),
            Broadcast.kind.in_((BroadcastKind.EDIT, BroadcastKind.DELETE)),
        )
        .order_by(run.broadcast_id)
    )
    edited: dict[int, datetime | None] = {}
    deleted: dict[int, datetime | None] = {}
    errors: dict[int, str | None] = {}
    for source_id, kind, status, done_at, error_code in found:
        assert source_id is not None  # selected by it
        (edited if kind is BroadcastKind.EDIT else deleted)[source_id] = done_at
        failed = status is RecipientStatus.FAILED
        errors[source_id] = (error_code or "other") if failed else None
    if not errors:
        return page
    return [
        replace(
            row,
            edited_at=edited.get(row.id),
            deleted_at=deleted.get(row.id),
            amend_error_code=errors.get(row.id),
        )
        for row in page
    ]
