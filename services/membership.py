"""Who belongs to a target group, as SQL conditions on `users` (see `services.audience`).

Its own module because the rules are the part that grows: each group's members, the
parents reached through guardian links, the acting roles. Every condition is a correlated
EXISTS, an IN over a subquery or a plain comparison, so the audience stays one statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import aliased

from db.models import Enrollment, GuardianLink, Role, TargetGroup, TutorAssignment, User
from services.targets import STUDENT_GROUPS, TargetFilter, class_key, include_of

ROLE_GROUPS: dict[TargetGroup, Role] = {
    TargetGroup.ALL_STUDENTS: Role.STUDENT,
    TargetGroup.ALL_TEACHERS: Role.TEACHER,
    TargetGroup.ALL_TUTORS: Role.TUTOR,
    TargetGroup.ALL_PARENTS: Role.PARENT,
}


def acts_as(role: Role) -> ColumnElement[bool]:
    """Users who have `role`, or who hold it through the roster's relations."""
    if role is Role.TUTOR:
        return or_(User.role == role, exists().where(TutorAssignment.tutor_id == User.id))
    if role is Role.TEACHER:
        return or_(User.role == role, exists().where(Enrollment.teacher_id == User.id))
    return User.role == role


Person = Any  # the users table, or an alias of it (a child, in a family)


def in_class(person: Person, name: str) -> ColumnElement[bool]:
    return and_(person.role == Role.STUDENT, person.class_key == class_key(name))


def students_of(
    group: TargetGroup, target_filter: TargetFilter, person: Person
) -> ColumnElement[bool]:
    """`person` is one of the group's students (or, for the groups of other roles, a
    member of it)."""
    if group in ROLE_GROUPS:
        return person.role == ROLE_GROUPS[group]
    if group is TargetGroup.BY_CLASS:
        return in_class(person, target_filter["class"])
    if group is TargetGroup.BY_SUBJECT:
        return exists().where(
            Enrollment.subject_id == target_filter["subject_id"], Enrollment.student_id == person.id
        )
    if group is TargetGroup.BY_TUTOR:
        return exists().where(
            TutorAssignment.tutor_id == target_filter["tutor_id"],
            TutorAssignment.student_id == person.id,
        )
    if group is TargetGroup.BY_TEACHER:
        return exists().where(
            Enrollment.teacher_id == target_filter["teacher_id"],
            Enrollment.student_id == person.id,
        )
    return person.id.in_(target_filter["user_ids"])


def parents_of(students: Callable[[Person], ColumnElement[bool]]) -> ColumnElement[bool]:
    """The user is linked as a guardian of an active child that `students` accepts.

    An uncorrelated `IN (SELECT guardian_id ...)`: the databases work out the set of
    guardians once, walking the links from the children, where a correlated EXISTS made
    SQLite walk every student for every user."""
    child = aliased(User, name="child")
    guardians = (
        select(GuardianLink.guardian_id)
        .join(child, child.id == GuardianLink.student_id)
        .where(child.is_active, students(child))
    )
    return User.id.in_(guardians)


def membership(group: TargetGroup, target_filter: TargetFilter) -> ColumnElement[bool]:
    def students(person: Person) -> ColumnElement[bool]:
        return students_of(group, target_filter, person)

    include = include_of(target_filter)
    members: list[ColumnElement[bool]] = []
    if include.students or group not in STUDENT_GROUPS:
        members.append(students(User))
    if include.parents and group in STUDENT_GROUPS:
        members.append(parents_of(students))
    if group is TargetGroup.BY_SUBJECT:
        members.append(
            exists().where(
                Enrollment.subject_id == target_filter["subject_id"],
                Enrollment.teacher_id == User.id,
            )
        )
    return members[0] if len(members) == 1 else or_(*members)
