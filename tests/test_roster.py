"""Roster import: idempotent upserts, mirrored links, file formats, and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import Enrollment, GuardianLink, Role, Subject, TutorAssignment, User
from db.session import SessionFactory
from services.roster import RosterImportError, RosterReport, TableCounts, import_roster
from services.roster_check import QUERY_CHUNK_SIZE

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "roster"

USERS_HEADER = "external_id,full_name,email,role,telegram_id,is_active,language"
BASE_USERS = f"""{USERS_HEADER}
s1,Анна Иванова,anna@example.org,student,100000001,,ru
s2,Boris Petrov,,student,100000002,true,en
t1,Ольга Смирнова,olga@example.org,teacher,100000003,,ru
tu1,Ivan Tutor,,tutor,,,
p1,Parent One,,parent,100000005,no,
"""
BASE_ENROLLMENTS = """student_external_id,subject,teacher_external_id
s1,Mathematics,t1
s2,Physics,
"""
BASE_TUTORING = """tutor_external_id,student_external_id
tu1,s1
"""


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def write_here(
    folder: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str | bytes]
) -> dict[str, Path]:
    """Writes `{name}.csv` files in `folder`, made the working directory so that problems
    name the files as a user would type them: `users.csv:2: ...`."""
    monkeypatch.chdir(folder)
    paths = {}
    for name, content in files.items():
        path = Path(f"{name}.csv")
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths[name] = path
    return paths


async def snapshot(session_factory: SessionFactory) -> dict[str, list[tuple[object, ...]]]:
    """Every roster row, to show that a refused import wrote nothing."""
    async with session_factory() as session:
        users = await session.execute(
            select(
                User.external_id,
                User.full_name,
                User.email,
                User.role,
                User.is_active,
                User.telegram_id,
                User.language_code,
                User.class_name,
                User.class_key,
                User.homeroom_class,
                User.homeroom_class_key,
            ).order_by(User.external_id)
        )
        subjects = await session.execute(select(Subject.id, Subject.name).order_by(Subject.id))
        enrollments = await session.execute(
            select(Enrollment.student_id, Enrollment.subject_id, Enrollment.teacher_id).order_by(
                Enrollment.id
            )
        )
        tutoring = await session.execute(
            select(TutorAssignment.tutor_id, TutorAssignment.student_id).order_by(
                TutorAssignment.id
            )
        )
        guardians = await session.execute(
            select(GuardianLink.guardian_id, GuardianLink.student_id).order_by(GuardianLink.id)
        )
        return {
            "users": [tuple(row) for row in users],
            "subjects": [tuple(row) for row in subjects],
            "enrollments": [tuple(row) for row in enrollments],
            "tutor_assignments": [tuple(row) for row in tutoring],
            "guardian_links": [tuple(row) for row in guardians],
        }


async def user(session_factory: SessionFactory, external_id: str) -> User:
    async with session_factory() as session:
        return (await session.execute(select(User).filter_by(external_id=external_id))).scalar_one()


async def links(session_factory: SessionFactory) -> dict[str, set[tuple[str, ...]]]:
    """Enrollments and tutoring by external ids and subject names."""
    async with session_factory() as session:
        external_ids = dict((await session.execute(select(User.id, User.external_id))).all())
        subjects = dict((await session.execute(select(Subject.id, Subject.name))).all())
        enrollments = await session.execute(
            select(Enrollment.student_id, Enrollment.subject_id, Enrollment.teacher_id)
        )
        tutoring = await session.execute(
            select(TutorAssignment.tutor_id, TutorAssignment.student_id)
        )
        return {
            "enrollments": {
                (external_ids[student], subjects[subject], external_ids[teacher] if teacher else "")
                for student, subject, teacher in enrollments
            },
            "tutoring": {
                (external_ids[tutor], external_ids[student]) for tutor, student in tutoring
            },
        }


@pytest.fixture
async def base_roster(session_factory: SessionFactory, tmp_path: Path) -> dict[str, Path]:
    """The base roster, imported; returns its files."""
    files = {
        "users": write(tmp_path, "base_users.csv", BASE_USERS),
        "enrollments": write(tmp_path, "base_enrollments.csv", BASE_ENROLLMENTS),
        "tutoring": write(tmp_path, "base_tutoring.csv", BASE_TUTORING),
    }
    await import_roster(session_factory, **files)
    return files


# --- Successful imports -------------------------------------------------------------------


async def test_example_roster_imports_cleanly_and_twice_changes_nothing(
    session_factory: SessionFactory,
) -> None:
    files = {
        "users": EXAMPLES / "users.csv",
        "enrollments": EXAMPLES / "enrollments.csv",
        "tutoring": EXAMPLES / "tutoring.csv",
        "guardians": EXAMPLES / "guardians.csv",
    }
    assert (EXAMPLES / "users.csv").read_bytes().startswith(b"\xef\xbb\xbfexternal_id;")

    first = await import_roster(session_factory, **files)

    assert first == RosterReport(
        users=TableCounts(created=53),
        subjects=TableCounts(created=6),
        enrollments=TableCounts(created=68),
        tutor_assignments=TableCounts(created=8),
        guardian_links=TableCounts(created=25),
    )
    state = await snapshot(session_factory)
    roles = [row[3] for row in state["users"]]
    assert {role: roles.count(role) for role in Role} == {
        Role.STUDENT: 20,
        Role.TEACHER: 7,
        Role.TUTOR: 3,
        Role.PARENT: 21,
        Role.ADMIN: 2,
    }
    assert [row[0] for row in state["users"] if row[4] is False] == ["S017"]
    # Nobody is linked: Telegram ids in an example would make their real owners admins.
    async with session_factory() as session:
        linked = await session.scalar(
            select(func.count(User.id)).where(User.telegram_id.is_not(None))
        )
    assert linked == 0
    assert (await user(session_factory, "T05")).full_name == "Emily Carter"
    assert (await user(session_factory, "S001")).full_name == "Иванов Артём Сергеевич"

    second = await import_roster(session_factory, **files)

    assert second == RosterReport(
        users=TableCounts(unchanged=53),
        subjects=TableCounts(unchanged=6),
        enrollments=TableCounts(unchanged=68),
        tutor_assignments=TableCounts(unchanged=8),
        guardian_links=TableCounts(unchanged=25),
    )
    assert await snapshot(session_factory) == state


def test_summary_lines_name_each_imported_table() -> None:
    report = RosterReport(
        users=TableCounts(created=3, updated=1, unchanged=36),
        subjects=TableCounts(created=1, unchanged=5),
        enrollments=TableCounts(created=2, unchanged=60, deleted=1),
    )

    assert report.summary_lines() == [
        "users: 3 created, 1 updated, 36 unchanged",
        "subjects: 1 created, 0 updated, 5 unchanged",
        "enrollments: 2 created, 0 updated, 60 unchanged, 1 deleted",
    ]


async def test_changed_fields_are_updated_and_the_rest_unchanged(
    session_factory: SessionFactory, tmp_path: Path, base_roster: dict[str, Path]
) -> None:
    changed = f"""{USERS_HEADER}
