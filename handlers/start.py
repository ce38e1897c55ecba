"""/start and /help: the only commands open to everyone.

`/start <token>` (a personal invite link) links the sender's Telegram account to their
roster user, and tells a parent whose messages they will get (their children, by name);
a plain `/start` refreshes a linked person's details and clears the mark left when they
blocked the bot. Admins are greeted with a "New broadcast" button.
"""

from __future__ import annotations

from aiogram import Bot, Router, html
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message, User

from core.i18n import Catalog, Translator
from handlers.commands import set_admin_commands
from handlers.compose import new_broadcast_keyboard
from handlers.reach_view import joined
from services.access import AccessService
from services.invites import LinkService, RedeemStatus, TelegramAccount


def telegram_account(user: User) -> TelegramAccount:
    return TelegramAccount(user.id, user.username, user.language_code)


async def start_with_invite(
    message: Message,
    command: CommandObject,
    t: Translator,
    links: LinkService,
    access: AccessService,
    bot: Bot,
    catalog: Catalog,
) -> None:
    if message.from_user is None:
        return
    redemption = await links.redeem(command.args or "", telegram_account(message.from_user))
    if redemption.status is not RedeemStatus.LINKED:
        await message.answer(t(f"invite-{redemption.status.value}"))
        return
    name = html.quote(redemption.full_name or "")
    if redemption.children:
        children = joined(t, [html.quote(child) for child in redemption.children])
        count = len(redemption.children)
        lines = [t("invite-linked-parent", name=name, children=children, count=count)]
    else:
        lines = [t("invite-linked", name=name)]
    if redemption.moved_from is not None:
        lines.append(t("invite-moved", previous=html.quote(redemption.moved_from)))
    if await access.admin_identity(message.from_user.id) is None:
        await message.answer("\n\n".join(lines))
        return
    await set_admin_commands(bot, catalog, message.from_user.id)
    lines.append(t("start-admin"))
    await message.answer("\n\n".join(lines), reply_markup=new_broadcast_keyboard(t))


async def start(message: Message, t: Translator, links: LinkService, access: AccessService) -> None:
    if message.from_user is None:
        return
    name = await links.refresh(telegram_account(message.from_user))
    if await access.admin_identity(message.from_user.id) is not None:
        await message.answer(t("start-admin"), reply_markup=new_broadcast_keyboard(t))
    elif name is not None:
        await message.answer(t("start-linked", name=html.quote(name)))
    else:
        await message.answer(t("start-unknown"))


async def help_(message: Message, t: Translator, access: AccessService, links: LinkService) -> None:
    """What this person may do: admins get the commands; a linked person is told all is
    set; anyone else how to link their account."""
    if message.from_user is None:
        return
    if await access.admin_identity(message.from_user.id) is not None:
        await message.answer(t("help-admin"))
    elif (name := await links.linked_name(message.from_user.id)) is not None:
        await message.answer(t("help-linked", name=html.quote(name)))
    else:
        await message.answer(t("help-user"))


def router() -> Router:
    public = Router(name=__name__)
    public.message.register(start_with_invite, CommandStart(deep_link=True))
    public.message.register(start, CommandStart())
    public.message.register(help_, Command("help"))
    return public
