"""Which broadcast statuses allow which action, and which failures are worth a retry.

Status sets end in `_STATUSES`, error-code sets in `_ERROR_CODES`, so the two never read
alike. The services guard every status change with these sets in the UPDATE itself.
"""

from __future__ import annotations

from db.models import BroadcastStatus
from services.errors import Action

STARTABLE_STATUSES = frozenset({BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED})
CANCELLABLE_STATUSES = frozenset(
    {BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING}
)
RETRYABLE_STATUSES = frozenset(
    {
        BroadcastStatus.SENDING,
        BroadcastStatus.SENT,
        BroadcastStatus.COMPLETED,
        BroadcastStatus.FAILED,
    }
)
AMENDABLE_STATUSES = frozenset(
    {
        BroadcastStatus.SENDING,
        BroadcastStatus.SENT,
        BroadcastStatus.COMPLETED,
        BroadcastStatus.CANCELLED,
    }
)
"""An announcement that may be edited or deleted for everyone (a cancelled one: if some
received it)."""
FINISHED_WITH_TIMES_STATUSES = frozenset({BroadcastStatus.SENT, BroadcastStatus.COMPLETED})

ALLOWED_STATUSES: dict[Action, frozenset[BroadcastStatus]] = {
    Action.START: STARTABLE_STATUSES,
    Action.CANCEL: CANCELLABLE_STATUSES,
    Action.RETRY: RETRYABLE_STATUSES,
    Action.SCHEDULE: frozenset({BroadcastStatus.DRAFT}),
    Action.RESCHEDULE: frozenset({BroadcastStatus.SCHEDULED}),
    Action.RETARGET: STARTABLE_STATUSES,
    Action.DELIVER: frozenset({BroadcastStatus.SENDING}),
    Action.REMIND: frozenset(BroadcastStatus) - STARTABLE_STATUSES,
    Action.EDIT: AMENDABLE_STATUSES,
    Action.DELETE: AMENDABLE_STATUSES,
}
"""The statuses in which each action may be asked for (ADD_RECIPIENTS: any unfinished)."""

RETRYABLE_ERROR_CODES = frozenset(
    {"server_error", "network", "timeout", "other", "unauthorized", "chat_not_found"}
)
"""Failures worth another try. chat_not_found is in: it usually means a wrong telegram_id,
fixed by re-importing the roster. The user's own choices (blocked, deactivated, never
started the bot) are not retried. A failure without a code counts as `other`."""
