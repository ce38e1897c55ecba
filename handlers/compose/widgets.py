"""aiogram-dialog widgets of the wizard: texts that speak the user's language through the
Fluent catalogs, the Cancel button every step has, and a page counter that draws no
buttons."""

from __future__ import annotations

from typing import Any

from aiogram import html
from aiogram_dialog import DialogManager
from aiogram_dialog.api.internal import RawKeyboard
from aiogram_dialog.widgets.common import WhenCondition
from aiogram_dialog.widgets.kbd import Button, StubScroll
from aiogram_dialog.widgets.text import Text

from core.i18n import Translator
from handlers.compose import steps


def translator(manager: DialogManager) -> Translator:
    """The `t` that `handlers.middlewares.I18nMiddleware` put into this update's data."""
    t: Translator = manager.middleware_data["t"]
    return t


class Tr(Text):
    """`t(message_id, **args)`, the args taken by name from the window's data.

    String args are HTML-escaped: they are names and text people typed, and windows are
    sent with the bot's HTML parse mode. `message_id` may contain `{field}` placeholders
    filled from the data, e.g. `"compose-step-pick-{narrowing}"`.
    """

    def __init__(self, message_id: str, *args: str, when: WhenCondition = None) -> None:
        super().__init__(when=when)
        self._message_id = message_id
        self._args = args

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        values = {name: _escaped(data[name]) for name in self._args}
        return translator(manager)(self._message_id.format_map(data), **values)


def _escaped(value: Any) -> Any:
    return html.quote(value) if isinstance(value, str) else value


def cancel_button() -> Button:
    return Button(Tr("compose-btn-cancel"), id="cancel", on_click=steps.on_cancel)


class PageCounter(StubScroll):
    """The picker's page number, kept by aiogram-dialog; unlike StubScroll it adds no
    empty keyboard row above the ‹ / › buttons."""

    async def _render_keyboard(self, data: dict[str, Any], manager: DialogManager) -> RawKeyboard:
        return []
