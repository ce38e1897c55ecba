"""A fake Telegram Bot API server for tests and benchmarks.

Why it exists: the broadcast bot must be exercised end to end -- real aiogram ``Bot``,
real HTTP, real error mapping -- without touching Telegram.  This module serves the
subset of the Bot API the bot uses on loopback, imitates Telegram's failure modes
(blocked users, deactivated accounts, migrated groups, 5xx / dropped connections,
flood limits with escalating ``retry_after``) and records everything it delivered so
tests and benchmarks can assert on it.

In-process use (tests)::

    fake = FakeBotAPI(global_rate=30)
    url = await fake.start()
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    fake.set_blocked(42)
    ...
    await fake.stop()

As a separate process (benchmarks)::

    python -m tests.fake_bot_api --port 8081 --rate 30 --per-chat-interval 1 --latency 0.05

It prints ``READY http://127.0.0.1:8081`` on stdout once listening, runs until
SIGTERM/SIGINT and exposes control/inspection endpoints under ``/_fake/`` (see
``FakeBotAPI._fake_*`` handlers and the ``--help`` text).

Conventions:

* Requests go to ``/bot<token>/<method>``; the method name is case-insensitive.  A token
  other than ``FakeBotAPI.token`` answers 401 (pass ``token=None`` to accept any token).
* "Message" methods (``send*``, ``copyMessage``, ``forwardMessage``, ``editMessage*``)
  count toward flood limits and are subject to per-chat behaviours; other methods are not.
* A message request is *accepted* once it passed the flood check; accepted requests fill
  the global 1 s window and restart the chat's ``per_chat_interval`` clock even if the
  chat's behaviour then answers 403/400.  Flaky failures (502 / dropped connection) and
  ``set_slow`` delays happen *before* the flood check (they model the network path).
* Text is stored verbatim: ``parse_mode`` markup is not parsed.
* ``copyMessage`` copies content from a message the fake knows (one it sent, or one
  pushed through :meth:`FakeBotAPI.push_update`); an unknown source is still copied,
  with ``text`` = the ``caption`` override (or ``None``) and ``kind == "copy"``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import inspect
import itertools
import json
import math
import re
import signal
import sys
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, cast
from urllib.parse import unquote_plus

from aiohttp import web

__all__ = [
    "BehaviourKind",
    "ChatBehaviour",
    "CommandsCall",
    "Delivered",
    "Edit",
    "FakeBotAPI",
    "MessageState",
    "RequestRecord",
]

JSON = Any
_WALL_OFFSET: Final[float] = time.time() - time.monotonic()

_BOOL_FIELDS: Final = frozenset(
    {
        "allow_paid_broadcast",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "has_spoiler",
        "protect_content",
        "revoke_messages",
        "show_alert",
        "show_caption_above_media",
        "supports_streaming",
    }
)
_INT_FIELDS: Final = frozenset(
    {
        "cache_time",
        "direct_messages_topic_id",
        "duration",
        "from_chat_id",
        "height",
        "limit",
        "message_id",
        "message_thread_id",
        "offset",
        "reply_to_message_id",
        "timeout",
        "user_id",
        "video_start_timestamp",
        "width",
    }
)
_JSON_FIELDS: Final = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "link_preview_options",
        "media",
        "menu_button",
        "reply_markup",
        "reply_parameters",
        "scope",
        "suggested_post_parameters",
    }
)
# send method (lower case) -> (canonical name, media field / kind)
_MEDIA_SENDS: Final[dict[str, tuple[str, str]]] = {
    "sendphoto": ("sendPhoto", "photo"),
    "sendvideo": ("sendVideo", "video"),
    "senddocument": ("sendDocument", "document"),
    "sendanimation": ("sendAnimation", "animation"),
    "sendaudio": ("sendAudio", "audio"),
    "sendvoice": ("sendVoice", "voice"),
    "sendsticker": ("sendSticker", "sticker"),
    "sendvideonote": ("sendVideoNote", "video_note"),
}
_MEDIA_KINDS: Final = tuple(kind for _, kind in _MEDIA_SENDS.values())
_NO_CAPTION_KINDS: Final = frozenset({"sticker", "video_note"})

TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024

MSG_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a content and reply markup of the current message"
)


# --------------------------------------------------------------------------- behaviours


class BehaviourKind(StrEnum):
    """What a chat answers to message requests (after flaky failures / delay)."""

    OK = "ok"
    BLOCKED = "blocked"  # 403 Forbidden: bot was blocked by the user
    DEACTIVATED = "deactivated"  # 403 Forbidden: user is deactivated
    CANT_INITIATE = "cant_initiate"  # 403 Forbidden: bot can't initiate conversation ...
    NOT_FOUND = "not_found"  # 400 Bad Request: chat not found
    MIGRATED = "migrated"  # 400 ... upgraded to a supergroup chat + migrate_to_chat_id


_KIND_ERRORS: Final[dict[BehaviourKind, tuple[int, str]]] = {
    BehaviourKind.BLOCKED: (403, "Forbidden: bot was blocked by the user"),
    BehaviourKind.DEACTIVATED: (403, "Forbidden: user is deactivated"),
    BehaviourKind.CANT_INITIATE: (403, "Forbidden: bot can't initiate conversation with a user"),
    BehaviourKind.NOT_FOUND: (400, "Bad Request: chat not found"),
    BehaviourKind.MIGRATED: (400, "Bad Request: group chat was upgraded to a supergroup chat"),
}


@dataclass(slots=True)
class ChatBehaviour:
    """Per-chat behaviour.  Components combine: e.g. slow + flaky + blocked.

    Evaluation order for a message request: ``failures`` (each consumes one: 502 "Bad
    Gateway" when ``fail_mode == "5xx"``, closed socket when ``"drop"``), then ``delay``,
    then the flood check, then ``kind``.
    """

    kind: BehaviourKind = BehaviourKind.OK
    failures: int = 0
    fail_mode: str = "5xx"
    delay: float = 0.0
    migrate_to_chat_id: int | None = None

    @classmethod
    def flaky(cls, failures: int, mode: str = "5xx") -> ChatBehaviour:
        if mode not in ("5xx", "drop"):
            raise ValueError(f"flaky mode must be '5xx' or 'drop', not {mode!r}")
        return cls(failures=failures, fail_mode=mode)

    @property
    def is_ok(self) -> bool:
        return self.kind is BehaviourKind.OK and self.failures <= 0 and self.delay <= 0


# --------------------------------------------------------------------------- records


def _loads_or_none(raw: str | None) -> JSON:
    return None if raw is None else json.loads(raw)


class Delivered:
    """One successfully delivered message (send*/copyMessage/forwardMessage/sendMediaGroup).

    ``text`` is the text or caption; ``kind`` is "text", a media kind ("photo", "video",
    "document", "animation", ...), or "copy" for a copy of an unknown message.
    ``entities`` / ``reply_markup`` are decoded lazily from the raw JSON the bot sent.
    ``params`` is the full decoded request in normal mode; in compact mode it is rebuilt
    from the kept fields only.
    """

    __slots__ = (
        "_params",
        "allow_paid_broadcast",
        "chat_id",
        "entities_json",
        "file_id",
        "kind",
        "message_id",
        "method",
        "parse_mode",
        "reply_markup_json",
        "text",
        "timestamp",
    )
    from_bot: Final = True

    def __init__(
        self,
        chat_id: int,
        message_id: int,
        method: str,
        text: str | None,
        timestamp: float,
        *,
        kind: str = "text",
        file_id: str | None = None,
        entities_json: str | None = None,
        reply_markup_json: str | None = None,
        parse_mode: str | None = None,
        allow_paid_broadcast: bool = False,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.chat_id = chat_id
        self.message_id = message_id
        self.method = method
        self.text = text
        self.timestamp = timestamp
        self.kind = kind
        self.file_id = file_id
        self.entities_json = entities_json
        self.reply_markup_json = reply_markup_json
        self.parse_mode = parse_mode
        self.allow_paid_broadcast = allow_paid_broadcast
        self._params = params

    @property
    def caption(self) -> str | None:
        return None if self.kind == "text" else self.text

    @property
    def entities(self) -> list[dict[str, Any]] | None:
        return cast("list[dict[str, Any]] | None", _loads_or_none(self.entities_json))

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", _loads_or_none(self.reply_markup_json))

    @property
    def date(self) -> int:
        return int(self.timestamp + _WALL_OFFSET)

    @property
    def params(self) -> dict[str, Any]:
        if self._params is not None:
            return self._params
        out: dict[str, Any] = {"chat_id": self.chat_id}
        text_key = "text" if self.kind == "text" else "caption"
        if self.text is not None:
            out[text_key] = self.text
        if self.entities_json is not None:
            out["entities" if text_key == "text" else "caption_entities"] = self.entities
        if self.reply_markup_json is not None:
            out["reply_markup"] = self.reply_markup
        if self.parse_mode is not None:
            out["parse_mode"] = self.parse_mode
        if self.allow_paid_broadcast:
            out["allow_paid_broadcast"] = True
        if self.file_id is not None and self.kind in _MEDIA_KINDS:
            out[self.kind] = self.file_id
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "method": self.method,
            "kind": self.kind,
            "text": self.text,
            "entities": self.entities,
            "reply_markup": self.reply_markup,
            "parse_mode": self.parse_mode,
            "file_id": self.file_id,
            "allow_paid_broadcast": self.allow_paid_broadcast,
            "timestamp": self.timestamp,
        }

    def __repr__(self) -> str:
        return (
            f"Delivered(chat_id={self.chat_id!r}, message_id={self.message_id}, "
            f"method={self.method!r}, kind={self.kind!r}, text={self.text!r}, "
            f"file_id={self.file_id!r}, reply_markup={self.reply_markup_json!r})"
        )


class MessageState:
    """Current state of a message known to the fake (after edits, or an incoming one)."""

    __slots__ = (
        "chat_id",
        "date",
        "entities_json",
        "file_id",
        "from_bot",
        "kind",
        "message_id",
        "parse_mode",
        "reply_markup_json",
        "text",
    )

    def __init__(
        self,
        chat_id: int,
        message_id: int,
        kind: str,
        text: str | None,
        *,
        file_id: str | None = None,
        entities_json: str | None = None,
        reply_markup_json: str | None = None,
        parse_mode: str | None = None,
        from_bot: bool = True,
        date: int = 0,
    ) -> None:
        self.chat_id = chat_id
        self.message_id = message_id
        self.kind = kind
        self.text = text
        self.file_id = file_id
        self.entities_json = entities_json
        self.reply_markup_json = reply_markup_json
        self.parse_mode = parse_mode
        self.from_bot = from_bot
        self.date = date

    @classmethod
    def of(cls, msg: Delivered | MessageState) -> MessageState:
        if isinstance(msg, MessageState):
            return msg
        return cls(
            msg.chat_id,
            msg.message_id,
            msg.kind,
            msg.text,
            file_id=msg.file_id,
            entities_json=msg.entities_json,
            reply_markup_json=msg.reply_markup_json,
            parse_mode=msg.parse_mode,
            date=msg.date,
        )

    @property
    def caption(self) -> str | None:
        return None if self.kind == "text" else self.text

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", _loads_or_none(self.reply_markup_json))

    def __repr__(self) -> str:
        return (
            f"MessageState(chat_id={self.chat_id!r}, message_id={self.message_id}, "
            f"kind={self.kind!r}, text={self.text!r}, reply_markup={self.reply_markup_json!r}, "
            f"from_bot={self.from_bot})"
        )


@dataclass(slots=True)
class Edit:
    """One successful editMessageText / editMessageCaption / editMessageReplyMarkup /
    editMessageMedia.  ``text`` is the text/caption *after* the edit."""

    chat_id: int
    message_id: int
    method: str
    text: str | None
    reply_markup: dict[str, Any] | None
    timestamp: float


@dataclass(slots=True)
class RequestRecord:
    """Every Bot API request.  ``status`` is the HTTP status answered (0 = connection
    dropped on purpose).  ``chat_id`` is the request's ``chat_id`` field, if any."""

    method: str
    chat_id: int | str | None
    status: int
    timestamp: float


@dataclass(slots=True)
class CommandsCall:
    """One setMyCommands / deleteMyCommands call."""

    method: str
    commands: list[dict[str, Any]]
    scope: dict[str, Any] | None
    language_code: str | None


# --------------------------------------------------------------------------- helpers


class _Drop(Exception):
    """Raised inside a method handler to close the connection without answering."""


_Answer = tuple[int, bytes]


def _ok(result: JSON) -> _Answer:
    return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


def _err(code: int, description: str, parameters: dict[str, Any] | None = None) -> _Answer:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, json.dumps(body).encode()


def _chat_key(chat_id: int, message_id: int) -> int:
    return (chat_id << 32) + message_id


def _parse_chat_id(raw: object) -> int | str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, int):
        return raw
    s = str(raw)
    try:
        return int(s)
    except ValueError:
        return s


