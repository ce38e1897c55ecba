"""The wizard's options step, between the content and the preview: how the broadcast is
delivered (services/options.py).

One message with a toggle per option, each showing whether it is on, the automatic
reminder's choice (after 2 h / 24 h / never, only when it asks to confirm reading), and
Continue to the preview. The choice lives in the draft (`Draft.options`) and is stored
with the broadcast.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo

from handlers.broadcasts.reminders_view import auto_remind_text
from handlers.compose import steps
from handlers.compose.draft import OPTION_NAMES, Draft, step_of
from handlers.compose.states import ComposeStates
from handlers.compose.widgets import Tr, cancel_button, translator


async def options_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = Draft.of(dialog_manager)
    options = draft.options
    states = {name: "on" if getattr(options, name) else "off" for name in OPTION_NAMES}
    reminder = auto_remind_text(translator(dialog_manager), draft.auto_remind)
    return {
        **step_of(draft, "options"),
        **states,
        "asks": options.ask_confirmation,
        "auto_remind": reminder,
    }


async def on_toggle(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Each toggle's id is its option's name; the window redraws with the new state."""
    Draft.of(manager).toggle_option(button.widget_id or "")


async def on_cycle_reminder(
    callback: CallbackQuery, button: Button, manager: DialogManager
) -> None:
    Draft.of(manager).cycle_auto_remind()


def options_window() -> Window:
    return Window(
        Tr("compose-step-options", "step", "steps"),
        *(
            Button(Tr(f"compose-option-{name}", name), id=name, on_click=on_toggle)
            for name in OPTION_NAMES
        ),
        Button(
            Tr("compose-option-auto_remind", "auto_remind"),
            id="auto_remind",
            on_click=on_cycle_reminder,
            when="asks",
        ),
        Button(Tr("compose-btn-continue"), id="continue", on_click=steps.on_back_to_preview),
        Row(
            SwitchTo(Tr("compose-btn-back"), id="back", state=ComposeStates.content),
            cancel_button(),
        ),
        state=ComposeStates.options,
        getter=options_getter,
    )
