"""Roster import: users, classes, enrollments, tutoring and families from the school's CSV
exports.

The school's information system owns the roster; the bot keeps a copy so an admin can
address students, teachers, tutors and parents. `import_roster` brings that copy in line
with the files and is safe to run again and again (importing the same files twice changes
nothing).

Reading and parsing the files (formats, columns, cell checks) is `services.roster_csv`;
judging the rows against each other and the database is `services.roster_check`; this
module writes what they passed.

What an import changes:
- users: upserted by `external_id`. Role, name, active flag, email, Telegram id and language
  are updated when they differ. A blank email, telegram_id or language cell means "not known
  here" and keeps what the database has (the bot may have learnt them from Telegram); a
  blank is_active means true. A student's `class` and a teacher's `homeroom_class` (both
  optional columns) are stored as spelled, with their casefolded key; a blank one keeps
  the current class too. Users absent from the file are left alone: the import never
  deletes or deactivates anyone (put `is_active=false` in the file for that).
- subjects: matched by name ignoring case; created when new, never deleted.
- enrollments, tutor_assignments and guardian_links: for every student named in the file,
  the student's enrollments (or tutors, or parents) become exactly the file's rows:
  missing ones are created, the others deleted. Students the file does not name keep
  theirs. A school's export lists a student's current subjects, tutors and parents, so a
  changed teacher or a dropped subject must not linger and keep the student in the old
  teacher's broadcasts; a partial file (one class) still touches no one else.

All or nothing. Everything is checked first (files, rows, references between the files
and to the database, Telegram ids shared by two users); any problem aborts the import before
anything is written, and `RosterImportError.problems` lists every one as `file:line:
problem` (line = physical line in the file, header = 1). The writes happen in one
transaction.

Streaming. No file is ever held in memory. The reading (`services.roster_check`) keeps
only what the checks across rows need, by key, and puts the checked rows in a temporary
file; the writes read them back batch by batch: existing users are loaded by key per
batch, differences computed in Python and written with executemany. The links of the
named students are mirrored from the set of the files' links (ids only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, Table, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Base, Enrollment, GuardianLink, Subject, TutorAssignment, User
from db.session import SessionFactory
from services.errors import ValidationFailed
from services.roster_check import CheckedRoster, CheckedUser, check_roster, chunks
from services.roster_csv import (
    ENROLLMENTS_COLUMNS,
    GUARDIANS_COLUMNS,
    TUTORING_COLUMNS,
    USERS_COLUMNS,
    USERS_OPTIONAL_COLUMNS,
    Problems,
    open_csv,
)
from services.targets import class_key

ROSTER_TABLES = ("users", "subjects", "enrollments", "tutor_assignments", "guardian_links")
"""The tables an import writes, whose statistics it refreshes on PostgreSQL."""

# The columns of `users` that an import may change, as named on the model.
USER_FIELDS = (
    "full_name",
    "email",
    "role",
    "is_active",
    "telegram_id",
    "language_code",
    "class_name",
    "class_key",
    "homeroom_class",
    "homeroom_class_key",
)


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
    guardian_links: TableCounts | None = None

    def summary_lines(self) -> list[str]:
        """One line per table, e.g. `users: 3 created, 1 updated, 36 unchanged`.

        Only the links (enrollments, tutor_assignments, guardian_links) can lose rows, so
        only they say `deleted`.
        """
        tables = [
            ("users", self.users, False),
            ("subjects", self.subjects, False),
            ("enrollments", self.enrollments, True),
            ("tutor_assignments", self.tutor_assignments, True),
            ("guardian_links", self.guardian_links, True),
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


# --- Writing ------------------------------------------------------------------------------


def _table(model: type[Base]) -> Table:
    """The model's table, for Core executemany inserts: the ORM's bulk insert would run
    one statement per run of rows whose None cells differ, nearly row by row here."""
    return Base.metadata.tables[model.__tablename__]


def _wanted_user(user: CheckedUser, current: Row[Any] | None) -> tuple[Any, ...]:
    """The USER_FIELDS values this file row asks for; blank optional cells keep the current
    values (`current`: the user's id, external_id, then USER_FIELDS)."""
    _, _, full_name, email, role, telegram_id, is_active, language, class_name, homeroom = user
    if current is not None:
        email = current.email if email is None else email
        telegram_id = current.telegram_id if telegram_id is None else telegram_id
        language = current.language_code if language is None else language
        class_name = current.class_name if class_name is None else class_name
        homeroom = current.homeroom_class if homeroom is None else homeroom
    return (
        full_name,
        email,
        role,
        is_active,
        telegram_id,
        language,
        class_name,
        None if class_name is None else class_key(class_name),
        homeroom,
        None if homeroom is None else class_key(homeroom),
    )


async def _upsert_users(
    session: AsyncSession, checked: CheckedRoster
) -> tuple[TableCounts, dict[str, int]]:
    """Creates and updates the file's users, batch by batch; returns the counts and the id
    of every user the files name (the file's, and the database users that links name)."""
    # Users may swap Telegram ids: free the taken ones first so no row briefly collides.
    for chunk in chunks(checked.telegram_ids_to_free):
        await session.execute(
            update(User).where(User.external_id.in_(chunk)).values(telegram_id=None),
            execution_options={"synchronize_session": False},
        )
    user_ids = {key: user.id for key, user in checked.database_users.items() if user is not None}
    created = updated = unchanged = 0
    connection = await session.connection()  # plain rows: no ORM loading per row
    columns = [User.id, User.external_id, *(getattr(User, name) for name in USER_FIELDS)]
    for batch in checked.users.batches():
        query = select(*columns).where(User.external_id.in_([user[1] for user in batch]))
        existing = {current.external_id: current for current in await connection.execute(query)}
        to_create: list[dict[str, Any]] = []
        to_update: list[dict[str, Any]] = []
        for user in batch:
            current = existing.get(user[1])
            wanted = _wanted_user(user, current)
            if current is None:
                to_create.append(
                    {"external_id": user[1], **dict(zip(USER_FIELDS, wanted, strict=True))}
                )
            elif current[2:] != wanted:
                to_update.append({"id": current.id, **dict(zip(USER_FIELDS, wanted, strict=True))})
        if to_update:
            await session.execute(update(User), to_update)
        if to_create:  # then their ids: RETURNING would make SQLite insert row by row
            await connection.execute(insert(_table(User)), to_create)
            new = [user["external_id"] for user in to_create]
            query = select(User.external_id, User.id).where(User.external_id.in_(new))
            user_ids.update(
                (external_id, user_id) for external_id, user_id in await connection.execute(query)
            )
        user_ids.update((external_id, current.id) for external_id, current in existing.items())
        created += len(to_create)
        updated += len(to_update)
        unchanged += len(batch) - len(to_create) - len(to_update)
    return TableCounts(created=created, updated=updated, unchanged=unchanged), user_ids


async def _subject_ids(
    session: AsyncSession, spelling: dict[str, str]
) -> tuple[TableCounts, dict[str, int]]:
    """Subject ids by name ignoring case, creating the file's new subjects (`spelling`:
    the file's first spelling of each, by name ignoring case)."""

    async def known() -> dict[str, int]:
        ids: dict[str, int] = {}
        query = select(Subject.id, Subject.name).order_by(Subject.id)
        for subject_id, name in await session.execute(query):
            ids.setdefault(name.casefold(), subject_id)
        return ids

    ids = await known()
    new = [{"name": name} for key, name in spelling.items() if key not in ids]
    if new:
        await session.execute(insert(Subject), new)
        ids = await known()
    return TableCounts(created=len(new), unchanged=len(spelling) - len(new)), ids


async def _mirror_links(
    session: AsyncSession,
    model: type[Enrollment] | type[TutorAssignment] | type[GuardianLink],
    key_columns: tuple[str, ...],
    wanted_keys: Iterable[tuple[int | None, ...]],
) -> TableCounts:
    """Makes the links of the students named in `wanted_keys` exactly those keys (values of
    `key_columns`, which include student_id); other students' links are left alone."""
    missing = dict.fromkeys(wanted_keys)  # file order, without repeats; found ones leave
    student_at = key_columns.index("student_id")
    students = sorted({student for key in missing if (student := key[student_at]) is not None})
    unchanged = 0
    stale: list[int] = []
    columns = [getattr(model, name) for name in key_columns]
    connection = await session.connection()  # plain rows: no ORM loading per row
    for chunk in chunks(students):
        query = select(model.id, *columns).where(model.student_id.in_(chunk))
        for link_id, *values in await connection.execute(query):
            key = tuple(values)
            if key in missing:
                del missing[key]
                unchanged += 1
            else:  # gone from the file, or a repeat (rows with a NULL teacher can repeat)
                stale.append(link_id)
    for chunk in chunks(stale):
        await session.execute(delete(model).where(model.id.in_(chunk)))
    for keys in chunks(missing):
        rows = [dict(zip(key_columns, key, strict=True)) for key in keys]
        await connection.execute(insert(_table(model)), rows)
    return TableCounts(created=len(missing), unchanged=unchanged, deleted=len(stale))


async def _write(
    session: AsyncSession,
    checked: CheckedRoster,
    enrollments: bool,
    tutoring: bool,
    guardians: bool,
) -> RosterReport:
    """Writes the checked rows; `enrollments`, `tutoring`, `guardians`: whether those files
    were given."""
    user_counts, user_ids = await _upsert_users(session, checked)
    subject_counts = enrollment_counts = tutoring_counts = guardian_counts = None
    if enrollments:
        subject_counts, subject_ids = await _subject_ids(session, checked.subjects)
        enrollment_counts = await _mirror_links(
            session,
            Enrollment,
            ("student_id", "subject_id", "teacher_id"),
            (
                (
                    user_ids[student],
                    subject_ids[subject.casefold()],
                    user_ids[teacher] if teacher else None,
                )
                for batch in checked.enrollments.batches()
                for student, subject, teacher in batch
            ),
        )
    if tutoring:
        tutoring_counts = await _mirror_links(
            session,
            TutorAssignment,
            ("tutor_id", "student_id"),
            (
                (user_ids[tutor], user_ids[student])
                for batch in checked.tutoring.batches()
                for tutor, student in batch
            ),
        )
    if guardians:
        guardian_counts = await _mirror_links(
            session,
            GuardianLink,
            ("guardian_id", "student_id"),
            (
                (user_ids[guardian], user_ids[student])
                for batch in checked.guardians.batches()
                for guardian, student in batch
            ),
        )
    return RosterReport(
        user_counts, subject_counts, enrollment_counts, tutoring_counts, guardian_counts
    )


# --- The import ---------------------------------------------------------------------------


async def import_roster(
    session_factory: SessionFactory,
    users: Path,
    enrollments: Path | None = None,
    tutoring: Path | None = None,
    guardians: Path | None = None,
) -> RosterReport:
    """Checks the files, then imports them in one transaction (see the module docstring).

    Raises RosterImportError listing every problem; the database is then untouched.
    """
    given = (users, enrollments, tutoring, guardians)
    problems = Problems([path for path in given if path is not None])
    users_file = open_csv(users, USERS_COLUMNS, problems, optional=USERS_OPTIONAL_COLUMNS)
    enrollments_file = tutoring_file = guardians_file = None
    if enrollments is not None:
        enrollments_file = open_csv(enrollments, ENROLLMENTS_COLUMNS, problems)
    if tutoring is not None:
        tutoring_file = open_csv(tutoring, TUTORING_COLUMNS, problems)
    if guardians is not None:
        guardians_file = open_csv(guardians, GUARDIANS_COLUMNS, problems)
    with CheckedRoster() as checked:
        async with session_factory() as session, session.begin():
            await check_roster(
                session,
                problems,
                checked,
                users_file,
                enrollments_file,
                tutoring_file,
                guardians_file,
            )
            found = problems.in_order()
            if found:
                raise RosterImportError(found)
            report = await _write(
                session,
                checked,
                enrollments is not None,
                tutoring is not None,
                guardians is not None,
            )
    await _refresh_statistics(session_factory)
    return report


async def _refresh_statistics(session_factory: SessionFactory) -> None:
    """PostgreSQL's planner statistics of the roster tables, refreshed after an import:
    until autovacuum gets to it, a freshly filled database looks near empty to the planner,
    which then plans the family audiences (services.membership) as nested loops over every
    student for every user, minutes instead of a fraction of a second. SQLite's plans need
    no statistics."""
    async with session_factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            return
        await session.execute(text(f"ANALYZE {', '.join(ROSTER_TABLES)}"))
        await session.commit()
