"""Linking roster users to their Telegram accounts, and keeping that link's state current.

The school hands each person a personal deep link, `https://t.me/<bot>?start=<token>`.
Opening it sends `/start <token>`, which links the sender's Telegram account to that
person. Tokens are random, single-use and stored only as their SHA-256, so the table
reveals no working links. A user has at most one unused token: issuing links again
replaces it. Links go to the active people with no Telegram linked unless all are asked
for (a linked person needs none: a school reruns the command for newcomers and those who
have not joined yet), and only the unused links of the people issued to are voided. A
caller may narrow who is considered with a condition on users (`services.reach` passes
"those of this list"), so every way of issuing links follows these rules.

Linking rules: one Telegram account per user, and one user per Telegram account. A
user who links again gets the new account (the old one is dropped). A Telegram account
that was linked to somebody else moves to the user of the token: the token is the
school's proof that the holder is that person, and refusing would strand them until an
admin edits the database. The previous user is unlinked and the reply says so. A parent
linking is told their active children's names (guardian links), for the greeting.

The same service sets `bot_blocked_at` when a linked person blocks the bot, clears it and
`telegram_deactivated_at` when they link, start or unblock it (the account evidently
works), and writes the invite CSV with formula-looking cells neutralised.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import ColumnElement, delete, func, insert, select, update

from db.models import GuardianLink, InviteToken, Role, User
from db.session import SessionFactory
from db.types import utcnow
from services.results import InvitesIssued

TOKEN_BYTES = 24
"""192 random bits: 32 URL-safe characters, well under Telegram's 64 for a /start payload."""
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What Telegram lets through as a /start payload; anything else cannot be one of ours."""
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel, LibreOffice or Google Sheets run a cell as a formula."""
CSV_HEADER = ("external_id", "full_name", "role", "link")
REACHABLE_AGAIN = {"bot_blocked_at": None, "telegram_deactivated_at": None}
"""The marks of an unreachable person, cleared when their account shows it works."""


def class_of() -> ColumnElement[str | None]:
    """The class a person is listed under: a student's own, a teacher's homeroom class."""
    return func.coalesce(User.class_name, User.homeroom_class)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


def spreadsheet_safe(value: str) -> str:
    """The cell as text a spreadsheet shows verbatim: formula-like values get a leading `'`."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


@dataclass(frozen=True, slots=True)
class Invite:
    external_id: str
    full_name: str
    role: Role
    token: str
    class_name: str | None = None
    """A student's class, or the class a teacher is homeroom teacher of."""


@dataclass(frozen=True, slots=True)
class TelegramAccount:
    """The Telegram side of a link, as a message's sender describes it."""

    telegram_id: int
    username: str | None
    language_code: str | None


class RedeemStatus(enum.StrEnum):
    LINKED = "linked"
    INVALID = "invalid"  # unknown, replaced by a newer link, or its user is inactive
    USED = "used"


@dataclass(frozen=True, slots=True)
class Redemption:
    status: RedeemStatus
    user_id: int | None = None
    full_name: str | None = None
    moved_from: str | None = None
    """The name of the user this Telegram account was linked to until now, if another one."""
    children: tuple[str, ...] = ()
    """The names of the linked person's active children (guardian links), if a parent."""


INVALID = Redemption(RedeemStatus.INVALID)
USED = Redemption(RedeemStatus.USED)


class InviteCsv:
    """The invite CSV, written to `out` page by page: the header at once, then a row per
    invite with its link."""

    def __init__(self, out: TextIO, bot_username: str) -> None:
        self._writer = csv.writer(out)
        self._bot_username = bot_username
        self._writer.writerow(CSV_HEADER)

    def write(self, page: list[Invite]) -> None:
        self._writer.writerows(
            [
                *(spreadsheet_safe(cell) for cell in (invite.external_id, invite.full_name)),
                invite.role.value,
                deep_link(self._bot_username, invite.token),
            ]
            for invite in page
        )


