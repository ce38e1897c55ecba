"""The target groups: who a broadcast goes to, checked, previewed and written down.

A target is a `TargetGroup` plus its `target_filter` (the service document's shapes):

- all_students / all_teachers / all_tutors / all_parents `{}`: active users of that role;
- by_class `{class}`: active students of that class (compared by `class_key`: any case);
- by_subject `{subject_id}`: active students enrolled in the subject and the active
  teachers who teach it (the teacher_id of its enrollments);
- by_tutor `{tutor_id}`: active students assigned to that tutor;
- by_teacher `{teacher_id}`: active students enrolled with that teacher, in any subject;
- custom `{user_ids: [...]}`: those users, if active.

The groups of students (`STUDENT_GROUPS`) also take `include`: "students" (the default),
"parents" (instead: the active users linked as guardians of an active student of the
group) or "both". by_subject keeps its teachers whichever is chosen.

`services.targets` checks a target's shape; this module checks that the ids it names exist
and turns it into SQL.

Membership follows the roster's relations, and every audience is a single `SELECT id FROM
users WHERE ... EXISTS (...)`, so a user is in it at most once however many enrollments
or children lead to them: a parent of three matching children, or a teacher of the subject
who is also a parent of a student taking it, is one recipient. Someone "is a tutor" when
their role is tutor or they have tutor assignments (a teacher may also tutor); someone "is
a teacher" when their role is teacher or they teach an enrollment; someone is a parent of
the group when a guardian link names them, whatever their role.

The functions taking a session never commit (callers own the transaction);
`AudienceService` owns its read-only sessions for the admin UI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import (
    BroadcastRecipient,
    GuardianLink,
    Role,
    Subject,
    TargetGroup,
    User,
)
from db.session import SessionFactory
from services.errors import ValidationFailed
from services.membership import ROLE_GROUPS, acts_as, in_class, membership, students_of
from services.targets import (
    FILTER_KEYS,
    STUDENT_GROUPS,
    TargetFilter,
    class_key,
    include_of,
    parse_target,
)
from services.user_references import ResolvedReferences, resolve_references

__all__ = ["ROLE_GROUPS", "audience_select", "is_reachable", "materialise_recipients"]

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class AudiencePreview:
    """Who a target reaches: total = reachable + no_telegram + blocked + deactivated. A
    deleted account counts as deactivated even if it had blocked the bot before."""

    total: int
    reachable: int
    no_telegram: int
    blocked: int
    deactivated: int
    families: int | None = None
    """When parents are included: the matching active children's families with at least
    one active parent, brothers and sisters counted once (a family is told by the child's
    first linked parent, so children of the same parents are one family)."""


@dataclass(frozen=True, slots=True)
class NamedItem:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class SearchPage:
    items: list[NamedItem]
    total: int
    offset: int
    limit: int


# --- validation against the database ------------------------------------------------------


async def validate_target(
    session: AsyncSession,
    target_group: TargetGroup | str,
    target_filter: Mapping[str, Any] | None,
) -> tuple[TargetGroup, TargetFilter]:
    """`parse_target` plus the database checks: the subject, tutor, teacher or users exist."""
    group, parsed = parse_target(target_group, target_filter)
    if group is TargetGroup.BY_CLASS:
        name = parsed["class"]
        if await session.scalar(select(exists().where(in_class(User, name)))) is not True:
            raise ValidationFailed(f"Class {name} not found")
    elif group is TargetGroup.BY_SUBJECT:
        subject_id = parsed["subject_id"]
        if await session.get(Subject, subject_id) is None:
            raise ValidationFailed(f"Subject {subject_id} not found")
    elif group in (TargetGroup.BY_TUTOR, TargetGroup.BY_TEACHER):
        role = Role.TUTOR if group is TargetGroup.BY_TUTOR else Role.TEACHER
        await _check_acts_as(session, parsed[FILTER_KEYS[group]], role)
    elif group is TargetGroup.CUSTOM:
        user_ids = parsed["user_ids"]
        known = set(await session.scalars(select(User.id).where(User.id.in_(user_ids))))
        unknown = [user_id for user_id in user_ids if user_id not in known]
        if unknown:
            raise ValidationFailed(f"Unknown user ids: {', '.join(map(str, unknown))}")
    return group, parsed


async def _check_acts_as(session: AsyncSession, user_id: int, role: Role) -> None:
    row = (
        await session.execute(select(User.role, acts_as(role)).where(User.id == user_id))
    ).one_or_none()
    if row is None:
        raise ValidationFailed(f"{role.value.title()} {user_id} not found")
    actual_role, acts_as_role = row
    if not acts_as_role:
        raise ValidationFailed(f"User {user_id} is a {actual_role.value}, not a {role.value}")


# --- the audience as SQL -----------------------------------------------------------------


def audience_select(
    target_group: TargetGroup | str, target_filter: Mapping[str, Any] | None
) -> Select[int]:
    """SELECT of the ids of the target's active users, each once (shape-checked only)."""
    group, parsed = parse_target(target_group, target_filter)
    return select(User.id).where(User.is_active, membership(group, parsed))


