"""Roster import: users, enrollments and tutoring from the school's CSV exports.

The school's information system owns the roster; the bot keeps a copy so an admin can
address students, teachers, tutors and parents. `import_roster` brings that copy in line
with the files and is safe to run again and again (importing the same files twice changes
nothing).

Reading and parsing the files (formats, columns, cell checks) is `services.roster_csv`;
this module judges the parsed rows against each other and the database, then writes.

What an import changes:
- users: upserted by `external_id`. Role, name, active flag, email, Telegram id and language
  are updated when they differ. A blank email, telegram_id or language cell means "not known
  here" and keeps what the database has (the bot may have learnt them from Telegram); a
  blank is_active means true. Users absent from the file are left alone: the import never
  deletes or deactivates anyone (put `is_active=false` in the file for that).
- subjects: matched by name ignoring case; created when new, never deleted.
- enrollments and tutor_assignments: for every student named in the file, the student's
  enrollments (or tutors) become exactly the file's rows: missing ones are created, the
  others deleted. Students the file does not name keep theirs. A school's export lists a
  student's current subjects and tutors, so a changed teacher or a dropped subject must not
  linger and keep the student in the old teacher's broadcasts; a partial file (one class)
  still touches no one else.

All or nothing. Everything is validated first (files, rows, references between the files
and to the database, Telegram ids shared by two users); any problem aborts the import before
anything is written, and `RosterImportError.problems` lists every one as `file:line:
problem` (line = physical line in the file, header = 1). The writes happen in one
transaction and are set-based: existing rows are loaded by key in chunks, differences are
computed in Python and written with executemany.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Enrollment, Role, Subject, TutorAssignment, User
from db.session import SessionFactory
from services.errors import ValidationFailed
from services.roster_csv import (
    ENROLLMENTS_COLUMNS,
    TUTORING_COLUMNS,
    USERS_COLUMNS,
    EnrollmentRow,
    Problems,
    Reference,
    TutoringRow,
    UserRow,
    parse_enrollments,
    parse_tutoring,
    parse_users,
    read_csv,
)

# Keys per `IN (...)` list: well under SQLite's and asyncpg's 32767 bind parameters.
QUERY_CHUNK_SIZE = 5000
# The columns of `users` that an import may change, as named on the model.
USER_FIELDS = ("full_name", "email", "role", "is_active", "telegram_id", "language_code")

T = TypeVar("T")


class RosterImportError(ValidationFailed):
    """The files are not importable; nothing was written. `problems`: `file:line: problem`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"Roster not imported: {len(problems)} problem(s) found")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TableCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


@dataclass(frozen=True, slots=True)
class RosterReport:
    """What the import did; a table is None when its file was not part of the import."""

    users: TableCounts
    subjects: TableCounts | None = None
    enrollments: TableCounts | None = None
    tutor_assignments: TableCounts | None = None

    def summary_lines(self) -> list[str]:
        """One line per table, e.g. `users: 3 created, 1 updated, 36 unchanged`.

        Only enrollments and tutor_assignments can lose rows, so only they say `deleted`.
        """
        tables = [
            ("users", self.users, False),
            ("subjects", self.subjects, False),
            ("enrollments", self.enrollments, True),
            ("tutor_assignments", self.tutor_assignments, True),
        ]
        lines = []
        for name, counts, can_delete in tables:
            if counts is None:
                continue
            line = f"{name}: {counts.created} created, {counts.updated} updated"
            line += f", {counts.unchanged} unchanged"
            if can_delete:
                line += f", {counts.deleted} deleted"
            lines.append(line)
        return lines


# --- Checking against the database --------------------------------------------------------


