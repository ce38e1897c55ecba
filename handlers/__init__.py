"""aiogram routers, one per feature. Handlers stay thin: parse, call a service, answer."""

from __future__ import annotations

from aiogram import Router
from aiogram_dialog import setup_dialogs

from handlers import (
    broadcasts,
    compose,
    confirmations,
    fallback,
    membership,
    reach,
    replies,
    start,
)
from handlers.middlewares import AdminOnlyMiddleware
from services.access import AccessService


def get_routers(access: AccessService) -> list[Router]:
    """Fresh routers in the order updates should reach them: public first (recipients'
    read confirmations among them), then the admin-only ones, and last the fallback that
    answers any button press left over.

    Every admin feature router is a child of one `admin` router whose outer middleware
    lets only admins through, so no admin handler can be reached without the check.
    """
    admin = Router(name="admin")
    guard = AdminOnlyMiddleware(access)
    admin.message.outer_middleware(guard)
    admin.callback_query.outer_middleware(guard)
    setup_dialogs(admin)  # aiogram-dialog (the compose wizard), behind the guard
    admin.include_routers(compose.router(), broadcasts.router(), reach.router())
    return [
        start.router(),
        membership.router(),
        replies.router(),
        confirmations.router(),
        admin,
        fallback.router(),
    ]
