"""Audiences by class and by family: who of a group of students (the students, their
parents, both) against a hand-made roster of edge cases, each person once, the preview's
families, and the refusals of a wrong `include` or class."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from core.settings import Settings
from db.models import Broadcast, BroadcastRecipient, ContentKind, Role, TargetGroup
from db.session import SessionFactory
from services.audience import (
    AudiencePreview,
    AudienceService,
    audience_select,
    materialise_recipients,
    validate_target,
)
from services.broadcasts import BroadcastService
from services.content import BroadcastContent
from services.contract import TARGET_GROUP_DISPLAY
from services.errors import ValidationFailed
from services.targets import parse_target
from tests.factories import (
    add_subject,
    add_user,
    assign_tutor,
    broadcast_rules,
    enroll,
    link_guardian,
    make_broadcast,
)

Roster = dict[str, int]


@pytest.fixture
async def roster(session_factory: SessionFactory) -> Roster:
    """Classes 10А (spelled "10А" and "10а"), 5B and 7В; families:

    S1 (10А): PA and PB (no Telegram). S2 ("10а"): TP, a teacher who is also a parent.
    S3 (5B): PA (children in two classes) and TP. S4 (10А) is inactive; PI is the parent
    of S4 alone. S5 (7В) has no linked parent. S6 (5B): PC (blocked the bot) and PX
    (inactive). TP teaches maths to S1 and S3; TU tutors S1 and S6.
    """
    async with session_factory() as session, session.begin():
        people: dict[str, Any] = {
            "PA": await add_user(session, role=Role.PARENT),
            "PB": await add_user(session, role=Role.PARENT, telegram_id=None),
            "TP": await add_user(session, role=Role.TEACHER),
            "PI": await add_user(session, role=Role.PARENT),
            "PC": await add_user(session, role=Role.PARENT, blocked=True),
            "PX": await add_user(session, role=Role.PARENT, is_active=False),
            "TU": await add_user(session, role=Role.TUTOR),
            "S1": await add_user(session, role=Role.STUDENT, class_name="10А"),
            "S2": await add_user(session, role=Role.STUDENT, class_name="10а"),
            "S3": await add_user(session, role=Role.STUDENT, class_name="5B"),
            "S4": await add_user(session, role=Role.STUDENT, class_name="10А", is_active=False),
            "S5": await add_user(session, role=Role.STUDENT, class_name="7В"),
            "S6": await add_user(session, role=Role.STUDENT, class_name="5B"),
        }
        p = people
        for guardian, student in [
            ("PA", "S1"),
            ("PB", "S1"),
            ("TP", "S2"),
            ("PA", "S3"),
            ("TP", "S3"),
            ("PI", "S4"),
            ("PC", "S6"),
            ("PX", "S6"),
        ]:
            await link_guardian(session, p[guardian], p[student])
        maths = await add_subject(session, "Математика")
        await enroll(session, p["S1"], maths, p["TP"])
        await enroll(session, p["S3"], maths, p["TP"])
        await assign_tutor(session, p["TU"], p["S1"])
        await assign_tutor(session, p["TU"], p["S6"])
        ids = {name: user.id for name, user in people.items()}
        ids["maths"] = maths.id
        return ids


def names(roster: Roster, ids: list[int]) -> set[str]:
    by_id = {user_id: name for name, user_id in roster.items() if name[0].isupper()}
    return {by_id[user_id] for user_id in ids}


async def audience(session_factory: SessionFactory, group: str, target_filter: Any) -> list[int]:
    async with session_factory() as session:
        return list(await session.scalars(audience_select(group, target_filter)))


def with_include(target_filter: dict[str, Any], include: str | None) -> dict[str, Any]:
    return target_filter if include is None else {**target_filter, "include": include}


CASES = [
    # group, filter, include, who
    ("by_class", {"class": "10А"}, None, {"S1", "S2"}),
    ("by_class", {"class": "10а"}, "students", {"S1", "S2"}),  # any case, Cyrillic
    ("by_class", {"class": " 10А "}, "parents", {"PA", "PB", "TP"}),  # not PI: S4 inactive
    ("by_class", {"class": "10А"}, "both", {"S1", "S2", "PA", "PB", "TP"}),
    ("by_class", {"class": "5b"}, "parents", {"PA", "TP", "PC"}),  # not PX: inactive
    ("by_class", {"class": "7В"}, "parents", set()),  # a class without linked parents
    ("by_class", {"class": "7В"}, "both", {"S5"}),
    ("by_class", {"class": "7B"}, None, set()),  # a Latin B is another class
    ("all_students", {}, "parents", {"PA", "PB", "TP", "PC"}),
    ("all_students", {}, "both", {"S1", "S2", "S3", "S5", "S6", "PA", "PB", "TP", "PC"}),
    # The subject's teachers stay: TP teaches maths and is a parent of S3, once.
    ("by_subject", {"subject_id": "maths"}, None, {"S1", "S3", "TP"}),
    ("by_subject", {"subject_id": "maths"}, "parents", {"TP", "PA", "PB"}),
    ("by_subject", {"subject_id": "maths"}, "both", {"S1", "S3", "TP", "PA", "PB"}),
    ("by_tutor", {"tutor_id": "TU"}, "parents", {"PA", "PB", "PC"}),
    ("by_teacher", {"teacher_id": "TP"}, "parents", {"PA", "PB", "TP"}),
    ("custom", {"user_ids": ["S5", "S1", "S4"]}, "parents", {"PA", "PB"}),
    ("custom", {"user_ids": ["S5", "S1"]}, "both", {"S5", "S1", "PA", "PB"}),
    ("all_parents", {}, None, {"PA", "PB", "PI", "PC"}),  # by role, as before
]


def resolved(roster: Roster, target_filter: dict[str, Any]) -> dict[str, Any]:
    """The filter with the roster's names turned into ids."""
    out: dict[str, Any] = {}
    for key, value in target_filter.items():
        if key == "user_ids":
            out[key] = [roster[name] for name in value]
        elif key.endswith("_id"):
            out[key] = roster[value]
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(("group", "target_filter", "include", "expected"), CASES)
async def test_who_of_the_students_each_person_once(
    session_factory: SessionFactory,
    roster: Roster,
    group: str,
    target_filter: dict[str, Any],
    include: str | None,
    expected: set[str],
) -> None:
    ids = await audience(
        session_factory, group, with_include(resolved(roster, target_filter), include)
    )
    assert len(ids) == len(set(ids)), "a person appears more than once"
    assert names(roster, ids) == expected


