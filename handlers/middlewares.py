"""aiogram middlewares that give handlers their per-update dependencies.

`I18nMiddleware` puts a `t` translator for the user's language into the handler data.
`AdminOnlyMiddleware` guards a whole router: admins pass with `admin` in the data, anyone
else is told "not allowed" and the update stops there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from core.i18n import Catalog
from services.access import AccessService

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class I18nMiddleware(BaseMiddleware):
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        data["t"] = self._catalog.translator(user.language_code if user else None)
        return await handler(event, data)


class AdminOnlyMiddleware(BaseMiddleware):
    """Router-level access check for every message and callback of the admin routers."""

    def __init__(self, access: AccessService) -> None:
        self._access = access

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        admin = await self._access.admin_identity(user.id) if user else None
        if admin is None:
            await _refuse(event, data)
            return None
        data["admin"] = admin
        return await handler(event, data)


async def _refuse(event: TelegramObject, data: dict[str, Any]) -> None:
    text = data["t"]("not-allowed")
    if isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
    elif isinstance(event, Message):
        await event.answer(text)