s1,Анна Иванова-Петрова,anna.p@example.org,student,100000011,false,en
s2,Boris Petrov,,teacher,100000002,true,en
t1,Ольга Смирнова,olga@example.org,teacher,100000003,,ru
tu1,Ivan Tutor,,tutor,,,
p1,Parent One,,parent,100000005,yes,
new1,New Parent,new@example.org,parent,,,
"""
    report = await import_roster(session_factory, write(tmp_path, "users.csv", changed))

    assert report == RosterReport(users=TableCounts(created=1, updated=3, unchanged=2))
    s1 = await user(session_factory, "s1")
    assert (s1.full_name, s1.email, s1.telegram_id, s1.is_active, s1.language_code) == (
        "Анна Иванова-Петрова",
        "anna.p@example.org",
        100000011,
        False,
        "en",
    )
    assert (await user(session_factory, "s2")).role is Role.TEACHER
    assert (await user(session_factory, "p1")).is_active is True
    new = await user(session_factory, "new1")
    assert (new.role, new.is_active, new.telegram_id, new.created_at.tzinfo is not None) == (
        Role.PARENT,
        True,
        None,
        True,
    )


async def test_blank_cells_and_absent_users_keep_what_the_database_has(
    session_factory: SessionFactory, tmp_path: Path, base_roster: dict[str, Path]
) -> None:
    before = await snapshot(session_factory)
    blanks = f"""{USERS_HEADER}
