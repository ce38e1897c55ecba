"""What the fake records, and how chats behave.

Why it exists: tests assert on these objects (what was delivered, edited, asked for) and
set per-chat behaviours (blocked, flaky, slow, held, ...) that the server then plays.  They
hold data only; nothing here touches HTTP.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, cast

_WALL_OFFSET: Final[float] = time.time() - time.monotonic()

# The media a message can carry, each under its own field of a Message.
MEDIA_KINDS: Final = (
    "photo",
    "video",
    "document",
    "animation",
    "audio",
    "voice",
    "sticker",
    "video_note",
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


KIND_ERRORS: Final[dict[BehaviourKind, tuple[int, str]]] = {
    BehaviourKind.BLOCKED: (403, "Forbidden: bot was blocked by the user"),
    BehaviourKind.DEACTIVATED: (403, "Forbidden: user is deactivated"),
    BehaviourKind.CANT_INITIATE: (403, "Forbidden: bot can't initiate conversation with a user"),
    BehaviourKind.NOT_FOUND: (400, "Bad Request: chat not found"),
    BehaviourKind.MIGRATED: (400, "Bad Request: group chat was upgraded to a supergroup chat"),
}


FAIL_MODES: Final = ("5xx", "drop", "flood")


def check_fail_mode(mode: str) -> None:
    if mode not in FAIL_MODES:
        raise ValueError(f"flaky mode must be one of {', '.join(FAIL_MODES)}, not {mode!r}")


@dataclass(slots=True)
class ChatBehaviour:
    """Per-chat behaviour.  Components combine: e.g. slow + flaky + blocked.

    Evaluation order for a message request: ``failures`` (each consumes one: 502 "Bad
    Gateway" when ``fail_mode == "5xx"``, closed socket when ``"drop"``, 429 with
    ``retry_after`` 1 when ``"flood"``), then ``held``
    (the request waits until released), then ``delay``, then the flood check, then
    ``kind``.
    """

    kind: BehaviourKind = BehaviourKind.OK
    failures: int = 0
    fail_mode: str = "5xx"
    delay: float = 0.0
    migrate_to_chat_id: int | None = None
    held: bool = False

    @classmethod
    def flaky(cls, failures: int, mode: str = "5xx") -> ChatBehaviour:
        check_fail_mode(mode)
        return cls(failures=failures, fail_mode=mode)

    @property
    def is_ok(self) -> bool:
        return (
            self.kind is BehaviourKind.OK
            and self.failures <= 0
            and self.delay <= 0
            and not self.held
        )


class ChatBehaviours:
    """The behaviour of every chat that is not plainly OK, and the setters tests call.
    A base of ``FakeBotAPI`` (``fake.set_blocked(42)``)."""

    def __init__(self) -> None:
        self._behaviours: dict[int | str, ChatBehaviour] = {}
        self._unauthorized = False
        self._released = asyncio.Event()
        self._holding = 0

    def _behaviour(self, chat_id: int | str) -> ChatBehaviour:
        beh = self._behaviours.get(chat_id)
        if beh is None:
            beh = self._behaviours[chat_id] = ChatBehaviour()
        return beh

    def set_behaviour(self, chat_id: int | str, behaviour: ChatBehaviour) -> None:
        """Replace the chat's whole behaviour."""
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
        """The next ``failures`` message requests to the chat fail (502, dropped socket, or
        a 429 whatever the flood limits)."""
        check_fail_mode(mode)
        beh = self._behaviour(chat_id)
        beh.failures = failures
        beh.fail_mode = mode

    def set_slow(self, chat_id: int | str, delay: float) -> None:
        """Message requests to the chat take ``delay`` extra seconds."""
        self._behaviour(chat_id).delay = delay

    def hold(self, chat_id: int | str) -> None:
        """Message requests to the chat wait until :meth:`release`: requests in flight for
        exactly as long as a test needs, whatever the machine's speed."""
        self._behaviour(chat_id).held = True

    def release(self) -> None:
        """Let every held request go on, and hold no chat any more."""
        for beh in self._behaviours.values():
            beh.held = False
        self._released.set()
        self._released = asyncio.Event()

    @property
    def holding(self) -> int:
        """How many message requests wait in a hold now."""
        return self._holding

    async def _wait_released(self) -> None:
        released = self._released
        self._holding += 1
        try:
            await released.wait()
        finally:
            self._holding -= 1

    def set_unauthorized(self, on: bool = True) -> None:
        """Every Bot API request answers 401 "Unauthorized" while on."""
        self._unauthorized = on

    def _clear_behaviours(self) -> None:
        self.release()
        self._behaviours.clear()
        self._unauthorized = False


# --------------------------------------------------------------------------- records


def loads_or_none(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


class Delivered:
    """One successfully delivered message (send*/copyMessage/forwardMessage/sendMediaGroup).

    ``text`` is the text or caption; ``kind`` is "text", a media kind ("photo", "video",
    "document", "animation", ...), or "copy" for a copy of an unknown message.
    ``entities`` / ``reply_markup`` are decoded lazily from the raw JSON the bot sent.
    ``params`` is the full decoded request in normal mode; in compact mode it is rebuilt
    from the kept fields only.  ``disable_notification`` / ``protect_content`` say whether
    it was sent silently / protected from forwarding and saving. ``reply_to_message_id`` is
    the message it replies to (``reply_parameters`` or the older field), and
    ``allow_sending_without_reply`` whether it was to go out even without that message.
    """

    __slots__ = (
        "_params",
        "allow_paid_broadcast",
        "allow_sending_without_reply",
        "chat_id",
        "disable_notification",
        "entities_json",
        "file_id",
        "kind",
        "message_id",
        "method",
        "parse_mode",
        "protect_content",
        "reply_markup_json",
        "reply_to_message_id",
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
        disable_notification: bool = False,
        protect_content: bool = False,
        reply_to_message_id: int | None = None,
        allow_sending_without_reply: bool = False,
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
        self.disable_notification = disable_notification
        self.protect_content = protect_content
        self.reply_to_message_id = reply_to_message_id
        self.allow_sending_without_reply = allow_sending_without_reply
        self._params = params

    @property
    def caption(self) -> str | None:
        return None if self.kind == "text" else self.text

    @property
    def entities(self) -> list[dict[str, Any]] | None:
        return cast("list[dict[str, Any]] | None", loads_or_none(self.entities_json))

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", loads_or_none(self.reply_markup_json))

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
        for flag in ("allow_paid_broadcast", "disable_notification", "protect_content"):
            if getattr(self, flag):
                out[flag] = True
        if self.file_id is not None and self.kind in MEDIA_KINDS:
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
            "disable_notification": self.disable_notification,
            "protect_content": self.protect_content,
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
        return cast("dict[str, Any] | None", loads_or_none(self.reply_markup_json))

    @property
    def entities(self) -> list[dict[str, Any]] | None:
        return cast("list[dict[str, Any]] | None", loads_or_none(self.entities_json))

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


@dataclass(frozen=True, slots=True)
class Upload:
    """A file the bot uploaded (multipart), kept whole: a document the bot generates
    (a CSV export) is checked by its content.  ``file_id`` is the ``fake-upload-N`` id
    the message it came with is recorded under (``Delivered.file_id``)."""

    file_id: str
    filename: str | None
    content_type: str
    content: bytes


@dataclass(slots=True)
class CommandsCall:
    """One setMyCommands / deleteMyCommands call."""

    method: str
    commands: list[dict[str, Any]]
    scope: dict[str, Any] | None
    language_code: str | None
