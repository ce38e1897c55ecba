"""Who cannot be reached, and the school's overall reach: the admin's way from "Not
reachable: 37" to the people behind the number and their invite links.

Who counts as unreachable is `services.unreachable`'s rule. Invite links go to exactly
the people of such a list (or of the whole school) who have no Telegram linked, through
`LinkService.issue_invites` and its rules (fresh single-use tokens, old unused voided).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Broadcast, GuardianLink, Role, TargetGroup, User
from db.session import SessionFactory
from services.audience import AudiencePreview, reach_of, reach_split, validate_target
from services.broadcast_reads import check_page
from services.errors import BroadcastNotFound
from services.invites import Invite, LinkService, class_of
from services.results import InvitesIssued, Page
from services.unreachable import (
    UnreachableReason,
    reason_of,
    unreachable_in_broadcast,
    unreachable_in_target,
)


@dataclass(frozen=True, slots=True)
class DraftAudience:
    """A target not saved yet: the compose wizard's."""

    target_group: TargetGroup | str
    target_filter: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class BroadcastAudience:
    broadcast_id: int


AudienceSource = DraftAudience | BroadcastAudience


@dataclass(frozen=True, slots=True)
class Child:
    name: str
    class_name: str | None


@dataclass(frozen=True, slots=True)
class UnreachablePerson:
    user_id: int
    external_id: str
    full_name: str
    role: Role
    class_name: str | None
    """A student's class, or the class a teacher is homeroom teacher of."""
    reason: UnreachableReason
    children: tuple[Child, ...] = ()
    """Whose parent they are (guardian links), by name."""


@dataclass(frozen=True, slots=True)
class UnreachableList:
    people: Page[UnreachablePerson]
    not_linked: int
    """Of all of them (not only this page), how many have no Telegram linked."""


@dataclass(frozen=True, slots=True)
class ClassReach:
    class_name: str | None
    """As the roster spells it; None for the students without a class."""
    reach: AudiencePreview


@dataclass(frozen=True, slots=True)
class SchoolReach:
    """The active users, per role and (students) per class."""

    roles: list[tuple[Role, AudiencePreview]]
    classes: list[ClassReach]

    @property
    def total(self) -> AudiencePreview:
        return reach_of(
            *(
                sum(getattr(reach, field) for _, reach in self.roles)
                for field in ("total", "no_telegram", "blocked", "deactivated")
            )
        )


class ReachService:
    """Read-only reach queries for the admin UI, each in its own short session, and the
    invite links for those without Telegram."""

    def __init__(self, session_factory: SessionFactory, links: LinkService) -> None:
        self._session_factory = session_factory
        self._links = links

    async def _unreachable(
        self, session: AsyncSession, source: AudienceSource
    ) -> tuple[ColumnElement[bool], int | None]:
        """The condition for the source's unreachable users, and its broadcast's id."""
        if isinstance(source, BroadcastAudience):
            broadcast_id = source.broadcast_id
            target = (
                await session.execute(
                    select(Broadcast.target_group, Broadcast.target_filter).where(
                        Broadcast.id == broadcast_id
                    )
                )
            ).one_or_none()
            if target is None:
                raise BroadcastNotFound(broadcast_id)
            return unreachable_in_broadcast(broadcast_id, *target), broadcast_id
        group, parsed = await validate_target(session, source.target_group, source.target_filter)
        return unreachable_in_target(group, parsed), None

    async def unreachable(
        self, source: AudienceSource, page: int = 1, page_size: int = 15
    ) -> UnreachableList:
        """One page of who the source cannot reach, by name, with why and whose parent."""
        check_page(page, page_size)
        async with self._session_factory() as session:
            condition, broadcast_id = await self._unreachable(session, source)
            count, not_linked = (
                await session.execute(select(func.count(), reach_split()[1]).where(condition))
            ).one()
            rows = (
                await session.execute(
                    select(
                        User.id,
                        User.external_id,
                        User.full_name,
                        User.role,
                        class_of(),
                        reason_of(broadcast_id),
                    )
                    .where(condition)
                    .order_by(User.full_name, User.id)
                    .offset((page - 1) * page_size)
                    .limit(page_size)
                )
            ).all()
            children = await _children_of(session, [row[0] for row in rows])
        people = [
            UnreachablePerson(
                *row[:5], reason=UnreachableReason(row[5]), children=tuple(children.get(row[0], ()))
            )
            for row in rows
        ]
        return UnreachableList(Page(people, count, page, page_size), not_linked)

    async def invite_unlinked(
        self, source: AudienceSource | None, deliver: Callable[[list[Invite]], None]
    ) -> InvitesIssued:
        """Fresh invite links for those of the source's list (None: the whole school)
        with no Telegram linked, handed to `deliver` a page at a time."""
        if source is None:
            return await self._links.issue_invites(deliver)
        async with self._session_factory() as session:
            condition, _ = await self._unreachable(session, source)
        return await self._links.issue_invites(deliver, among=condition)

    async def school_reach(self) -> SchoolReach:
        """Every active user by role, and every active student by class: two statements."""
        async with self._session_factory() as session:
            by_role = await session.execute(
                select(User.role, *reach_split()).where(User.is_active).group_by(User.role)
            )
            found = {role: reach_of(*counts) for role, *counts in by_role}
            by_class = await session.execute(
                select(func.min(User.class_name), *reach_split())
                .where(User.is_active, User.role == Role.STUDENT)
                .group_by(User.class_key)
            )
            classes = [ClassReach(name, reach_of(*counts)) for name, *counts in by_class]
        roles = [(role, found[role]) for role in Role if role in found]
        return SchoolReach(roles, sorted(classes, key=_class_order))


def _class_order(found: ClassReach) -> tuple[int, int, str]:
    """5B before 10A (the number first, as a number); students without a class last."""
    name = found.class_name
    if name is None:
        return (1, 0, "")
    digits = len(name) - len(name.lstrip("0123456789"))
    number = int(name[:digits]) if digits else -1
    return (0, number, name[digits:].casefold())


async def _children_of(session: AsyncSession, user_ids: list[int]) -> dict[int, list[Child]]:
    """The active children of each of these people, by name."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(GuardianLink.guardian_id, User.full_name, User.class_name)
        .join(User, User.id == GuardianLink.student_id)
        .where(GuardianLink.guardian_id.in_(user_ids), User.is_active)
        .order_by(User.full_name, User.id)
    )
    children: dict[int, list[Child]] = defaultdict(list)
    for guardian_id, name, class_name in rows:
        children[guardian_id].append(Child(name, class_name))
    return children
