"""What each button and message of the compose wizard does.

Handlers stay thin: read the draft, call a service, move to the next step. Domain errors
from the services propagate to `handlers.errors` (an alert or a reply) and, because the
dialog's context is only saved when a handler returns, leave the wizard where it was.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Chat, Message
from aiogram_dialog import DialogManager, ShowMode
from aiogram_dialog.widgets.common import ManagedScroll
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Select

from core.i18n import Translator
from core.settings import Settings
from db.models import TargetGroup
from handlers.compose.draft import PICKED_GROUPS, PICKED_ROLES, Draft, content_from_message
from handlers.compose.states import ComposeStates
from handlers.errors import describe
from handlers.reach import open_draft_list
from handlers.split import split_text
from services.access import AdminIdentity
from services.audience import AudienceService, SearchPage
from services.broadcasts import BroadcastService
from services.errors import NoRecipients
from services.launcher import BroadcastLauncher
from services.outgoing import OutgoingContent, send_content
from services.quiet_hours import QuietGate
from services.targets import STUDENT_GROUPS, Include

PAGE_SIZE = 8
PICKER_PAGES = "pick_pages"
MAX_QUERY_LENGTH = 100
REFERENCE_SEPARATORS = re.compile(r"[\s,;]+")
REPLACE_WINDOW = ShowMode.DELETE_AND_SEND
"""How a step answers a message: its window moves below, the old one is deleted. Deleting
is not a paced request, while taking the keyboard off would cost a second one (every
message or edit to a chat waits a second for the previous one, see services/limiter)."""


@dataclass(frozen=True, slots=True)
class Deps:
    """This update's dependencies, from the Dispatcher's data (see bot/app.py)."""

    t: Translator
    settings: Settings
    admin: AdminIdentity
    audience: AudienceService
    broadcasts: BroadcastService
    bot: Bot
    chat: Chat
    quiet: QuietGate

    @classmethod
    def of(cls, manager: DialogManager) -> Deps:
        data = manager.middleware_data
        return cls(
            t=data["t"],
            settings=data["settings"],
            admin=data["admin"],
            audience=data["audience"],
            broadcasts=data["broadcasts"],
            bot=data["bot"],
            chat=data["event_chat"],
            quiet=data["quiet_hours"],
        )


def picker_pages(manager: DialogManager) -> ManagedScroll:
    """The picker's current page number (aiogram-dialog keeps it in the context)."""
    scroll = manager.find(PICKER_PAGES)
    assert isinstance(scroll, ManagedScroll)
    return scroll


async def search_page(
    audience: AudienceService, group: TargetGroup, query: str, page: int
) -> SearchPage:
    """One picker page (8 entries) of classes, subjects, tutors or teachers whose name has
    `query`."""
    offset = page * PAGE_SIZE
    if group is TargetGroup.BY_CLASS:
        return await audience.search_classes(query, offset, PAGE_SIZE)
    if group is TargetGroup.BY_SUBJECT:
        return await audience.search_subjects(query, offset, PAGE_SIZE)
    return await audience.search_people(PICKED_ROLES[group], query, offset, PAGE_SIZE)


# --- moving between steps ---------------------------------------------------------------


async def show_preview(manager: DialogManager) -> None:
    """Send the content as recipients will get it, then the preview step below it."""
    deps = Deps.of(manager)
    content = Draft.of(manager).content
    assert content is not None  # the preview is reached only with content
    await send_content(deps.bot, deps.chat.id, OutgoingContent.of(content))  # never paid
    await manager.switch_to(ComposeStates.preview, show_mode=REPLACE_WINDOW)


async def audience_chosen(manager: DialogManager) -> None:
    """The group (and its class, subject, person or list) chosen: a group of students
    asks who of them receive it next; any other is complete."""
    group = Draft.of(manager).target_group
    if group in STUDENT_GROUPS:
        await manager.switch_to(ComposeStates.who)
    else:
        await audience_complete(manager)


async def audience_complete(manager: DialogManager) -> None:
    """The audience is known: on to the content, or straight back to the preview when
    editing."""
    if Draft.of(manager).content is None:
        await manager.switch_to(ComposeStates.content)
    else:
        await show_preview(manager)


async def finish(manager: DialogManager, text: str) -> None:
    """Close the wizard, leaving `text` in place of its last message (or below it)."""
    event = manager.event
    if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
        await manager.done(show_mode=ShowMode.NO_UPDATE)
        await event.message.edit_text(text)
        return
    deps = Deps.of(manager)
    await manager.done(show_mode=REPLACE_WINDOW)
    await deps.bot.send_message(deps.chat.id, text)


# --- buttons shared by every step ------------------------------------------------------


