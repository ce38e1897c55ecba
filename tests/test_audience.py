"""The eight target groups against a roster full of edge cases, their validation, the
preview counts, writing recipients, and the admin UI's search and reference helpers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import BroadcastRecipient, Role, TargetGroup
from db.session import SessionFactory
from services.audience import (
    AudiencePreview,
    AudienceService,
    NamedItem,
    audience_select,
    materialise_recipients,
    validate_target,
)
from services.errors import ValidationFailed
from services.targets import parse_target
from tests.factories import add_subject, add_user, assign_tutor, enroll, make_broadcast

Roster = dict[str, int]


@pytest.fixture
async def roster(session_factory: SessionFactory) -> Roster:
    """Who is who (name -> user or subject id):

    teachers: T1 teaches S1 maths+physics+chemistry, S2 and S6 maths, S4 physics, and
    also tutors S3; T2 (no Telegram) teaches S5 chemistry; T3 (inactive) teaches S3
    maths; T4 blocked the bot and teaches nothing.
    tutors: TU1 tutors S1, S2 and S6 (inactive); TU2 (inactive) tutors S5; TU3 none.
    students: S3 blocked the bot, S4 has no Telegram, S6 is inactive, S7 takes art
    with no teacher. parents: P1, P2 (inactive), P3 (no Telegram). A1 is an admin.
    """
    async with session_factory() as session, session.begin():
        people: dict[str, Any] = {
            "T1": await add_user(session, role=Role.TEACHER, full_name="Анна Петровна"),
            "T2": await add_user(session, role=Role.TEACHER, telegram_id=None),
            "T3": await add_user(session, role=Role.TEACHER, is_active=False),
            "T4": await add_user(session, role=Role.TEACHER, blocked=True),
            "TU1": await add_user(session, role=Role.TUTOR, full_name="Иван Тьютор"),
            "TU2": await add_user(session, role=Role.TUTOR, is_active=False),
            "TU3": await add_user(session, role=Role.TUTOR),
            "S1": await add_user(session, role=Role.STUDENT),
            "S2": await add_user(session, role=Role.STUDENT),
            "S3": await add_user(session, role=Role.STUDENT, blocked=True),
            "S4": await add_user(session, role=Role.STUDENT, telegram_id=None),
            "S5": await add_user(session, role=Role.STUDENT),
            "S6": await add_user(session, role=Role.STUDENT, is_active=False),
            "S7": await add_user(session, role=Role.STUDENT),
            "P1": await add_user(session, role=Role.PARENT),
            "P2": await add_user(session, role=Role.PARENT, is_active=False),
            "P3": await add_user(session, role=Role.PARENT, telegram_id=None),
            "A1": await add_user(session, role=Role.ADMIN),
        }
        subjects = {
            name: await add_subject(session, name)
            for name in ("Математика", "Physics", "Chemistry", "Art")
        }
        maths, physics, chemistry, art = subjects.values()
        p = people
        for subject in (maths, physics, chemistry):
            await enroll(session, p["S1"], subject, p["T1"])
        await enroll(session, p["S2"], maths, p["T1"])
        await enroll(session, p["S6"], maths, p["T1"])
        await enroll(session, p["S4"], physics, p["T1"])
        await enroll(session, p["S3"], maths, p["T3"])
        await enroll(session, p["S5"], chemistry, p["T2"])
        await enroll(session, p["S7"], art)
        for tutor, student in [
            ("TU1", "S1"),
            ("TU1", "S2"),
            ("TU1", "S6"),
            ("TU2", "S5"),
            ("T1", "S3"),
        ]:
            await assign_tutor(session, p[tutor], p[student])
        ids = {name: user.id for name, user in people.items()}
        ids.update(maths=maths.id, physics=physics.id, chemistry=chemistry.id, art=art.id)
        return ids


def names(roster: Roster, ids: list[int] | set[int]) -> set[str]:
    by_id = {user_id: name for name, user_id in roster.items() if name[0].isupper()}
    return {by_id[user_id] for user_id in ids}


async def audience(session_factory: SessionFactory, group: str, target_filter: Any) -> list[int]:
    async with session_factory() as session:
        return list(await session.scalars(audience_select(group, target_filter)))


@pytest.mark.parametrize(
    ("group", "make_filter", "expected"),
    [
        ("all_students", lambda r: None, {"S1", "S2", "S3", "S4", "S5", "S7"}),
        ("all_teachers", lambda r: {}, {"T1", "T2", "T4"}),
        ("all_tutors", lambda r: None, {"TU1", "TU3"}),
        ("all_parents", lambda r: None, {"P1", "P3"}),
        ("by_subject", lambda r: {"subject_id": r["maths"]}, {"S1", "S2", "S3", "T1"}),
        ("by_subject", lambda r: {"subject_id": r["physics"]}, {"S1", "S4", "T1"}),
        ("by_subject", lambda r: {"subject_id": r["chemistry"]}, {"S1", "S5", "T1", "T2"}),
        ("by_subject", lambda r: {"subject_id": r["art"]}, {"S7"}),
        ("by_tutor", lambda r: {"tutor_id": r["TU1"]}, {"S1", "S2"}),
        ("by_tutor", lambda r: {"tutor_id": r["TU2"]}, {"S5"}),
        ("by_tutor", lambda r: {"tutor_id": r["TU3"]}, set()),
        ("by_tutor", lambda r: {"tutor_id": r["T1"]}, {"S3"}),
        ("by_teacher", lambda r: {"teacher_id": r["T1"]}, {"S1", "S2", "S4"}),
        ("by_teacher", lambda r: {"teacher_id": r["T2"]}, {"S5"}),
        ("by_teacher", lambda r: {"teacher_id": r["T3"]}, {"S3"}),
        ("custom", lambda r: {"user_ids": [r["S1"], r["S6"], r["P1"], r["S1"]]}, {"S1", "P1"}),
    ],
)
async def test_audience_members(
    session_factory: SessionFactory, roster: Roster, group: str, make_filter: Any, expected: set
) -> None:
    ids = await audience(session_factory, group, make_filter(roster))

    assert len(ids) == len(set(ids)), "a user appears more than once"
    assert names(roster, ids) == expected


@pytest.mark.parametrize(
    ("group", "target_filter", "message"),
    [
        ("everyone", None, "Unknown target group 'everyone'"),
        ("all_students", ["subject_id"], "target_filter must be an object, got list"),
        ("all_students", {"subject_id": 1}, "Unexpected key(s) in target_filter for all_students"),
        ("by_subject", {}, "by_subject needs target_filter.subject_id"),
        ("by_subject", None, "by_subject needs target_filter.subject_id"),
        ("by_subject", {"subject_id": "1"}, "target_filter.subject_id must be a positive integer"),
        ("by_subject", {"subject_id": True}, "must be a positive integer id, got True"),
        ("by_subject", {"subject_id": 2**40}, "must be a positive integer id"),
        ("by_tutor", {"tutor_id": 0}, "target_filter.tutor_id must be a positive integer"),
        ("by_teacher", {"teacher_id": 1.0}, "target_filter.teacher_id must be a positive integer"),
        ("by_teacher", {"teacher_id": 1, "subject_id": 1}, "Unexpected key(s)"),
        ("custom", {"user_ids": []}, "custom needs at least one user id"),
        ("custom", {"user_ids": "1,2"}, "target_filter.user_ids must be a list"),
        ("custom", {"user_ids": [1, "2", False]}, "not ids: '2', False"),
    ],
)
def test_bad_target_shapes_are_refused(group: str, target_filter: Any, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_target(group, target_filter)


def test_custom_list_is_deduplicated_in_order() -> None:
    assert parse_target("custom", {"user_ids": [3, 1, 3, 2, 1]}) == (
        TargetGroup.CUSTOM,
        {"user_ids": [3, 1, 2]},
    )


def test_custom_list_is_bounded() -> None:
    with pytest.raises(ValidationFailed, match="at most 10000 users, got 10001"):
        parse_target("custom", {"user_ids": list(range(1, 10_002))})


@pytest.mark.parametrize(
    ("group", "make_filter", "message"),
    [
        ("by_subject", lambda r: {"subject_id": 99_999}, "Subject 99999 not found"),
        ("by_tutor", lambda r: {"tutor_id": 99_999}, "Tutor 99999 not found"),
        ("by_teacher", lambda r: {"teacher_id": 99_999}, "Teacher 99999 not found"),
        ("by_tutor", lambda r: {"tutor_id": r["T2"]}, "is a teacher, not a tutor"),
        ("by_tutor", lambda r: {"tutor_id": r["S1"]}, "is a student, not a tutor"),
        ("by_teacher", lambda r: {"teacher_id": r["TU1"]}, "is a tutor, not a teacher"),
        (
            "custom",
            lambda r: {"user_ids": [r["S1"], 99_999, r["S2"], 88_888]},
            "Unknown user ids: 99999, 88888$",
        ),
    ],
)
async def test_targets_naming_missing_or_wrong_rows_are_refused(
    session_factory: SessionFactory, roster: Roster, group: str, make_filter: Any, message: str
) -> None:
    async with session_factory() as session:
        with pytest.raises(ValidationFailed, match=message):
            await validate_target(session, group, make_filter(roster))


async def test_valid_targets_come_back_normalised(
    session_factory: SessionFactory, roster: Roster
) -> None:
    async with session_factory() as session:
        teacher_as_tutor = await validate_target(session, "by_tutor", {"tutor_id": roster["T1"]})
        inactive_teacher = await validate_target(
            session, "by_teacher", {"teacher_id": roster["T3"]}
        )

    assert teacher_as_tutor == (TargetGroup.BY_TUTOR, {"tutor_id": roster["T1"]})
    assert inactive_teacher == (TargetGroup.BY_TEACHER, {"teacher_id": roster["T3"]})


@pytest.mark.parametrize(
    ("group", "make_filter", "expected"),
    [
        ("all_students", lambda r: None, AudiencePreview(6, 4, 1, 1, 0)),
        ("all_teachers", lambda r: None, AudiencePreview(3, 1, 1, 1, 0)),
        ("by_subject", lambda r: {"subject_id": r["physics"]}, AudiencePreview(3, 2, 1, 0, 0)),
        ("by_tutor", lambda r: {"tutor_id": r["TU3"]}, AudiencePreview(0, 0, 0, 0, 0)),
    ],
)
async def test_preview_splits_the_unreachable(
    session_factory: SessionFactory,
    roster: Roster,
    group: str,
    make_filter: Any,
    expected: AudiencePreview,
) -> None:
    preview = await AudienceService(session_factory).preview(group, make_filter(roster))

    assert preview == expected


async def test_deleted_accounts_are_counted_apart_and_never_written(
    session_factory: SessionFactory,
) -> None:
    """A deactivated (deleted) Telegram account is neither reachable nor "blocked the
    bot"; one that had blocked the bot before counts as deleted, once."""
    async with session_factory() as session, session.begin():
        reachable = [(await add_user(session, role=Role.STUDENT)).id for _ in range(2)]
        await add_user(session, role=Role.STUDENT, blocked=True)
        await add_user(session, role=Role.STUDENT, deactivated=True)
        await add_user(session, role=Role.STUDENT, deactivated=True, blocked=True)
        await add_user(session, role=Role.STUDENT, telegram_id=None)
        broadcast = await make_broadcast(session)
        written = await materialise_recipients(session, broadcast.id, "all_students", None)

    preview = await AudienceService(session_factory).preview("all_students", None)

    assert preview == AudiencePreview(total=6, reachable=2, no_telegram=1, blocked=1, deactivated=2)
    assert written == 2
    assert sorted(await recipient_ids(session_factory, broadcast.id)) == sorted(reachable)


