"""/start and /help: the only commands open to everyone."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.i18n import Translator
from services.access import AccessService

router = Router(name=__name__)


@router.message(CommandStart())
async def start(message: Message, t: Translator, access: AccessService) -> None:
    is_admin = message.from_user is not None and (
        await access.admin_identity(message.from_user.id) is not None
    )
    await message.answer(t("start-admin" if is_admin else "start-unknown"))


@router.message(Command("help"))
async def help_(message: Message, t: Translator, access: AccessService) -> None:
    is_admin = message.from_user is not None and (
        await access.admin_identity(message.from_user.id) is not None
    )
    await message.answer(t("help-admin" if is_admin else "help-user"))
