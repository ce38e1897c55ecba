"""The roster import's reading: every row checked, against the other files and the
database, before anything is written; the checked rows kept on disk for the writes.

Its own module because the checks that span rows (an external id or a Telegram id used
twice, a link naming a user who does not exist or has another role, a Telegram id that
another user holds in the database) must see the whole files while holding none of them:
the files are streamed once, and only what those checks need is kept in memory, by key
(each file user's role and whether they have a Telegram id, each Telegram id's first
claimant, the database users that links name). The rows themselves go to a `RowSpool`, a
temporary file, from which `services.roster` writes them batch by batch: what is written
is exactly what was checked, even if a file is saved again meanwhile.
"""

from __future__ import annotations

import itertools
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Role, User
from services.roster_csv import (
    CsvFile,
    EnrollmentRow,
    GuardianRow,
    Problems,
    Reference,
    TutoringRow,
    parse_enrollments,
    parse_guardians,
    parse_tutoring,
    parse_users,
)

# Keys per `IN (...)` list, and rows per batch: well under SQLite's and asyncpg's 32767
# bind parameters.
QUERY_CHUNK_SIZE = 5000

T = TypeVar("T")
# Checked rows as plain tuples of their fields (quick to pickle): a users row as UserRow's
# fields, line, external_id, full_name, email, role (valid: not None), telegram_id,
# is_active, language, class, homeroom class; links by external ids, (student, subject,
# teacher), (tutor, student) and (guardian, student).
CheckedUser = tuple[
    int, str, str, str | None, Role, int | None, bool, str | None, str | None, str | None
]
CheckedEnrollment = tuple[str, str, str | None]
CheckedPair = tuple[str, str]
R = TypeVar("R", CheckedUser, CheckedEnrollment, CheckedPair)
LinkRow = EnrollmentRow | TutoringRow | GuardianRow


def chunks(items: Iterable[T], size: int = QUERY_CHUNK_SIZE) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter), consumed lazily."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class RowSpool(Generic[R]):
    """Rows kept in an anonymous temporary file, written and read back in batches (pickled
    lists of plain tuples: quick both ways, and never all in memory)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def write(self, batch: list[R]) -> None:
        if batch:
            pickle.dump(batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def batches(self) -> Iterator[list[R]]:
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)  # our own file, written above
            except EOFError:
                return

    def close(self) -> None:
        self._file.close()


class DatabaseUser(NamedTuple):
    id: int
    role: Role


@dataclass(slots=True)
class CheckedRoster:
    """What writing needs from the reading; used in a `with`, which drops the spools."""

    users: RowSpool[CheckedUser] = field(default_factory=RowSpool)
    enrollments: RowSpool[CheckedEnrollment] = field(default_factory=RowSpool)
    tutoring: RowSpool[CheckedPair] = field(default_factory=RowSpool)
    guardians: RowSpool[CheckedPair] = field(default_factory=RowSpool)
    telegram_ids_to_free: list[str] = field(default_factory=list)
    """External ids of database users whose Telegram id another file user takes (each gets
    another in the file): freed first, so that no row briefly collides (users may swap)."""
    subjects: dict[str, str] = field(default_factory=dict)
    """The enrollments file's subjects, by name ignoring case, in their first spelling."""
    database_users: dict[str, DatabaseUser | None] = field(default_factory=dict)
    """Users that the link files name and the users file does not, as the database has them
    (None: not there either)."""

    def __enter__(self) -> CheckedRoster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for spool in (self.users, self.enrollments, self.tutoring, self.guardians):
            spool.close()


