"""What a run does in each recipient's chat: the one Bot API call per recipient.

The engine (services/broadcast_run.py) paces, retries, records and reports; the action is
the request it makes. An announcement sends its content. Runs over a sent announcement
(reminders, edits, deletes: `db.models.BroadcastKind`) act on the announcement's message
in that chat, which the engine reads with each recipient (`Recipient.source_message_id`),
so they get the engine's pacing, retries, leases and live progress without a copy of it.

An edit keeps the message's keyboard: "I have read it" when the announcement asks for it,
or "✅ Confirmed 14:02" for a recipient who already confirmed. An announcement corrected
while it is being sent is loaded again by its run (`LoadedAction.revision`), and a
message that went out with the previous text meanwhile is corrected at once (`amend`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from aiogram import Bot
from aiogram.types import Message

from db.models import Broadcast, BroadcastKind, ContentKind
from services.confirmations import ReadButton
from services.content import BroadcastContent
from services.delivery_record import Recipient
from services.options import NO_OPTIONS, BroadcastOptions
from services.outgoing import OutgoingContent, send_content
from services.quiet_hours import waits_for_quiet_hours
from services.reminder_action import ReminderAction, ReminderText


class RunAction(Protocol):
    """One request in one recipient's chat: the message sent (or edited), or True when
    Telegram answers a request without a message (a delete)."""

    def __call__(
        self, bot: Bot, chat_id: int, recipient: Recipient, *, paid: bool
    ) -> Awaitable[Message | bool]: ...


@dataclass(frozen=True, slots=True)
class SendAction:
    """Send the content, with the recipient's own "I have read it" button when asked."""

    content: OutgoingContent
    read_button: ReadButton | None = None

    def __call__(
        self, bot: Bot, chat_id: int, recipient: Recipient, *, paid: bool
    ) -> Awaitable[Message]:
        markup = None
        if self.read_button is not None:
            markup = self.read_button.markup(recipient.language_code)
        return send_content(bot, chat_id, self.content, paid=paid, reply_markup=markup)


@dataclass(frozen=True, slots=True)
class EditAction:
    """Correct the text (or the caption) of the announcement's message in the chat, its
    entities intact and its keyboard kept (`read_button`: the announcement asks for
    confirmation)."""

    content: OutgoingContent
    read_button: ReadButton | None = None

    async def __call__(
        self, bot: Bot, chat_id: int, recipient: Recipient, *, paid: bool
    ) -> Message | bool:
        message_id = recipient.source_message_id
        if message_id is None:
            raise ValueError("No delivered message to edit")
        markup = None
        if self.read_button is not None:
            markup = self.read_button.keeping(
                recipient.language_code, recipient.source_confirmed_at
            )
        if self.content.kind is ContentKind.TEXT:
            return await bot.edit_message_text(
                text=self.content.text,
                chat_id=chat_id,
                message_id=message_id,
                entities=self.content.entities,
                parse_mode=None,
                reply_markup=markup,
            )
        return await bot.edit_message_caption(
            chat_id=chat_id,
            message_id=message_id,
            caption=self.content.text,
            caption_entities=self.content.entities,
            parse_mode=None,
            reply_markup=markup,
        )


@dataclass(frozen=True, slots=True)
class DeleteAction:
    """Delete the announcement's message in the chat, for everyone."""

    async def __call__(
        self, bot: Bot, chat_id: int, recipient: Recipient, *, paid: bool
    ) -> Message | bool:
        if recipient.source_message_id is None:
            raise ValueError("No delivered message to delete")
        return await bot.delete_message(chat_id, recipient.source_message_id)


@dataclass(frozen=True, slots=True)
class LoadedAction:
    """A run's action as loaded with the broadcast row: the content revision it sends,
    for an announcement the edit that corrects a message sent with an older one, whether
    the run waits while quiet hours last, and what its progress message is titled by."""

    action: RunAction
    revision: int = 0
    amend: RunAction | None = None
    waits_for_quiet_hours: bool = True
    kind: BroadcastKind = BroadcastKind.ANNOUNCEMENT
    parent_id: int | None = None  # a run over an announcement: the announcement


def load_action(
    broadcast: Broadcast,
    read_button: ReadButton | None,
    parent: Broadcast | None = None,
    *,
    deleted: bool = False,
    reminder_text: ReminderText | None = None,
) -> LoadedAction:
    """The run's action (`run_action`), its revision, and the announcement's amendment:
    its corrected text, or a delete once it was `deleted` for everyone."""
    action = run_action(broadcast, read_button, parent, reminder_text)
    amend: RunAction | None = None
    if broadcast.kind is BroadcastKind.ANNOUNCEMENT:
        asks = broadcast.ask_confirmation
        amend = DeleteAction() if deleted else _edit(broadcast, read_button if asks else None)
    waits = waits_for_quiet_hours(broadcast.kind, broadcast.urgent)
    return LoadedAction(
        action, broadcast.content_revision, amend, waits, broadcast.kind, broadcast.parent_id
    )


def _edit(run: Broadcast, read_button: ReadButton | None) -> EditAction:
    content = BroadcastContent(run.content_kind, run.message, run.entities, run.file_id)
    return EditAction(OutgoingContent.of(content, NO_OPTIONS), read_button)


def run_action(
    broadcast: Broadcast,
    read_button: ReadButton | None,
    parent: Broadcast | None = None,
    reminder_text: ReminderText | None = None,
) -> RunAction:
    """The action of the broadcast's kind; `read_button` is None on a sender without one,
    which refuses broadcasts that ask for confirmation (an edit keeps the button when its
    `parent` announcement asks for it; a reminder needs it and `reminder_text`)."""
    if broadcast.kind is BroadcastKind.REMINDER:
        if read_button is None or reminder_text is None:
            raise RuntimeError(f"Reminder {broadcast.id}: no button or text")
        return ReminderAction(reminder_text, read_button, broadcast.silent, broadcast.protected)
    if broadcast.kind is BroadcastKind.EDIT:
        asks = parent is not None and parent.ask_confirmation
        if asks and read_button is None:
            raise RuntimeError(f"Broadcast {broadcast.id} keeps a confirmation: no button")
        return _edit(broadcast, read_button if asks else None)
    if broadcast.kind is BroadcastKind.DELETE:
        return DeleteAction()
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
