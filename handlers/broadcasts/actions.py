"""Acting on a broadcast: /cancel and /retry, their buttons (on a progress message or a
broadcast's details), and Send now for a saved draft or a scheduled broadcast.

Cancel, Retry and Send now ask first; the question carries the status it asked about
(a retry's, also how many retries came before), so a "Yes" pressed after the broadcast
changed re-asks with what changed instead of acting, and one pressed after another retry
is refused. Refusals (a sent broadcast cannot be cancelled, the retry limit...) come from
the services with their facts and are worded by the error router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, MaybeInaccessibleMessageUnion, Message

from core.i18n import Translator
from core.settings import Settings
from handlers.broadcasts.browse import ON_MESSAGE
from handlers.broadcasts.parsing import target_broadcast
from handlers.broadcasts.views import (
    View,
    cancel_kept,
    cancel_question,
    cancel_report,
    retry_question,
    retry_said,
    send_question,
    status_name,
)
from handlers.callbacks import (
    BroadcastAction,
    BroadcastButton,
    Confirm,
    ConfirmedAction,
    RetryConfirm,
)
from handlers.errors import describe
from handlers.split import show
from services.access import AdminIdentity
from services.broadcasts import BroadcastService
from services.errors import NoRecipients, StatusChanged
from services.launcher import BroadcastLauncher
from services.results import CancelAsked


async def ask_cancel(
    bot: Bot, chat_id: int, broadcast_id: int, t: Translator, broadcasts: BroadcastService
) -> None:
    """Post the Yes/No question, unless the broadcast can no longer be cancelled."""
    text, markup = cancel_question(t, await broadcasts.cancel_asked(broadcast_id))
    await bot.send_message(chat_id, text, reply_markup=markup)


async def ask_retry(
    bot: Bot, chat_id: int, broadcast_id: int, t: Translator, broadcasts: BroadcastService
) -> None:
    """Post the Yes/No question with how many would get it again, unless nothing can be
    retried (the refusal says why)."""
    preview = await broadcasts.retry_preview(broadcast_id)
    text, markup = retry_question(t, preview)
    await bot.send_message(chat_id, text, reply_markup=markup)


def changed_question(t: Translator, changed: StatusChanged, question: View) -> View:
    """The question asked again, under a line that says what changed since."""
    note = t(
        "confirm-changed",
        id=str(changed.broadcast_id),
        was=status_name(t, changed.expected),
        status=status_name(t, changed.status),
    )
    text, markup = question
    return f"{note}\n\n{text}", markup


Ask = Callable[[Bot, int, int, Translator, BroadcastService], Awaitable[None]]
"""Posts a Yes/No question about a broadcast in a chat (`ask_cancel`, `ask_retry`)."""


def asked_by_command(ask: Ask) -> Callable[..., Awaitable[None]]:
    """`/cancel [ID]`, `/retry [ID]`: the question about the broadcast named (or the
    admin's latest)."""

    async def command_asks(
        message: Message,
        command: CommandObject,
        t: Translator,
        admin: AdminIdentity,
        bot: Bot,
        broadcasts: BroadcastService,
    ) -> None:
        broadcast_id = await target_broadcast(message, command, t, admin, broadcasts)
        if broadcast_id is not None:
            await ask(bot, message.chat.id, broadcast_id, t, broadcasts)

    return command_asks


def asked_by_button(ask: Ask) -> Callable[..., Awaitable[None]]:
    """Cancel and Retry on a progress message or in the details: the question, below."""

    async def button_asks(
        callback: CallbackQuery,
        callback_data: BroadcastAction,
        on: MaybeInaccessibleMessageUnion,
        t: Translator,
        bot: Bot,
        broadcasts: BroadcastService,
    ) -> None:
        await ask(bot, on.chat.id, callback_data.broadcast_id, t, broadcasts)
        await callback.answer()

    return button_asks


async def cancel_confirmed(
    callback: CallbackQuery,
    callback_data: Confirm,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    admin: AdminIdentity,
    broadcasts: BroadcastService,
    launcher: BroadcastLauncher,
) -> None:
    """Yes: cancel, and say what it did once the messages in flight are recorded (the
    launcher waits a few seconds at most)."""
    broadcast_id = callback_data.broadcast_id
    if not callback_data.yes:
        run = await broadcasts.run_of(broadcast_id)
        await show(on, cancel_kept(t, broadcast_id, run), edit=True)
        await callback.answer()
        return
    try:
        outcome = await launcher.cancel(
            broadcast_id, expected=callback_data.status, actor_id=admin.user_id
        )
    except StatusChanged as changed:
        run = await broadcasts.run_of(broadcast_id)
        question = cancel_question(t, CancelAsked(broadcast_id, changed.status, run))
        await show(on, *changed_question(t, changed, question), edit=True)
        await callback.answer()
        return
    await show(on, cancel_report(t, outcome), edit=True)
    await callback.answer()


async def retry_confirmed(
    callback: CallbackQuery,
    callback_data: RetryConfirm,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    broadcasts: BroadcastService,
    launcher: BroadcastLauncher,
) -> None:
    """Yes: the failures go back to pending and a new progress message is posted here (the
    earlier one loses its buttons). A broadcast that changed since is asked about again;
    one retried since, or with nothing left to retry, is refused by the error router."""
    broadcast_id = callback_data.broadcast_id
    run = await broadcasts.run_of(broadcast_id)
    if not callback_data.yes:
        await show(on, retry_said(t, "retry-kept", broadcast_id, run), edit=True)
        await callback.answer()
        return

    async def announce(count: int) -> None:
        await show(on, retry_said(t, "retry-started", broadcast_id, run, count=count), edit=True)

    try:
        await launcher.retry(
            broadcast_id,
            on.chat.id,
            language=t.language,
            expected=callback_data.status,
            expected_rounds=callback_data.rounds,
            announce=announce,
        )
    except StatusChanged as changed:
        question = retry_question(t, await broadcasts.retry_preview(broadcast_id))
        await show(on, *changed_question(t, changed, question), edit=True)
    await callback.answer()


async def send_button(
    callback: CallbackQuery,
    callback_data: BroadcastAction,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    settings: Settings,
    launcher: BroadcastLauncher,
) -> None:
    """Ask before sending a draft or a scheduled broadcast now; one that cannot be sent,
    or that nobody could receive, is refused by the error router without asking."""
    preview = await launcher.preview(callback_data.broadcast_id)
    await show(on, *send_question(t, preview, settings.tz))
    await callback.answer()


async def send_confirmed(
    callback: CallbackQuery,
    callback_data: Confirm,
    on: MaybeInaccessibleMessageUnion,
    t: Translator,
    settings: Settings,
    admin: AdminIdentity,
    launcher: BroadcastLauncher,
) -> None:
    """Yes: resolve the recipients now, post the live progress message here, start the
    engine. An audience that became empty since the question leaves the broadcast as it
    was; a broadcast that changed since is asked about again."""
    broadcast_id = callback_data.broadcast_id
    if not callback_data.yes:
        await show(on, t("send-kept", id=str(broadcast_id)), edit=True)
        await callback.answer()
        return

    async def announce(count: int) -> None:
        await show(on, t("send-started", id=str(broadcast_id), count=count), edit=True)

    try:
        await launcher.send_now(
            broadcast_id,
            on.chat.id,
            language=t.language,
            expected=callback_data.status,
            announce=announce,
            actor_id=admin.user_id,
        )
    except NoRecipients as error:
        await show(on, html.quote(describe(error, t, settings.tz)), edit=True)
    except StatusChanged as changed:
        preview = await launcher.preview(broadcast_id)
        question = send_question(t, preview, settings.tz)
        await show(on, *changed_question(t, changed, question), edit=True)
    await callback.answer()


def router() -> Router:
    acting = Router(name=__name__)
    acting.message.register(asked_by_command(ask_cancel), Command("cancel"))
    acting.message.register(asked_by_command(ask_retry), Command("retry"))
    buttons = acting.callback_query
    buttons.register(
        asked_by_button(ask_cancel),
        BroadcastAction.filter(F.action == BroadcastButton.CANCEL),
        ON_MESSAGE,
    )
    buttons.register(
        asked_by_button(ask_retry),
        BroadcastAction.filter(F.action == BroadcastButton.RETRY),
        ON_MESSAGE,
    )
    buttons.register(
        send_button, BroadcastAction.filter(F.action == BroadcastButton.SEND), ON_MESSAGE
    )
    buttons.register(
        cancel_confirmed, Confirm.filter(F.action == ConfirmedAction.CANCEL), ON_MESSAGE
    )
    buttons.register(send_confirmed, Confirm.filter(F.action == ConfirmedAction.SEND), ON_MESSAGE)
    buttons.register(retry_confirmed, RetryConfirm.filter(), ON_MESSAGE)
    return acting
