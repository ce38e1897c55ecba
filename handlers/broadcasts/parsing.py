"""Reading the arguments of the broadcast commands; None means "show the usage line".

Without an id, /progress, /retry and /cancel act on the admin's latest broadcast: the
latest one they created when they are in the roster, else (an ADMIN_IDS admin without a
roster row, whose broadcasts carry no author) the latest broadcast overall.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.filters import CommandObject
from aiogram.types import Message

from core.i18n import Translator
from db.models import BroadcastStatus, RecipientStatus
from services.access import AdminIdentity
from services.broadcasts import BroadcastService
from services.errors import BroadcastNotFound
from services.targets import MAX_ROW_ID

UNCONFIRMED = "unconfirmed"
"""The /recipients filter for those delivered who have not confirmed reading."""


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: BroadcastStatus | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientsQuery:
    """Whose of a broadcast's recipients to list: all, those of a status, or those who
    were delivered it and have not confirmed reading."""

    broadcast_id: int
    status: RecipientStatus | None = None
    unconfirmed: bool = False


def parse_broadcast_id(text: str) -> int | None:
    """`12` → 12; anything that is not a positive whole number → None. An id too large to
    exist in the database is reported as not found."""
    if not text.isdecimal() or not text.isascii():
        return None
    broadcast_id = int(text)
    if broadcast_id > MAX_ROW_ID:
        raise BroadcastNotFound(broadcast_id)
    return broadcast_id


def parse_list_args(args: str | None) -> ListQuery | None:
    """`/broadcasts [status]` or `/broadcasts search words`; None when it is neither."""
    words = (args or "").split(maxsplit=1)
    if not words:
        return ListQuery()
    if words[0].lower() == "search":
        return ListQuery(search=words[1].strip()) if len(words) == 2 else None
    if len(words) == 1 and words[0].lower() in set(BroadcastStatus):
        return ListQuery(status=BroadcastStatus(words[0].lower()))
    return None


def parse_recipients_args(args: str | None) -> RecipientsQuery | None:
    """`/recipients id [sent|failed|pending|unconfirmed]`; None when the arguments don't fit."""
    words = (args or "").split()
    if not 1 <= len(words) <= 2:
        return None
    broadcast_id = parse_broadcast_id(words[0])
    if broadcast_id is None:
        return None
    if len(words) == 1:
        return RecipientsQuery(broadcast_id)
    wanted = words[1].lower()
    if wanted == UNCONFIRMED:
        return RecipientsQuery(broadcast_id, unconfirmed=True)
    if wanted not in set(RecipientStatus):
        return None
    return RecipientsQuery(broadcast_id, RecipientStatus(wanted))


async def target_broadcast(
    message: Message,
    command: CommandObject,
    t: Translator,
    admin: AdminIdentity,
    broadcasts: BroadcastService,
) -> int | None:
    """The id the command names, or the admin's latest; None (after replying) if neither."""
    if command.args is None:
        broadcast_id = await broadcasts.latest_id(admin.user_id)
        if broadcast_id is None:
            await message.answer(t("no-broadcasts-yet"))
        return broadcast_id
    broadcast_id = parse_broadcast_id(command.args.strip())
    if broadcast_id is None:
        await message.answer(t(f"usage-{command.command}"))
    return broadcast_id
