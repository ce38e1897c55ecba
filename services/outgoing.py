"""Putting a broadcast's content on the wire: one Bot API call per recipient.

`BroadcastContent` (services/content.py) is what a broadcast holds and validates, with no
dependency on aiogram; this module turns it into the request that sends it. The engine
sends it to every recipient and the compose wizard's preview to the admin, so both send
exactly the same message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import Message, MessageEntity

from db.models import ContentKind
from services.content import BroadcastContent

_MEDIA_METHODS = {
    ContentKind.PHOTO: ("send_photo", "photo"),
    ContentKind.VIDEO: ("send_video", "video"),
    ContentKind.DOCUMENT: ("send_document", "document"),
    ContentKind.ANIMATION: ("send_animation", "animation"),
}


@dataclass(frozen=True, slots=True)
class OutgoingContent:
    """A broadcast's content with its entities parsed once, to be sent many times."""

    kind: ContentKind
    text: str
    entities: list[MessageEntity] | None
    file_id: str | None

    @classmethod
    def of(cls, content: BroadcastContent) -> OutgoingContent:
        entities = [MessageEntity.model_validate(entity) for entity in content.entities or []]
        return cls(content.kind, content.text, entities or None, content.file_id)


def send_content(
    bot: Bot, chat_id: int, content: OutgoingContent, *, paid: bool = False
) -> Awaitable[Message]:
    """Send `content` with the method of its kind, entities untouched and no parse mode
    (the bot's default HTML parse mode must not re-read the admin's text)."""
    allow_paid_broadcast = True if paid else None
    if content.kind is ContentKind.TEXT:
        return bot.send_message(
            chat_id,
            content.text,
            entities=content.entities,
            parse_mode=None,
            allow_paid_broadcast=allow_paid_broadcast,
        )
    method, file_field = _MEDIA_METHODS[content.kind]
    send: Callable[..., Awaitable[Message]] = getattr(bot, method)
    return send(
        chat_id=chat_id,
        caption=content.text or None,
        caption_entities=content.entities,
        parse_mode=None,
        allow_paid_broadcast=allow_paid_broadcast,
        **{file_field: content.file_id},
    )