class LinkService:
    def __init__(self, session_factory: SessionFactory, page_size: int = 1000) -> None:
        self._session_factory = session_factory
        self._page_size = page_size

    async def issue_invites(
        self,
        deliver: Callable[[list[Invite]], None],
        *,
        role: Role | None = None,
        include_linked: bool = False,
        among: ColumnElement[bool] | None = None,
    ) -> InvitesIssued:
        """Fresh invites for the active users (of `role`, and `among` those a condition
        on users picks) who have no Telegram linked, or for all active ones with
        `include_linked`, handed to `deliver` a page at a time.

        Users are read by id, a page at a time, each page in its own transaction: the
        unused tokens of the page's invitees are deleted and new ones stored, so every
        invite is valid once delivered. Everyone else keeps their unused link.
        """
        conditions = [] if role is None else [User.role == role]
        if among is not None:
            conditions.append(among)
        issued = skipped_linked = skipped_inactive = 0
        after = 0
        while True:
            async with self._session_factory() as session, session.begin():
                users = (
                    await session.execute(
                        select(
                            User.id,
                            User.external_id,
                            User.full_name,
                            User.role,
                            class_of().label("class_"),
                            User.is_active,
                            User.telegram_id.is_not(None).label("linked"),
                        )
                        .where(*conditions, User.id > after)
                        .order_by(User.id)
                        .limit(self._page_size)
                    )
                ).all()
                if not users:
                    return InvitesIssued(issued, skipped_linked, skipped_inactive)
                after = users[-1].id
                inactive = sum(not user.is_active for user in users)
                invitees = [
                    user for user in users if user.is_active and (include_linked or not user.linked)
                ]
                skipped_inactive += inactive
                skipped_linked += len(users) - inactive - len(invitees)
                if not invitees:
                    continue
                await session.execute(
                    delete(InviteToken).where(
                        InviteToken.user_id.in_([user.id for user in invitees]),
                        InviteToken.used_at.is_(None),
                    )
                )
                tokens = [new_token() for _ in invitees]
                await session.execute(
                    insert(InviteToken),
                    [
                        {"user_id": user.id, "token_hash": hash_token(token)}
                        for user, token in zip(invitees, tokens, strict=True)
                    ],
                )
            deliver(
                [
                    Invite(user.external_id, user.full_name, user.role, token, user.class_)
                    for user, token in zip(invitees, tokens, strict=True)
                ]
            )
            issued += len(invitees)

    async def redeem(self, token: str, account: TelegramAccount) -> Redemption:
        """Link `account` to the user the token was issued to, using the token up."""
        if not TOKEN_PATTERN.fullmatch(token):
            return INVALID
        now = utcnow()
        async with self._session_factory() as session, session.begin():
            invite = (
                await session.execute(
                    select(
                        InviteToken.id,
                        InviteToken.used_at,
                        User.id.label("user_id"),
                        User.full_name,
                    )
                    .join(User, User.id == InviteToken.user_id)
                    .where(InviteToken.token_hash == hash_token(token), User.is_active)
                )
            ).one_or_none()
            if invite is None:
                return INVALID
            claimed = await session.execute(
                update(InviteToken)
                .where(InviteToken.id == invite.id, InviteToken.used_at.is_(None))
                .values(used_at=now)
            )
            if invite.used_at is not None or claimed.rowcount == 0:  # type: ignore[attr-defined]
                return USED
            # Free the Telegram id first: it is unique, and PostgreSQL checks per statement.
            moved_from = await session.scalar(
                update(User)
                .where(User.telegram_id == account.telegram_id, User.id != invite.user_id)
                .values(telegram_id=None, telegram_username=None, **REACHABLE_AGAIN)
                .returning(User.full_name)
            )
            await session.execute(
                update(User)
                .where(User.id == invite.user_id)
                .values(
                    telegram_id=account.telegram_id,
                    telegram_username=account.username,
                    language_code=account.language_code,
                    **REACHABLE_AGAIN,
                )
            )
            children = await session.scalars(
                select(User.full_name)
                .join(GuardianLink, GuardianLink.student_id == User.id)
                .where(GuardianLink.guardian_id == invite.user_id, User.is_active)
                .order_by(User.full_name, User.id)
            )
            names = tuple(children)
        return Redemption(RedeemStatus.LINKED, invite.user_id, invite.full_name, moved_from, names)

    async def refresh(self, account: TelegramAccount) -> str | None:
        """A plain /start: update the linked user's Telegram details and clear the blocked
        and deactivated marks. Returns the user's name, or None when the account is linked
        to nobody."""
        async with self._session_factory() as session, session.begin():
            return await session.scalar(
                update(User)
                .where(User.telegram_id == account.telegram_id)
                .values(
                    telegram_username=account.username,
                    language_code=account.language_code,
                    **REACHABLE_AGAIN,
                )
                .returning(User.full_name)
            )

    async def linked_name(self, telegram_id: int) -> str | None:
        """The name of the roster user this Telegram account is linked to, if any."""
        async with self._session_factory() as session:
            return await session.scalar(
                select(User.full_name).where(User.telegram_id == telegram_id)
            )

    async def set_bot_blocked(self, telegram_id: int, blocked: bool) -> None:
        """Record that the person behind `telegram_id` blocked (or unblocked) the bot; an
        unblock clears the deactivated mark too.

        A repeated block keeps the time of the first one.
        """
        statement = update(User).where(User.telegram_id == telegram_id)
        if blocked:
            statement = statement.where(User.bot_blocked_at.is_(None)).values(
                bot_blocked_at=utcnow()
            )
        else:
            statement = statement.values(**REACHABLE_AGAIN)
        async with self._session_factory() as session, session.begin():
            await session.execute(statement)
