"""The service document's BroadcastBatchProcessor: recipients written in batches, and its
"send to group / role / custom list" calls mapped onto audiences + `start_sending` + the
engine's launcher, answering in the document's shapes (`services.contract`).

Tuning follows the document's Configuration section: BATCH_SIZE, SEND_BATCH_SIZE,
MAX_RETRIES and RETRY_DELAYS are class attributes a subclass may override; left as None
they come from `BatchDefaults` (the settings). The instance exposes the values in effect
as `batch_size`, `send_batch_size`, `max_retries` and `retry_delays` (the last three are
the sending engine's knobs, read by whoever wires the engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from sqlalchemy import literal, select, update

from db.models import FINISHED_STATUSES, Broadcast, Role, TargetGroup, User
from db.session import SessionFactory
from services.audience import (
    ROLE_GROUPS,
    affected_rows,
    insert_recipients_ignoring_duplicates,
    is_reachable,
)
from services.broadcasts import BroadcastRules, BroadcastService
from services.contract import (
    DocumentedBroadcastService,
    Launcher,
    batch_status_dict,
    recipients_added_dict,
)
from services.errors import Action, BroadcastNotFound, InvalidStatus, ValidationFailed
from services.results import RecipientsAdded
from services.targets import MAX_ROW_ID

GROUP_OF_ROLE = {role: group for group, role in ROLE_GROUPS.items()}

Value = TypeVar("Value")


def _configured(override: Value | None, default: Value) -> Value:
    return default if override is None else override


def _why_skipped(user_id: int, row: Any) -> str | None:
    """Why a user cannot be a recipient, or None when they can."""
    if row is None:
        return f"User {user_id} not found"
    is_active, telegram_id, bot_blocked_at, deactivated_at = row
    if not is_active:
        return f"User {user_id} is inactive"
    if telegram_id is None:
        return f"User {user_id} has no Telegram account linked"
    if deactivated_at is not None:
        return f"User {user_id}'s Telegram account is deactivated"
    if bot_blocked_at is not None:
        return f"User {user_id} has blocked the bot"
    return None


@dataclass(frozen=True, slots=True)
class BatchDefaults:
    """The configured values a processor uses where its class sets none."""

    batch_size: int
    send_batch_size: int
    max_retries: int
    retry_delays: Sequence[float]


class BroadcastBatchProcessor:
    BATCH_SIZE: ClassVar[int | None] = None
    SEND_BATCH_SIZE: ClassVar[int | None] = None
    MAX_RETRIES: ClassVar[int | None] = None
    RETRY_DELAYS: ClassVar[Sequence[float] | None] = None

    def __init__(
        self,
        session_factory: SessionFactory,
        rules: BroadcastRules,
        defaults: BatchDefaults,
        launcher: Launcher | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._typed = BroadcastService(session_factory, rules)
        self.broadcasts = DocumentedBroadcastService(self._typed, launcher)
        self.batch_size = _configured(self.BATCH_SIZE, defaults.batch_size)
        self.send_batch_size = _configured(self.SEND_BATCH_SIZE, defaults.send_batch_size)
        self.max_retries = _configured(self.MAX_RETRIES, defaults.max_retries)
        self.retry_delays = list(_configured(self.RETRY_DELAYS, defaults.retry_delays))

    async def create_broadcast_recipients_batch(
        self, broadcast_id: int, recipient_ids: Sequence[int], batch_size: int | None = None
    ) -> dict[str, Any]:
        """Add users as pending recipients, `batch_size` ids per INSERT ... SELECT.

        Ids repeated in the list or already recipients are skipped and not counted as
        created. Unknown, inactive and unreachable users are skipped and listed in
        `errors`; `success` is True when nothing had to be listed there. All batches run
        in one transaction, and recipient_count grows by the rows created.
        """
        size = self.batch_size if batch_size is None else batch_size
        if size < 1:
            raise ValidationFailed(f"batch_size must be 1 or more, got {size}")
        bad = [
            user_id
            for user_id in recipient_ids
            if isinstance(user_id, bool) or not isinstance(user_id, int)
        ]
        if bad:
            raise ValidationFailed(f"Recipient ids must be integers; not integers: {bad[:10]!r}")
        batches = [
            recipient_ids[start : start + size] for start in range(0, len(recipient_ids), size)
        ]
        created = 0
        errors: list[str] = []
        seen: set[int] = set()
        async with self._session_factory() as session, session.begin():
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise BroadcastNotFound(broadcast_id)
            if broadcast.status in FINISHED_STATUSES:
                raise InvalidStatus(broadcast_id, Action.ADD_RECIPIENTS, broadcast.status)
            for batch in batches:
                new_ids = [user_id for user_id in dict.fromkeys(batch) if user_id not in seen]
                seen.update(new_ids)
                known = [user_id for user_id in new_ids if 0 < user_id <= MAX_ROW_ID]
                found = {
                    user_id: marks
                    for user_id, *marks in await session.execute(
                        select(
                            User.id,
                            User.is_active,
                            User.telegram_id,
                            User.bot_blocked_at,
                            User.telegram_deactivated_at,
                        ).where(User.id.in_(known))
                    )
                }
                errors.extend(
                    reason
                    for user_id in new_ids
                    if (reason := _why_skipped(user_id, found.get(user_id))) is not None
                )
                rows = select(literal(broadcast_id), User.id).where(
                    User.id.in_(known), User.is_active, is_reachable()
                )
                result = await session.execute(
                    insert_recipients_ignoring_duplicates(session).from_select(
                        ["broadcast_id", "recipient_id"], rows
                    )
                )
                created += affected_rows(result)
            if created:
                await session.execute(
                    update(Broadcast)
                    .where(Broadcast.id == broadcast_id)
                    .values(recipient_count=Broadcast.recipient_count + created)
                )
        return recipients_added_dict(
            RecipientsAdded(created, len(recipient_ids), len(batches), errors)
        )

    async def get_batch_status(self, broadcast_id: int) -> dict[str, Any]:
        """`get_progress`, keyed by broadcast_id as in the document."""
        return batch_status_dict(await self._typed.get_progress(broadcast_id))

    async def send_to_group_batch(
        self,
        broadcast_id: int,
        target_group: TargetGroup | str,
        target_filter: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Target the draft at the group, write its recipients and launch the engine."""
        await self._typed.update_target(broadcast_id, target_group, target_filter)
        return await self.broadcasts.send_now(broadcast_id)

    async def send_to_role_batch(self, broadcast_id: int, role: Role | str) -> dict[str, Any]:
        """`send_to_group_batch` for all active users of a role (student, teacher, ...)."""
        try:
            group = GROUP_OF_ROLE[Role(role)]
        except (ValueError, KeyError):
            expected = ", ".join(member.value for member in GROUP_OF_ROLE)
            raise ValidationFailed(f"Cannot send to role {role!r}; expected {expected}") from None
        return await self.send_to_group_batch(broadcast_id, group)

    async def send_to_custom_list_batch(
        self, broadcast_id: int, user_ids: Sequence[int]
    ) -> dict[str, Any]:
        """`send_to_group_batch` for a custom list of user ids."""
        return await self.send_to_group_batch(
            broadcast_id, TargetGroup.CUSTOM, {"user_ids": list(user_ids)}
        )

    async def retry_failed_batch(
        self, broadcast_id: int, max_retries: int | None = None
    ) -> dict[str, Any]:
        """`retry_failed` with this processor's MAX_RETRIES unless told otherwise."""
        return await self.broadcasts.retry_failed(
            broadcast_id, _configured(max_retries, self.max_retries)
        )
