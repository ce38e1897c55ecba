"""The request a reminder makes in each chat: a short text in the recipient's language,
as a reply to the announcement's message there, with the same "I have read it" button.

`allow_sending_without_reply` keeps a reminder whose original the recipient deleted from
failing: it arrives as a plain message. Someone who confirmed after the reminder's
recipients were written is not sent it (`NotNeeded`, recorded with its code), so the
reminder's counts still agree with its rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import Message, ReplyParameters

from services.confirmations import ReadButton
from services.delivery_errors import NotNeeded
from services.delivery_record import Recipient

ReminderText = Callable[[str | None], str]
"""The reminder's text for a recipient's `users.language_code` (None: the default one)."""


@dataclass(frozen=True, slots=True)
class ReminderAction:
    text: ReminderText
    read_button: ReadButton
    silent: bool = False
    protected: bool = False

    def __call__(
        self, bot: Bot, chat_id: int, recipient: Recipient, *, paid: bool
    ) -> Awaitable[Message]:
        if recipient.source_confirmed_at is not None:
            raise NotNeeded("Confirmed reading before the reminder was sent")
        reply = None
        if recipient.source_message_id is not None:
            reply = ReplyParameters(
                message_id=recipient.source_message_id, allow_sending_without_reply=True
            )
        return bot.send_message(
            chat_id,
            self.text(recipient.language_code),
            parse_mode=None,
            reply_parameters=reply,
            reply_markup=self.read_button.markup(recipient.language_code),
            allow_paid_broadcast=True if paid else None,
            disable_notification=True if self.silent else None,
            protect_content=True if self.protected else None,
        )
