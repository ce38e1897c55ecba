"""Roster import: users, enrollments and tutoring from the school's CSV exports.

The school's information system owns the roster; the bot keeps a copy so an admin can
address students, teachers, tutors and parents. `import_roster` brings that copy in line
with the files and is safe to run again and again (importing the same files twice changes
nothing).

Files. UTF-8 with or without a BOM; comma or semicolon delimiter, taken from the header
line (spreadsheets in Russian locales export semicolons). Columns are found by name in any
order; every documented column must be present, extra columns are ignored. Cells are
trimmed; blank lines are skipped.

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

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Row, String, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from db.models import Enrollment, Role, Subject, TutorAssignment, User
from db.session import SessionFactory
from services.errors import ValidationFailed

USERS_COLUMNS = (
    "external_id",
    "full_name",
    "email",
    "role",
    "telegram_id",
    "is_active",
    "language",
)
ENROLLMENTS_COLUMNS = ("student_external_id", "subject", "teacher_external_id")
TUTORING_COLUMNS = ("tutor_external_id", "student_external_id")

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})
MAX_TELEGRAM_ID = 2**63 - 1  # BIGINT
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


# --- Problems -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Problems:
    """`file:line: problem` strings, given back in file order then line order."""

    file_order: list[Path]
    found: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, path: Path, line: int, problem: str) -> None:
        self.found.append((self.file_order.index(path), line, f"{path}:{line}: {problem}"))

    def add_to_file(self, path: Path, problem: str) -> None:
        self.found.append((self.file_order.index(path), 0, f"{path}: {problem}"))

    def raise_if_any(self) -> None:
        if self.found:
            ordered = sorted(self.found, key=lambda item: item[:2])
            raise RosterImportError([message for _, _, message in ordered])


# --- Reading CSV --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CsvRow:
    line: int
    cells: dict[str, str]


def _read_csv(path: Path, columns: Sequence[str], problems: _Problems) -> list[_CsvRow] | None:
    """The file's rows keyed by column name, or None when the file itself is unusable."""
    try:
        data = path.read_bytes()
    except OSError as error:
        problems.add_to_file(path, f"cannot read the file ({error.strerror})")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(path, line, "not UTF-8 text; save the file as CSV UTF-8")
        return None

    header_line = next(iter(io.StringIO(text, newline="")), "")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    names = [name.strip().lower() for name in next(reader, [])]
    if not any(names):
        problems.add(path, 1, f"no header line; expected the columns {', '.join(columns)}")
        return None
    for column in columns:
        if column not in names:
            problems.add(path, 1, f"missing column {column}")
        elif names.count(column) > 1:
            problems.add(path, 1, f"column {column} appears more than once")
    if any(names.count(column) != 1 for column in columns):
        return None

    positions = {column: names.index(column) for column in columns}
    rows = []
    last_line = reader.line_num
    try:
        for raw_cells in reader:
            line, last_line = last_line + 1, reader.line_num
            cells = [cell.strip() for cell in raw_cells]
            if not any(cells):
                continue
            if len(cells) > len(names):
                problems.add(
                    path,
                    line,
                    f"{len(cells)} cells but the header has {len(names)}; "
                    f"a cell containing '{delimiter}' must be in double quotes",
                )
                continue
            cells += [""] * (len(names) - len(cells))
            rows.append(_CsvRow(line, {column: cells[at] for column, at in positions.items()}))
    except csv.Error as error:
        problems.add(path, last_line + 1, f"unreadable CSV ({error})")
        return None
    return rows


def _max_length(attribute: QueryableAttribute[Any]) -> int:
    """The VARCHAR length of a model column, so the import refuses what the database would."""
    column_type = attribute.expression.type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"{attribute} is not a VARCHAR(n) column")
    return column_type.length


EXTERNAL_ID_LIMIT = _max_length(User.external_id)
FULL_NAME_LIMIT = _max_length(User.full_name)
EMAIL_LIMIT = _max_length(User.email)
LANGUAGE_LIMIT = _max_length(User.language_code)
SUBJECT_LIMIT = _max_length(Subject.name)


# --- Parsing rows -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _UserRow:
    """One users.csv row. An invalid cell is reported and parsed as None (or True for
    is_active); the import then stops before writing, so writers never see those values."""

    line: int
    external_id: str
    full_name: str
    email: str | None
    role: Role | None
    telegram_id: int | None
    is_active: bool
    language: str | None


@dataclass(frozen=True, slots=True)
class _Reference:
    """A cell of enrollments.csv or tutoring.csv naming a user who must have `expected` role."""

    path: Path
    line: int
    column: str
    external_id: str
    expected: Role


def _references(
    path: Path, line: int, cells: list[tuple[str, str | None, Role]]
) -> list[_Reference]:
    """References for a row's (column, external id, expected role) cells; empty cells are
    skipped (a required one is already reported)."""
    return [
        _Reference(path, line, column, external_id, expected)
        for column, external_id, expected in cells
        if external_id
    ]


@dataclass(frozen=True, slots=True)
class _EnrollmentRow:
    path: Path
    line: int
    student: str
    subject: str
    teacher: str | None

    def references(self) -> list[_Reference]:
        return _references(
            self.path,
            self.line,
            [
                ("student_external_id", self.student, Role.STUDENT),
                ("teacher_external_id", self.teacher, Role.TEACHER),
            ],
        )


