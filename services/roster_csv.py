"""Reading the roster's CSV files row by row, every bad cell reported as `file:line`.

Its own module because understanding a school's export (encodings, delimiters, column
names, cell formats) needs no database; `services.roster_check` judges the rows against
each other and the database, and `services.roster` writes them.

Files. UTF-8 with or without a BOM; comma or semicolon delimiter, taken from the header
line (spreadsheets in Russian locales export semicolons). Columns are found by name in any
order; every documented column must be present except the optional ones (users.csv's
`class` and `homeroom_class`), extra columns are ignored. Cells are
trimmed; blank lines are skipped.

Rows are streamed, never held: `open_csv` checks the encoding and the header, then
`CsvFile.rows()` yields one row at a time.

Control characters. A tab or a line break inside a cell (a quoted cell may span lines)
counts as a space, each run of them one space, so a name pasted with a tab or typed with
Alt+Enter in a spreadsheet arrives on one line. Any other control character (NUL,
U+0001-U+001F, DEL, U+0080-U+009F) in a column the import reads is a problem naming the
column: such a cell is a broken export, and PostgreSQL cannot even store a NUL.
"""

from __future__ import annotations

import csv
import operator
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import String
from sqlalchemy.orm import QueryableAttribute

from core.languages import SUPPORTED_LANGUAGES, supported_language
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
USERS_OPTIONAL_COLUMNS = ("class", "homeroom_class")
ENROLLMENTS_COLUMNS = ("student_external_id", "subject", "teacher_external_id")
TUTORING_COLUMNS = ("tutor_external_id", "student_external_id")
GUARDIANS_COLUMNS = ("guardian_external_id", "student_external_id")

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})
MAX_TELEGRAM_ID = 2**63 - 1  # BIGINT

# Tabs and line breaks inside a cell become one space; other C0/C1 controls are refused.
_TABS_AND_LINE_BREAKS = re.compile(r"[\t\n\r]+")
_OTHER_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


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


class CsvRow(NamedTuple):
    """A non-blank row: its first physical line and the raw cells of the columns read (an
    optional column the file lacks reads as an empty cell)."""

    line: int
    cells: dict[str, str]


def _is_utf8(path: Path, problems: Problems) -> bool:
    """Whether the file can be read as UTF-8; reports the problem when it cannot.

    Lines are decoded one by one (a UTF-8 sequence never contains a newline byte), so the
    problem names the line of the first byte that is not UTF-8.
    """
    try:
        with path.open("rb") as file:
            for number, line in enumerate(file, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    problems.add(path, number, "not UTF-8 text; save the file as CSV UTF-8")
                    return False
    except OSError as error:
        problems.add_to_file(path, f"cannot read the file ({error.strerror})")
        return False
    return True


class CsvFile:
    """A roster file with the right encoding and header, whose rows are read by `rows()`.

    `complete` turns False when the reading stopped early at unreadable CSV (reported), so
    the checks that need the whole file can be skipped.
    """

    def __init__(
        self,
        path: Path,
        delimiter: str,
        width: int,
        positions: dict[str, int],
        absent: Sequence[str] = (),
    ):
        self.path, self.delimiter, self.width = path, delimiter, width
        self._columns = tuple(positions)
        self._pick = operator.itemgetter(*positions.values())  # two columns or more: a tuple
        self._absent = dict.fromkeys(absent, "")
        self.complete = True

    def rows(self, problems: Problems) -> Iterator[CsvRow]:
        last_line = 1
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as file:
                reader = csv.reader(file, delimiter=self.delimiter)
                next(reader, None)  # the header, checked by open_csv
                last_line = reader.line_num
                for raw_cells in reader:
                    line, last_line = last_line + 1, reader.line_num
                    if not "".join(raw_cells).strip():
                        continue
                    missing = self.width - len(raw_cells)
                    if missing < 0:
                        problems.add(
                            self.path,
                            line,
                            f"{len(raw_cells)} cells but the header has {self.width}; "
                            f"a cell containing '{self.delimiter}' must be in double quotes",
                        )
                        continue
                    if missing:
                        raw_cells += [""] * missing
                    cells = dict(zip(self._columns, self._pick(raw_cells), strict=True))
                    yield CsvRow(line, cells | self._absent if self._absent else cells)
        except csv.Error as error:
            self.complete = False
            problems.add(self.path, last_line + 1, f"unreadable CSV ({error})")
        except UnicodeDecodeError:  # saved again, in another encoding, since it was opened
            self.complete = False
            problems.add_to_file(self.path, "not UTF-8 text; save the file as CSV UTF-8")
        except OSError as error:
            self.complete = False
            problems.add_to_file(self.path, f"cannot read the file ({error.strerror})")


def open_csv(
    path: Path, columns: Sequence[str], problems: Problems, optional: Sequence[str] = ()
) -> CsvFile | None:
    """The file, ready to be read, or None when the file itself is unusable (reported).
    `optional` columns may be missing; given twice, they are a problem too."""
    if not _is_utf8(path, problems):
        return None
    with path.open(encoding="utf-8-sig", newline="") as file:
        header_line = file.readline()
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        file.seek(0)
        try:
            header = next(csv.reader(file, delimiter=delimiter), [])
        except csv.Error as error:
            problems.add(path, 1, f"unreadable CSV ({error})")
            return None
    names = [name.strip().lower() for name in header]
    if not any(names):
        problems.add(path, 1, f"no header line; expected the columns {', '.join(columns)}")
        return None
    for column in columns:
        if column not in names:
            problems.add(path, 1, f"missing column {column}")
        elif names.count(column) > 1:
            problems.add(path, 1, f"column {column} appears more than once")
    for column in optional:
        if names.count(column) > 1:
            problems.add(path, 1, f"column {column} appears more than once")
    if any(names.count(column) != 1 for column in columns) or any(
        names.count(column) > 1 for column in optional
    ):
        return None
    present = [column for column in (*columns, *optional) if column in names]
    positions = {column: names.index(column) for column in present}
    absent = [column for column in optional if column not in names]
    return CsvFile(path, delimiter, len(names), positions, absent)


def _max_length(attribute: QueryableAttribute[Any]) -> int:
    """The VARCHAR length of a model column, so the import refuses what the database would."""
    column_type = attribute.expression.type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"{attribute} is not a VARCHAR(n) column")
    return column_type.length


