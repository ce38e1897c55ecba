"""Every button's callback data outside the compose wizard (aiogram-dialog keeps its own).

Ids only, range-checked, so a forged value never reaches the database; each kind of
action has one factory, whichever message its button sits on (a progress message or a
broadcast's details). A confirmation carries the status it asked about (and a retry's,
how many retries came before), so pressing it after the broadcast changed re-asks or is
refused instead of acting.
"""

from __future__ import annotations

import enum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from db.models import BroadcastStatus, RecipientStatus
from services.errors import Action
from services.targets import MAX_ROW_ID

BroadcastId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""A broadcast id in callback data: forged out-of-range values never reach the database."""
PageNumber = Annotated[int, Field(ge=1)]
OptionalBroadcastId = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]
"""0 where the button is not about a saved broadcast."""
DraftKey = Annotated[str, Field(pattern=r"^[0-9a-f]{0,12}$")]
"""Names the wizard audience a list was opened for (`handlers.reach.draft_key`)."""
RetryRounds = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]
"""How many times a broadcast was retried; a forged value only makes a Yes refused."""


class BroadcastButton(enum.StrEnum):
    OPEN = "open"
    PROGRESS = "progress"
    RECIPIENTS = "recipients"
    UNCONFIRMED = "unconfirmed"
    """Those delivered who have not confirmed reading."""
    EXPORT = "export"
    """Send the broadcast's recipients as a CSV document."""
    UNREACHABLE = "unreachable"
    """Who of its audience cannot be reached."""
    REMIND = "remind"
    """Remind those delivered who have not confirmed (asks first)."""
    RETRY = "retry"
    CANCEL = "cancel"
    SEND = "send"
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    EDIT = "edit"
    """Edit a sent announcement for everyone."""
    DELETE = "delete"
    """Delete a sent announcement for everyone."""


class BroadcastAction(CallbackData, prefix="ba"):
    """A button that acts on or shows one broadcast."""

    action: BroadcastButton
    broadcast_id: BroadcastId


class ProgressRefresh(CallbackData, prefix="pr"):
    """Refresh on a progress message; `lang` and `full` say how the message was drawn."""

    broadcast_id: BroadcastId
    lang: str
    full: bool = False


class ConfirmedAction(enum.StrEnum):
    """What a Yes/No question asks; the value starts its message ids (`cancel-btn-yes`)."""

    CANCEL = "cancel"
    SEND = "send"

    @property
    def action(self) -> Action:
        return Action.CANCEL if self is ConfirmedAction.CANCEL else Action.START


class Confirm(CallbackData, prefix="cf"):
    """The answer to a Yes/No question about a broadcast in `status`."""

    action: ConfirmedAction
    broadcast_id: BroadcastId
    status: BroadcastStatus
    yes: bool


class RetryConfirm(CallbackData, prefix="rc"):
    """The answer to "send again?" about a broadcast in `status` that had been retried
    `rounds` times: a Yes after another retry is refused, not a second retry."""

    broadcast_id: BroadcastId
    status: BroadcastStatus
    rounds: RetryRounds
    yes: bool


class RemindConfirm(CallbackData, prefix="rm"):
    """The answer to "remind those who have not confirmed?" about an announcement that had
    had `sent` reminders: a Yes after another reminder is refused, not a second one."""

    broadcast_id: BroadcastId
    sent: RetryRounds
    yes: bool


class AmendKind(enum.StrEnum):
    """What an edit-or-delete question is about; the value starts its message ids."""

    EDIT = "edit"
    DELETE = "delete"


class AmendConfirm(CallbackData, prefix="am"):
    """Yes / No to editing (with the corrected text the admin sent, kept in the chat's
    state) or deleting an announcement for everyone; No also leaves the edit's text step."""

    kind: AmendKind
    broadcast_id: BroadcastId
    yes: bool


class TimeAction(enum.StrEnum):
    """What a typed time is for: a draft's first time, or a scheduled broadcast's new one.
    The value starts the step's message ids (`schedule-ask`, `reschedule-done`...)."""

    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"

    @property
    def action(self) -> Action:
        return Action.SCHEDULE if self is TimeAction.SCHEDULE else Action.RESCHEDULE


class TimeAbort(CallbackData, prefix="ta"):
    action: TimeAction
    broadcast_id: BroadcastId


class ListPage(CallbackData, prefix="bl"):
    status: BroadcastStatus | None = None
    page: PageNumber = 1
    search: bool = False


class RecipientPage(CallbackData, prefix="rl"):
    broadcast_id: BroadcastId
    status: RecipientStatus | None = None
    page: PageNumber = 1


class UnconfirmedPage(CallbackData, prefix="ul"):
    """A page of those who were delivered a broadcast and have not confirmed reading."""

    broadcast_id: BroadcastId
    page: PageNumber = 1


class ReadConfirmation(CallbackData, prefix="rd"):
    """ "✅ I have read it" under a delivered broadcast. No fields: the message the button
    sits on names the recipient row (services/confirmations.py), so there is nothing in
    the data to forge."""


class ReadConfirmed(CallbackData, prefix="rdk"):
    """The "✅ Confirmed 14:02" button that replaces it: a press only gets an answer."""


class ReachScope(enum.StrEnum):
    """Whose unreachable people a button is about."""

    DRAFT = "draft"
    """The compose wizard's audience, kept in the conversation data under its `key`."""
    BROADCAST = "broadcast"
    SCHOOL = "school"
    """Everyone (/reach): only its invite links, there is no list."""


class UnreachablePage(CallbackData, prefix="nr"):
    """A page of who cannot be reached."""

    scope: ReachScope
    broadcast_id: OptionalBroadcastId = 0
    key: DraftKey = ""
    page: PageNumber = 1


class InviteLinks(CallbackData, prefix="il"):
    """ "Invite links for these (N)": a CSV of fresh links for those with no Telegram."""

    scope: ReachScope
    broadcast_id: OptionalBroadcastId = 0
    key: DraftKey = ""