@dataclass(frozen=True, slots=True)
class _TutoringRow:
    path: Path
    line: int
    tutor: str
    student: str

    def references(self) -> list[_Reference]:
        return _references(
            self.path,
            self.line,
            [
                ("tutor_external_id", self.tutor, Role.TUTOR),
                ("student_external_id", self.student, Role.STUDENT),
            ],
        )


class _CellChecker:
    """Parses the cells of one row, reporting each bad cell against the row's line."""

    def __init__(self, path: Path, row: _CsvRow, problems: _Problems) -> None:
        self.path, self.row, self.problems = path, row, problems

    def report(self, problem: str) -> None:
        self.problems.add(self.path, self.row.line, problem)

    def text(self, column: str, limit: int, *, required: bool) -> str | None:
        value = self.row.cells[column]
        if not value:
            if required:
                self.report(f"empty {column}")
            return None
        if len(value) > limit:
            self.report(f"{column} is {len(value)} characters long; the limit is {limit}")
            return None
        return value

    def role(self) -> Role | None:
        value = self.row.cells["role"].lower()
        if not value:
            self.report("empty role")
            return None
        try:
            return Role(value)
        except ValueError:
            expected = ", ".join(role.value for role in Role)
            self.report(f"unknown role '{self.row.cells['role']}' (expected one of {expected})")
            return None

    def telegram_id(self) -> int | None:
        value = self.row.cells["telegram_id"]
        if not value:
            return None
        if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_TELEGRAM_ID:
            self.report(f"telegram_id '{value}' is not a Telegram user id (a positive number)")
            return None
        return int(value)

    def is_active(self) -> bool:
        value = self.row.cells["is_active"].lower()
        if value in FALSE_WORDS:
            return False
        if value and value not in TRUE_WORDS:
            self.report(
                f"is_active '{self.row.cells['is_active']}' is not one of "
                "true/false/1/0/yes/no (empty means true)"
            )
        return True


def _parse_users(path: Path, rows: list[_CsvRow], problems: _Problems) -> list[_UserRow]:
    parsed = []
    first_line: dict[str, int] = {}
    for row in rows:
        cells = _CellChecker(path, row, problems)
        external_id = cells.text("external_id", EXTERNAL_ID_LIMIT, required=True)
        if external_id is not None:
            earlier = first_line.setdefault(external_id, row.line)
            if earlier != row.line:
                cells.report(f"external_id {external_id} is already used on line {earlier}")
        user = _UserRow(
            line=row.line,
            external_id=external_id or "",
            full_name=cells.text("full_name", FULL_NAME_LIMIT, required=True) or "",
            email=cells.text("email", EMAIL_LIMIT, required=False),
            role=cells.role(),
            telegram_id=cells.telegram_id(),
            is_active=cells.is_active(),
            language=cells.text("language", LANGUAGE_LIMIT, required=False),
        )
        parsed.append(user)
    return parsed


def _parse_enrollments(
    path: Path, rows: list[_CsvRow], problems: _Problems
) -> list[_EnrollmentRow]:
    parsed = []
    for row in rows:
        cells = _CellChecker(path, row, problems)
        student = cells.text("student_external_id", EXTERNAL_ID_LIMIT, required=True)
        subject = cells.text("subject", SUBJECT_LIMIT, required=True)
        teacher = cells.text("teacher_external_id", EXTERNAL_ID_LIMIT, required=False)
        subject = " ".join((subject or "").split())
        parsed.append(_EnrollmentRow(path, row.line, student or "", subject, teacher))
    return parsed


def _parse_tutoring(path: Path, rows: list[_CsvRow], problems: _Problems) -> list[_TutoringRow]:
    parsed = []
    for row in rows:
        cells = _CellChecker(path, row, problems)
        tutor = cells.text("tutor_external_id", EXTERNAL_ID_LIMIT, required=True)
        student = cells.text("student_external_id", EXTERNAL_ID_LIMIT, required=True)
        parsed.append(_TutoringRow(path, row.line, tutor or "", student or ""))
    return parsed


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
    path: Path, users: list[_UserRow], holders: dict[int, str], problems: _Problems
) -> None:
    """A Telegram id may belong to one user only after the import, not just within the file."""
    rows_by_user = {user.external_id: user for user in users}
    first_claim: dict[int, _UserRow] = {}
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
    references: list[_Reference],
    users: list[_UserRow],
    existing: dict[str, Row[Any]],
    problems: _Problems,
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


def _wanted_user(row: _UserRow, current: Row[Any] | None) -> dict[str, Any]:
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
    session: AsyncSession, users: list[_UserRow], existing: dict[str, Row[Any]]
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
    users: list[_UserRow],
    existing: dict[str, Row[Any]],
    enrollments: list[_EnrollmentRow] | None,
    tutoring: list[_TutoringRow] | None,
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
    problems = _Problems([path for path in (users, enrollments, tutoring) if path is not None])
    users_csv = _read_csv(users, USERS_COLUMNS, problems)
    user_rows = _parse_users(users, users_csv or [], problems)
    enrollment_rows = None
    if enrollments is not None:
        enrollments_csv = _read_csv(enrollments, ENROLLMENTS_COLUMNS, problems)
        enrollment_rows = _parse_enrollments(enrollments, enrollments_csv or [], problems)
    tutoring_rows = None
    if tutoring is not None:
        tutoring_csv = _read_csv(tutoring, TUTORING_COLUMNS, problems)
        tutoring_rows = _parse_tutoring(tutoring, tutoring_csv or [], problems)
    link_rows: list[_EnrollmentRow | _TutoringRow] = [
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
        problems.raise_if_any()
        return await _write(session, user_rows, existing, enrollment_rows, tutoring_rows)
