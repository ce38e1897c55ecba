"""aiogram routers, one per feature. Handlers stay thin: parse, call a service, answer."""

from __future__ import annotations

from aiogram import Router

from bot.middlewares import AdminOnlyMiddleware
from handlers import start
from services.access import AccessService


def get_routers(access: AccessService) -> list[Router]:
    """Routers in the order updates should reach them: public first, admin-only last."""
    admin = Router(name="admin")
    guard = AdminOnlyMiddleware(access)
    admin.message.outer_middleware(guard)
    admin.callback_query.outer_middleware(guard)
    admin.include_routers()
    return [start.router, admin]
