"""Who of an audience the bot cannot reach, as SQL conditions on users: the rule the
unreachable lists (`services.reach`) and the count on a broadcast's details share.

The unreachable of an audience are its members (`audience_select`) the bot cannot write
to now (not `is_reachable()`): no Telegram linked, the account deleted, the bot blocked,
in that order of precedence, the same split the preview counts, so a draft's list is as
long as its preview's unreachable figure.

A broadcast is judged by its audience as stored (`target_group` / `target_filter`), read
now, plus its recipients whose delivery failed because they had blocked the bot or
deleted their account, if still active: the sender marks those people as it records the
failure, so they are usually in the audience part too; one who has unblocked the bot
since stays listed (this broadcast did not reach them), with the delivery's reason. A
draft or a scheduled broadcast has no recipients, so its list is exactly its preview's.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Broadcast, BroadcastRecipient, RecipientStatus, TargetGroup, User
from services.audience import audience_select, is_reachable
from services.delivery_errors import ErrorCode
from services.errors import ValidationFailed


class UnreachableReason(enum.StrEnum):
    """Why the bot cannot write to someone (the values end their message ids)."""

    NO_TELEGRAM = "no_telegram"
    BLOCKED = "blocked"
    DEACTIVATED = "deactivated"


FAILED_AS = {
    ErrorCode.BLOCKED.value: UnreachableReason.BLOCKED,
    ErrorCode.CANT_INITIATE.value: UnreachableReason.BLOCKED,
    ErrorCode.DEACTIVATED.value: UnreachableReason.DEACTIVATED,
}
"""The delivery failures that mean the person cannot be reached, and as what."""


def unreachable_in_target(
    group: TargetGroup | str, target_filter: Mapping[str, Any] | None
) -> ColumnElement[bool]:
    """The target's members the bot cannot write to now."""
    return User.id.in_(audience_select(group, target_filter).where(~is_reachable()))


def _failed_as_unreachable(broadcast_id: int) -> Select[str | None]:
    """The code of the person's failed delivery of the broadcast, if it means unreachable."""
    return select(BroadcastRecipient.error_code).where(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.recipient_id == User.id,
        BroadcastRecipient.status == RecipientStatus.FAILED,
        BroadcastRecipient.error_code.in_(FAILED_AS),
    )


def unreachable_in_broadcast(
    broadcast_id: int, group: TargetGroup | str, target_filter: Mapping[str, Any] | None
) -> ColumnElement[bool]:
    """The module doc's rule for a broadcast, as a condition on users. A stored target
    that no longer parses has no audience: only the failed deliveries are left."""
    failed = and_(User.is_active, exists(_failed_as_unreachable(broadcast_id)))
    try:
        in_audience = unreachable_in_target(group, target_filter)
    except ValidationFailed:
        return failed
    return or_(in_audience, failed)


async def count_unreachable(session: AsyncSession, broadcast: Broadcast) -> int:
    """How long the broadcast's list of who cannot be reached is."""
    condition = unreachable_in_broadcast(
        broadcast.id, broadcast.target_group, broadcast.target_filter
    )
    return await session.scalar(select(func.count()).where(condition)) or 0


def reason_of(broadcast_id: int | None) -> ColumnElement[str]:
    """The reason of a listed person: their state now, else how the delivery failed."""
    now = [
        (User.telegram_id.is_(None), UnreachableReason.NO_TELEGRAM.value),
        (User.telegram_deactivated_at.is_not(None), UnreachableReason.DEACTIVATED.value),
        (User.bot_blocked_at.is_not(None), UnreachableReason.BLOCKED.value),
    ]
    if broadcast_id is None:
        return case(*now, else_=literal(UnreachableReason.NO_TELEGRAM.value))
    failed = _failed_as_unreachable(broadcast_id).limit(1).scalar_subquery()
    by_code = case(
        {code: reason.value for code, reason in FAILED_AS.items()},
        value=failed,
        else_=literal(UnreachableReason.BLOCKED.value),
    )
    return case(*now, else_=by_code)
