"""Who may administer broadcasts: the Telegram ids in ADMIN_IDS, plus roster users with
role `admin` who have linked their Telegram account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from db.models import Role, User
from db.session import SessionFactory


@dataclass(frozen=True, slots=True)
class AdminIdentity:
    telegram_id: int
    user_id: int | None  # the roster user, when the admin is in the roster


class AccessService:
    def __init__(self, session_factory: SessionFactory, admin_ids: list[int]) -> None:
        self._session_factory = session_factory
        self._admin_ids = frozenset(admin_ids)

    async def admin_identity(self, telegram_id: int) -> AdminIdentity | None:
        """The admin behind `telegram_id`, or None for everyone else."""
        async with self._session_factory() as session:
            user = await session.scalar(
                select(User).where(User.telegram_id == telegram_id, User.is_active)
            )
        if user is not None and user.role is Role.ADMIN:
            return AdminIdentity(telegram_id, user.id)
        if telegram_id in self._admin_ids:
            return AdminIdentity(telegram_id, user.id if user is not None else None)
        return None

    async def admin_telegram_ids(self) -> list[int]:
        """Every admin's Telegram id: ADMIN_IDS plus active roster admins with a linked account."""
        async with self._session_factory() as session:
            linked = await session.scalars(
                select(User.telegram_id).where(
                    User.role == Role.ADMIN, User.is_active, User.telegram_id.is_not(None)
                )
            )
            roster_ids = {telegram_id for telegram_id in linked if telegram_id is not None}
        return sorted(self._admin_ids | roster_ids)