async def test_the_audience_stays_one_statement_and_recipients_one_insert(
    session_factory: SessionFactory, roster: Roster
) -> None:
    target = {"include": "both"}
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async with session_factory() as session, session.begin():
        broadcast = await make_broadcast(session, target_filter=target)
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            written = await materialise_recipients(session, broadcast.id, "all_students", target)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        again = await materialise_recipients(session, broadcast.id, "all_students", target)
    async with session_factory() as session:
        rows = list(
            await session.scalars(
                select(BroadcastRecipient.recipient_id).where(
                    BroadcastRecipient.broadcast_id == broadcast.id
                )
            )
        )
    # Reachable only: PB has no Telegram, PC blocked the bot.
    assert names(roster, rows) == {"S1", "S2", "S3", "S5", "S6", "PA", "TP"}
    assert (written, again) == (7, 0)
    [statement] = statements  # the students and their parents in one INSERT ... SELECT
    assert statement.startswith("INSERT INTO broadcast_recipients")


async def test_the_preview_counts_families_and_people(
    session_factory: SessionFactory, roster: Roster
) -> None:
    service = AudienceService(session_factory)
    # S1's family (PA, PB) and S2's (TP): S4's parent PI does not count.
    assert await service.preview("by_class", {"class": "10а", "include": "parents"}) == (
        AudiencePreview(total=3, reachable=2, no_telegram=1, blocked=0, deactivated=0, families=2)
    )
    # S1 and S3 share their first parent PA: one family; S2 (TP) and S6 (PC) make three.
    everyone = await service.preview("all_students", {"include": "parents"})
    assert (everyone.families, everyone.total, everyone.reachable) == (3, 4, 2)
    assert (everyone.no_telegram, everyone.blocked) == (1, 1)
    both = await service.preview("by_class", {"class": "7В", "include": "both"})
    assert (both.families, both.total) == (0, 1)
    students = await service.preview("by_class", {"class": "10А"})
    assert (students.families, students.total) == (None, 2)  # no parents: no families