async def test_preview_validates_the_target(
    session_factory: SessionFactory, roster: Roster
) -> None:
    with pytest.raises(ValidationFailed, match="Subject 99999 not found"):
        await AudienceService(session_factory).preview("by_subject", {"subject_id": 99_999})


async def recipient_ids(session_factory: SessionFactory, broadcast_id: int) -> list[int]:
    async with session_factory() as session:
        return list(
            await session.scalars(
                select(BroadcastRecipient.recipient_id).where(
                    BroadcastRecipient.broadcast_id == broadcast_id
                )
            )
        )


async def test_materialise_writes_reachable_users_once(
    session_factory: SessionFactory, roster: Roster
) -> None:
    target = {"teacher_id": roster["T1"]}
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(
            session, target_group=TargetGroup.BY_TEACHER, target_filter=target
        )
        first = await materialise_recipients(session, broadcast.id, "by_teacher", target)
        second = await materialise_recipients(session, broadcast.id, "by_teacher", target)

    ids = await recipient_ids(session_factory, broadcast.id)
    assert (first, second) == (2, 0)
    assert sorted(ids) == sorted([roster["S1"], roster["S2"]])  # S4 has no Telegram


async def test_materialise_leaves_other_broadcasts_alone(
    session_factory: SessionFactory, roster: Roster
) -> None:
    async with session_factory() as session, session.begin():
        students = await make_broadcast(session)
        parents = await make_broadcast(session, target_group=TargetGroup.ALL_PARENTS)
        written = await materialise_recipients(session, students.id, "all_students", None)
        await materialise_recipients(session, parents.id, "all_parents", None)

    assert written == 4
    assert names(roster, await recipient_ids(session_factory, students.id)) == {
        "S1",
        "S2",
        "S5",
        "S7",
    }
    assert names(roster, await recipient_ids(session_factory, parents.id)) == {"P1"}


