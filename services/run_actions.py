"""What a run does in each recipient's chat: the one Bot API call per recipient.

The engine (services/broadcast_run.py) paces, retries, records and reports; the action is
the request it makes. An announcement sends its content. Runs over a sent announcement
(reminders, edits, deletes: `db.models.BroadcastKind`) act on the announcement's message
in that chat, which the engine reads with each recipient (`Recipient.source_message_id`),
so they get the engine's pacing, retries, leases and live progress without a copy of it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from aiogram import Bot
from aiogram.types import Message

from db.models import Broadcast, BroadcastKind
from services.confirmations import ReadButton
from services.content import BroadcastContent
from services.delivery_record import Recipient
from services.options import BroadcastOptions
from services.outgoing import OutgoingContent, send_content
from services.reminder_action import ReminderAction, ReminderText


class RunAction(Protocol):
    """One request in one recipient's chat: the message sent (or edited), or True when
    Telegram answers a request without a message (a delete)."""

    @property
    def sits_out_quiet_hours(self) -> bool:
        """Whether the run waits while QUIET_HOURS last (services/quiet_hours.py)."""
        ...

    def __call__(
        self, bot: Bot, chat_id: int, recipient: Recipient, *, paid: bool
    ) -> Awaitable[Message | bool]: ...


@dataclass(frozen=True, slots=True)
class SendAction:
    """Send the content, with the recipient's own "I have read it" button when asked."""

    content: OutgoingContent
    read_button: ReadButton | None = None

    @property
    def sits_out_quiet_hours(self) -> bool:
        return not self.content.options.urgent  # urgent rings whatever the hour

    def __call__(
        self, bot: Bot, chat_id: int, recipient: Recipient, *, paid: bool
    ) -> Awaitable[Message]:
        markup = None
        if self.read_button is not None:
            markup = self.read_button.markup(recipient.language_code)
        return send_content(bot, chat_id, self.content, paid=paid, reply_markup=markup)


def run_action(
    broadcast: Broadcast,
    read_button: ReadButton | None,
    reminder_text: ReminderText | None = None,
) -> RunAction:
    """The action of the broadcast's kind; `read_button` is None on a sender without one,
    which refuses broadcasts that ask for confirmation (and reminders, which need
    `reminder_text` too)."""
    if broadcast.kind is BroadcastKind.REMINDER:
        if read_button is None or reminder_text is None:
            raise RuntimeError(f"Reminder {broadcast.id}: no button or text")
        return ReminderAction(reminder_text, read_button, broadcast.silent, broadcast.protected)
    if broadcast.kind is not BroadcastKind.ANNOUNCEMENT:
        raise RuntimeError(f"Broadcast {broadcast.id}: no run action for {broadcast.kind}")
    options = BroadcastOptions.of(broadcast)
    if options.ask_confirmation and read_button is None:
        raise RuntimeError(f"Broadcast {broadcast.id} asks for confirmation: no button")
    content = BroadcastContent(
        broadcast.content_kind, broadcast.message, broadcast.entities, broadcast.file_id
    )
    return SendAction(
        OutgoingContent.of(content, options), read_button if options.ask_confirmation else None
    )