async def test_the_class_picker_lists_classes_once_whatever_their_case(
    session_factory: SessionFactory, roster: Roster
) -> None:
    service = AudienceService(session_factory)
    found = await service.search_classes()
    # 10А (from S1: "10А" < "10а"), 5B, 7В; ids are each class's first student.
    assert [(item.name, item.id) for item in found.items] == [
        ("10А", roster["S1"]),
        ("5B", roster["S3"]),
        ("7В", roster["S5"]),
    ]
    assert found.total == 3
    assert [item.name for item in (await service.search_classes("0а")).items] == ["10А"]
    page = await service.search_classes("", offset=1, limit=1)
    assert ([item.name for item in page.items], page.total) == (["5B"], 3)
    assert (await service.search_classes("%")).total == 0  # LIKE wildcards are plain text


@pytest.mark.parametrize(
    ("group", "target_filter", "message"),
    [
        ("all_students", {"include": "teachers"}, "target_filter.include must be one of"),
        ("by_class", {"class": "5B", "include": 1}, "target_filter.include must be one of"),
        ("all_teachers", {"include": "parents"}, "Unexpected key(s) in target_filter"),
        ("all_parents", {"include": "both"}, "Unexpected key(s) in target_filter"),
        ("by_class", {}, "by_class needs target_filter.class"),
        ("by_class", {"class": "  "}, "target_filter.class must be a class name"),
        ("by_class", {"class": 5}, "target_filter.class must be a class name"),
        ("by_class", {"class": "x" * 65}, "target_filter.class is 65 characters long"),
    ],
)
def test_bad_shapes_are_refused(group: str, target_filter: Any, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_target(group, target_filter)
    assert message in str(refused.value)


def test_students_is_the_default_and_is_not_stored() -> None:
    assert parse_target("by_class", {"class": " 5B ", "include": "students"}) == (
        TargetGroup.BY_CLASS,
        {"class": "5B"},
    )
    assert parse_target("custom", {"user_ids": [2, 2], "include": "both"}) == (
        TargetGroup.CUSTOM,
        {"user_ids": [2], "include": "both"},
    )


async def test_an_unknown_class_is_refused(session_factory: SessionFactory, roster: Roster) -> None:
    async with session_factory() as session:
        with pytest.raises(ValidationFailed, match="Class 9Z not found"):
            await validate_target(session, "by_class", {"class": "9Z"})
        assert await validate_target(session, "by_class", {"class": "10а"}) == (
            TargetGroup.BY_CLASS,
            {"class": "10а"},
        )


async def test_a_wrong_include_creates_nothing(
    session_factory: SessionFactory, settings: Settings, roster: Roster
) -> None:
    service = BroadcastService(session_factory, broadcast_rules(settings))
    with pytest.raises(ValidationFailed, match=r"target_filter\.include must be one of"):
        await service.create(
            target_group="by_class",
            target_filter={"class": "10А", "include": "everyone"},
            content=BroadcastContent(ContentKind.TEXT, "Hello"),
        )
    async with session_factory() as session:
        assert await session.scalar(select(func.count(Broadcast.id))) == 0


def test_every_group_has_a_display_name_in_the_documented_shapes() -> None:
    assert set(TARGET_GROUP_DISPLAY) == set(TargetGroup)