EXTERNAL_ID_LIMIT = _max_length(User.external_id)
FULL_NAME_LIMIT = _max_length(User.full_name)
EMAIL_LIMIT = _max_length(User.email)
SUBJECT_LIMIT = _max_length(Subject.name)
CLASS_LIMIT = _max_length(User.class_name)


# --- Parsing rows -------------------------------------------------------------------------


class UserRow(NamedTuple):
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
    class_name: str | None = None
    homeroom_class: str | None = None


Reference = tuple[str, str, Role]
"""A link file's cell naming a user: (column, external id, the role the user must have)."""


class EnrollmentRow(NamedTuple):
    path: Path
    line: int
    student: str
    subject: str
    teacher: str | None

    def references(self) -> list[Reference]:
        """The users the row names; an empty cell names nobody (a required one is reported)."""
        references = [("student_external_id", self.student, Role.STUDENT)] if self.student else []
        if self.teacher:
            references.append(("teacher_external_id", self.teacher, Role.TEACHER))
        return references


class TutoringRow(NamedTuple):
    path: Path
    line: int
    tutor: str
    student: str

    def references(self) -> list[Reference]:
        """The users the row names; an empty cell names nobody (a required one is reported)."""
        references = [("tutor_external_id", self.tutor, Role.TUTOR)] if self.tutor else []
        if self.student:
            references.append(("student_external_id", self.student, Role.STUDENT))
        return references


class GuardianRow(NamedTuple):
    path: Path
    line: int
    guardian: str
    student: str

    def references(self) -> list[Reference]:
        """The users the row names; an empty cell names nobody (a required one is reported)."""
        references = [("guardian_external_id", self.guardian, Role.PARENT)] if self.guardian else []
        if self.student:
            references.append(("student_external_id", self.student, Role.STUDENT))
        return references


