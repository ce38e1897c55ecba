"""aiogram routers, one per feature. Handlers stay thin: parse, call a service, answer."""

from __future__ import annotations

from aiogram import Router
from aiogram_dialog import setup_dialogs

from handlers import broadcasts, compose, membership, progress, start
from handlers.middlewares import AdminOnlyMiddleware
from services.access import AccessService


def get_routers(access: AccessService) -> list[Router]:
    """Routers in the order updates should reach them: public first, admin-only last.

    Every admin feature router is a child of one `admin` router whose outer middleware
    lets only admins through, so no admin handler can be reached without the check.
    """
    admin = Router(name="admin")
    guard = AdminOnlyMiddleware(access)
    admin.message.outer_middleware(guard)
    admin.callback_query.outer_middleware(guard)
    setup_dialogs(admin)  # aiogram-dialog (the compose wizard), behind the guard
    admin_features: list[Router] = [compose.router, progress.router, broadcasts.router]
    for router in admin_features:
        admin.include_router(_adopt(router))
    return [_adopt(start.router), _adopt(membership.router), admin]


def _adopt(router: Router) -> Router:
    """Detach a module-level router from a previous Dispatcher so a new one can include it.

    Feature routers are module singletons (aiogram's style); the process builds a fresh
    Dispatcher whenever the application is built again (tests, in-process restarts).
    """
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
    return router
