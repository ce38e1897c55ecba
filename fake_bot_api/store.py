"""The messages the fake knows, as they are now, and the next message id of every chat.

Why it exists: both sides need it.  Incoming updates make users' messages known (sources
for copyMessage, targets of button presses); the emulated methods add the bot's messages,
edit and delete them.  Message ids stay unique per chat across both.
"""

from __future__ import annotations

import json
from typing import Any

from fake_bot_api.records import MEDIA_KINDS, Delivered, MessageState

Stored = Delivered | MessageState


def _key(chat_id: int, message_id: int) -> int:
    return (chat_id << 32) + message_id


class MessageStore:
    """Known messages by (chat, message id).  :meth:`clear` forgets the messages but keeps
    the id counters (a polling bot's database keeps message ids too)."""

    def __init__(self) -> None:
        self._messages: dict[int, Stored] = {}
        self._next_id: dict[int, int] = {}

    def clear(self) -> None:
        self._messages = {}

    def get(self, chat_id: int, message_id: int) -> Stored | None:
        return self._messages.get(_key(chat_id, message_id))

    def put(self, msg: Stored) -> None:
        self._messages[_key(msg.chat_id, msg.message_id)] = msg

    def pop(self, chat_id: int, message_id: int) -> Stored | None:
        return self._messages.pop(_key(chat_id, message_id), None)

    def alloc_id(self, chat_id: int) -> int:
        mid = self._next_id.get(chat_id, 1)
        self._next_id[chat_id] = mid + 1
        return mid

    def remember_incoming(self, msg: dict[str, Any]) -> None:
        """Store a Message dict from an update; ids in it are not handed out again."""
        try:
            chat_id = int(msg["chat"]["id"])
            message_id = int(msg["message_id"])
        except (KeyError, TypeError, ValueError):
            return
        kind, file_id = "text", None
        for k in MEDIA_KINDS:
            media = msg.get(k)
            if media:
                kind = k
                file_id = media[-1]["file_id"] if isinstance(media, list) else media["file_id"]
                break
        ents = msg.get("entities") or msg.get("caption_entities")
        self.put(
            MessageState(
                chat_id,
                message_id,
                kind,
                msg.get("text", msg.get("caption")),
                file_id=file_id,
                entities_json=json.dumps(ents) if ents else None,
                from_bot=bool(msg.get("from", {}).get("is_bot", False)),
                date=int(msg.get("date", 0)),
            )
        )
        if self._next_id.get(chat_id, 1) <= message_id:
            self._next_id[chat_id] = message_id + 1
