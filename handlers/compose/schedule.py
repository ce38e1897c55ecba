"""Step 6 of the compose wizard: when a scheduled broadcast goes out (a quick choice or a
typed time), then the broadcast created and its timer armed."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button

from db.types import utcnow
from handlers.compose import steps
from handlers.compose.draft import Draft
from services.schedule_time import format_schedule_time, parse_schedule_time
from services.scheduler import BroadcastScheduler

TOMORROW_MORNING = "tomorrow 09:00"


async def _schedule(manager: DialogManager, when: datetime) -> None:
    deps = steps.Deps.of(manager)
    scheduler: BroadcastScheduler = manager.middleware_data["scheduler"]
    broadcast_id = await steps.create_broadcast(manager, scheduled_at=when)
    await scheduler.arm(
        broadcast_id, when, admin_chat_id=deps.chat.id, admin_language=deps.t.language
    )
    tz = deps.settings.tz
    text = deps.t(
        "compose-created-scheduled",
        id=str(broadcast_id),
        time=format_schedule_time(when, tz),
        tz=tz.key,
    )
    if (starts_at := deps.quiet.start_of(Draft.of(manager).options.urgent, when)) is not None:
        text += "\n" + deps.t("quiet-scheduled", time=format_schedule_time(starts_at, tz))
    await steps.finish(manager, text)


async def on_in_one_hour(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    await _schedule(manager, (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0))


async def on_tomorrow_morning(
    callback: CallbackQuery, button: Button, manager: DialogManager
) -> None:
    tz = steps.Deps.of(manager).settings.tz
    await _schedule(manager, parse_schedule_time(TOMORROW_MORNING, utcnow(), tz))


async def on_time_typed(message: Message, widget: MessageInput, manager: DialogManager) -> None:
    """A typed time. One that cannot be read, has passed or does not exist raises a
    ValidationFailed that the error handler explains; the step stays."""
    when = parse_schedule_time(message.text or "", utcnow(), steps.Deps.of(manager).settings.tz)
    await _schedule(manager, when)
