"""Admins following and repairing broadcasts from the chat: lists and details
(`browse`), the recipients CSV (`export`), progress (`progress`), cancel / retry / send
now (`actions`), schedule / reschedule (`timing`), reminders to those who have not
confirmed (`reminders`) and edit / delete for everyone (`amend`). Texts are in `views`,
keyboards in `handlers.keyboards`, every button's data in `handlers.callbacks`."""

from __future__ import annotations

from aiogram import Router

from handlers.broadcasts import actions, amend, browse, export, progress, reminders, timing


def router() -> Router:
    """The broadcast routers in one, in a fixed order."""
    broadcasts = Router(name=__name__)
    broadcasts.include_routers(
        browse.router(),
        export.router(),
        progress.router(),
        actions.router(),
        timing.router(),
        reminders.router(),
        amend.router(),
    )
    return broadcasts
