"""Reading the roster's CSV files into parsed rows, every bad cell reported as `file:line`.

Its own module because understanding a school's export (encodings, delimiters, column
names, cell formats) needs no database; `services.roster` checks the rows against the
database and writes them.

Files. UTF-8 with or without a BOM; comma or semicolon delimiter, taken from the header
line (spreadsheets in Russian locales export semicolons). Columns are found by name in any
order; every documented column must be present, extra columns are ignored. Cells are
trimmed; blank lines are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import QueryableAttribute

from db.models import Role, Subject, User

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


# --- Problems -----------------------------------------------------------------------------


@dataclass(slots=True)
class Problems:
    """`file:line: problem` strings, given back in file order then line order."""

    file_order: list[Path]
    found: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, path: Path, line: int, problem: str) -> None:
        self.found.append((self.file_order.index(path), line, f"{path}:{line}: {problem}"))

    def add_to_file(self, path: Path, problem: str) -> None:
        self.found.append((self.file_order.index(path), 0, f"{path}: {problem}"))

    def in_order(self) -> list[str]:
        return [message for _, _, message in sorted(self.found, key=lambda item: item[:2])]


# --- Reading CSV --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    cells: dict[str, str]


def read_csv(path: Path, columns: Sequence[str], problems: Problems) -> list[CsvRow] | None:
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
            rows.append(CsvRow(line, {column: cells[at] for column, at in positions.items()}))
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
class UserRow:
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
class Reference:
    """A cell of enrollments.csv or tutoring.csv naming a user who must have `expected` role."""

    path: Path
    line: int
    column: str
    external_id: str
    expected: Role


def _references(
    path: Path, line: int, cells: list[tuple[str, str | None, Role]]
) -> list[Reference]:
    """References for a row's (column, external id, expected role) cells; empty cells are
    skipped (a required one is already reported)."""
    return [
        Reference(path, line, column, external_id, expected)
        for column, external_id, expected in cells
        if external_id
    ]


@dataclass(frozen=True, slots=True)
class EnrollmentRow:
    path: Path
    line: int
    student: str
    subject: str
    teacher: str | None

    def references(self) -> list[Reference]:
        return _references(
            self.path,
            self.line,
            [
                ("student_external_id", self.student, Role.STUDENT),
                ("teacher_external_id", self.teacher, Role.TEACHER),
            ],
        )


@dataclass(frozen=True, slots=True)
class TutoringRow:
    path: Path
    line: int
    tutor: str
    student: str

    def references(self) -> list[Reference]:
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

    def __init__(self, path: Path, row: CsvRow, problems: Problems) -> None:
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


def parse_users(path: Path, rows: list[CsvRow], problems: Problems) -> list[UserRow]:
    parsed = []
    first_line: dict[str, int] = {}
    for row in rows:
        cells = _CellChecker(path, row, problems)
        external_id = cells.text("external_id", EXTERNAL_ID_LIMIT, required=True)
        if external_id is not None:
            earlier = first_line.setdefault(external_id, row.line)
            if earlier != row.line:
                cells.report(f"external_id {external_id} is already used on line {earlier}")
        user = UserRow(
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


def parse_enrollments(path: Path, rows: list[CsvRow], problems: Problems) -> list[EnrollmentRow]:
    parsed = []
    for row in rows:
        cells = _CellChecker(path, row, problems)
        student = cells.text("student_external_id", EXTERNAL_ID_LIMIT, required=True)
        subject = cells.text("subject", SUBJECT_LIMIT, required=True)
        teacher = cells.text("teacher_external_id", EXTERNAL_ID_LIMIT, required=False)
        subject = " ".join((subject or "").split())
        parsed.append(EnrollmentRow(path, row.line, student or "", subject, teacher))
    return parsed


def parse_tutoring(path: Path, rows: list[CsvRow], problems: Problems) -> list[TutoringRow]:
    parsed = []
    for row in rows:
        cells = _CellChecker(path, row, problems)
        tutor = cells.text("tutor_external_id", EXTERNAL_ID_LIMIT, required=True)
        student = cells.text("student_external_id", EXTERNAL_ID_LIMIT, required=True)
        parsed.append(TutoringRow(path, row.line, tutor or "", student or ""))
    return parsed