class _CellChecker:
    """Parses the cells of a file's rows, reporting each bad cell against its row's line."""

    def __init__(self, path: Path, problems: Problems) -> None:
        self.path, self.problems = path, problems

    def report(self, row: CsvRow, problem: str) -> None:
        self.problems.add(self.path, row.line, problem)

    def cell(self, row: CsvRow, column: str) -> str | None:
        """The trimmed cell, tabs and line breaks made spaces; None (reported) when it
        holds another control character."""
        value = row.cells[column]
        if value.isprintable():  # the usual cell, told at C speed: no control character
            return value.strip()
        control = _OTHER_CONTROLS.search(value)
        if control is not None:
            self.report(row, f"{column} contains a control character (U+{ord(control[0]):04X})")
            return None
        return _TABS_AND_LINE_BREAKS.sub(" ", value).strip()

    def text(self, row: CsvRow, column: str, limit: int, *, required: bool) -> str | None:
        value = self.cell(row, column)
        if value is None:
            return None
        if not value:
            if required:
                self.report(row, f"empty {column}")
            return None
        if len(value) > limit:
            self.report(row, f"{column} is {len(value)} characters long; the limit is {limit}")
            return None
        return value

    def role(self, row: CsvRow) -> Role | None:
        value = self.cell(row, "role")
        if value is None:
            return None
        if not value:
            self.report(row, "empty role")
            return None
        try:
            return Role(value.lower())
        except ValueError:
            expected = ", ".join(role.value for role in Role)
            self.report(row, f"unknown role '{value}' (expected one of {expected})")
            return None

    def telegram_id(self, row: CsvRow) -> int | None:
        value = self.cell(row, "telegram_id")
        if not value:
            return None
        if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_TELEGRAM_ID:
            self.report(row, f"telegram_id '{value}' is not a Telegram user id (a positive number)")
            return None
        return int(value)

    def is_active(self, row: CsvRow) -> bool:
        value = self.cell(row, "is_active") or ""  # a cell cell() refuses is reported already
        if value.lower() in FALSE_WORDS:
            return False
        if value and value.lower() not in TRUE_WORDS:
            self.report(
                row, f"is_active '{value}' is not one of true/false/1/0/yes/no (empty means true)"
            )
        return True

    def language(self, row: CsvRow) -> str | None:
        """A language the bot speaks, as its catalogs name it: `en-US` and `EN` are `en`."""
        value = self.cell(row, "language")
        if not value:
            return None
        language = supported_language(value)
        if language is None:
            self.report(
                row,
                f"language '{value}' is not one of {'/'.join(SUPPORTED_LANGUAGES)} "
                "(a regional form such as en-US or ru_RU counts; may be empty)",
            )
        return language

    def class_of(self, row: CsvRow, column: str, role: Role | None, holder: Role) -> str | None:
        """A class name (`class` for a student, `homeroom_class` for a teacher), one space
        between words; on another role a class is a problem."""
        value = self.text(row, column, CLASS_LIMIT, required=False)
        if value is None:
            return None
        if role is not None and role is not holder:
            self.report(row, f"{column} is for {holder.value}s only; this user is a {role.value}")
            return None
        return " ".join(value.split())


def parse_users(source: CsvFile, problems: Problems) -> Iterator[UserRow]:
    """The users file's rows, parsed; a repeated external_id is reported on its later line."""
    cells = _CellChecker(source.path, problems)
    first_line: dict[str, int] = {}
    for row in source.rows(problems):
        external_id = cells.text(row, "external_id", EXTERNAL_ID_LIMIT, required=True)
        if external_id is not None:
            earlier = first_line.setdefault(external_id, row.line)
            if earlier != row.line:
                cells.report(row, f"external_id {external_id} is already used on line {earlier}")
        full_name = cells.text(row, "full_name", FULL_NAME_LIMIT, required=True) or ""
        email = cells.text(row, "email", EMAIL_LIMIT, required=False)
        role = cells.role(row)
        yield UserRow(
            row.line,
            external_id or "",
            full_name,
            email,
            role,
            cells.telegram_id(row),
            cells.is_active(row),
            cells.language(row),
            cells.class_of(row, "class", role, Role.STUDENT),
            cells.class_of(row, "homeroom_class", role, Role.TEACHER),
        )


def parse_enrollments(source: CsvFile, problems: Problems) -> Iterator[EnrollmentRow]:
    cells = _CellChecker(source.path, problems)
    for row in source.rows(problems):
        student = cells.text(row, "student_external_id", EXTERNAL_ID_LIMIT, required=True)
        subject = cells.text(row, "subject", SUBJECT_LIMIT, required=True)
        teacher = cells.text(row, "teacher_external_id", EXTERNAL_ID_LIMIT, required=False)
        subject = " ".join((subject or "").split())
        yield EnrollmentRow(source.path, row.line, student or "", subject, teacher)


def parse_guardians(source: CsvFile, problems: Problems) -> Iterator[GuardianRow]:
    """The guardians file's rows; a pair given twice is reported on its later line."""
    cells = _CellChecker(source.path, problems)
    first_line: dict[tuple[str, str], int] = {}
    for row in source.rows(problems):
        guardian = cells.text(row, "guardian_external_id", EXTERNAL_ID_LIMIT, required=True)
        student = cells.text(row, "student_external_id", EXTERNAL_ID_LIMIT, required=True)
        if guardian and student:
            earlier = first_line.setdefault((guardian, student), row.line)
            if earlier != row.line:
                cells.report(
                    row,
                    f"guardian {guardian} of student {student} is already given on line {earlier}",
                )
        yield GuardianRow(source.path, row.line, guardian or "", student or "")


def parse_tutoring(source: CsvFile, problems: Problems) -> Iterator[TutoringRow]:
    cells = _CellChecker(source.path, problems)
    for row in source.rows(problems):
        tutor = cells.text(row, "tutor_external_id", EXTERNAL_ID_LIMIT, required=True)
        student = cells.text(row, "student_external_id", EXTERNAL_ID_LIMIT, required=True)
        yield TutoringRow(source.path, row.line, tutor or "", student or "")