async def on_cancel(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    await finish(manager, Deps.of(manager).t("compose-discarded"))


async def on_back_to_preview(
    callback: CallbackQuery, button: Button, manager: DialogManager
) -> None:
    await show_preview(manager)


async def on_back_from_content(
    callback: CallbackQuery, button: Button, manager: DialogManager
) -> None:
    """Back to the who question of a group of students, else to where the audience was
    chosen."""
    if Draft.of(manager).target_group in STUDENT_GROUPS:
        await manager.switch_to(ComposeStates.who)
    else:
        await back_to_choosing(manager)


async def on_back_from_who(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    await back_to_choosing(manager)


async def back_to_choosing(manager: DialogManager) -> None:
    """Back to where the audience was chosen: its picker, its custom list, or step 1."""
    draft = Draft.of(manager)
    group = draft.target_group
    if group is None:
        await manager.switch_to(ComposeStates.audience)
        return
    draft.start_narrowing(group)
    if group is TargetGroup.CUSTOM:
        draft.custom_ids = draft.target_filter["user_ids"]
        await manager.switch_to(ComposeStates.custom)
    elif group in PICKED_GROUPS:
        await picker_pages(manager).set_page(0)
        await manager.switch_to(ComposeStates.pick)
    else:
        await manager.switch_to(ComposeStates.audience)


# --- step 1: the target group ----------------------------------------------------------


async def on_group(
    callback: CallbackQuery, widget: Select[str], manager: DialogManager, item_id: str
) -> None:
    group = TargetGroup(item_id)
    draft = Draft.of(manager)
    if group in PICKED_GROUPS:
        draft.start_narrowing(group)
        await picker_pages(manager).set_page(0)
        await manager.switch_to(ComposeStates.pick)
    elif group is TargetGroup.CUSTOM:
        draft.start_narrowing(group)
        await manager.switch_to(ComposeStates.custom)
    else:
        draft.set_audience(group)
        await audience_chosen(manager)


# --- step 2: picking a class, subject, tutor or teacher --------------------------------


async def on_pick(
    callback: CallbackQuery, widget: Select[int], manager: DialogManager, item_id: int
) -> None:
    """Take the entry from the page the admin is looking at (so its name is known and the
    choice is still valid), or say the list has changed."""
    deps = Deps.of(manager)
    draft = Draft.of(manager)
    group = draft.narrowing
    assert group is not None
    page = await picker_pages(manager).get_page()
    found = await search_page(deps.audience, group, draft.query, page)
    picked = next((item for item in found.items if item.id == item_id), None)
    if picked is None:
        await callback.answer(deps.t("compose-pick-gone"), show_alert=True)
        return
    draft.set_audience(group, picked.id, picked.name)
    await audience_chosen(manager)


def looks_like_a_name(text: str) -> bool:
    """A name is one short line; several lines or a long text is the announcement typed
    one step too early."""
    return "\n" not in text and len(text) <= MAX_QUERY_LENGTH


async def on_search(message: Message, widget: MessageInput, manager: DialogManager) -> None:
    """Search within the picker's own message: it is edited in place, so its buttons stay
    the wizard's live ones, and the typed words are deleted (a bot may delete what people
    send it in a private chat) so the picker stays at the bottom of the chat. Text that is
    no name is kept and answered like anything else sent here."""
    query = (message.text or "").strip()
    if not looks_like_a_name(query):
        await on_not_a_search(message, widget, manager)
        return
    Draft.of(manager).query = query
    await picker_pages(manager).set_page(0)
    with contextlib.suppress(TelegramBadRequest):  # older than 48 hours, or gone already
        await message.delete()
    manager.show_mode = ShowMode.EDIT


async def on_not_a_search(message: Message, widget: MessageInput, manager: DialogManager) -> None:
    """The announcement (or a photo...) sent while a picker is open: never taken as the
    content nor searched for; a hint below it says the message comes after the pick, and
    the picker stays the live message."""
    group = Draft.of(manager).narrowing
    assert group is not None
    await message.answer(Deps.of(manager).t("compose-pick-not-a-name", narrowing=group.value))
    manager.show_mode = ShowMode.NO_UPDATE


async def on_show_all(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    Draft.of(manager).query = ""
    await picker_pages(manager).set_page(0)


# --- step 2: a custom list -------------------------------------------------------------


async def on_references(message: Message, widget: MessageInput, manager: DialogManager) -> None:
    """Resolve what the admin typed; say who was found, by the school's id and name, and
    in full what matched nobody."""
    deps = Deps.of(manager)
    references = [ref for ref in REFERENCE_SEPARATORS.split(message.text or "") if ref]
    resolved = await deps.audience.resolve_user_references(references)
    Draft.of(manager).custom_ids = [person.id for person in resolved.found]
    lines = []
    if resolved.found:
        people = ", ".join(f"{person.external_id} {person.full_name}" for person in resolved.found)
        lines.append(deps.t("compose-custom-matched", count=len(resolved.found), people=people))
    else:
        lines.append(deps.t("compose-custom-none"))
    if resolved.unmatched:
        lines.append(
            deps.t(
                "compose-custom-unmatched",
                count=len(resolved.unmatched),
                references=", ".join(resolved.unmatched),
            )
        )
    # Plain text: names and the admin's own typing, and a long report may be cut.
    for part in split_text("\n\n".join(lines)):
        await message.answer(part, parse_mode=None)
    manager.show_mode = REPLACE_WINDOW


async def on_custom_continue(
    callback: CallbackQuery, button: Button, manager: DialogManager
) -> None:
    draft = Draft.of(manager)
    draft.set_custom_audience(draft.custom_ids)
    await audience_chosen(manager)


# --- who of a group of students ------------------------------------------------------


async def on_who(
    callback: CallbackQuery, widget: Select[str], manager: DialogManager, item_id: str
) -> None:
    """The students, their parents, or both (any other value is a forged button: the
    ValueError is answered once by the error router, like a forged group)."""
    Draft.of(manager).set_include(Include(item_id))
    await audience_complete(manager)


# --- step 3: the content ---------------------------------------------------------------


async def on_content(message: Message, widget: MessageInput, manager: DialogManager) -> None:
    """Keep the message as recipients will get it, then on to the options; a message that
    replaces one goes straight back to the preview (the options are chosen by then). One
    that is too long raises ContentTooLong (the error handler tells its length and the
    limit; the step stays)."""
    content = content_from_message(message)
    assert content is not None  # the input's content types are the supported ones
    content.validate(Deps.of(manager).settings.message_max_length)
    draft = Draft.of(manager)
    replacing = draft.content is not None
    draft.content = content
    if replacing:
        await show_preview(manager)
    else:
        await manager.switch_to(ComposeStates.options, show_mode=REPLACE_WINDOW)


async def on_unsupported(message: Message, widget: MessageInput, manager: DialogManager) -> None:
    """A hint below the admin's message; the step's window stays where it is."""
    await message.answer(Deps.of(manager).t("compose-content-unsupported"))
    manager.show_mode = ShowMode.NO_UPDATE


# --- step 5: the preview's actions -----------------------------------------------------


async def create_broadcast(manager: DialogManager, scheduled_at: datetime | None = None) -> int:
    deps = Deps.of(manager)
    draft = Draft.of(manager)
    assert draft.target_group is not None and draft.content is not None
    return await deps.broadcasts.create(
        target_group=draft.target_group,
        target_filter=draft.target_filter,
        content=draft.content,
        created_by_id=deps.admin.user_id,
        scheduled_at=scheduled_at,
        options=draft.options,
        auto_remind_after_minutes=draft.auto_remind,
    )


async def on_send_now(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Create, then start it: the recipients resolved, the live progress message posted
    below the wizard's last words, the engine sending."""
    deps = Deps.of(manager)
    launcher: BroadcastLauncher = manager.middleware_data["launcher"]
    broadcast_id = await create_broadcast(manager)

    async def announce(count: int) -> None:
        await finish(manager, deps.t("compose-created-sending", id=str(broadcast_id), count=count))

    try:
        await launcher.send_now(
            broadcast_id,
            deps.chat.id,
            language=deps.t.language,
            announce=announce,
            actor_id=deps.admin.user_id,
        )
    except NoRecipients as error:  # everyone became unreachable since the preview
        reason = describe(error, deps.t, deps.settings.tz)
        await finish(manager, deps.t("compose-created-unsent", id=str(broadcast_id), reason=reason))


async def on_save_draft(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    broadcast_id = await create_broadcast(manager)
    await finish(manager, Deps.of(manager).t("compose-created-draft", id=str(broadcast_id)))


async def on_unreachable(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Who of the audience cannot be reached, in a new message below; the preview stays."""
    deps = Deps.of(manager)
    draft = Draft.of(manager)
    assert draft.target_group is not None and callback.message is not None
    data = manager.middleware_data
    await open_draft_list(
        callback.message,
        deps.t,
        data["reach"],
        data["state"],
        draft.target_group,
        draft.target_filter,
    )
    manager.show_mode = ShowMode.NO_UPDATE


async def on_edit_content(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    await manager.switch_to(ComposeStates.content)


async def on_edit_audience(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    await manager.switch_to(ComposeStates.audience)
