"""Finding the people an admin typed for a custom list: ids, the school's own ids,
@usernames or Telegram ids, in one query per way of naming them.

Its own module because reading what people type is apart from audiences' SQL; the
AudienceService gives it to the wizard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from services.errors import ValidationFailed
from services.targets import MAX_CUSTOM_USERS, MAX_ROW_ID

MAX_TELEGRAM_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class FoundUser:
    """A person an admin's reference matched, as the school knows them."""

    id: int
    external_id: str
    full_name: str


@dataclass(frozen=True, slots=True)
class ResolvedReferences:
    found: list[FoundUser]
    """Each person once, in the order first referenced."""
    unmatched: list[str]
    """The references that matched nobody, as typed."""


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _parse_reference(reference: str) -> tuple[str, str]:
    """(kind, value): kind is "id", "username" or "any" (an external id or digits)."""
    if reference.startswith("#") and _is_number(reference[1:]):
        return "id", reference[1:]
    if reference.startswith("@") and len(reference) > 1:
        return "username", reference[1:].lower()
    return "any", reference


async def _lookup(session: AsyncSession, column: Any, values: set[Any]) -> dict[Any, int]:
    """{value: user id} for the users whose `column` is one of `values`."""
    if not values:
        return {}
    rows = await session.execute(select(column, User.id).where(column.in_(values)))
    return {key: user_id for key, user_id in rows}


@dataclass(frozen=True, slots=True)
class _Matches:
    """Users found for a batch of references, by the way each could name them."""

    by_id: dict[int, int]
    by_external_id: dict[str, int]
    by_external_id_folded: dict[str, int]
    by_telegram_id: dict[int, int]
    by_username: dict[str, int]

    def pick(self, kind: str, value: str) -> int | None:
        if kind == "id":
            return self.by_id.get(int(value))
        if kind == "username":
            return self.by_username.get(value)
        if value in self.by_external_id:
            return self.by_external_id[value]
        if value.lower() in self.by_external_id_folded:
            return self.by_external_id_folded[value.lower()]
        if _is_number(value):
            number = int(value)
            return self.by_id.get(number, self.by_telegram_id.get(number))
        return None


async def resolve_references(
    session: AsyncSession, references: Sequence[str]
) -> ResolvedReferences:
    """The people `references` name and the references that matched nobody (see
    `AudienceService.resolve_user_references`)."""
    cleaned = [reference.strip() for reference in references if reference.strip()]
    if len(cleaned) > MAX_CUSTOM_USERS:
        raise ValidationFailed(
            f"At most {MAX_CUSTOM_USERS} references at a time, got {len(cleaned)}"
        )
    parsed = {reference: _parse_reference(reference) for reference in cleaned}
    by_kind: dict[str, set[str]] = {"id": set(), "username": set(), "any": set()}
    for kind, value in parsed.values():
        by_kind[kind].add(value)
    numbers = {int(value) for value in by_kind["any"] | by_kind["id"] if _is_number(value)}
    matches = _Matches(
        by_id=await _lookup(
            session, User.id, {number for number in numbers if number <= MAX_ROW_ID}
        ),
        by_external_id=await _lookup(session, User.external_id, by_kind["any"]),
        by_external_id_folded=await _lookup(
            session,
            func.lower(User.external_id),
            {value.lower() for value in by_kind["any"]},
        ),
        by_telegram_id=await _lookup(
            session,
            User.telegram_id,
            {number for number in numbers if number <= MAX_TELEGRAM_ID},
        ),
        by_username=await _lookup(session, func.lower(User.telegram_username), by_kind["username"]),
    )
    matched: dict[int, None] = {}
    unmatched: list[str] = []
    for reference, (kind, value) in parsed.items():
        user_id = matches.pick(kind, value)
        if user_id is None:
            unmatched.append(reference)
        else:
            matched[user_id] = None
    people = {
        user_id: FoundUser(user_id, external_id, full_name)
        for user_id, external_id, full_name in await session.execute(
            select(User.id, User.external_id, User.full_name).where(User.id.in_(matched))
        )
    }
    return ResolvedReferences([people[user_id] for user_id in matched], unmatched)
