"""Showing the admin the broadcast exactly as recipients will get it.

Same Bot API method, same text or caption, the same entities and no parse mode: what
`services.sender` sends to each recipient, minus `allow_paid_broadcast` (a preview to one
chat must never be a paid message).
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import MessageEntity

from db.models import ContentKind
from services.content import BroadcastContent


async def send_content(bot: Bot, chat_id: int, content: BroadcastContent) -> None:
    entities = [MessageEntity.model_validate(entity) for entity in content.entities or []] or None
    if content.kind is ContentKind.TEXT:
        await bot.send_message(chat_id, content.text, entities=entities, parse_mode=None)
        return
    assert content.file_id is not None  # BroadcastContent.validate guarantees it for media
    caption = content.text or None
    if content.kind is ContentKind.PHOTO:
        await bot.send_photo(
            chat_id, content.file_id, caption=caption, caption_entities=entities, parse_mode=None
        )
    elif content.kind is ContentKind.VIDEO:
        await bot.send_video(
            chat_id, content.file_id, caption=caption, caption_entities=entities, parse_mode=None
        )
    elif content.kind is ContentKind.DOCUMENT:
        await bot.send_document(
            chat_id, content.file_id, caption=caption, caption_entities=entities, parse_mode=None
        )
    else:
        await bot.send_animation(
            chat_id, content.file_id, caption=caption, caption_entities=entities, parse_mode=None
        )