async def test_materialise_refuses_a_bad_target_before_writing(
    session_factory: SessionFactory, roster: Roster
) -> None:
    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(session)
        with pytest.raises(ValidationFailed):
            await materialise_recipients(session, broadcast.id, "by_subject", {"subject": 1})
        count = await session.scalar(select(func.count(BroadcastRecipient.id)))

    assert count == 0


async def test_search_subjects_pages_by_name(
    session_factory: SessionFactory, roster: Roster
) -> None:
    service = AudienceService(session_factory)

    everything = await service.search_subjects("", offset=0, limit=2)
    second_page = await service.search_subjects("", offset=2, limit=2)
    cyrillic = await service.search_subjects("МАТЕМ")
    nothing = await service.search_subjects("%")

    assert everything.total == 4
    assert [item.name for item in everything.items] == ["Art", "Chemistry"]
    assert [item.name for item in second_page.items] == ["Physics", "Математика"]
    assert cyrillic.items == [NamedItem(roster["maths"], "Математика")]
    assert nothing.total == 0


async def test_search_people_finds_those_acting_in_the_role(
    session_factory: SessionFactory, roster: Roster
) -> None:
    service = AudienceService(session_factory)

    tutors = await service.search_people(Role.TUTOR, "")
    by_name = await service.search_people("tutor", "тьют")
    teachers = await service.search_people("teacher", "", offset=1, limit=1)

    # T1 tutors S3, so counts as a tutor; TU2 is inactive
    assert names(roster, [item.id for item in tutors.items]) == {"T1", "TU1", "TU3"}
    assert by_name.items == [NamedItem(roster["TU1"], "Иван Тьютор")]
    assert teachers.total == 3  # T1, T2, T4; T3 is inactive
    assert len(teachers.items) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.search_subjects("", offset=-1), "offset must be 0 or more"),
        (lambda s: s.search_subjects("", limit=0), "limit must be between 1 and 100"),
        (lambda s: s.search_people("teacher", "", limit=101), "limit must be between"),
        (lambda s: s.search_people("janitor", ""), "Unknown role 'janitor'"),
    ],
)
async def test_search_refuses_bad_windows_and_roles(
    session_factory: SessionFactory, call: Any, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        await call(AudienceService(session_factory))


async def test_resolve_user_references(session_factory: SessionFactory) -> None:
    async with session_factory() as session, session.begin():
        by_external = await add_user(session, role=Role.STUDENT, external_id="S-17")
        numeric_external = await add_user(session, role=Role.STUDENT, external_id="424242")
        named = await add_user(session, role=Role.PARENT, telegram_username="MamaIvanova")
        linked = await add_user(session, role=Role.TEACHER, telegram_id=5_550_001)
    service = AudienceService(session_factory)

    resolved = await service.resolve_user_references(
        [
            " S-17 ",
            "s-17",  # the school's ids in any case
            "424242",
            "@mamaivanova",
            "5550001",
            f"#{linked.id}",
            str(named.id),
            "@nobody",
            "#5550001",
            "S-17",
            "",
            "99999999999999999999999",
            "²",
        ]
    )

    assert [person.id for person in resolved.found] == [
        by_external.id,
        numeric_external.id,
        named.id,
        linked.id,
    ]
    assert resolved.found[0].external_id == "S-17"
    assert resolved.found[0].full_name == by_external.full_name
    assert resolved.unmatched == ["@nobody", "#5550001", "99999999999999999999999", "²"]


async def test_resolve_refuses_too_many_references(session_factory: SessionFactory) -> None:
    with pytest.raises(ValidationFailed, match="At most 10000 references at a time, got 10001"):
        await AudienceService(session_factory).resolve_user_references(["@x"] * 10_001)
