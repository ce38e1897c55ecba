"""What parents and students who write to the bot get back.

They answer announcements ("Thank you!"): they get, at most once a day, a short friendly
note that this chat delivers the school's announcements (with the school's contact when
`SCHOOL_CONTACT` is set), never "only for administrators". Commands go on to their own
handlers (admin commands are refused there).
"""

from __future__ import annotations

from aiogram import F, Router, html
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from core.i18n import Translator
from core.settings import Settings
from db.types import utcnow
from services.access import AccessService

NOTE_DAY_KEY = "announcements_note_day"
"""Conversation data: the school-time day on which this person last got the note."""


async def from_non_admin(message: Message, access: AccessService) -> bool:
    user = message.from_user
    return user is not None and await access.admin_identity(user.id) is None


async def announcements_note(
    message: Message, t: Translator, state: FSMContext, settings: Settings
) -> None:
    today = utcnow().astimezone(settings.tz).date().isoformat()
    if (await state.get_data()).get(NOTE_DAY_KEY) == today:
        return
    await state.update_data({NOTE_DAY_KEY: today})
    lines = [t("reply-announcements-only")]
    if settings.school_contact:
        lines.append(t("reply-school-contact", contact=html.quote(settings.school_contact)))
    await message.answer("\n".join(lines))


def router() -> Router:
    """Before the admin router: anything but a command, from someone who is not an admin."""
    people = Router(name=__name__)
    people.message.register(
        announcements_note, ~F.text.startswith("/"), ~F.caption.startswith("/"), from_non_admin
    )
    return people
