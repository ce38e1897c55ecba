"""Emulation of the Bot API: the method table, and the methods that are not messages --
getMe, getUpdates (long polling), setWebhook / deleteWebhook, command menus,
answerCallbackQuery, getChat and the no-ops.

Why it exists: the bot and aiogram call these around the broadcasts; their answers must be
Telegram's so the bot behaves as in production, and tests read what they recorded
(``callback_answers``, ``commands``).  The message methods themselves (deleteMessage
among them) are in :mod:`fake_bot_api.messages`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fake_bot_api.journal import Journal, commands_key
from fake_bot_api.messages import MessageHandler, MessageMethods
from fake_bot_api.records import KIND_ERRORS, BehaviourKind, ChatBehaviour, CommandsCall
from fake_bot_api.store import MessageStore
from fake_bot_api.updates import UpdateQueue
from fake_bot_api.wire import Answer, chat_dict, coerce_chat, decode_params, err, ok

# (method name, request fields, chat_id field if any)
PlainHandler = Callable[[str, dict[str, str], int | str | None], Answer]


@dataclass(frozen=True, slots=True)
class Route:
    """A method: its canonical name and the one handler that answers it.  ``message``
    methods count toward flood limits and are subject to per-chat behaviours."""

    name: str
    message: MessageHandler | None = None
    plain: PlainHandler | None = None
    poll: Callable[[dict[str, str]], Awaitable[Answer]] | None = None


class BotMethods:
    """The method table and the handlers of the methods that are not messages."""

    def __init__(
        self,
        journal: Journal,
        store: MessageStore,
        updates: UpdateQueue,
        behaviours: Mapping[int | str, ChatBehaviour],
        bot_user: dict[str, Any],
        wall_clock: Callable[[], float],
    ) -> None:
        self._journal = journal
        self._store = store
        self._updates = updates
        self._behaviours = behaviours
        self._bot_user = bot_user
        self.routes: dict[str, Route] = self._build_routes(
            MessageMethods(journal, store, bot_user, wall_clock)
        )

    def _build_routes(self, messages: MessageMethods) -> dict[str, Route]:
        """lower-case method -> route."""
        plain: dict[str, tuple[str, PlainHandler]] = {
            "getme": ("getMe", self._get_me),
            "setwebhook": ("setWebhook", self._set_webhook),
            "deletewebhook": ("deleteWebhook", self._delete_webhook),
            "setmycommands": ("setMyCommands", self._set_my_commands),
            "deletemycommands": ("deleteMyCommands", self._delete_my_commands),
            "getmycommands": ("getMyCommands", self._get_my_commands),
            "answercallbackquery": ("answerCallbackQuery", self._answer_callback),
            "sendchataction": ("sendChatAction", self._true),
            "getchat": ("getChat", self._get_chat),
            "close": ("close", self._true),
            "logout": ("logOut", self._true),
        }
        routes = {"getupdates": Route("getUpdates", poll=self._get_updates)}
        routes.update({low: Route(name, plain=h) for low, (name, h) in plain.items()})
        routes.update(
            {low: Route(name, message=h) for low, (name, h) in messages.handlers().items()}
        )
        return routes

    # ------------------------------------------------------------------ other methods

    def _true(self, name: str, params: dict[str, str], chat_id: int | str | None) -> Answer:
        return ok(True)

    def _get_me(self, name: str, params: dict[str, str], chat_id: int | str | None) -> Answer:
        return ok(self._bot_user)

    def _set_webhook(self, name: str, params: dict[str, str], chat_id: int | str | None) -> Answer:
        url = params.get("url") or ""
        if not url.startswith("https://"):
            return err(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self._journal.webhook = {"url": url, "secret_token": params.get("secret_token") or ""}
        return ok(True)

    def _delete_webhook(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> Answer:
        self._journal.webhook = None
        return ok(True)

    async def _get_updates(self, params: dict[str, str]) -> Answer:
        if self._journal.webhook is not None:
            return err(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        try:
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = float(params.get("timeout") or 0)
        except ValueError:
            return err(400, "Bad Request: wrong parameter value")
        queue = self._updates
        queue.confirm(offset)
        if not queue.pending and timeout > 0 and not queue.closed:
            await queue.wait(timeout)
            queue.confirm(offset)
        if queue.closed:
            return ok([])
        return ok(queue.pending[:limit])

    def _set_my_commands(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> Answer:
        decoded = decode_params(params)
        commands = decoded.get("commands")
        if not isinstance(commands, list):
            return err(400, "Bad Request: can't parse commands JSON object")
        scope = decoded.get("scope") if isinstance(decoded.get("scope"), dict) else None
        lang = decoded.get("language_code") or None
        self._journal.commands_calls.append(CommandsCall(name, commands, scope, lang))
        self._journal.commands[commands_key(scope, lang)] = commands
        return ok(True)

    def _delete_my_commands(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> Answer:
        decoded = decode_params(params)
        scope = decoded.get("scope") if isinstance(decoded.get("scope"), dict) else None
        lang = decoded.get("language_code") or None
        self._journal.commands_calls.append(CommandsCall(name, [], scope, lang))
        self._journal.commands.pop(commands_key(scope, lang), None)
        return ok(True)

    def _get_my_commands(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> Answer:
        key = commands_key(params.get("scope"), params.get("language_code"))
        return ok(self._journal.commands.get(key, []))

    def _answer_callback(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> Answer:
        if not params.get("callback_query_id"):
            return err(400, "Bad Request: query_id is empty")
        self._journal.callback_answers.append(decode_params(params))
        return ok(True)

    def _get_chat(self, name: str, params: dict[str, str], chat_id: int | str | None) -> Answer:
        if chat_id is None:
            return err(400, "Bad Request: chat_id is empty")
        beh = self._behaviours.get(chat_id)
        if beh is not None and beh.kind is BehaviourKind.NOT_FOUND:
            return err(*KIND_ERRORS[BehaviourKind.NOT_FOUND])
        if beh is not None and beh.kind is BehaviourKind.MIGRATED:
            code, description = KIND_ERRORS[BehaviourKind.MIGRATED]
            return err(code, description, {"migrate_to_chat_id": beh.migrate_to_chat_id})
        info = chat_dict(coerce_chat(chat_id))
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return ok(info)
