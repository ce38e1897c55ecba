"""Telegram's `my_chat_member` updates for private chats: the person blocked the bot
(`kicked`) or unblocked it (`member`). Previews count blocked people as unreachable."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from services.invites import LinkService


async def bot_blocked(event: ChatMemberUpdated, links: LinkService) -> None:
    await links.set_bot_blocked(event.from_user.id, blocked=True)


async def bot_unblocked(event: ChatMemberUpdated, links: LinkService) -> None:
    await links.set_bot_blocked(event.from_user.id, blocked=False)


def router() -> Router:
    membership = Router(name=__name__)
    membership.my_chat_member.filter(F.chat.type == ChatType.PRIVATE)
    membership.my_chat_member.register(
        bot_blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED)
    )
    membership.my_chat_member.register(
        bot_unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER)
    )
    return membership
