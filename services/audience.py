"""The eight target groups: who a broadcast goes to, checked, previewed and written down.

A target is a `TargetGroup` plus its `target_filter` (the service document's shapes):

- all_students / all_teachers / all_tutors / all_parents `{}`: active users of that role;
- by_subject `{subject_id}`: active students enrolled in the subject and the active
  teachers who teach it (the teacher_id of its enrollments);
- by_tutor `{tutor_id}`: active students assigned to that tutor;
- by_teacher `{teacher_id}`: active students enrolled with that teacher, in any subject;
- custom `{user_ids: [...]}`: those users, if active.

`services.targets` checks a target's shape; this module checks that the ids it names exist
and turns it into SQL.

Membership follows the roster's relations, and every audience is a single `SELECT id FROM
users WHERE ... EXISTS (...)`, so a user is in it at most once however many enrollments
lead to them. Someone "is a tutor" when their role is tutor or they have tutor
assignments (a teacher may also tutor); someone "is a teacher" when their role is teacher
or they teach an enrollment.

The functions taking a session never commit (callers own the transaction);
`AudienceService` owns its read-only sessions for the admin UI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    BroadcastRecipient,
    Enrollment,
    Role,
    Subject,
    TargetGroup,
    TutorAssignment,
    User,
)
from db.session import SessionFactory
from services.errors import ValidationFailed
from services.targets import FILTER_KEYS, MAX_CUSTOM_USERS, MAX_ROW_ID, TargetFilter, parse_target

ROLE_GROUPS: dict[TargetGroup, Role] = {
    TargetGroup.ALL_STUDENTS: Role.STUDENT,
    TargetGroup.ALL_TEACHERS: Role.TEACHER,
    TargetGroup.ALL_TUTORS: Role.TUTOR,
    TargetGroup.ALL_PARENTS: Role.PARENT,
}
MAX_PAGE_SIZE = 100
MAX_TELEGRAM_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class AudiencePreview:
    """Who a target reaches: total = reachable + no_telegram + blocked + deactivated. A
    deleted account counts as deactivated even if it had blocked the bot before."""

    total: int
    reachable: int
    no_telegram: int
    blocked: int
    deactivated: int


@dataclass(frozen=True, slots=True)
class FoundUser:
    """A person an admin's reference matched, as the school knows them."""

    id: int
    external_id: str
    full_name: str


@dataclass(frozen=True, slots=True)
class ResolvedReferences:
    found: list[FoundUser]
    """Each person once, in the order first referenced."""
    unmatched: list[str]
    """The references that matched nobody, as typed."""


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


def _acts_as(role: Role) -> ColumnElement[bool]:
    """Users who have `role`, or who hold it through the roster's relations."""
    if role is Role.TUTOR:
        return or_(User.role == role, exists().where(TutorAssignment.tutor_id == User.id))
    if role is Role.TEACHER:
        return or_(User.role == role, exists().where(Enrollment.teacher_id == User.id))
    return User.role == role


async def validate_target(
    session: AsyncSession,
    target_group: TargetGroup | str,
    target_filter: Mapping[str, Any] | None,
) -> tuple[TargetGroup, TargetFilter]:
    """`parse_target` plus the database checks: the subject, tutor, teacher or users exist."""
    group, parsed = parse_target(target_group, target_filter)
    if group is TargetGroup.BY_SUBJECT:
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
        await session.execute(select(User.role, _acts_as(role)).where(User.id == user_id))
    ).one_or_none()
    if row is None:
        raise ValidationFailed(f"{role.value.title()} {user_id} not found")
    actual_role, acts_as_role = row
    if not acts_as_role:
        raise ValidationFailed(f"User {user_id} is a {actual_role.value}, not a {role.value}")


# --- the audience as SQL -----------------------------------------------------------------


def _membership(group: TargetGroup, target_filter: TargetFilter) -> ColumnElement[bool]:
    if group in ROLE_GROUPS:
        return User.role == ROLE_GROUPS[group]
    if group is TargetGroup.BY_SUBJECT:
        subject_id = target_filter["subject_id"]
        return or_(
            exists().where(Enrollment.subject_id == subject_id, Enrollment.student_id == User.id),
            exists().where(Enrollment.subject_id == subject_id, Enrollment.teacher_id == User.id),
        )
    if group is TargetGroup.BY_TUTOR:
        return exists().where(
            TutorAssignment.tutor_id == target_filter["tutor_id"],
            TutorAssignment.student_id == User.id,
        )
    if group is TargetGroup.BY_TEACHER:
        return exists().where(
            Enrollment.teacher_id == target_filter["teacher_id"],
            Enrollment.student_id == User.id,
        )
    return User.id.in_(target_filter["user_ids"])


