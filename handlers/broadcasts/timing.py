"""Schedule (a draft) and Reschedule (a scheduled broadcast) from the details: one step
that asks for the time and reads the next text message as that time."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, MaybeInaccessibleMessageUnion, Message

from core.i18n import Translator
from core.settings import Settings
from db.types import utcnow
from handlers.broadcasts.browse import ON_MESSAGE
from handlers.callbacks import BroadcastAction, BroadcastButton, TimeAbort, TimeAction
from handlers.keyboards import time_abort_keyboard
from handlers.split import show
from services.access import AdminIdentity
from services.broadcasts import BroadcastService
from services.schedule_time import format_schedule_time, parse_schedule_time
from services.scheduler import BroadcastScheduler

TIME_STEP_KEY = "time_step"


class TimeStep(StatesGroup):
    time = State()


async def time_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    state: FSMContext,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    """Ask for the time; the next text message is read as that time."""
    action = TimeAction(callback_data.action)
    broadcast_id = callback_data.broadcast_id
    await broadcasts.status_for(broadcast_id, action.action)
    await state.set_state(TimeStep.time)
    await state.update_data({TIME_STEP_KEY: {"action": action.value, "id": broadcast_id}})
    await on.answer(
        t(
            f"{action}-ask",
            id=str(broadcast_id),
            tz=settings.tz.key,
            examples=t("schedule-examples"),
        ),
        reply_markup=time_abort_keyboard(t, action, broadcast_id),
    )
    await callback.answer()


async def time_typed(
    message: Message,
    text: str,
    t: Translator,
    state: FSMContext,
    settings: Settings,
    admin: AdminIdentity,
    broadcasts: BroadcastService,
    scheduler: BroadcastScheduler,
) -> None:
    """A time that can't be read or has passed is explained by the error router and the
    step stays; once read, the step ends whatever happens next. A draft becomes scheduled
    and is armed to report to this chat, as the wizard's schedule does; a scheduled
    broadcast moves. One that changed status meanwhile is refused and left alone."""
    when_utc = parse_schedule_time(text, utcnow(), settings.tz)
    step = (await state.get_data())[TIME_STEP_KEY]
    action, broadcast_id = TimeAction(step["action"]), int(step["id"])
    await state.set_state(None)
    if action is TimeAction.SCHEDULE:
        await broadcasts.schedule(broadcast_id, when_utc, actor_id=admin.user_id)
        await scheduler.arm(
            broadcast_id, when_utc, admin_chat_id=message.chat.id, admin_language=t.language
        )
    else:
        await scheduler.reschedule(broadcast_id, when_utc)
    await message.answer(
        t(
            f"{action}-done",
            id=str(broadcast_id),
            time=format_schedule_time(when_utc, settings.tz),
            tz=settings.tz.key,
        )
    )


async def time_abort(
    callback: CallbackQuery,
    callback_data: TimeAbort,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    state: FSMContext,
) -> None:
    step = (await state.get_data()).get(TIME_STEP_KEY)
    if step == {"action": callback_data.action.value, "id": callback_data.broadcast_id}:
        await state.set_state(None)
    await show(
        on, t(f"{callback_data.action}-aborted", id=str(callback_data.broadcast_id)), edit=True
    )
    await callback.answer()


def router() -> Router:
    timing = Router(name=__name__)
    timing.callback_query.register(
        time_button,
        BroadcastAction.filter(
            F.action.in_({BroadcastButton.SCHEDULE, BroadcastButton.RESCHEDULE})
        ),
        ON_MESSAGE,
    )
    timing.message.register(time_typed, TimeStep.time, F.text.as_("text"), ~F.text.startswith("/"))
    timing.callback_query.register(time_abort, TimeAbort.filter(), ON_MESSAGE)
    return timing