def _coerce_chat(chat_id: int | str) -> int:
    """Numeric id for a chat; ``@username`` chats get a stable fake channel id."""
    if isinstance(chat_id, int):
        return chat_id
    return -1_000_000_000_000 - zlib.crc32(chat_id.encode())


def _decode_params(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _JSON_FIELDS:
            try:
                out[key] = json.loads(value)
            except ValueError:
                out[key] = value
        elif key in _BOOL_FIELDS:
            out[key] = value == "true"
        elif key in _INT_FIELDS or key == "chat_id":
            out[key] = _parse_chat_id(value)
        else:
            out[key] = value
    return out


def _parse_urlencoded(body: str) -> dict[str, str]:
    """parse_qsl without its overhead for the common no-escape case."""
    out: dict[str, str] = {}
    for pair in body.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        out[key] = value
    return out


def _visible_len(text: str, parse_mode: str | None) -> int:
    """Approximate length after entity parsing (only computed for long texts)."""
    if parse_mode and parse_mode.lower() == "html":
        return len(html.unescape(re.sub(r"<[^>]*>", "", text)))
    return len(text)


def _jsonish(value: JSON) -> str:
    """Normalise a JSON-body value to the string form multipart/urlencoded would carry."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


# --------------------------------------------------------------------------- the server


class FakeBotAPI:
    """A fake Bot API server.  See the module docstring for conventions."""

    def __init__(
        self,
        *,
        token: str | None = "123456:TEST",
        global_rate: float | None = None,
        per_chat_interval: float | None = None,
        retry_after: int = 1,
        latency: float = 0.0,
        compact: bool = False,
        record_requests: bool = True,
    ) -> None:
        """
        :param token: the only token accepted (others answer 401); ``None`` = any token.
        :param global_rate: max accepted message requests in any sliding 1 s window.
        :param per_chat_interval: min seconds between two accepted message requests to
            the same chat.
        :param retry_after: seconds announced by the first 429 of a penalty window.
        :param latency: seconds added to every answer except getUpdates.
        :param compact: keep only the fields tests need per delivery (benchmarks with
            millions of deliveries); ``Delivered.params`` is then rebuilt on access.
        :param record_requests: append a :class:`RequestRecord` per request to
            ``requests`` (counters in :meth:`stats` are kept either way).
        """
        self.token = token
        self.bot_username = "school_test_bot"
        self.global_rate = global_rate
        self.per_chat_interval = per_chat_interval
        self.retry_after = retry_after
        self.latency = latency
        self.compact = compact
        self.record_requests = record_requests
        bot_id = 123456
        if token and token.split(":", 1)[0].isdigit():
            bot_id = int(token.split(":", 1)[0])
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "School Test Bot",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.url: str = ""
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._unauthorized = False
        self._behaviours: dict[int | str, ChatBehaviour] = {}
        # ids survive reset(): a polling bot keeps its offset, a DB keeps message ids.
        self._next_update_id = 1
        self._next_msg_id: dict[int, int] = {}
        self._callback_ids = itertools.count(1)
        self._upload_ids = itertools.count(1)
        self._handlers: dict[str, tuple[str, Callable[..., Any], bool]] = self._build_handlers()
        self._init_state()

    # ------------------------------------------------------------------ state

    def _init_state(self) -> None:
        self.delivered: list[Delivered] = []
        self.edits: list[Edit] = []
        self.requests: list[RequestRecord] = []
        self.deleted: list[tuple[int, int]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands_calls: list[CommandsCall] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._store: dict[int, Delivered | MessageState] = {}
        self._updates: list[dict[str, Any]] = []
        self._waiters: set[asyncio.Future[None]] = set()
        self._window: deque[float] = deque()
        self._last_per_chat: dict[int, float] = {}
        self._penalty_until = 0.0
        self._escalation = 0
        self._n_requests = 0
        self._n_429 = 0
        self._status_counts: dict[int, int] = {}
        self._method_counts: dict[str, int] = {}
        # incremental stats scan over `delivered`
        self._scan_idx = 0
        self._scan_seen: set[int] = set()
        self._scan_dup_chats: set[int] = set()
        self._scan_rate_j = 0
        self._scan_max_rate = 0

    def reset(self) -> None:
        """Forget records, stored messages, pending updates, flood state and behaviours.

        Configuration, update ids and message id counters are kept."""
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._behaviours.clear()
        self._unauthorized = False
        self._init_state()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> str:
        if self._runner is not None:
            return self.url
        self._stopping = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot)
        app.router.add_route("*", "/_fake/{name}", self._handle_fake)
        app.router.add_route("*", "/_fake/build/{kind}", self._fake_build)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        host = "127.0.0.1"
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        self._runner = runner
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        real_port = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{host}:{real_port}"
        return self.url

    async def stop(self) -> None:
        self._stopping = True
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ behaviours

    def _behaviour(self, chat_id: int | str) -> ChatBehaviour:
        beh = self._behaviours.get(chat_id)
        if beh is None:
            beh = self._behaviours[chat_id] = ChatBehaviour()
        return beh

    def set_behaviour(self, chat_id: int | str, behaviour: ChatBehaviour) -> None:
        """Replace the chat's whole behaviour (see :class:`ChatBehaviour` constructors)."""
        if behaviour.is_ok:
            self._behaviours.pop(chat_id, None)
        else:
            self._behaviours[chat_id] = behaviour

    def behaviour_of(self, chat_id: int | str) -> ChatBehaviour:
        return self._behaviours.get(chat_id) or ChatBehaviour()

    def set_ok(self, chat_id: int | str) -> None:
        """Clear every behaviour of the chat (kind, flaky failures, delay)."""
        self._behaviours.pop(chat_id, None)

    def _set_kind(
        self, chat_id: int | str, kind: BehaviourKind, migrate_to: int | None = None
    ) -> None:
        beh = self._behaviour(chat_id)
        beh.kind = kind
        beh.migrate_to_chat_id = migrate_to

    def set_blocked(self, chat_id: int | str) -> None:
        self._set_kind(chat_id, BehaviourKind.BLOCKED)

    def set_deactivated(self, chat_id: int | str) -> None:
        self._set_kind(chat_id, BehaviourKind.DEACTIVATED)

    def set_cant_initiate(self, chat_id: int | str) -> None:
        self._set_kind(chat_id, BehaviourKind.CANT_INITIATE)

    def set_not_found(self, chat_id: int | str) -> None:
        self._set_kind(chat_id, BehaviourKind.NOT_FOUND)

    def set_migrated(self, chat_id: int | str, new_chat_id: int) -> None:
        self._set_kind(chat_id, BehaviourKind.MIGRATED, new_chat_id)

    def set_flaky(self, chat_id: int | str, failures: int, mode: str = "5xx") -> None:
        """The next ``failures`` message requests to the chat fail (502 or dropped socket)."""
        if mode not in ("5xx", "drop"):
            raise ValueError(f"flaky mode must be '5xx' or 'drop', not {mode!r}")
        beh = self._behaviour(chat_id)
        beh.failures = failures
        beh.fail_mode = mode

    def set_slow(self, chat_id: int | str, delay: float) -> None:
        """Message requests to the chat take ``delay`` extra seconds."""
        self._behaviour(chat_id).delay = delay

    def set_unauthorized(self, on: bool = True) -> None:
        """Every Bot API request answers 401 "Unauthorized" while on."""
        self._unauthorized = on

    # ------------------------------------------------------------------ inspection

    def messages_to(self, chat_id: int | str) -> list[Delivered]:
        return [d for d in self.delivered if d.chat_id == chat_id]

    def edits_of(self, chat_id: int | str) -> list[Edit]:
        return [e for e in self.edits if e.chat_id == chat_id]

    def count_429(self) -> int:
        return self._n_429

    def requests_for(self, method: str) -> list[RequestRecord]:
        low = method.lower()
        return [r for r in self.requests if r.method.lower() == low]

    def current_message(self, chat_id: int | str, message_id: int) -> MessageState | None:
        """The message as it is now (after edits); ``None`` if unknown or deleted."""
        msg = self._store.get(_chat_key(_coerce_chat(chat_id), message_id))
        return None if msg is None else MessageState.of(msg)

    def get_commands(
        self, scope: dict[str, Any] | None = None, language_code: str | None = None
    ) -> list[dict[str, Any]]:
        """Commands currently set for ``scope`` (default scope if None) and language."""
        return list(self.commands.get(self._commands_key(scope, language_code), []))

    def stats(self, per_chat: bool = False) -> dict[str, Any]:
        """Counters; ``duplicates`` = chats that got two deliveries with the same content
        (text/caption + file id); ``max_rate_1s`` = most deliveries in any 1 s window."""
        self._scan()
        out: dict[str, Any] = {
            "delivered": len(self.delivered),
            "edits": len(self.edits),
            "requests": self._n_requests,
            "count_429": self._n_429,
            "duplicates": len(self._scan_dup_chats),
            "duplicate_chat_ids": sorted(self._scan_dup_chats)[:100],
            "max_rate_1s": self._scan_max_rate,
            "status_counts": {str(k): v for k, v in sorted(self._status_counts.items())},
            "method_counts": dict(self._method_counts),
            "first_delivery_ts": self.delivered[0].timestamp if self.delivered else None,
            "last_delivery_ts": self.delivered[-1].timestamp if self.delivered else None,
            "now": time.monotonic(),
        }
        if per_chat:
            counts: dict[int, int] = {}
            for d in self.delivered:
                counts[d.chat_id] = counts.get(d.chat_id, 0) + 1
            out["chats"] = len(counts)
            out["per_chat_counts"] = {str(k): v for k, v in counts.items()}
        return out

    def _scan(self) -> None:
        delivered = self.delivered
        seen, dups = self._scan_seen, self._scan_dup_chats
        j, best = self._scan_rate_j, self._scan_max_rate
        for i in range(self._scan_idx, len(delivered)):
            d = delivered[i]
            key = hash((d.chat_id, d.text, d.file_id))
            if key in seen:
                dups.add(d.chat_id)
            else:
                seen.add(key)
            ts = d.timestamp
            while ts - delivered[j].timestamp >= 1.0:
                j += 1
            best = max(best, i - j + 1)
        self._scan_idx = len(delivered)
        self._scan_rate_j, self._scan_max_rate = j, best

    def dump(self) -> str:
        """Human-readable summary of the records (used by :meth:`wait_for`)."""
        tail = 15
        lines = [
            f"delivered={len(self.delivered)} edits={len(self.edits)} "
            f"requests={self._n_requests} 429s={self._n_429} pending_updates={len(self._updates)}"
        ]
        lines.append(f"last {tail} delivered:")
        lines += [f"  {d!r}" for d in self.delivered[-tail:]]
        lines.append(f"last {tail} edits:")
        lines += [f"  {e!r}" for e in self.edits[-tail:]]
        lines.append(f"last {tail} requests:")
        lines += [f"  {r!r}" for r in self.requests[-tail:]]
        if self._behaviours:
            lines.append(f"behaviours: {self._behaviours!r}")
        return "\n".join(lines)

    async def wait_for(
        self,
        predicate: Callable[[], object],
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented API
        *,
        message: str = "",
    ) -> Any:
        """Poll ``predicate`` (sync, or returning an awaitable) until truthy; return its
        value.  On timeout raise AssertionError with a dump of the records."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if time.monotonic() >= deadline:
                what = message or getattr(predicate, "__name__", "predicate")
                raise AssertionError(f"wait_for timed out after {timeout}s: {what}\n{self.dump()}")
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ updates

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (assigns ``update_id`` if missing).  Messages in
        it become known to the fake (copyMessage sources)."""
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self._updates.append(update)
        self._updates.sort(key=lambda u: u["update_id"])
        for key in ("message", "channel_post", "edited_message"):
            msg = update.get(key)
            if isinstance(msg, dict):
                self._remember_incoming(msg)
        waiters, self._waiters = self._waiters, set()
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._updates)

    def _remember_incoming(self, msg: dict[str, Any]) -> None:
        try:
            chat_id = int(msg["chat"]["id"])
            message_id = int(msg["message_id"])
        except (KeyError, TypeError, ValueError):
            return
        kind, file_id = "text", None
        for k in _MEDIA_KINDS:
            media = msg.get(k)
            if media:
                kind = k
                file_id = media[-1]["file_id"] if isinstance(media, list) else media["file_id"]
                break
        ents = msg.get("entities") or msg.get("caption_entities")
        self._store[_chat_key(chat_id, message_id)] = MessageState(
            chat_id,
            message_id,
            kind,
            msg.get("text", msg.get("caption")),
            file_id=file_id,
            entities_json=json.dumps(ents) if ents else None,
            from_bot=bool(msg.get("from", {}).get("is_bot", False)),
            date=int(msg.get("date", 0)),
        )
        if self._next_msg_id.get(chat_id, 1) <= message_id:
            self._next_msg_id[chat_id] = message_id + 1

    def _alloc_message_id(self, chat_id: int) -> int:
        mid = self._next_msg_id.get(chat_id, 1)
        self._next_msg_id[chat_id] = mid + 1
        return mid

    # ------------------------------------------------------------------ update builders

    @staticmethod
    def _user(user_id: int, language_code: str | None, username: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def chat_dict(self, chat_id: int) -> dict[str, Any]:
        """Chat object: "private" for positive ids, "supergroup" for negative ones."""
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    def _incoming(
        self,
        from_id: int,
        language_code: str | None,
        username: str | None,
        content: dict[str, Any],
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._alloc_message_id(from_id),
            "date": int(time.time()),
            "chat": self.chat_dict(from_id),
            "from": self._user(from_id, language_code, username),
        }
        message.update({k: v for k, v in content.items() if v is not None})
        return {"message": message}

    def make_message_update(
        self,
        from_id: int,
        text: str,
        *,
        language_code: str | None = "en",
        entities: list[dict[str, Any]] | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """A text message from a user; "/cmd ..." gets a bot_command entity automatically."""
        if entities is None and text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._incoming(
            from_id, language_code, username, {"text": text, "entities": entities}
        )

    def _media_update(
        self,
        kind: str,
        media: Any,
        from_id: int,
        caption: str | None,
        caption_entities: list[dict[str, Any]] | None,
        language_code: str | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        content: dict[str, Any] = {
            kind: media,
            "caption": caption,
            "caption_entities": caption_entities,
        }
        if extra:
            content.update(extra)
        return self._incoming(from_id, language_code, None, content)

    def make_photo_update(
        self,
        from_id: int,
        file_id: str,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        *,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        photo = _media_stub("photo", file_id)
        return self._media_update("photo", photo, from_id, caption, caption_entities, language_code)

    def make_document_update(
        self,
        from_id: int,
        file_id: str,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        *,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        doc = _media_stub("document", file_id)
        doc.update(file_name="file.pdf", mime_type="application/pdf")
        return self._media_update(
            "document", doc, from_id, caption, caption_entities, language_code
        )

    def make_video_update(
        self,
        from_id: int,
        file_id: str,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        *,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        video = _media_stub("video", file_id)
        return self._media_update("video", video, from_id, caption, caption_entities, language_code)

    def make_animation_update(
        self,
        from_id: int,
        file_id: str,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        *,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        # Telegram sends animations with both "animation" and "document" set.
        return self._media_update(
            "animation",
            _media_stub("animation", file_id),
            from_id,
            caption,
            caption_entities,
            language_code,
            extra={"document": _media_stub("document", file_id)},
        )

    def make_sticker_update(
        self, from_id: int, file_id: str, *, language_code: str | None = "en"
    ) -> dict[str, Any]:
        sticker = _media_stub("sticker", file_id)
        sticker["emoji"] = "\N{THUMBS UP SIGN}"
        return self._media_update("sticker", sticker, from_id, None, None, language_code)

    def make_callback_update(
        self, from_id: int, data: str, message_id: int, *, language_code: str | None = "en"
    ) -> dict[str, Any]:
        """A button press on message ``message_id`` in the user's private chat.  The
        message is rendered from the fake's store when known."""
        stored = self._store.get(_chat_key(from_id, message_id))
        if stored is not None:
            message = self._render(stored)
        else:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self.chat_dict(from_id),
                "from": self.bot_user,
                "text": "",
            }
        return {
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": self._user(from_id, language_code, None),
                "chat_instance": str(from_id),
                "data": data,
                "message": message,
            }
        }

    def make_my_chat_member_update(
        self, from_id: int, status: str = "kicked", *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user blocked ("kicked") or unblocked ("member") the bot."""
        old_status = "member" if status == "kicked" else "kicked"
        chat = from_id if chat_id is None else chat_id

        def member(st: str) -> dict[str, Any]:
            m: dict[str, Any] = {"status": st, "user": self.bot_user}
            if st == "kicked":
                m["until_date"] = 0
            return m

        return {
            "my_chat_member": {
                "chat": self.chat_dict(chat),
                "from": self._user(from_id, "en", None),
                "date": int(time.time()),
                "old_chat_member": member(old_status),
                "new_chat_member": member(status),
            }
        }

    # ------------------------------------------------------------------ HTTP plumbing

    def _build_handlers(self) -> dict[str, tuple[str, Callable[..., Any], bool]]:
        """lower-case method -> (canonical name, handler, is_message_method)."""
        h: dict[str, tuple[str, Callable[..., Any], bool]] = {
            "getme": ("getMe", self._m_get_me, False),
            "getupdates": ("getUpdates", self._m_get_updates, False),
            "deletewebhook": ("deleteWebhook", self._m_true, False),
            "setmycommands": ("setMyCommands", self._m_set_my_commands, False),
            "deletemycommands": ("deleteMyCommands", self._m_delete_my_commands, False),
            "getmycommands": ("getMyCommands", self._m_get_my_commands, False),
            "deletemessage": ("deleteMessage", self._m_delete_message, False),
            "answercallbackquery": ("answerCallbackQuery", self._m_answer_callback, False),
            "sendchataction": ("sendChatAction", self._m_true, False),
            "getchat": ("getChat", self._m_get_chat, False),
            "close": ("close", self._m_true, False),
            "logout": ("logOut", self._m_true, False),
            "sendmessage": ("sendMessage", self._m_send_message, True),
            "copymessage": ("copyMessage", self._m_copy_message, True),
            "forwardmessage": ("forwardMessage", self._m_copy_message, True),
            "sendmediagroup": ("sendMediaGroup", self._m_send_media_group, True),
            "editmessagetext": ("editMessageText", self._m_edit, True),
            "editmessagecaption": ("editMessageCaption", self._m_edit, True),
            "editmessagereplymarkup": ("editMessageReplyMarkup", self._m_edit, True),
            "editmessagemedia": ("editMessageMedia", self._m_edit, True),
        }
        for low, (canonical, _kind) in _MEDIA_SENDS.items():
            h[low] = (canonical, self._m_send_media, True)
        return h

    async def _read_params(self, request: web.Request) -> dict[str, str]:
        params: dict[str, str] = dict(request.query) if request.query_string else {}
        if request.method != "POST" or not request.can_read_body:
            return params
        ctype = request.content_type
        if ctype == "application/x-www-form-urlencoded":
            body = await request.read()
            params.update(_parse_urlencoded(body.decode("utf-8")))
        elif ctype.startswith("multipart/"):
            form = await request.post()
            uploads: dict[str, str] = {}
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    with contextlib.suppress(Exception):
                        value.file.close()
                    uploads[key] = f"fake-upload-{next(self._upload_ids)}"
                else:
                    params[key] = str(value)
            for key, value in list(params.items()):
                if value.startswith("attach://") and value[9:] in uploads:
                    params[key] = uploads[value[9:]]
            for key, fid in uploads.items():
                params.setdefault(key, fid)  # file sent directly under the field name
            if "media" in params and "attach://" in params["media"]:
                params["media"] = re.sub(
                    r"attach://([A-Za-z0-9_\-]+)",
                    lambda m: uploads.get(m.group(1), m.group(0)),
                    params["media"],
                )
        elif ctype == "application/json":
            body = await request.read()
            data = json.loads(body or b"{}")
            if isinstance(data, dict):
                params.update({k: _jsonish(v) for k, v in data.items() if v is not None})
        return params

    async def _handle_bot(self, request: web.Request) -> web.StreamResponse:
        raw_method = request.match_info["method"]
        low = raw_method.lower()
        try:
            params = await self._read_params(request)
        except Exception as exc:  # malformed body
            return self._respond(raw_method, None, _err(400, f"Bad Request: {exc}"))
        chat_id = _parse_chat_id(params.get("chat_id"))
        if self.latency > 0 and low != "getupdates":
            await asyncio.sleep(self.latency)
        entry = self._handlers.get(low)
        name = entry[0] if entry else raw_method
        if self._unauthorized or (
            self.token is not None and request.match_info["token"] != self.token
        ):
            return self._respond(name, chat_id, _err(401, "Unauthorized"))
        if entry is None:
            return self._respond(name, chat_id, _err(404, "Not Found: method not found"))
        _, handler, is_message = entry
        try:
            if is_message:
                answer = await self._message_request(name, handler, params, chat_id)
            elif low == "getupdates":
                answer = await self._m_get_updates(params)
            else:
                answer = handler(name, params, chat_id)
        except _Drop:
            self._record(name, chat_id, 0)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=502)
        return self._respond(name, chat_id, answer)

    def _record(self, name: str, chat_id: int | str | None, status: int) -> None:
        self._n_requests += 1
        self._status_counts[status] = self._status_counts.get(status, 0) + 1
        self._method_counts[name] = self._method_counts.get(name, 0) + 1
        if status == 429:
            self._n_429 += 1
        if self.record_requests:
            self.requests.append(RequestRecord(name, chat_id, status, time.monotonic()))

    def _respond(self, name: str, chat_id: int | str | None, answer: _Answer) -> web.Response:
        status, body = answer
        self._record(name, chat_id, status)
        return web.Response(body=body, status=status, content_type="application/json")

    # ------------------------------------------------------------------ flood control

    def _flood_check(self, chat_id: int, now: float) -> int | None:
        """Return the retry_after to announce, or None if the request is accepted.
        On acceptance the request is registered in the window / per-chat clock."""
        if self._penalty_until:
            if now < self._penalty_until:
                self._escalation += 1
                announced = self.retry_after + self._escalation
                self._penalty_until = max(self._penalty_until, now + announced)
                return announced
            self._penalty_until = 0.0
            self._escalation = 0
        rate = self.global_rate
        if rate is not None:
            window = self._window
            cutoff = now - 1.0
            while window and window[0] <= cutoff:
                window.popleft()
            if len(window) + 1 > rate:
                self._penalty_until = now + self.retry_after
                self._escalation = 0
                return self.retry_after
        interval = self.per_chat_interval
        if interval is not None:
            last = self._last_per_chat.get(chat_id)
            if last is not None and now - last < interval:
                return max(self.retry_after, math.ceil(interval - (now - last)))
            self._last_per_chat[chat_id] = now
        if rate is not None:
            self._window.append(now)
        return None

    async def _message_request(
        self,
        name: str,
        handler: Callable[..., _Answer],
        params: dict[str, str],
        raw_chat_id: int | str | None,
    ) -> _Answer:
        if raw_chat_id is None:
            if "inline_message_id" in params:
                return _err(400, "Bad Request: inline messages are not supported by the fake")
            return _err(400, "Bad Request: chat_id is empty")
        beh = self._behaviours.get(raw_chat_id)
        if beh is not None:
            if beh.failures > 0:
                beh.failures -= 1
                if beh.fail_mode == "drop":
                    raise _Drop
                return _err(502, "Bad Gateway")
            if beh.delay > 0:
                await asyncio.sleep(beh.delay)
        chat_id = _coerce_chat(raw_chat_id)
        now = time.monotonic()
        retry = self._flood_check(chat_id, now)
        if retry is not None:
            return _err(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        if beh is not None and beh.kind is not BehaviourKind.OK:
            code, description = _KIND_ERRORS[beh.kind]
            extra = None
            if beh.kind is BehaviourKind.MIGRATED:
                extra = {"migrate_to_chat_id": beh.migrate_to_chat_id}
            return _err(code, description, extra)
        return handler(name, params, chat_id, now)

    # ------------------------------------------------------------------ rendering

    def _render(
        self, msg: Delivered | MessageState, edit_date: int | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": self.chat_dict(msg.chat_id),
        }
        if msg.from_bot:
            out["from"] = self.bot_user
        if edit_date is not None:
            out["edit_date"] = edit_date
        kind = msg.kind
        if kind in ("text", "copy"):
            out["text"] = msg.text or ""
            if msg.entities_json:
                out["entities"] = json.loads(msg.entities_json)
        else:
            out[kind] = _media_stub(kind, msg.file_id or "")
            if kind == "animation":
                out["document"] = _media_stub("document", msg.file_id or "")
            if msg.text is not None:
                out["caption"] = msg.text
            if msg.entities_json:
                out["caption_entities"] = json.loads(msg.entities_json)
        markup = msg.reply_markup_json
        if markup and '"inline_keyboard"' in markup:  # Message.reply_markup is inline only
            out["reply_markup"] = json.loads(markup)
        return out

    # ------------------------------------------------------------------ message methods

    def _deliver(
        self,
        name: str,
        params: dict[str, str],
        chat_id: int,
        now: float,
        kind: str,
        text: str | None,
        file_id: str | None,
        entities: str | None,
    ) -> Delivered:
        markup = params.get("reply_markup")
        parse_mode = params.get("parse_mode")
        intern = sys.intern
        d = Delivered(
            chat_id,
            self._alloc_message_id(chat_id),
            name,
            intern(text) if text is not None else None,
            now,
            kind=kind,
            file_id=intern(file_id) if file_id is not None else None,
            entities_json=intern(entities) if entities else None,
            reply_markup_json=intern(markup) if markup else None,
            parse_mode=intern(parse_mode) if parse_mode else None,
            allow_paid_broadcast=params.get("allow_paid_broadcast") == "true",
            params=None if self.compact else _decode_params(params),
        )
        self.delivered.append(d)
        self._store[_chat_key(chat_id, d.message_id)] = d
        return d

    @staticmethod
    def _check_length(text: str | None, parse_mode: str | None, caption: bool) -> str | None:
        limit = CAPTION_LIMIT if caption else TEXT_LIMIT
        if text is not None and len(text) > limit and _visible_len(text, parse_mode) > limit:
            return (
                "Bad Request: message caption is too long"
                if caption
                else ("Bad Request: message is too long")
            )
        return None

    def _m_send_message(
        self, name: str, params: dict[str, str], chat_id: int, now: float
    ) -> _Answer:
        text = params.get("text")
        if not text:
            return _err(400, "Bad Request: message text is empty")
        problem = self._check_length(text, params.get("parse_mode"), caption=False)
        if problem:
            return _err(400, problem)
        d = self._deliver(name, params, chat_id, now, "text", text, None, params.get("entities"))
        return _ok(self._render(d))

    def _m_send_media(self, name: str, params: dict[str, str], chat_id: int, now: float) -> _Answer:
        kind = _MEDIA_SENDS[name.lower()][1]
        file_id = params.get(kind)
        if not file_id:
            return _err(400, f"Bad Request: there is no {kind} in the request")
        caption = None if kind in _NO_CAPTION_KINDS else params.get("caption")
        problem = self._check_length(caption, params.get("parse_mode"), caption=True)
        if problem:
            return _err(400, problem)
        d = self._deliver(
            name, params, chat_id, now, kind, caption, file_id, params.get("caption_entities")
        )
        return _ok(self._render(d))

    def _m_copy_message(
        self, name: str, params: dict[str, str], chat_id: int, now: float
    ) -> _Answer:
        from_chat = _parse_chat_id(params.get("from_chat_id"))
        try:
            src_id = int(params.get("message_id", ""))
        except ValueError:
            return _err(400, "Bad Request: message_id is empty")
        if from_chat is None:
            return _err(400, "Bad Request: from_chat_id is empty")
        src = self._store.get(_chat_key(_coerce_chat(from_chat), src_id))
        is_copy = name == "copyMessage"
        if src is None:
            kind, text, file_id, entities = "copy", None, None, None
        else:
            kind, text, file_id, entities = src.kind, src.text, src.file_id, src.entities_json
        if is_copy and "caption" in params and kind != "text":
            text, entities = params["caption"], params.get("caption_entities")
        if not is_copy:
            params = {k: v for k, v in params.items() if k != "reply_markup"}
        d = self._deliver(name, params, chat_id, now, kind, text, file_id, entities)
        if is_copy:
            return _ok({"message_id": d.message_id})
        return _ok(self._render(d))

    def _m_send_media_group(
        self, name: str, params: dict[str, str], chat_id: int, now: float
    ) -> _Answer:
        try:
            media = json.loads(params.get("media", ""))
        except ValueError:
            return _err(400, "Bad Request: can't parse media JSON object")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            return _err(400, "Bad Request: wrong number of messages in the media group")
        results = []
        for item in media:
            ents = item.get("caption_entities")
            d = self._deliver(
                name,
                params,
                chat_id,
                now,
                str(item.get("type", "photo")),
                item.get("caption"),
                str(item.get("media", "")),
                json.dumps(ents) if ents else None,
            )
            results.append(self._render(d))
        return _ok(results)

    def _m_edit(self, name: str, params: dict[str, str], chat_id: int, now: float) -> _Answer:
        try:
            message_id = int(params.get("message_id", ""))
        except ValueError:
            return _err(400, "Bad Request: message identifier is not specified")
        key = _chat_key(chat_id, message_id)
        old = self._store.get(key)
        if old is None:
            return _err(400, "Bad Request: message to edit not found")
        if not old.from_bot:
            return _err(400, "Bad Request: message can't be edited")
        kind, text, file_id = old.kind, old.text, old.file_id
        entities = old.entities_json
        parse_mode = old.parse_mode
        markup = params.get("reply_markup") or None
        low = name.lower()
        if low == "editmessagetext":
            if kind not in ("text", "copy"):
                return _err(400, "Bad Request: there is no text in the message to edit")
            text = params.get("text")
            if not text:
                return _err(400, "Bad Request: message text is empty")
            problem = self._check_length(text, params.get("parse_mode"), caption=False)
            if problem:
                return _err(400, problem)
            entities = params.get("entities") or None
            parse_mode = params.get("parse_mode")
        elif low == "editmessagecaption":
            if kind in ("text", "copy"):
                return _err(400, "Bad Request: there is no caption in the message to edit")
            text = params.get("caption")
            entities = params.get("caption_entities") or None
            parse_mode = params.get("parse_mode")
        elif low == "editmessagemedia":
            try:
                media = json.loads(params.get("media", ""))
            except ValueError:
                return _err(400, "Bad Request: can't parse InputMedia JSON object")
            kind = str(media.get("type", kind))
            file_id = str(media.get("media", ""))
            text = media.get("caption")
            ents = media.get("caption_entities")
            entities = json.dumps(ents) if ents else None
            parse_mode = media.get("parse_mode")
        if (
            text == old.text
            and file_id == old.file_id
            and kind == old.kind
            and _same_json(entities, old.entities_json)
            and _same_json(markup, old.reply_markup_json)
        ):
            return _err(400, MSG_NOT_MODIFIED)
        edit_date = int(time.time())
        new = MessageState(
            chat_id,
            message_id,
            kind,
            text,
            file_id=file_id,
            entities_json=entities,
            reply_markup_json=markup,
            parse_mode=parse_mode,
            date=old.date,
        )
        self._store[key] = new
        self.edits.append(Edit(chat_id, message_id, name, text, _loads_or_none(markup), now))
        return _ok(self._render(new, edit_date=edit_date))

    # ------------------------------------------------------------------ other methods

    def _m_true(self, name: str, params: dict[str, str], chat_id: int | str | None) -> _Answer:
        return _ok(True)

    def _m_get_me(self, name: str, params: dict[str, str], chat_id: int | str | None) -> _Answer:
        return _ok(self.bot_user)

    async def _m_get_updates(self, params: dict[str, str]) -> _Answer:
        try:
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = float(params.get("timeout") or 0)
        except ValueError:
            return _err(400, "Bad Request: wrong parameter value")
        self._confirm(offset)
        if not self._updates and timeout > 0 and not self._stopping:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.add(fut)
            try:
                await asyncio.wait_for(fut, timeout)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(fut)
            self._confirm(offset)
        if self._stopping:
            return _ok([])
        return _ok(self._updates[:limit])

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            if self._updates and self._updates[0]["update_id"] < offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    @staticmethod
    def _commands_key(scope: Any, language_code: str | None) -> tuple[str, str]:
        if isinstance(scope, str):
            try:
                scope = json.loads(scope)
            except ValueError:
                scope = None
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), language_code or ""

    def _m_set_my_commands(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> _Answer:
        decoded = _decode_params(params)
        commands = decoded.get("commands")
        if not isinstance(commands, list):
            return _err(400, "Bad Request: can't parse commands JSON object")
        scope = decoded.get("scope") if isinstance(decoded.get("scope"), dict) else None
        lang = decoded.get("language_code") or None
        self.commands_calls.append(CommandsCall(name, commands, scope, lang))
        self.commands[self._commands_key(scope, lang)] = commands
        return _ok(True)

    def _m_delete_my_commands(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> _Answer:
        decoded = _decode_params(params)
        scope = decoded.get("scope") if isinstance(decoded.get("scope"), dict) else None
        lang = decoded.get("language_code") or None
        self.commands_calls.append(CommandsCall(name, [], scope, lang))
        self.commands.pop(self._commands_key(scope, lang), None)
        return _ok(True)

    def _m_get_my_commands(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> _Answer:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return _ok(self.commands.get(key, []))

    def _m_delete_message(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> _Answer:
        if chat_id is None:
            return _err(400, "Bad Request: chat_id is empty")
        try:
            message_id = int(params.get("message_id", ""))
        except ValueError:
            return _err(400, "Bad Request: message identifier is not specified")
        cid = _coerce_chat(chat_id)
        if self._store.pop(_chat_key(cid, message_id), None) is None:
            return _err(400, "Bad Request: message to delete not found")
        self.deleted.append((cid, message_id))
        return _ok(True)

    def _m_answer_callback(
        self, name: str, params: dict[str, str], chat_id: int | str | None
    ) -> _Answer:
        if not params.get("callback_query_id"):
            return _err(400, "Bad Request: query_id is empty")
        self.callback_answers.append(_decode_params(params))
        return _ok(True)

    def _m_get_chat(self, name: str, params: dict[str, str], chat_id: int | str | None) -> _Answer:
        if chat_id is None:
            return _err(400, "Bad Request: chat_id is empty")
        beh = self._behaviours.get(chat_id)
        if beh is not None and beh.kind is BehaviourKind.NOT_FOUND:
            return _err(*_KIND_ERRORS[BehaviourKind.NOT_FOUND])
        if beh is not None and beh.kind is BehaviourKind.MIGRATED:
            code, description = _KIND_ERRORS[BehaviourKind.MIGRATED]
            return _err(code, description, {"migrate_to_chat_id": beh.migrate_to_chat_id})
        info = self.chat_dict(_coerce_chat(chat_id))
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
        return _ok(info)

    # ------------------------------------------------------------------ /_fake/ control

    async def _handle_fake(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        handlers: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
            "stats": self._fake_stats,
            "delivered": self._fake_delivered,
            "behaviour": self._fake_behaviour,
            "reset": self._fake_reset,
            "config": self._fake_config,
        }
        handler = handlers.get(name)
        if handler is None:
            return web.json_response({"error": f"unknown endpoint {name!r}"}, status=404)
        try:
            return await handler(request)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)

    @staticmethod
    def _slice(request: web.Request, items: list[Any]) -> list[Any]:
        since = int(request.query.get("since", 0))
        limit = request.query.get("limit")
        end = None if limit is None else since + int(limit)
        return items[since:end]

    async def _fake_stats(self, request: web.Request) -> web.StreamResponse:
        per_chat = request.query.get("per_chat", "") in ("1", "true", "yes")
        return web.json_response(self.stats(per_chat=per_chat))

    async def _fake_delivered(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([d.to_json() for d in self._slice(request, self.delivered)])

    async def _fake_behaviour(self, request: web.Request) -> web.StreamResponse:
        """JSON {"chat_id": X | "chat_ids": [...], "behaviour": "ok" | "blocked" |
        "deactivated" | "cant_initiate" | "not_found" | "migrated" (+"new_chat_id") |
        "flaky" (+"failures", "mode") | "slow" (+"delay")} or
        {"behaviour": "unauthorized", "on": bool}."""
        body = await request.json()
        behaviour = body["behaviour"]
        if behaviour == "unauthorized":
            self.set_unauthorized(bool(body.get("on", True)))
            return web.json_response({"ok": True})
        chat_ids: Iterable[Any] = body["chat_ids"] if "chat_ids" in body else [body["chat_id"]]
        simple: dict[str, Callable[[int | str], None]] = {
            "ok": self.set_ok,
            "blocked": self.set_blocked,
            "deactivated": self.set_deactivated,
            "cant_initiate": self.set_cant_initiate,
            "not_found": self.set_not_found,
        }
        n = 0
        for raw in chat_ids:
            cid = _parse_chat_id(raw)
            if cid is None:
                raise ValueError("empty chat_id")
            if behaviour in simple:
                simple[behaviour](cid)
            elif behaviour == "migrated":
                self.set_migrated(cid, int(body["new_chat_id"]))
            elif behaviour == "flaky":
                self.set_flaky(cid, int(body["failures"]), str(body.get("mode", "5xx")))
            elif behaviour == "slow":
                self.set_slow(cid, float(body["delay"]))
            else:
                raise ValueError(f"unknown behaviour {behaviour!r}")
            n += 1
        return web.json_response({"ok": True, "chats": n})

    async def _fake_reset(self, request: web.Request) -> web.StreamResponse:
        self.reset()
        return web.json_response({"ok": True})

    async def _fake_config(self, request: web.Request) -> web.StreamResponse:
        """JSON with any of global_rate, per_chat_interval, retry_after, latency
        (null disables the optional ones).  GET answers the current config."""
        if request.method == "POST":
            body = await request.json()
            if "global_rate" in body:
                rate = body["global_rate"]
                self.global_rate = None if rate is None else float(rate)
            if "per_chat_interval" in body:
                pci = body["per_chat_interval"]
                self.per_chat_interval = None if pci is None else float(pci)
            if "retry_after" in body:
                self.retry_after = int(body["retry_after"])
            if "latency" in body:
                self.latency = float(body["latency"] or 0.0)
        return web.json_response(
            {
                "global_rate": self.global_rate,
                "per_chat_interval": self.per_chat_interval,
                "retry_after": self.retry_after,
                "latency": self.latency,
                "token": self.token,
                "compact": self.compact,
            }
        )

    async def _fake_build(self, request: web.Request) -> web.StreamResponse:
        """POST /_fake/build/<kind> with the builder's kwargs as JSON: builds the update
        with make_<kind>_update(**kwargs), pushes it and answers it."""
        kind = request.match_info["kind"]
        builders: dict[str, Callable[..., dict[str, Any]]] = {
            "message": self.make_message_update,
            "callback": self.make_callback_update,
            "photo": self.make_photo_update,
            "document": self.make_document_update,
            "video": self.make_video_update,
            "animation": self.make_animation_update,
            "sticker": self.make_sticker_update,
            "my_chat_member": self.make_my_chat_member_update,
        }
        builder = builders.get(kind)
        if builder is None:
            return web.json_response({"error": f"unknown builder {kind!r}"}, status=404)
        try:
            kwargs = await request.json()
            update = builder(**kwargs)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
        self.push_update(update)
        return web.json_response(update)


def _same_json(a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    if not a or not b:
        return not a and not b
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


def _media_stub(kind: str, file_id: str) -> Any:
    unique = "U" + file_id[-20:]
    if kind == "photo":
        return [
            {"file_id": file_id, "file_unique_id": unique + "s", "width": 90, "height": 90},
            {"file_id": file_id, "file_unique_id": unique, "width": 1280, "height": 960},
        ]
    if kind in ("video", "animation"):
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "width": 640,
            "height": 480,
            "duration": 5,
        }
    if kind == "sticker":
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    if kind in ("voice", "audio"):
        return {"file_id": file_id, "file_unique_id": unique, "duration": 3}
    if kind == "video_note":
        return {"file_id": file_id, "file_unique_id": unique, "length": 240, "duration": 3}
    return {"file_id": file_id, "file_unique_id": unique}


# --------------------------------------------------------------------------- subprocess


def _build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tests.fake_bot_api",
        description=(
            "Fake Telegram Bot API server. Prints 'READY <url>' when listening; stops on "
            "SIGTERM/SIGINT. Keeps the fields tests need per delivery and counters, not a "
            "record per request. Control endpoints: GET /_fake/stats[?per_chat=1], "
            "GET /_fake/delivered?since=I&limit=N, GET|POST /_fake/config, "
            "POST /_fake/behaviour, POST /_fake/reset, POST /_fake/build/<kind>."
        ),
    )
    p.add_argument("--port", type=int, default=8081, help="0 = pick a free port")
    p.add_argument("--token", default="123456:TEST", help="'any' accepts every token")
    p.add_argument("--rate", type=float, default=None, help="global message rate per 1 s")
    p.add_argument("--per-chat-interval", type=float, default=None)
    p.add_argument("--latency", type=float, default=0.0)
    return p


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeBotAPI(
        token=None if args.token == "any" else args.token,
        global_rate=args.rate,
        per_chat_interval=args.per_chat_interval,
        latency=args.latency,
        compact=True,
        record_requests=False,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    url = await fake.start(args.port)
    print(f"READY {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    args = _build_arg_parser().parse_args(argv)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