def _chunks(items: Sequence[T], size: int = QUERY_CHUNK_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _load_users(session: AsyncSession, external_ids: set[str]) -> dict[str, Row[Any]]:
    """The users with these external ids, by external id, with the columns an import compares."""
    found: dict[str, Row[Any]] = {}
    columns = [User.id, User.external_id, *(getattr(User, name) for name in USER_FIELDS)]
    for chunk in _chunks(sorted(external_ids)):
        result = await session.execute(select(*columns).where(User.external_id.in_(chunk)))
        found.update((row.external_id, row) for row in result)
    return found


async def _load_telegram_holders(session: AsyncSession, telegram_ids: set[int]) -> dict[int, str]:
    """The external id of the user holding each of these Telegram ids."""
    holders: dict[int, str] = {}
    for chunk in _chunks(sorted(telegram_ids)):
        query = select(User.telegram_id, User.external_id).where(User.telegram_id.in_(chunk))
        holders.update((row.telegram_id, row.external_id) for row in await session.execute(query))
    return holders


def _check_telegram_ids(
    path: Path, users: list[UserRow], holders: dict[int, str], problems: Problems
) -> None:
    """A Telegram id may belong to one user only after the import, not just within the file."""
    rows_by_user = {user.external_id: user for user in users}
    first_claim: dict[int, UserRow] = {}
    for user in users:
        if user.telegram_id is None:
            continue
        earlier = first_claim.setdefault(user.telegram_id, user)
        if earlier is not user:
            problems.add(
                path,
                user.line,
                f"telegram_id {user.telegram_id} is also given to {earlier.external_id} "
                f"on line {earlier.line}",
            )
            continue
        holder = holders.get(user.telegram_id)
        if holder is None or holder == user.external_id:
            continue
        holder_row = rows_by_user.get(holder)
        if holder_row is None or holder_row.telegram_id is None:  # the holder keeps it
            problems.add(
                path,
                user.line,
                f"telegram_id {user.telegram_id} already belongs to user {holder} in the database",
            )


def _check_references(
    references: list[Reference],
    users: list[UserRow],
    existing: dict[str, Row[Any]],
    problems: Problems,
) -> None:
    """Each referenced user must exist, in the users file or the database, with the right
    role as it will be after the import (the file wins). A users row with an invalid role is
    already reported, so references to it are not judged again."""
    file_roles: dict[str, Role | None] = {}
    for user in users:
        file_roles.setdefault(user.external_id, user.role)
    for reference in references:
        if reference.external_id in file_roles:
            role = file_roles[reference.external_id]
        elif reference.external_id in existing:
            role = existing[reference.external_id].role
        else:
            problems.add(
                reference.path,
                reference.line,
                f"{reference.column} {reference.external_id}: "
                "no such user in the users file or the database",
            )
            continue
        if role is not None and role is not reference.expected:
            problems.add(
                reference.path,
                reference.line,
                f"{reference.column} {reference.external_id} is a {role.value}, "
                f"not a {reference.expected.value}",
            )


# --- Writing ------------------------------------------------------------------------------


def _wanted_user(row: UserRow, current: Row[Any] | None) -> dict[str, Any]:
    """The users columns this file row asks for; blank optional cells keep current values."""

    def file_or_current(value: Any, name: str) -> Any:
        if value is None and current is not None:
            return getattr(current, name)
        return value

    return {
        "full_name": row.full_name,
        "email": file_or_current(row.email, "email"),
        "role": row.role,
        "is_active": row.is_active,
        "telegram_id": file_or_current(row.telegram_id, "telegram_id"),
        "language_code": file_or_current(row.language, "language_code"),
    }


async def _upsert_users(
    session: AsyncSession, users: list[UserRow], existing: dict[str, Row[Any]]
) -> tuple[TableCounts, dict[str, int]]:
    """Creates and updates the file's users; returns the counts and every file user's id."""
    to_create: list[dict[str, Any]] = []
    to_update: list[dict[str, Any]] = []
    moving_telegram: list[int] = []
    for row in users:
        current = existing.get(row.external_id)
        wanted = _wanted_user(row, current)
        if current is None:
            to_create.append({"external_id": row.external_id, **wanted})
        elif any(getattr(current, name) != wanted[name] for name in USER_FIELDS):
            to_update.append({"id": current.id, **wanted})
            if current.telegram_id is not None and current.telegram_id != wanted["telegram_id"]:
                moving_telegram.append(current.id)

    # Users may swap Telegram ids: free the old ones first so no row briefly collides.
    for chunk in _chunks(moving_telegram):
        await session.execute(
            update(User).where(User.id.in_(chunk)).values(telegram_id=None),
            execution_options={"synchronize_session": False},
        )
    if to_update:
        await session.execute(update(User), to_update)
    user_ids = {row.external_id: row.id for row in existing.values()}
    if to_create:
        result = await session.execute(insert(User).returning(User.external_id, User.id), to_create)
        user_ids.update((external_id, user_id) for external_id, user_id in result)
    counts = TableCounts(
        created=len(to_create),
        updated=len(to_update),
        unchanged=len(users) - len(to_create) - len(to_update),
    )
    return counts, user_ids


async def _subject_ids(
    session: AsyncSession, names: list[str]
) -> tuple[TableCounts, dict[str, int]]:
    """Subject ids by the file's names (matched ignoring case), creating the new subjects."""
    known: dict[str, int] = {}
    for subject_id, name in await session.execute(
        select(Subject.id, Subject.name).order_by(Subject.id)
    ):
        known.setdefault(name.casefold(), subject_id)
    spelling: dict[str, str] = {}  # the file's first spelling of each subject
    for name in names:
        spelling.setdefault(name.casefold(), name)
    new = [{"name": name} for key, name in spelling.items() if key not in known]
    if new:
        result = await session.execute(insert(Subject).returning(Subject.id, Subject.name), new)
        known.update((name.casefold(), subject_id) for subject_id, name in result)
    ids = {name: known[name.casefold()] for name in names}
    return TableCounts(created=len(new), unchanged=len(spelling) - len(new)), ids


async def _mirror_links(
    session: AsyncSession,
    model: type[Enrollment] | type[TutorAssignment],
    key_columns: tuple[str, ...],
    wanted_keys: list[tuple[int | None, ...]],
) -> TableCounts:
    """Makes the links of the students named in `wanted_keys` exactly those keys (values of
    `key_columns`, which include student_id); other students' links are left alone."""
    wanted = dict.fromkeys(wanted_keys)  # file order, without repeats
    student_at = key_columns.index("student_id")
    students = sorted({student for key in wanted if (student := key[student_at]) is not None})
    kept: set[tuple[Any, ...]] = set()
    stale: list[int] = []
    columns = [getattr(model, name) for name in key_columns]
    for chunk in _chunks(students):
        query = select(model.id, *columns).where(model.student_id.in_(chunk))
        for link_id, *values in await session.execute(query):
            key = tuple(values)
            if key in wanted and key not in kept:
                kept.add(key)
            else:  # gone from the file, or a repeat (rows with a NULL teacher can repeat)
                stale.append(link_id)
    for chunk in _chunks(stale):
        await session.execute(delete(model).where(model.id.in_(chunk)))
    missing = [dict(zip(key_columns, key, strict=True)) for key in wanted if key not in kept]
    if missing:
        await session.execute(insert(model), missing)
    return TableCounts(created=len(missing), unchanged=len(kept), deleted=len(stale))


async def _write(
    session: AsyncSession,
    users: list[UserRow],
    existing: dict[str, Row[Any]],
    enrollments: list[EnrollmentRow] | None,
    tutoring: list[TutoringRow] | None,
) -> RosterReport:
    user_counts, user_ids = await _upsert_users(session, users, existing)
    subject_counts = enrollment_counts = tutoring_counts = None
    if enrollments is not None:
        subject_counts, subject_ids = await _subject_ids(
            session, [row.subject for row in enrollments]
        )
        enrollment_counts = await _mirror_links(
            session,
            Enrollment,
            ("student_id", "subject_id", "teacher_id"),
            [
                (
                    user_ids[row.student],
                    subject_ids[row.subject],
                    user_ids[row.teacher] if row.teacher else None,
                )
                for row in enrollments
            ],
        )
    if tutoring is not None:
        tutoring_counts = await _mirror_links(
            session,
            TutorAssignment,
            ("tutor_id", "student_id"),
            [(user_ids[row.tutor], user_ids[row.student]) for row in tutoring],
        )
    return RosterReport(user_counts, subject_counts, enrollment_counts, tutoring_counts)


# --- The import ---------------------------------------------------------------------------


async def import_roster(
    session_factory: SessionFactory,
    users: Path,
    enrollments: Path | None = None,
    tutoring: Path | None = None,
) -> RosterReport:
    """Validates the files, then imports them in one transaction (see the module docstring).

    Raises RosterImportError listing every problem; the database is then untouched.
    """
    problems = Problems([path for path in (users, enrollments, tutoring) if path is not None])
    users_csv = read_csv(users, USERS_COLUMNS, problems)
    user_rows = parse_users(users, users_csv or [], problems)
    enrollment_rows = None
    if enrollments is not None:
        enrollments_csv = read_csv(enrollments, ENROLLMENTS_COLUMNS, problems)
        enrollment_rows = parse_enrollments(enrollments, enrollments_csv or [], problems)
    tutoring_rows = None
    if tutoring is not None:
        tutoring_csv = read_csv(tutoring, TUTORING_COLUMNS, problems)
        tutoring_rows = parse_tutoring(tutoring, tutoring_csv or [], problems)
    link_rows: list[EnrollmentRow | TutoringRow] = [
        *(enrollment_rows or []),
        *(tutoring_rows or []),
    ]
    references = [reference for row in link_rows for reference in row.references()]

    async with session_factory() as session, session.begin():
        named = {user.external_id for user in user_rows if user.external_id}
        existing = await _load_users(session, named | {ref.external_id for ref in references})
        telegram_ids = {user.telegram_id for user in user_rows if user.telegram_id is not None}
        holders = await _load_telegram_holders(session, telegram_ids)
        _check_telegram_ids(users, user_rows, holders, problems)
        if users_csv is not None:  # without the users file, references cannot be judged
            _check_references(references, user_rows, existing, problems)
        found = problems.in_order()
        if found:
            raise RosterImportError(found)
        return await _write(session, user_rows, existing, enrollment_rows, tutoring_rows)
