"""Read confirmations: the "✅ I have read it" button under every message of a broadcast
that asks for it, and what a press on it records.

A press names nothing in its callback data: the recipient row is found by the message the
button sits on (its chat, which is the recipient's own Telegram id, and its message id,
stored as `telegram_message_id` when it was delivered), so no value a client could change
reaches another row. Only the recipient's own press counts; a second one changes nothing.
Confirmations count whatever the broadcast's status is now (finished or cancelled).

The engine builds the button without knowing the catalogs or the handlers: `ReadButton`
takes the label in a language and the callback data from whoever assembles the bot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import ColumnElement, ScalarSelect, case, func, select, update
from sqlalchemy.orm import aliased

from db.models import Broadcast, BroadcastKind, BroadcastRecipient, RecipientStatus, User
from db.session import SessionFactory
from db.types import utcnow
from services.audience import affected_rows
from services.results import Confirmation, ConfirmOutcome

ReadLabel = Callable[[str | None], str]
"""The button's label for a recipient's `users.language_code` (None: the default one)."""
ConfirmedLabel = Callable[[str | None, datetime], str]
""""✅ Confirmed 14:02" for a recipient's language and the time they confirmed."""


class ReadButton:
    """The "I have read it" keyboard for each recipient's language, built once per label;
    and, for a message corrected after its recipient confirmed (services/run_actions.py),
    the "✅ Confirmed 14:02" one that replaced it (`confirmed`, whose data only answers)."""

    def __init__(
        self,
        label: ReadLabel,
        data: str,
        confirmed_label: ConfirmedLabel | None = None,
        confirmed_data: str = "",
    ) -> None:
        self._label = label
        self._data = data
        self._confirmed_label = confirmed_label
        self._confirmed_data = confirmed_data
        self._markups: dict[str, InlineKeyboardMarkup] = {}

    def keeping(
        self, language_code: str | None, confirmed_at: datetime | None
    ) -> InlineKeyboardMarkup:
        """The keyboard a recipient's message has now: "I have read it", or once they
        confirmed, "✅ Confirmed 14:02" (when this button knows how to draw it)."""
        if confirmed_at is None or self._confirmed_label is None:
            return self.markup(language_code)
        label = self._confirmed_label(language_code, confirmed_at)
        button = InlineKeyboardButton(text=label, callback_data=self._confirmed_data)
        return InlineKeyboardMarkup(inline_keyboard=[[button]])

    def markup(self, language_code: str | None) -> InlineKeyboardMarkup:
        label = self._label(language_code)
        markup = self._markups.get(label)
        if markup is None:
            button = InlineKeyboardButton(text=label, callback_data=self._data)
            markup = self._markups[label] = InlineKeyboardMarkup(inline_keyboard=[[button]])
        return markup


def confirmed_count(broadcast_id: int) -> ScalarSelect[Any]:
    """How many recipients of the broadcast confirmed (an index range, not a table scan)."""
    return (
        select(func.count())
        .select_from(BroadcastRecipient)
        .where(
            BroadcastRecipient.broadcast_id == broadcast_id,
            BroadcastRecipient.confirmed_at.is_not(None),
        )
        .scalar_subquery()
    )


def not_confirmed(broadcast_id: int) -> list[ColumnElement[bool]]:
    """The broadcast's recipients who were delivered it and have not confirmed reading."""
    return [
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.status == RecipientStatus.SENT,
        BroadcastRecipient.confirmed_at.is_(None),
    ]


def confirmed_column(broadcast_id: int) -> ColumnElement[Any]:
    """For a query on the broadcast row: its confirmations, or NULL when it does not ask
    for them (the count is then never run)."""
    return case((Broadcast.ask_confirmation, confirmed_count(broadcast_id)), else_=None)


class ConfirmationService:
    """Records presses of "I have read it" at the time `clock` says (UTC, aware)."""

    def __init__(
        self, session_factory: SessionFactory, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._session_factory = session_factory
        self.clock = clock

    async def confirm(self, chat_id: int, message_id: int, presser_id: int) -> Confirmation:
        """A press by `presser_id` on message `message_id` of chat `chat_id`: recorded the
        first time; ALREADY (with the first time) after that; REFUSED, recording nothing,
        when the presser is not the one the message was sent to, or the message is not a
        delivered message of a broadcast that asks for confirmation. A press on a
        reminder (services/reminders.py) confirms the announcement's row it points at,
        and names the announcement's message in that chat, whose button changes too."""
        if presser_id != chat_id:
            return Confirmation(ConfirmOutcome.REFUSED)
        row = BroadcastRecipient
        source = aliased(BroadcastRecipient)
        reminder = Broadcast.kind == BroadcastKind.REMINDER
        async with self._session_factory() as session, session.begin():
            pressed = (
                await session.execute(
                    select(
                        case((reminder, row.source_id), else_=row.id),
                        case((reminder, source.telegram_message_id), else_=None),
                    )
                    .join(User, User.id == row.recipient_id)
                    .join(Broadcast, Broadcast.id == row.broadcast_id)
                    .outerjoin(source, source.id == row.source_id)
                    .where(
                        User.telegram_id == chat_id,
                        row.telegram_message_id == str(message_id),
                        Broadcast.ask_confirmation | reminder,
                    )
                )
            ).one_or_none()
            if pressed is None or pressed[0] is None:
                return Confirmation(ConfirmOutcome.REFUSED)
            row_id, original = pressed
            found = (
                await session.execute(
                    select(row.broadcast_id, row.confirmed_at)
                    .join(Broadcast, Broadcast.id == row.broadcast_id)
                    .where(row.id == row_id, Broadcast.ask_confirmation)
                )
            ).one_or_none()
            if found is None:
                return Confirmation(ConfirmOutcome.REFUSED)
            broadcast_id, confirmed_at = found
            original_id = None if original is None else int(original)
            if confirmed_at is None:
                now = self.clock()
                recorded = await session.execute(
                    update(row)
                    .where(row.id == row_id, row.confirmed_at.is_(None))
                    .values(confirmed_at=now)
                )
                if affected_rows(recorded):
                    return Confirmation(ConfirmOutcome.CONFIRMED, broadcast_id, now, original_id)
                # a press of the same person an instant earlier got there first
                confirmed_at = await session.scalar(
                    select(row.confirmed_at).where(row.id == row_id)
                )
        return Confirmation(ConfirmOutcome.ALREADY, broadcast_id, confirmed_at)
