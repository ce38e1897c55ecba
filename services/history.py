"""A broadcast's history: what happened to it, who did it and when.

The services record the events where they happen (`BroadcastEvent`: created, scheduled,
sending started, edited with the text it replaced, deleted, cancelled); reminders are
runs of their own (`BroadcastKind.REMINDER`, each with its author and time), read from
those rows, so the code that sends them records nothing here. Oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Broadcast, BroadcastEvent, BroadcastEventKind, BroadcastKind, User


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    kind: str  # a BroadcastEventKind value
    at: datetime
    actor_name: str | None  # None: the bot itself (a timer), or a person since removed
    previous_text: str | None = None  # an edit: what the text was before it


def record(
    session: AsyncSession,
    broadcast_id: int,
    kind: BroadcastEventKind,
    at: datetime,
    actor_id: int | None,
    **details: str | int | None,
) -> None:
    """Add an event to the broadcast's history, in the caller's transaction."""
    session.add(
        BroadcastEvent(broadcast_id=broadcast_id, kind=kind, at=at, actor_id=actor_id, **details)
    )


async def history_of(session: AsyncSession, broadcast_id: int) -> list[HistoryEntry]:
    """Every entry of the broadcast's history, oldest first."""
    events = select(
        BroadcastEvent.kind.label("kind"),
        BroadcastEvent.at.label("at"),
        BroadcastEvent.actor_id.label("actor_id"),
        BroadcastEvent.previous_text.label("previous_text"),
        BroadcastEvent.id.label("order"),
    ).where(BroadcastEvent.broadcast_id == broadcast_id)
    reminders = select(
        literal(BroadcastEventKind.REMINDED.value, String(16)).label("kind"),
        Broadcast.created_at.label("at"),
        Broadcast.created_by_id.label("actor_id"),
        null().label("previous_text"),
        Broadcast.id.label("order"),
    ).where(Broadcast.parent_id == broadcast_id, Broadcast.kind == BroadcastKind.REMINDER)
    both = union_all(events, reminders).subquery()
    rows = await session.execute(
        select(both.c.kind, both.c.at, User.full_name, both.c.previous_text)
        .outerjoin(User, User.id == both.c.actor_id)
        .order_by(both.c.at, both.c.order)
    )
    return [HistoryEntry(str(kind), at, name, previous) for kind, at, name, previous in rows]


async def deleted_at(session: AsyncSession, broadcast_id: int) -> datetime | None:
    """When the announcement was deleted for everyone; None if it was not."""
    return await session.scalar(
        select(func.min(BroadcastEvent.at)).where(
            BroadcastEvent.broadcast_id == broadcast_id,
            BroadcastEvent.kind == BroadcastEventKind.DELETED,
        )
    )