s1,Анна Иванова,,student,,,
"""
    report = await import_roster(session_factory, write(tmp_path, "users.csv", blanks))

    assert report.users == TableCounts(unchanged=1)
    s1 = await user(session_factory, "s1")
    assert (s1.email, s1.telegram_id, s1.language_code) == ("anna@example.org", 100000001, "ru")
    assert await snapshot(session_factory) == before  # and users absent from the file stay


async def test_two_users_can_swap_telegram_ids(
    session_factory: SessionFactory, tmp_path: Path, base_roster: dict[str, Path]
) -> None:
    swapped = f"""{USERS_HEADER}
s1,Анна Иванова,anna@example.org,student,100000002,,ru
s2,Boris Petrov,,student,100000001,true,en
"""
    report = await import_roster(session_factory, write(tmp_path, "users.csv", swapped))

    assert report.users == TableCounts(updated=2)
    assert (await user(session_factory, "s1")).telegram_id == 100000002
    assert (await user(session_factory, "s2")).telegram_id == 100000001


async def test_bom_semicolons_spaces_and_free_column_order(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    users = (
        " Role ; external_id;full_name ;class;email;telegram_id;is_active;language\r\n"
        " student ; s1 ;  Мария Котова ;9А;;  123456789 ; YES ;ru\r\n"
        "\r\n"
        "teacher;t1;Pavel Orlov;;;;No;\r\n"
        ";;;;;;;\r\n"
    )
    enrollments = "subject;teacher_external_id;student_external_id\n Russian  Language ;t1;s1\n"
    report = await import_roster(
        session_factory,
        write(tmp_path, "users.csv", users, encoding="utf-8-sig"),
        write(tmp_path, "enrollments.csv", enrollments, encoding="utf-8-sig"),
    )

    assert report.users == TableCounts(created=2)
    state = await snapshot(session_factory)
    assert state["users"] == [
        ("s1", "Мария Котова", None, Role.STUDENT, True, 123456789, "ru", "9А", "9а", None, None),
        ("t1", "Pavel Orlov", None, Role.TEACHER, False, None, None, None, None, None, None),
    ]
    assert state["subjects"] == [(state["subjects"][0][0], "Russian Language")]
    assert await links(session_factory) == {
        "enrollments": {("s1", "Russian Language", "t1")},
        "tutoring": set(),
    }


@pytest.mark.parametrize(
    ("cell", "active"),
    [("true", True), ("FALSE", False), ("1", True), ("0", False), ("Yes", True), ("no", False)],
)
async def test_is_active_words(
    session_factory: SessionFactory, tmp_path: Path, cell: str, active: bool
) -> None:
    users = f"{USERS_HEADER}\np1,Parent,,parent,,{cell},\n"
    await import_roster(session_factory, write(tmp_path, "users.csv", users))

    assert (await user(session_factory, "p1")).is_active is active


@pytest.mark.parametrize(
    ("cell", "language"),
    [("ru", "ru"), ("EN", "en"), ("en-US", "en"), ("ru_RU", "ru"), (" Ru-ru ", "ru"), ("", None)],
)
async def test_language_regional_forms_and_case_name_the_catalog_language(
    session_factory: SessionFactory, tmp_path: Path, cell: str, language: str | None
) -> None:
    users = f"{USERS_HEADER}\np1,Parent,,parent,,,{cell}\n"
    await import_roster(session_factory, write(tmp_path, "users.csv", users))

    assert (await user(session_factory, "p1")).language_code == language


async def test_link_files_may_name_users_only_in_the_database(
    session_factory: SessionFactory, tmp_path: Path, base_roster: dict[str, Path]
) -> None:
    users = f"{USERS_HEADER}\ntu2,Second Tutor,,tutor,,,\n"
    enrollments = "student_external_id,subject,teacher_external_id\ns2,mathematics,t1\n"
    tutoring = "tutor_external_id,student_external_id\ntu2,s2\n"

    report = await import_roster(
        session_factory,
        write(tmp_path, "users.csv", users),
        write(tmp_path, "enrollments.csv", enrollments),
        write(tmp_path, "tutoring.csv", tutoring),
    )

    assert report.subjects == TableCounts(unchanged=1)  # "mathematics" is Mathematics
    assert report.enrollments == TableCounts(created=1, deleted=1)
    assert report.tutor_assignments == TableCounts(created=1)
    assert await links(session_factory) == {
        "enrollments": {("s1", "Mathematics", "t1"), ("s2", "Mathematics", "t1")},
        "tutoring": {("tu1", "s1"), ("tu2", "s2")},
    }


async def test_links_of_named_students_mirror_the_file_and_others_stay(
    session_factory: SessionFactory, tmp_path: Path, base_roster: dict[str, Path]
) -> None:
    users = f"""{BASE_USERS}t2,Second Teacher,,teacher,,,
