"""The shape of a target, checked without the database.

A target is a `TargetGroup` plus its `target_filter`; `FILTER_KEYS` names the one key the
filter of each narrowed group holds (the all_* groups take none). The groups of students
(`STUDENT_GROUPS`) may also hold `include`: whether the students, their parents or both
receive it (absent: the students). The shape has a module of
its own because it is known before any query runs: a bad target is refused without a
session, and `services.audience` then checks that the ids exist and turns it into SQL.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from db.models import TargetGroup, User
from services.errors import ValidationFailed

FILTER_KEYS: dict[TargetGroup, str] = {
    TargetGroup.BY_CLASS: "class",
    TargetGroup.BY_SUBJECT: "subject_id",
    TargetGroup.BY_TUTOR: "tutor_id",
    TargetGroup.BY_TEACHER: "teacher_id",
    TargetGroup.CUSTOM: "user_ids",
}
MAX_CUSTOM_USERS = 10_000
"""Bound on a custom list: its ids travel as bound parameters (both drivers cap at ~32k)."""
MAX_ROW_ID = 2**31 - 1
"""Largest primary key: ids are INTEGER columns, and PostgreSQL refuses bigger values."""

CLASS_NAME_LIMIT = User.class_name.type.length
INCLUDE_KEY = "include"
STUDENT_GROUPS = frozenset(
    {
        TargetGroup.ALL_STUDENTS,
        TargetGroup.BY_CLASS,
        TargetGroup.BY_SUBJECT,
        TargetGroup.BY_TUTOR,
        TargetGroup.BY_TEACHER,
        TargetGroup.CUSTOM,
    }
)
"""Groups chosen through students, whose parents may be reached instead or as well."""

TargetFilter = dict[str, Any]


class Include(enum.StrEnum):
    """Who of a group of students receives a broadcast."""

    STUDENTS = "students"
    PARENTS = "parents"  # their active parents, each once however many children match
    BOTH = "both"

    @property
    def students(self) -> bool:
        return self is not Include.PARENTS

    @property
    def parents(self) -> bool:
        return self is not Include.STUDENTS


def class_key(name: str) -> str:
    """What class names are compared by: trimmed and casefolded, so "10а" is "10А"."""
    return name.strip().casefold()


def include_of(target_filter: Mapping[str, Any]) -> Include:
    """The `include` of a parsed filter (absent: the students)."""
    return Include(target_filter.get(INCLUDE_KEY, Include.STUDENTS))


def _is_row_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROW_ID


def parse_target(
    target_group: TargetGroup | str, target_filter: Mapping[str, Any] | None
) -> tuple[TargetGroup, TargetFilter]:
    """Check the shape of a target (no database) and return it normalised.

    Ids must be real integers: "5" and True are refused. A custom list is de-duplicated,
    keeping the first occurrence of each id. A class is a name, trimmed. `include` is kept
    only when it is not the default ("students").
    """
    try:
        group = TargetGroup(target_group)
    except ValueError:
        expected = ", ".join(member.value for member in TargetGroup)
        raise ValidationFailed(
            f"Unknown target group {target_group!r}; expected one of {expected}"
        ) from None
    raw = {} if target_filter is None else target_filter
    if not isinstance(raw, Mapping):
        raise ValidationFailed(f"target_filter must be an object, got {type(raw).__name__}")
    key = FILTER_KEYS.get(group)
    allowed = {key, INCLUDE_KEY} if group in STUDENT_GROUPS else {key}
    extra = sorted(str(name) for name in raw if name not in allowed)
    if extra:
        raise ValidationFailed(
            f"Unexpected key(s) in target_filter for {group.value}: {', '.join(extra)}"
        )
    parsed = _parse_include(raw)
    if key is None:
        return group, parsed
    if key not in raw:
        raise ValidationFailed(f"{group.value} needs target_filter.{key}")
    value = raw[key]
    if group is TargetGroup.CUSTOM:
        return group, {key: _parse_user_ids(value), **parsed}
    if group is TargetGroup.BY_CLASS:
        return group, {key: _parse_class(value), **parsed}
    if not _is_row_id(value):
        raise ValidationFailed(f"target_filter.{key} must be a positive integer id, got {value!r}")
    return group, {key: value, **parsed}


def _parse_include(raw: Mapping[str, Any]) -> TargetFilter:
    if INCLUDE_KEY not in raw:
        return {}
    value = raw[INCLUDE_KEY]
    try:
        include = Include(value) if isinstance(value, str) else None
    except ValueError:
        include = None
    if include is None:
        expected = ", ".join(member.value for member in Include)
        raise ValidationFailed(f"target_filter.include must be one of {expected}, got {value!r}")
    return {} if include is Include.STUDENTS else {INCLUDE_KEY: include.value}


def _parse_class(value: object) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ValidationFailed(f"target_filter.class must be a class name, got {value!r}")
    if len(name) > CLASS_NAME_LIMIT:
        raise ValidationFailed(
            f"target_filter.class is {len(name)} characters long; the limit is {CLASS_NAME_LIMIT}"
        )
    return name


def _parse_user_ids(value: object) -> list[int]:
    if not isinstance(value, list | tuple):
        raise ValidationFailed(f"target_filter.user_ids must be a list, got {value!r}")
    bad = [item for item in value if not _is_row_id(item)]
    if bad:
        shown = ", ".join(repr(item) for item in bad[:10])
        raise ValidationFailed(
            f"target_filter.user_ids must hold positive integer ids; not ids: {shown}"
        )
    user_ids = list(dict.fromkeys(value))
    if not user_ids:
        raise ValidationFailed("custom needs at least one user id in target_filter.user_ids")
    if len(user_ids) > MAX_CUSTOM_USERS:
        raise ValidationFailed(
            f"A custom list holds at most {MAX_CUSTOM_USERS} users, got {len(user_ids)}"
        )
    return user_ids