class RosterCheck:
    """One import's reading; every problem goes to `problems` (see `check_roster`)."""

    def __init__(self, session: AsyncSession, problems: Problems, checked: CheckedRoster):
        self.session, self.problems, self.checked = session, problems, checked
        # What the checks need of the users file, by external id (first rows win): each
        # user's role (None if invalid), and who has a Telegram id. Plain dicts and sets,
        # not an object per user, to hold and for the garbage collector to walk.
        self.file_roles: dict[str, Role | None] = {}
        self.with_telegram: set[str] = set()
        self.users_complete = False  # references can be judged against the users file

    async def read_users(self, source: CsvFile) -> None:
        """Every users row; then the Telegram ids against the database."""
        claims: dict[int, tuple[str, int]] = {}  # Telegram id -> its first claimant and line
        for batch in chunks(parse_users(source, self.problems)):
            # UserRow's fields as a plain tuple; a row without a role has a problem anyway.
            self.checked.users.write(
                [(*user[:4], user.role, *user[5:]) for user in batch if user.role is not None]
            )
            for user in batch:
                if user.external_id:
                    self.file_roles.setdefault(user.external_id, user.role)
                if user.telegram_id is None:
                    continue
                self.with_telegram.add(user.external_id)
                claimant, line = claims.setdefault(user.telegram_id, (user.external_id, user.line))
                if line != user.line:
                    self.problems.add(
                        source.path,
                        user.line,
                        f"telegram_id {user.telegram_id} is also given to {claimant} "
                        f"on line {line}",
                    )
        self.users_complete = source.complete
        if self.users_complete:  # a holder further down an unreadable file is unknown
            await self._check_telegram_holders(source, claims)

    async def _check_telegram_holders(
        self, source: CsvFile, claims: dict[int, tuple[str, int]]
    ) -> None:
        """A Telegram id may belong to one user only after the import, not just in the file:
        its holder in the database must be the claimant or be given another one."""
        for chunk in chunks(claims):
            query = select(User.telegram_id, User.external_id).where(User.telegram_id.in_(chunk))
            for telegram_id, holder in await self.session.execute(query):
                assert telegram_id is not None  # selected by value
                claimant, line = claims[telegram_id]
                if holder == claimant:
                    continue
                if holder not in self.with_telegram:  # the holder keeps it
                    self.problems.add(
                        source.path,
                        line,
                        f"telegram_id {telegram_id} already belongs to user {holder} "
                        "in the database",
                    )
                else:
                    self.checked.telegram_ids_to_free.append(holder)

    async def read_enrollments(self, source: CsvFile) -> None:
        subjects = self.checked.subjects
        for batch in chunks(parse_enrollments(source, self.problems)):
            self.checked.enrollments.write(
                [(row.student, row.subject, row.teacher) for row in batch]
            )
            for row in batch:
                if row.subject:
                    subjects.setdefault(row.subject.casefold(), row.subject)
            await self._judge_references(batch)

    async def read_tutoring(self, source: CsvFile) -> None:
        for batch in chunks(parse_tutoring(source, self.problems)):
            self.checked.tutoring.write([(row.tutor, row.student) for row in batch])
            await self._judge_references(batch)

    async def read_guardians(self, source: CsvFile) -> None:
        for batch in chunks(parse_guardians(source, self.problems)):
            self.checked.guardians.write([(row.guardian, row.student) for row in batch])
            await self._judge_references(batch)

    async def _judge_references(self, rows: Sequence[LinkRow]) -> None:
        """Each user a row names must exist, in the users file or the database, with the
        right role as it will be after the import (the file wins). Judged only against a
        complete users file; the users only in the database are looked up per batch."""
        if not self.users_complete:
            return
        looked_up: list[LinkRow] = []  # rows naming users not in the file
        for row in rows:
            references = row.references()
            if all(external_id in self.file_roles for _, external_id, _ in references):
                self._judge(row, references)
            else:
                looked_up.append(row)
        if not looked_up:
            return
        known = self.checked.database_users
        wanted = {
            external_id
            for row in looked_up
            for _, external_id, _ in row.references()
            if external_id not in self.file_roles and external_id not in known
        }
        for chunk in chunks(sorted(wanted)):
            query = select(User.external_id, User.id, User.role).where(User.external_id.in_(chunk))
            for external_id, user_id, role in await self.session.execute(query):
                known[external_id] = DatabaseUser(user_id, role)
        for external_id in wanted:
            known.setdefault(external_id, None)
        for row in looked_up:
            self._judge(row, row.references())

    def _judge(self, row: LinkRow, references: list[Reference]) -> None:
        """Reports the row's references to missing users or users of another role. A users
        row with an invalid role is already reported, so references to it are not judged."""
        for column, external_id, expected in references:
            if external_id in self.file_roles:
                role = self.file_roles[external_id]
            elif (in_database := self.checked.database_users.get(external_id)) is not None:
                role = in_database.role
            else:
                self.problems.add(
                    row.path,
                    row.line,
                    f"{column} {external_id}: no such user in the users file or the database",
                )
                continue
            if role is not None and role is not expected:
                self.problems.add(
                    row.path,
                    row.line,
                    f"{column} {external_id} is a {role.value}, not a {expected.value}",
                )


async def check_roster(
    session: AsyncSession,
    problems: Problems,
    checked: CheckedRoster,
    users: CsvFile | None,
    enrollments: CsvFile | None,
    tutoring: CsvFile | None,
    guardians: CsvFile | None = None,
) -> None:
    """Reads the usable files once into `checked`, adding every problem to `problems`; the
    users file first, since the link files are judged against it."""
    check = RosterCheck(session, problems, checked)
    if users is not None:
        await check.read_users(users)
    if enrollments is not None:
        await check.read_enrollments(enrollments)
    if tutoring is not None:
        await check.read_tutoring(tutoring)
    if guardians is not None:
        await check.read_guardians(guardians)
