"""Roster import of classes and families: the optional class columns of users.csv and
guardians.csv, mirrored per named student, idempotent, and every refusal as `file:line`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import GuardianLink, User
from db.session import SessionFactory
from services.roster import RosterImportError, TableCounts, import_roster
from tests.test_roster import USERS_HEADER, snapshot, write, write_here

CLASS_HEADER = f"{USERS_HEADER},class,homeroom_class"
FAMILY_USERS = f"""{CLASS_HEADER}
s1,Анна Иванова,,student,,,, 10а ,
s2,Boris Ivanov,,student,,,,10А,
s3,Clara Petrova,,student,,,,5B,
t1,Ольга Смирнова,,teacher,,,,,10А
p1,Мария Иванова,,parent,,,,,
p2,Pavel Ivanov,,parent,,,,,
p3,Petr Petrov,,parent,,,,,
"""
GUARDIANS_HEADER = "guardian_external_id,student_external_id"
FAMILIES = f"""{GUARDIANS_HEADER}
p1,s1
p2,s1
p1,s2
p3,s3
"""


async def classes(session_factory: SessionFactory) -> dict[str, tuple[str | None, ...]]:
    async with session_factory() as session:
        rows = await session.execute(
            select(
                User.external_id,
                User.class_name,
                User.class_key,
                User.homeroom_class,
                User.homeroom_class_key,
            )
        )
        return {external_id: tuple(values) for external_id, *values in rows}


async def families(session_factory: SessionFactory) -> set[tuple[str, str]]:
    async with session_factory() as session:
        external_ids = dict((await session.execute(select(User.id, User.external_id))).all())
        rows = await session.execute(select(GuardianLink.guardian_id, GuardianLink.student_id))
        return {(external_ids[guardian], external_ids[student]) for guardian, student in rows}


@pytest.fixture
async def family_roster(session_factory: SessionFactory, tmp_path: Path) -> dict[str, Path]:
    files = {
        "users": write(tmp_path, "users.csv", FAMILY_USERS),
        "guardians": write(tmp_path, "guardians.csv", FAMILIES),
    }
    report = await import_roster(session_factory, **files)
    assert report.guardian_links == TableCounts(created=4)
    return files


async def test_classes_are_stored_as_spelled_with_a_casefolded_key(
    session_factory: SessionFactory, family_roster: dict[str, Path]
) -> None:
    stored = await classes(session_factory)
    assert stored["s1"] == ("10а", "10а", None, None)  # trimmed, Cyrillic as typed
    assert stored["s2"] == ("10А", "10а", None, None)  # the same class in another case
    assert stored["s3"] == ("5B", "5b", None, None)
    assert stored["t1"] == (None, None, "10А", "10а")
    assert stored["p1"] == (None, None, None, None)
    assert await families(session_factory) == {
        ("p1", "s1"),
        ("p2", "s1"),
        ("p1", "s2"),
        ("p3", "s3"),
    }


async def test_importing_the_same_families_again_changes_nothing(
    session_factory: SessionFactory, family_roster: dict[str, Path]
) -> None:
    before = await snapshot(session_factory)
    report = await import_roster(session_factory, **family_roster)
    assert report.users == TableCounts(unchanged=7)
    assert report.guardian_links == TableCounts(unchanged=4)
    assert (
        report.summary_lines()[-1] == "guardian_links: 0 created, 0 updated, 4 unchanged, 0 deleted"
    )
    assert await snapshot(session_factory) == before


async def test_a_named_students_parents_become_the_files_and_others_keep_theirs(
    session_factory: SessionFactory, tmp_path: Path, family_roster: dict[str, Path]
) -> None:
    # s1 now has p2 only; s2 and s3 are not named and keep their parents.
    guardians = write(tmp_path, "guardians_s1.csv", f"{GUARDIANS_HEADER}\np2,s1\n")
    report = await import_roster(session_factory, family_roster["users"], guardians=guardians)
    assert report.guardian_links == TableCounts(unchanged=1, deleted=1)
    assert await families(session_factory) == {("p2", "s1"), ("p1", "s2"), ("p3", "s3")}


async def test_a_users_file_without_class_columns_keeps_the_classes(
    session_factory: SessionFactory, tmp_path: Path, family_roster: dict[str, Path]
) -> None:
    before = await classes(session_factory)
    # The same users, without the optional columns: nothing to change.
    plain = "\n".join(
        ",".join(line.split(",")[:7]) for line in FAMILY_USERS.strip().splitlines()[1:]
    )
    report = await import_roster(
        session_factory, write(tmp_path, "plain.csv", f"{USERS_HEADER}\n{plain}\n")
    )
    assert report.users == TableCounts(unchanged=7)
    assert await classes(session_factory) == before
    moved = FAMILY_USERS.replace(
        "s3,Clara Petrova,,student,,,,5B,", "s3,Clara Petrova,,student,,,,6b,"
    )
    report = await import_roster(session_factory, write(tmp_path, "moved.csv", moved))
    assert report.users == TableCounts(updated=1, unchanged=6)
    assert (await classes(session_factory))["s3"] == ("6b", "6b", None, None)


async def test_parents_named_only_in_the_database_can_be_linked(
    session_factory: SessionFactory, tmp_path: Path, family_roster: dict[str, Path]
) -> None:
    users = f"{CLASS_HEADER}\ns4,Dina Petrova,,student,,,,5B,\n"
    guardians = f"{GUARDIANS_HEADER}\np3,s4\n"
    report = await import_roster(
        session_factory,
        write(tmp_path, "new_users.csv", users),
        guardians=write(tmp_path, "new_guardians.csv", guardians),
    )
    assert report.guardian_links == TableCounts(created=1)
    assert ("p3", "s4") in await families(session_factory)


GUARDIAN_REFUSALS = {
    "unknown ids": (
        {"guardians": f"{GUARDIANS_HEADER}\nghost,s1\np1,nobody\n"},
        [
            "guardians.csv:2: guardian_external_id ghost: "
            "no such user in the users file or the database",
            "guardians.csv:3: student_external_id nobody: "
            "no such user in the users file or the database",
        ],
    ),
    "a guardian who is not a parent, a student who is not a student": (
        {"guardians": f"{GUARDIANS_HEADER}\nt1,s1\np1,p2\n"},
        [
            "guardians.csv:2: guardian_external_id t1 is a teacher, not a parent",
            "guardians.csv:3: student_external_id p2 is a parent, not a student",
        ],
    ),
    "a duplicate row": (
        {"guardians": f"{GUARDIANS_HEADER}\np1,s1\np2,s1\np1,s1\n"},
        ["guardians.csv:4: guardian p1 of student s1 is already given on line 2"],
    ),
    "empty cells": (
        {"guardians": f"{GUARDIANS_HEADER}\n,s1\np1,\n"},
        [
            "guardians.csv:2: empty guardian_external_id",
            "guardians.csv:3: empty student_external_id",
        ],
    ),
    "a bad header": (
        {"guardians": "parent_external_id,student_external_id\np1,s1\n"},
        ["guardians.csv:1: missing column guardian_external_id"],
    ),
    "a class for a teacher, a homeroom class for a student": (
        {
            "users": f"{CLASS_HEADER}\nt1,Ольга Смирнова,,teacher,,,,10А,\n"
            "s1,Анна Иванова,,student,,,,10а,10а\n"
        },
        [
            "users.csv:2: class is for students only; this user is a teacher",
            "users.csv:3: homeroom_class is for teachers only; this user is a student",
        ],
    ),
    "a class too long": (
        {"users": f"{CLASS_HEADER}\ns1,Анна Иванова,,student,,,,{'x' * 65},\n"},
        ["users.csv:2: class is 65 characters long; the limit is 64"],
    ),
    "the class column given twice": (
        {"users": f"{USERS_HEADER},class,class\ns1,Анна Иванова,,student,,,,10а,10а\n"},
        ["users.csv:1: column class appears more than once"],
    ),
}


@pytest.mark.parametrize(
    ("files", "problems"), GUARDIAN_REFUSALS.values(), ids=GUARDIAN_REFUSALS.keys()
)
async def test_bad_classes_and_families_are_refused_whole_and_write_nothing(
    session_factory: SessionFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    family_roster: dict[str, Path],
    files: dict[str, str],
    problems: list[str],
) -> None:
    before = await snapshot(session_factory)
    written = write_here(tmp_path, monkeypatch, {"users": FAMILY_USERS, **files})
    # A good row beside the bad ones: it is not written either.
    with pytest.raises(RosterImportError) as refused:
        await import_roster(session_factory, written["users"], guardians=written.get("guardians"))
    assert refused.value.problems == problems
    assert await snapshot(session_factory) == before
