"""The compose wizard: how an admin creates a broadcast by chatting with the bot.

`/new` (or the "New broadcast" button under the admin's /start greeting) opens it:
audience → (subject, tutor, teacher or custom list) → content → options (confirm reading,
silent, protected, urgent) → preview → send now, schedule or save as a draft. Built on
aiogram-dialog, which must be set up on the admin router (`aiogram_dialog.setup_dialogs`).
The conversation state holds ids and plain JSON only, and a button from an old wizard
message answers with an alert and does nothing.
"""

from handlers.compose.entry import NewBroadcast, new_broadcast_keyboard, router

__all__ = ["NewBroadcast", "new_broadcast_keyboard", "router"]