def audience_select(
    target_group: TargetGroup | str, target_filter: Mapping[str, Any] | None
) -> Select[int]:
    """SELECT of the ids of the target's active users, each once (shape-checked only)."""
    group, parsed = parse_target(target_group, target_filter)
    return select(User.id).where(User.is_active, _membership(group, parsed))


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


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _parse_reference(reference: str) -> tuple[str, str]:
    """(kind, value): kind is "id", "username" or "any" (an external id or digits)."""
    if reference.startswith("#") and _is_number(reference[1:]):
        return "id", reference[1:]
    if reference.startswith("@") and len(reference) > 1:
        return "username", reference[1:].lower()
    return "any", reference


async def _lookup(session: AsyncSession, column: Any, values: set[Any]) -> dict[Any, int]:
    """{value: user id} for the users whose `column` is one of `values`."""
    if not values:
        return {}
    rows = await session.execute(select(column, User.id).where(column.in_(values)))
    return {key: user_id for key, user_id in rows}


@dataclass(frozen=True, slots=True)
class _Matches:
    """Users found for a batch of references, by the way each could name them."""

    by_id: dict[int, int]
    by_external_id: dict[str, int]
    by_external_id_folded: dict[str, int]
    by_telegram_id: dict[int, int]
    by_username: dict[str, int]

    def pick(self, kind: str, value: str) -> int | None:
        if kind == "id":
            return self.by_id.get(int(value))
        if kind == "username":
            return self.by_username.get(value)
        if value in self.by_external_id:
            return self.by_external_id[value]
        if value.lower() in self.by_external_id_folded:
            return self.by_external_id_folded[value.lower()]
        if _is_number(value):
            number = int(value)
            return self.by_id.get(number, self.by_telegram_id.get(number))
        return None


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
    session: AsyncSession, group: TargetGroup, target_filter: TargetFilter
) -> AudiencePreview:
    """Who a parsed target reaches now, in one statement."""
    counts = audience_select(group, target_filter).with_only_columns(*reach_split())
    return reach_of(*(await session.execute(counts)).one())


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
            return await count_audience(session, group, parsed)

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
            _acts_as(wanted),
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
        cleaned = [reference.strip() for reference in references if reference.strip()]
        if len(cleaned) > MAX_CUSTOM_USERS:
            raise ValidationFailed(
                f"At most {MAX_CUSTOM_USERS} references at a time, got {len(cleaned)}"
            )
        parsed = {reference: _parse_reference(reference) for reference in cleaned}
        by_kind: dict[str, set[str]] = {"id": set(), "username": set(), "any": set()}
        for kind, value in parsed.values():
            by_kind[kind].add(value)
        numbers = {int(value) for value in by_kind["any"] | by_kind["id"] if _is_number(value)}
        async with self._session_factory() as session:
            matches = _Matches(
                by_id=await _lookup(
                    session, User.id, {number for number in numbers if number <= MAX_ROW_ID}
                ),
                by_external_id=await _lookup(session, User.external_id, by_kind["any"]),
                by_external_id_folded=await _lookup(
                    session,
                    func.lower(User.external_id),
                    {value.lower() for value in by_kind["any"]},
                ),
                by_telegram_id=await _lookup(
                    session,
                    User.telegram_id,
                    {number for number in numbers if number <= MAX_TELEGRAM_ID},
                ),
                by_username=await _lookup(
                    session, func.lower(User.telegram_username), by_kind["username"]
                ),
            )
            matched: dict[int, None] = {}
            unmatched: list[str] = []
            for reference, (kind, value) in parsed.items():
                user_id = matches.pick(kind, value)
                if user_id is None:
                    unmatched.append(reference)
                else:
                    matched[user_id] = None
            people = {
                user_id: FoundUser(user_id, external_id, full_name)
                for user_id, external_id, full_name in await session.execute(
                    select(User.id, User.external_id, User.full_name).where(User.id.in_(matched))
                )
            }
        return ResolvedReferences([people[user_id] for user_id in matched], unmatched)
