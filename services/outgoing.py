"""Putting a broadcast's content on the wire: one Bot API call per recipient.

`BroadcastContent` (services/content.py) is what a broadcast holds and validates, with no
dependency on aiogram; this module turns it into the request that sends it. The engine
sends it to every recipient and the compose wizard's preview to the admin, so both send
exactly the same message. A broadcast's delivery options (services/options.py) travel with
it: silent and protected sends carry their flags, and the engine adds a recipient's own
"I have read it" button as `reply_markup`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, Message, MessageEntity

from db.models import ContentKind
from services.content import BroadcastContent
from services.options import NO_OPTIONS, BroadcastOptions

_MEDIA_METHODS = {
    ContentKind.PHOTO: ("send_photo", "photo"),
    ContentKind.VIDEO: ("send_video", "video"),
    ContentKind.DOCUMENT: ("send_document", "document"),
    ContentKind.ANIMATION: ("send_animation", "animation"),
}


@dataclass(frozen=True, slots=True)
class OutgoingContent:
    """A broadcast's content with its entities parsed once, to be sent many times, and
    the options it is sent with."""

    kind: ContentKind
    text: str
    entities: list[MessageEntity] | None
    file_id: str | None
    options: BroadcastOptions = NO_OPTIONS

    @classmethod
    def of(
        cls, content: BroadcastContent, options: BroadcastOptions = NO_OPTIONS
    ) -> OutgoingContent:
        entities = [MessageEntity.model_validate(entity) for entity in content.entities or []]
        return cls(content.kind, content.text, entities or None, content.file_id, options)


def send_content(
    bot: Bot,
    chat_id: int,
    content: OutgoingContent,
    *,
    paid: bool = False,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Awaitable[Message]:
    """Send `content` with the method of its kind, entities untouched and no parse mode
    (the bot's default HTML parse mode must not re-read the admin's text). Flags that are
    off are left out of the request, as Telegram's defaults."""
    flags: dict[str, Any] = {
        "allow_paid_broadcast": True if paid else None,
        "disable_notification": True if content.options.silent else None,
        "protect_content": True if content.options.protected else None,
        "reply_markup": reply_markup,
    }
    if content.kind is ContentKind.TEXT:
        return bot.send_message(
            chat_id, content.text, entities=content.entities, parse_mode=None, **flags
        )
    method, file_field = _MEDIA_METHODS[content.kind]
    send: Callable[..., Awaitable[Message]] = getattr(bot, method)
    return send(
        chat_id=chat_id,
        caption=content.text or None,
        caption_entities=content.entities,
        parse_mode=None,
        **flags,
        **{file_field: content.file_id},
    )
