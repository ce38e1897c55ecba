"""Who cannot be reached, fixed from the chat: "Who can't be reached (N)" under the
wizard's preview and a broadcast's details, its pages, "Invite links for these (N)" (a
CSV document of fresh personal links) and /reach, the school's overall reach.

The wizard's audience is not saved anywhere the list's buttons could name, so opening
the list keeps it in the conversation data with a short key (a digest of the target)
that the buttons carry: a button of a list opened for another audience, or whose data
is gone, is answered with an alert and does nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    MaybeInaccessibleMessageUnion,
    Message,
)

from core.i18n import Translator
from db.models import TargetGroup
from handlers.callbacks import (
    BroadcastAction,
    BroadcastButton,
    InviteLinks,
    ReachScope,
    UnreachablePage,
)
from handlers.reach_view import InviteLinksCsv, school_reach_view, unreachable_view
from handlers.split import show
from services.reach import AudienceSource, BroadcastAudience, DraftAudience, ReachService

PAGE_SIZE = 15
DRAFT_DATA = "reach_draft"
"""Conversation data: the wizard audience the last list was opened for, and its key."""

ListButton = UnreachablePage | InviteLinks


def draft_key(target_group: TargetGroup | str, target_filter: Mapping[str, Any] | None) -> str:
    canonical = json.dumps([str(target_group), dict(target_filter or {})], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


async def source_of(data: ListButton, state: FSMContext) -> AudienceSource | None:
    """The audience a button is about; None for a wizard list that is not the latest or
    whose data is gone, and for the school, which has no list."""
    if data.scope is ReachScope.BROADCAST:
        return BroadcastAudience(data.broadcast_id)
    if data.scope is ReachScope.DRAFT:
        saved = (await state.get_data()).get(DRAFT_DATA)
        if isinstance(saved, dict) and saved.get("key") == data.key:
            return DraftAudience(saved["target_group"], saved["target_filter"])
    return None


async def send_unreachable(
    target: MaybeInaccessibleMessageUnion,
    t: Translator,
    reach: ReachService,
    data: UnreachablePage,
    source: AudienceSource,
    *,
    edit: bool = False,
) -> None:
    found = await reach.unreachable(source, page=data.page, page_size=PAGE_SIZE)
    if data.scope is ReachScope.BROADCAST:
        whose = t("unreachable-whose-broadcast", id=str(data.broadcast_id))
    else:
        whose = t("unreachable-whose-draft")
    view = unreachable_view(
        t,
        found,
        whose,
        lambda page: data.model_copy(update={"page": page}),
        InviteLinks(scope=data.scope, broadcast_id=data.broadcast_id, key=data.key),
    )
    await show(target, *view, edit=edit)


async def open_draft_list(
    target: MaybeInaccessibleMessageUnion,
    t: Translator,
    reach: ReachService,
    state: FSMContext,
    target_group: TargetGroup,
    target_filter: Mapping[str, Any],
) -> None:
    """The wizard's "Who can't be reached (N)": the list in a new message below it."""
    key = draft_key(target_group, target_filter)
    saved = {"key": key, "target_group": target_group.value, "target_filter": dict(target_filter)}
    await state.update_data({DRAFT_DATA: saved})
    data = UnreachablePage(scope=ReachScope.DRAFT, key=key)
    await send_unreachable(target, t, reach, data, DraftAudience(target_group, target_filter))


async def unreachable_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    reach: ReachService,
) -> None:
    """Under a broadcast's details: the list in a new message."""
    data = UnreachablePage(scope=ReachScope.BROADCAST, broadcast_id=callback_data.broadcast_id)
    await send_unreachable(on, t, reach, data, BroadcastAudience(data.broadcast_id))
    await callback.answer()


async def unreachable_page(
    callback: CallbackQuery,
    callback_data: UnreachablePage,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    reach: ReachService,
    state: FSMContext,
) -> None:
    source = await source_of(callback_data, state)
    if source is None:
        await callback.answer(t("reach-list-expired"), show_alert=True)
        return
    await send_unreachable(on, t, reach, callback_data, source, edit=True)
    await callback.answer()


async def invite_links(
    callback: CallbackQuery,
    callback_data: InviteLinks,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    reach: ReachService,
    state: FSMContext,
    bot: Bot,
) -> None:
    """Fresh links for those of the list (or of the school) with no Telegram linked, as a
    CSV document in this chat; nobody to invite is an alert, and nothing is issued."""
    scope = callback_data.scope
    source = await source_of(callback_data, state)
    if source is None and scope is not ReachScope.SCHOOL:
        await callback.answer(t("reach-list-expired"), show_alert=True)
        return
    me = await bot.me()
    table = InviteLinksCsv(t, me.username or "")
    issued = await reach.invite_unlinked(source, table.write)
    if not issued.issued:
        await callback.answer(t("reach-invite-none"), show_alert=True)
        return
    await callback.answer()
    name = "invite-links"
    if callback_data.broadcast_id:
        name += f"-{callback_data.broadcast_id}"
    await bot.send_document(
        on.chat.id,
        BufferedInputFile(table.content(), filename=f"{name}.csv"),
        caption=t("reach-invite-caption", count=issued.issued),
    )


async def reach_command(message: Message, t: Translator, reach: ReachService) -> None:
    await show(message, *school_reach_view(t, await reach.school_reach()))


def router() -> Router:
    reaching = Router(name=__name__)
    on_message = F.message.as_("on")
    reaching.message.register(reach_command, Command("reach"))
    reaching.callback_query.register(
        unreachable_button,
        BroadcastAction.filter(F.action == BroadcastButton.UNREACHABLE),
        on_message,
    )
    reaching.callback_query.register(unreachable_page, UnreachablePage.filter(), on_message)
    reaching.callback_query.register(invite_links, InviteLinks.filter(), on_message)
    return reaching