tu2,Second Tutor,,tutor,,,
"""
    # s1 changes teacher and adds Physics (twice: a repeat is harmless); s2 is not named.
    enrollments = """student_external_id,subject,teacher_external_id
s1,Mathematics,t2
s1,Physics,
s1,Physics,
"""
    tutoring = "tutor_external_id,student_external_id\ntu2,s1\n"

    report = await import_roster(
        session_factory,
        write(tmp_path, "users.csv", users),
        write(tmp_path, "enrollments.csv", enrollments),
        write(tmp_path, "tutoring.csv", tutoring),
    )

    assert report.subjects == TableCounts(unchanged=2)
    assert report.enrollments == TableCounts(created=2, deleted=1)
    assert report.tutor_assignments == TableCounts(created=1, deleted=1)
    assert await links(session_factory) == {
        "enrollments": {
            ("s1", "Mathematics", "t2"),
            ("s1", "Physics", ""),
            ("s2", "Physics", ""),
        },
        "tutoring": {("tu2", "s1")},
    }


async def test_repeated_enrollments_without_teacher_are_collapsed(
    session_factory: SessionFactory, tmp_path: Path, base_roster: dict[str, Path]
) -> None:
    # NULL teachers are distinct for the unique constraint, so such repeats can exist.
    async with session_factory() as session, session.begin():
        existing = (
            await session.execute(select(Enrollment).filter_by(teacher_id=None))
        ).scalar_one()
        session.add(Enrollment(student_id=existing.student_id, subject_id=existing.subject_id))

    report = await import_roster(
        session_factory,
        base_roster["users"],
        write(
            tmp_path,
            "enrollments.csv",
            "student_external_id,subject,teacher_external_id\ns2,Physics,\n",
        ),
    )

    assert report.enrollments == TableCounts(unchanged=1, deleted=1)
    assert len((await snapshot(session_factory))["enrollments"]) == 2


async def test_tabs_and_line_breaks_inside_cells_become_one_space(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    users = (
        f'{USERS_HEADER}\ns1,"Anna\tMaria\r\nIvanova",,student,,,\nt1,Pavel \t Orlov,,teacher,,,\n'
    )
    enrollments = 'student_external_id,subject,teacher_external_id\ns1,"Russian\nLanguage",t1\n'

    await import_roster(
        session_factory,
        write(tmp_path, "users.csv", users),
        write(tmp_path, "enrollments.csv", enrollments),
    )

    assert (await user(session_factory, "s1")).full_name == "Anna Maria Ivanova"
    assert (await user(session_factory, "t1")).full_name == "Pavel   Orlov"
    assert await links(session_factory) == {
        "enrollments": {("s1", "Russian Language", "t1")},
        "tutoring": set(),
    }


def filler_users(count: int, first_telegram_id: int = 200_000_000) -> str:
    return "".join(
        f"f{number},Filler {number},,student,{first_telegram_id + number},,\n"
        for number in range(count)
    )


async def test_a_roster_of_several_batches_swaps_ids_across_them_and_mirrors_links(
    session_factory: SessionFactory, tmp_path: Path, base_roster: dict[str, Path]
) -> None:
    """s1 is in the first batch and s2 in the last: their Telegram ids still swap."""
    count = QUERY_CHUNK_SIZE + 10
    users = (
        f"{USERS_HEADER}\ns1,Анна Иванова,anna@example.org,student,100000002,,ru\n"
        f"{filler_users(count)}s2,Boris Petrov,,student,100000001,true,en\n"
    )
    enrollments = "student_external_id,subject,teacher_external_id\n" + "".join(
        f"f{number},{'Mathematics' if number % 2 else 'Physics'},t1\n" for number in range(count)
    )
    tutoring = "tutor_external_id,student_external_id\ntu1,f0\ntu1,f5009\n"

    report = await import_roster(
        session_factory,
        write(tmp_path, "users.csv", users),
        write(tmp_path, "enrollments.csv", enrollments),
        write(tmp_path, "tutoring.csv", tutoring),
    )

    assert report == RosterReport(
        users=TableCounts(created=count, updated=2),
        subjects=TableCounts(unchanged=2),
        enrollments=TableCounts(created=count),
        tutor_assignments=TableCounts(created=2),
    )
    assert (await user(session_factory, "s1")).telegram_id == 100000002
    assert (await user(session_factory, "s2")).telegram_id == 100000001
    assert (await user(session_factory, "f5009")).telegram_id == 200005009
    state = await links(session_factory)
    assert len(state["enrollments"]) == count + 2  # s1's and s2's stay: not in the file
    assert ("f5008", "Physics", "t1") in state["enrollments"]
    assert state["tutoring"] == {("tu1", "s1"), ("tu1", "f0"), ("tu1", "f5009")}

    again = await import_roster(
        session_factory,
        write(tmp_path, "users.csv", users),
        write(tmp_path, "enrollments.csv", enrollments),
        write(tmp_path, "tutoring.csv", tutoring),
    )

    assert again == RosterReport(
        users=TableCounts(unchanged=count + 2),
        subjects=TableCounts(unchanged=2),
        enrollments=TableCounts(unchanged=count),
        tutor_assignments=TableCounts(unchanged=2),
    )


async def test_problems_of_several_batches_are_all_reported_in_line_order(
    session_factory: SessionFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    base_roster: dict[str, Path],
) -> None:
    """Links naming users only in the database are looked up batch by batch."""
    count = QUERY_CHUNK_SIZE + 10
    await import_roster(
        session_factory, write(tmp_path, "fillers.csv", f"{USERS_HEADER}\n{filler_users(count)}")
    )
    before = await snapshot(session_factory)
    paths = write_here(
        tmp_path,
        monkeypatch,
        {
            "users": f"{USERS_HEADER}\nn1,New Teacher,,teacher,,,\nn2,Clash,,parent,200000003,,\n",
            "enrollments": "student_external_id,subject,teacher_external_id\n"
            + "".join(f"f{number},Mathematics,n1\n" for number in range(count))
            + "ghost,Mathematics,f7\ns1,Mathematics,t1\n",
        },
    )

    with pytest.raises(RosterImportError) as refused:
        await import_roster(session_factory, **paths)

    assert refused.value.problems == [
        "users.csv:3: telegram_id 200000003 already belongs to user f3 in the database",
        f"enrollments.csv:{count + 2}: student_external_id ghost: "
        "no such user in the users file or the database",
        f"enrollments.csv:{count + 2}: teacher_external_id f7 is a student, not a teacher",
    ]
    assert await snapshot(session_factory) == before


# --- Refused imports ----------------------------------------------------------------------

ROLES = "student, teacher, tutor, parent, admin"
REFUSALS = {
    "unknown role": (
        {"users": f"{USERS_HEADER}\ns1,Анна Иванова,,student,,,\nx1,Director,,principal,,,\n"},
        [f"users.csv:3: unknown role 'principal' (expected one of {ROLES})"],
    ),
    "empty role": (
        {"users": f"{USERS_HEADER}\nx1,Nobody,,,,,\n"},
        ["users.csv:2: empty role"],
    ),
    "telegram id twice in the file": (
        {"users": f"{USERS_HEADER}\nx1,One,,parent,555000111,,\nx2,Two,,parent,555000111,,\n"},
        ["users.csv:3: telegram_id 555000111 is also given to x1 on line 2"],
    ),
    "telegram id of another user in the database": (
        {"users": f"{USERS_HEADER}\nx1,One,,parent,100000003,,\n"},
        ["users.csv:2: telegram_id 100000003 already belongs to user t1 in the database"],
    ),
    "telegram id kept by its holder on a blank cell": (
        {"users": f"{USERS_HEADER}\nt1,Ольга Смирнова,,teacher,,,\nx1,One,,parent,100000003,,\n"},
        ["users.csv:3: telegram_id 100000003 already belongs to user t1 in the database"],
    ),
    "non-numeric telegram id": (
        {"users": f"{USERS_HEADER}\nx1,One,,parent,@one,,\nx2,Two,,parent,-5,,\n"},
        [
            "users.csv:2: telegram_id '@one' is not a Telegram user id (a positive number)",
            "users.csv:3: telegram_id '-5' is not a Telegram user id (a positive number)",
        ],
    ),
    "bad is_active": (
        {"users": f"{USERS_HEADER}\nx1,One,,parent,,maybe,\n"},
        ["users.csv:2: is_active 'maybe' is not one of true/false/1/0/yes/no (empty means true)"],
    ),
    "unsupported language": (
        {
            "users": f"{USERS_HEADER}\nx1,One,,parent,,,de\nx2,Two,,parent,,,english\n"
            "x3,Three,,parent,,,ru-\nx4,Four,,parent,,,en\n"
        },
        [
            f"users.csv:{line}: language '{value}' is not one of ru/en "
            "(a regional form such as en-US or ru_RU counts; may be empty)"
            for line, value in ((2, "de"), (3, "english"), (4, "ru-"))
        ],
    ),
    "missing columns": (
        {
            "users": "external_id,full_name,role,telegram_id,is_active\nx1,One,parent,,\n",
            "enrollments": "student_external_id,subject\ns1,Mathematics\n",
        },
        [
            "users.csv:1: missing column email",
            "users.csv:1: missing column language",
            "enrollments.csv:1: missing column teacher_external_id",
        ],
    ),
    "empty external id and full name": (
        {"users": f"{USERS_HEADER}\n,Nameless Id,,parent,,,\nx2,,,parent,,,\n"},
        ["users.csv:2: empty external_id", "users.csv:3: empty full_name"],
    ),
    "duplicate external id": (
        {"users": f"{USERS_HEADER}\nx1,One,,parent,,,\nx2,Two,,parent,,,\nx1,Again,,parent,,,\n"},
        ["users.csv:4: external_id x1 is already used on line 2"],
    ),
    "enrollment of an unknown user": (
        {
            "users": BASE_USERS,
            "enrollments": "student_external_id,subject,teacher_external_id\n"
            "s1,Mathematics,t1\nghost,Physics,t1\ns2,Physics,nobody\n",
        },
        [
            "enrollments.csv:3: student_external_id ghost: "
            "no such user in the users file or the database",
            "enrollments.csv:4: teacher_external_id nobody: "
            "no such user in the users file or the database",
        ],
    ),
    "enrollment of a non-student and by a non-teacher": (
        {
            "users": BASE_USERS,
            "enrollments": "student_external_id,subject,teacher_external_id\n"
            "p1,Mathematics,t1\ns1,Physics,s2\n",
        },
        [
            "enrollments.csv:2: student_external_id p1 is a parent, not a student",
            "enrollments.csv:3: teacher_external_id s2 is a student, not a teacher",
        ],
    ),
    "roles are judged as the users file leaves them": (
        {
            "users": f"{USERS_HEADER}\nt1,Ольга Смирнова,,student,,,\n",
            "enrollments": "student_external_id,subject,teacher_external_id\ns2,Physics,t1\n",
        },
        ["enrollments.csv:2: teacher_external_id t1 is a student, not a teacher"],
    ),
    "tutoring by a non-tutor of a non-student": (
        {
            "users": BASE_USERS,
            "tutoring": "tutor_external_id,student_external_id\nt1,s1\ntu1,p1\ntu1,\n",
        },
        [
            "tutoring.csv:2: tutor_external_id t1 is a teacher, not a tutor",
            "tutoring.csv:3: student_external_id p1 is a parent, not a student",
            "tutoring.csv:4: empty student_external_id",
        ],
    ),
    "too many cells": (
        {"users": f"{USERS_HEADER}\nx1,Smith, John,,parent,,,\n"},
        [
            "users.csv:2: 8 cells but the header has 7; "
            "a cell containing ',' must be in double quotes"
        ],
    ),
    "too long a value": (
        {"users": f"{USERS_HEADER}\n{'x' * 65},One,,parent,,,\n"},
        ["users.csv:2: external_id is 65 characters long; the limit is 64"],
    ),
    "not UTF-8": (
        {"users": f"{USERS_HEADER}\nx1,Иван,,parent,,,\n".encode("cp1251")},
        ["users.csv:2: not UTF-8 text; save the file as CSV UTF-8"],
    ),
    "empty file": (
        {"users": ""},
        [f"users.csv:1: no header line; expected the columns {', '.join(USERS_HEADER.split(','))}"],
    ),
    "a NUL byte in a name": (
        {"users": f"{USERS_HEADER}\nx1,Ann\x00a,,parent,,,\n"},
        ["users.csv:2: full_name contains a control character (U+0000)"],
    ),
    "control characters in every file and column": (
        {
            "users": f"{USERS_HEADER}\nx1\x1b,One,o\x7fne@example.org,parent,12\x003,\x01,r\x85u\n"
            "x2,Two,,\x00teacher,,,\n",
            "enrollments": "student_external_id,subject,teacher_external_id\n"
            "s1,Mathe\x08matics,t1\x0b\n",
            "tutoring": "tutor_external_id,student_external_id\n\x0ctu1,s1\n",
        },
        [
            "users.csv:2: external_id contains a control character (U+001B)",
            "users.csv:2: email contains a control character (U+007F)",
            "users.csv:2: telegram_id contains a control character (U+0000)",
            "users.csv:2: is_active contains a control character (U+0001)",
            "users.csv:2: language contains a control character (U+0085)",
            "users.csv:3: role contains a control character (U+0000)",
            "enrollments.csv:2: subject contains a control character (U+0008)",
            "enrollments.csv:2: teacher_external_id contains a control character (U+000B)",
            "tutoring.csv:2: tutor_external_id contains a control character (U+000C)",
        ],
    ),
    "a quoted cell over two lines keeps later line numbers physical": (
        {"users": f'{USERS_HEADER}\nx1,"Two\nLines",,parent,,,\nx2,Two,,pupil,,,\n'},
        [f"users.csv:4: unknown role 'pupil' (expected one of {ROLES})"],
    ),
}


@pytest.mark.parametrize(("files", "problems"), REFUSALS.values(), ids=REFUSALS.keys())
async def test_a_bad_roster_is_refused_whole_and_writes_nothing(
    session_factory: SessionFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    base_roster: dict[str, Path],
    files: dict[str, str | bytes],
    problems: list[str],
) -> None:
    before = await snapshot(session_factory)
    paths = write_here(tmp_path, monkeypatch, files)

    with pytest.raises(RosterImportError) as refused:
        await import_roster(session_factory, **paths)

    assert refused.value.problems == problems
    assert await snapshot(session_factory) == before


async def test_every_problem_of_every_file_is_reported_together(
    session_factory: SessionFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    base_roster: dict[str, Path],
) -> None:
    before = await snapshot(session_factory)
    paths = write_here(
        tmp_path,
        monkeypatch,
        {
            "tutoring": "tutor_external_id,student_external_id\ns1,s2\n",
            "users": f"{USERS_HEADER}\nx1,One,,boss,abc,sometimes,fr-FR\nx2,Good,,parent,,,\n"
            "x1,,,parent,,,\n",
            "enrollments": "teacher_external_id;subject;student_external_id\nx2;Art;x2\n;;ghost\n",
        },
    )

    with pytest.raises(RosterImportError) as refused:
        await import_roster(session_factory, **paths)

    assert refused.value.problems == [
        f"users.csv:2: unknown role 'boss' (expected one of {ROLES})",
        "users.csv:2: telegram_id 'abc' is not a Telegram user id (a positive number)",
        "users.csv:2: is_active 'sometimes' is not one of true/false/1/0/yes/no (empty means true)",
        "users.csv:2: language 'fr-FR' is not one of ru/en "
        "(a regional form such as en-US or ru_RU counts; may be empty)",
        "users.csv:4: external_id x1 is already used on line 2",
        "users.csv:4: empty full_name",
        "enrollments.csv:2: student_external_id x2 is a parent, not a student",
        "enrollments.csv:2: teacher_external_id x2 is a parent, not a teacher",
        "enrollments.csv:3: empty subject",
        "enrollments.csv:3: student_external_id ghost: "
        "no such user in the users file or the database",
        "tutoring.csv:2: tutor_external_id s1 is a student, not a tutor",
    ]
    assert str(refused.value) == "Roster not imported: 11 problem(s) found"
    assert await snapshot(session_factory) == before


async def test_an_unreadable_file_is_a_problem_too(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.csv"

    with pytest.raises(RosterImportError) as refused:
        await import_roster(session_factory, missing)

    assert refused.value.problems == [
        f"{missing}: cannot read the file (No such file or directory)"
    ]
