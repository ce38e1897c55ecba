"""The wizard's options step, between the content and the preview: how the broadcast is
delivered (services/options.py).

One message with a toggle per option, each showing whether it is on, and Continue to the
preview. The choice lives in the draft (`Draft.options`) and is stored with the broadcast.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo

from handlers.compose import steps
from handlers.compose.draft import OPTION_NAMES, Draft, step_of
from handlers.compose.states import ComposeStates
from handlers.compose.widgets import Tr, cancel_button


async def options_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = Draft.of(dialog_manager)
    options = draft.options
    states = {name: "on" if getattr(options, name) else "off" for name in OPTION_NAMES}
    return {**step_of(draft, "options"), **states}


async def on_toggle(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Each toggle's id is its option's name; the window redraws with the new state."""
    Draft.of(manager).toggle_option(button.widget_id or "")


def options_window() -> Window:
    return Window(
        Tr("compose-step-options", "step", "steps"),
        *(
            Button(Tr(f"compose-option-{name}", name), id=name, on_click=on_toggle)
            for name in OPTION_NAMES
        ),
        Button(Tr("compose-btn-continue"), id="continue", on_click=steps.on_back_to_preview),
        Row(
            SwitchTo(Tr("compose-btn-back"), id="back", state=ComposeStates.content),
            cancel_button(),
        ),
        state=ComposeStates.options,
        getter=options_getter,
    )