def is_reachable() -> ColumnElement[bool]:
    """The bot can write to the user: Telegram linked, the bot not blocked, the account
    not deleted."""
    return and_(
        User.telegram_id.is_not(None),
        User.bot_blocked_at.is_(None),
        User.telegram_deactivated_at.is_(None),
    )


InsertIgnoringDuplicates = SqliteInsert | PostgresInsert
_DIALECT_INSERTS: dict[str, Callable[..., InsertIgnoringDuplicates]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def insert_recipients_ignoring_duplicates(session: AsyncSession) -> InsertIgnoringDuplicates:
    """INSERT INTO broadcast_recipients that skips (broadcast, recipient) pairs already there."""
    dialect = session.get_bind().dialect.name
    if dialect not in _DIALECT_INSERTS:
        raise NotImplementedError(f"Recipients cannot be written on {dialect}")
    return _DIALECT_INSERTS[dialect](BroadcastRecipient).on_conflict_do_nothing(
        index_elements=["broadcast_id", "recipient_id"]
    )


def affected_rows(result: Result[*tuple[Any, ...]]) -> int:
    """Rows an INSERT, UPDATE or DELETE touched (its result is always a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount


async def materialise_recipients(
    session: AsyncSession,
    broadcast_id: int,
    target_group: TargetGroup | str,
    target_filter: Mapping[str, Any] | None,
) -> int:
    """Write the target's reachable users as pending recipients in one INSERT ... SELECT.

    Users already recipients of the broadcast are skipped; returns the rows written.
    """
    users = audience_select(target_group, target_filter).where(is_reachable())
    rows = users.with_only_columns(literal(broadcast_id), User.id)
    statement = insert_recipients_ignoring_duplicates(session).from_select(
        ["broadcast_id", "recipient_id"], rows
    )
    return affected_rows(await session.execute(statement))


# --- the admin UI's helpers ---------------------------------------------------------------


def _check_window(offset: int, limit: int) -> None:
    if offset < 0:
        raise ValidationFailed(f"offset must be 0 or more, got {offset}")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")


def reach_split() -> tuple[
    ColumnElement[int], ColumnElement[int], ColumnElement[int], ColumnElement[int]
]:
    """Aggregates over users: how many, and of them with no Telegram linked, who blocked
    the bot, whose account is deleted (a deleted account counts as deleted, not blocked).
    `reach_of` reads a row of them."""
    linked = User.telegram_id.is_not(None)
    deactivated = and_(linked, User.telegram_deactivated_at.is_not(None))
    blocked = and_(linked, User.telegram_deactivated_at.is_(None), User.bot_blocked_at.is_not(None))

    def how_many(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return func.count(), how_many(~linked), how_many(blocked), how_many(deactivated)


def reach_of(total: int, no_telegram: int, blocked: int, deactivated: int) -> AudiencePreview:
    return AudiencePreview(
        total=total,
        reachable=total - no_telegram - blocked - deactivated,
        no_telegram=no_telegram,
        blocked=blocked,
        deactivated=deactivated,
    )


async def count_audience(
    session: AsyncSession,
    group: TargetGroup,
    target_filter: TargetFilter,
    *,
    families: bool = False,
) -> AudiencePreview:
    """Who a parsed target reaches now, in one statement; with `families`, and when the
    target includes parents, their families too (a second one)."""
    counts = audience_select(group, target_filter).with_only_columns(*reach_split())
    preview = reach_of(*(await session.execute(counts)).one())
    if not (families and group in STUDENT_GROUPS and include_of(target_filter).parents):
        return preview
    return replace(preview, families=await count_families(session, group, target_filter))


async def count_families(
    session: AsyncSession, group: TargetGroup, target_filter: TargetFilter
) -> int:
    """The families of the group's active students that have an active parent: each
    child's first such parent (the lowest id), counted once (see AudiencePreview)."""
    child, guardian = aliased(User, name="child"), aliased(User, name="guardian")
    first_parents = (
        select(func.min(GuardianLink.guardian_id).label("first_parent"))
        .join(child, child.id == GuardianLink.student_id)
        .join(guardian, guardian.id == GuardianLink.guardian_id)
        .where(child.is_active, guardian.is_active, students_of(group, target_filter, child))
        .group_by(GuardianLink.student_id)
        .subquery()
    )
    query = select(func.count(func.distinct(first_parents.c.first_parent)))
    return await session.scalar(query) or 0


class AudienceService:
    """Read-only audience queries for the admin UI, each in its own short session."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def preview(
        self, target_group: TargetGroup | str, target_filter: Mapping[str, Any] | None
    ) -> AudiencePreview:
        """Validate the target and count it: reachable, no Telegram linked, bot blocked,
        account deleted."""
        async with self._session_factory() as session:
            group, parsed = await validate_target(session, target_group, target_filter)
            return await count_audience(session, group, parsed, families=True)

    async def search_classes(self, query: str = "", offset: int = 0, limit: int = 10) -> SearchPage:
        """The classes of active students whose name contains `query` (any case), by name.

        A class is named as the roster first spells it (its lowest spelling, when students
        differ in case) and carries the id of its first student: button data is short, and
        a class name may not fit it.
        """
        _check_window(offset, limit)
        condition = and_(
            User.is_active,
            User.role == Role.STUDENT,
            User.class_key.is_not(None),
            User.class_key.contains(class_key(query), autoescape=True),
        )
        name = func.min(User.class_name)
        classes = select(func.min(User.id), name).where(condition).group_by(User.class_key)
        async with self._session_factory() as session:
            total = await session.scalar(
                select(func.count(func.distinct(User.class_key))).where(condition)
            )
            rows = await session.execute(
                classes.order_by(name, User.class_key).offset(offset).limit(limit)
            )
            items = [NamedItem(id=first_id, name=class_name or "") for first_id, class_name in rows]
        return SearchPage(items=items, total=total or 0, offset=offset, limit=limit)

    async def search_subjects(
        self, query: str = "", offset: int = 0, limit: int = 10
    ) -> SearchPage:
        """Subjects whose name contains `query` (any case), by name."""
        _check_window(offset, limit)
        condition = Subject.name.icontains(query.strip(), autoescape=True)
        return await self._search(Subject.id, Subject.name, condition, offset, limit)

    async def search_people(
        self, role: Role | str, query: str = "", offset: int = 0, limit: int = 10
    ) -> SearchPage:
        """Active users who are `role` (see the module doc) and whose name contains `query`."""
        _check_window(offset, limit)
        try:
            wanted = Role(role)
        except ValueError:
            raise ValidationFailed(f"Unknown role {role!r}") from None
        condition = and_(
            User.is_active,
            acts_as(wanted),
            User.full_name.icontains(query.strip(), autoescape=True),
        )
        return await self._search(User.id, User.full_name, condition, offset, limit)

    async def _search(
        self,
        id_column: Any,
        name_column: Any,
        condition: ColumnElement[bool],
        offset: int,
        limit: int,
    ) -> SearchPage:
        async with self._session_factory() as session:
            total = await session.scalar(select(func.count()).where(condition)) or 0
            rows = await session.execute(
                select(id_column, name_column)
                .where(condition)
                .order_by(name_column, id_column)
                .offset(offset)
                .limit(limit)
            )
            items = [NamedItem(id=row_id, name=name) for row_id, name in rows]
        return SearchPage(items=items, total=total, offset=offset, limit=limit)

    async def resolve_user_references(self, references: Sequence[str]) -> ResolvedReferences:
        """Turn what an admin typed into people, and list what matched nobody.

        Each reference is tried in this order, first match wins:
        `#12` is internal id 12 only; `@name` is a Telegram username (any case);
        anything else is first the school's own id (external_id: exact, else in any case),
        then, if it is all digits, an internal id, then a Telegram id. Blank references
        are ignored.
        """
        async with self._session_factory() as session:
            return await resolve_references(session, references)
