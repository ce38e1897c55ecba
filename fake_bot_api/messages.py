"""The message methods: sending text, media, copies and albums, editing and deleting
messages.

Why it exists: these are the methods a broadcast is made of, the ones Telegram limits.
Their answers must be Telegram's -- the same Message objects, the same error
descriptions -- so aiogram and the bot behave as in production; every success is
recorded in the journal (``delivered``, ``edits``, ``deleted``) and the message store.
The server applies flood limits and per-chat behaviours before any of them runs (a
broadcast's edits and deletes count toward them like its sends).
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any, Final

from fake_bot_api.journal import Journal
from fake_bot_api.records import Delivered, Edit, MessageState, loads_or_none
from fake_bot_api.store import MessageStore
from fake_bot_api.wire import (
    Answer,
    coerce_chat,
    decode_params,
    err,
    ok,
    parse_chat_id,
    render,
)

# (method name, request fields, numeric chat id, time accepted)
MessageHandler = Callable[[str, dict[str, str], int, float], Answer]

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
_NO_CAPTION_KINDS: Final = frozenset({"sticker", "video_note"})

TEXT_LIMIT: Final = 4096
DELETE_WINDOW: Final = 48 * 3600
"""Seconds after which a bot can no longer delete a message for everyone."""
CAPTION_LIMIT: Final = 1024

MSG_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a content and reply markup of the current message"
)
MSG_TOO_OLD_TO_DELETE: Final = "Bad Request: message can't be deleted for everyone"


def _visible_len(text: str, parse_mode: str | None) -> int:
    """Approximate length after entity parsing (only computed for long texts)."""
    if parse_mode and parse_mode.lower() == "html":
        return len(html.unescape(re.sub(r"<[^>]*>", "", text)))
    return len(text)


def _check_length(text: str | None, parse_mode: str | None, caption: bool) -> str | None:
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    if text is not None and len(text) > limit and _visible_len(text, parse_mode) > limit:
        return (
            "Bad Request: message caption is too long"
            if caption
            else ("Bad Request: message is too long")
        )
    return None


def _same_json(a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    if not a or not b:
        return not a and not b
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


class MessageMethods:
    """Handlers of the message methods, over the journal and the message store."""

    def __init__(
        self,
        journal: Journal,
        store: MessageStore,
        bot_user: dict[str, Any],
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """`wall_clock` is the fake's "now" in Unix seconds, for a message's age."""
        self._journal = journal
        self._store = store
        self._bot_user = bot_user
        self._wall_clock = wall_clock

    def handlers(self) -> dict[str, tuple[str, MessageHandler]]:
        """lower-case method -> (canonical name, handler)."""
        out: dict[str, tuple[str, MessageHandler]] = {
            "sendmessage": ("sendMessage", self.send_message),
            "copymessage": ("copyMessage", self.copy_message),
            "forwardmessage": ("forwardMessage", self.copy_message),
            "sendmediagroup": ("sendMediaGroup", self.send_media_group),
            "editmessagetext": ("editMessageText", self.edit),
            "editmessagecaption": ("editMessageCaption", self.edit),
            "editmessagereplymarkup": ("editMessageReplyMarkup", self.edit),
            "editmessagemedia": ("editMessageMedia", self.edit),
            "deletemessage": ("deleteMessage", self.delete),
        }
        for low, (canonical, _kind) in _MEDIA_SENDS.items():
            out[low] = (canonical, self.send_media)
        return out

    def _reply(self, params: dict[str, str], chat_id: int) -> tuple[int | None, bool, str | None]:
        """The message a send replies to, whether it may go without it, and Telegram's
        refusal when that message is not in the chat and it may not."""
        reply = loads_or_none(params.get("reply_parameters")) or {}
        raw = reply.get("message_id", params.get("reply_to_message_id"))
        allow = bool(reply.get("allow_sending_without_reply")) or (
            params.get("allow_sending_without_reply") == "true"
        )
        if raw is None:
            return None, allow, None
        message_id = int(raw)
        if self._store.get(chat_id, message_id) is None and not allow:
            return message_id, allow, "Bad Request: message to be replied not found"
        return message_id, allow, None

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
        reply_to, allow_without_reply, _ = self._reply(params, chat_id)
        intern = sys.intern
        d = Delivered(
            chat_id,
            self._store.alloc_id(chat_id),
            name,
            intern(text) if text is not None else None,
            now,
            kind=kind,
            file_id=intern(file_id) if file_id is not None else None,
            entities_json=intern(entities) if entities else None,
            reply_markup_json=intern(markup) if markup else None,
            parse_mode=intern(parse_mode) if parse_mode else None,
            allow_paid_broadcast=params.get("allow_paid_broadcast") == "true",
            disable_notification=params.get("disable_notification") == "true",
            protect_content=params.get("protect_content") == "true",
            reply_to_message_id=reply_to,
            allow_sending_without_reply=allow_without_reply,
            params=None if self._journal.compact else decode_params(params),
        )
        self._journal.delivered.append(d)
        self._store.put(d)
        return d

    def send_message(self, name: str, params: dict[str, str], chat_id: int, now: float) -> Answer:
        text = params.get("text")
        if not text:
            return err(400, "Bad Request: message text is empty")
        problem = _check_length(text, params.get("parse_mode"), caption=False)
        problem = problem or self._reply(params, chat_id)[2]
        if problem:
            return err(400, problem)
        d = self._deliver(name, params, chat_id, now, "text", text, None, params.get("entities"))
        return ok(render(d, self._bot_user))

    def send_media(self, name: str, params: dict[str, str], chat_id: int, now: float) -> Answer:
        kind = _MEDIA_SENDS[name.lower()][1]
        file_id = params.get(kind)
        if not file_id:
            return err(400, f"Bad Request: there is no {kind} in the request")
        caption = None if kind in _NO_CAPTION_KINDS else params.get("caption")
        problem = _check_length(caption, params.get("parse_mode"), caption=True)
        if problem:
            return err(400, problem)
        d = self._deliver(
            name, params, chat_id, now, kind, caption, file_id, params.get("caption_entities")
        )
        return ok(render(d, self._bot_user))

    def copy_message(self, name: str, params: dict[str, str], chat_id: int, now: float) -> Answer:
        from_chat = parse_chat_id(params.get("from_chat_id"))
        try:
            src_id = int(params.get("message_id", ""))
        except ValueError:
            return err(400, "Bad Request: message_id is empty")
        if from_chat is None:
            return err(400, "Bad Request: from_chat_id is empty")
        src = self._store.get(coerce_chat(from_chat), src_id)
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
            return ok({"message_id": d.message_id})
        return ok(render(d, self._bot_user))

    def send_media_group(
        self, name: str, params: dict[str, str], chat_id: int, now: float
    ) -> Answer:
        try:
            media = json.loads(params.get("media", ""))
        except ValueError:
            return err(400, "Bad Request: can't parse media JSON object")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            return err(400, "Bad Request: wrong number of messages in the media group")
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
            results.append(render(d, self._bot_user))
        return ok(results)

    def edit(self, name: str, params: dict[str, str], chat_id: int, now: float) -> Answer:
        try:
            message_id = int(params.get("message_id", ""))
        except ValueError:
            return err(400, "Bad Request: message identifier is not specified")
        old = self._store.get(chat_id, message_id)
        if old is None:
            return err(400, "Bad Request: message to edit not found")
        if not old.from_bot:
            return err(400, "Bad Request: message can't be edited")
        kind, text, file_id = old.kind, old.text, old.file_id
        entities = old.entities_json
        parse_mode = old.parse_mode
        markup = params.get("reply_markup") or None
        low = name.lower()
        if low == "editmessagetext":
            if kind not in ("text", "copy"):
                return err(400, "Bad Request: there is no text in the message to edit")
            text = params.get("text")
            if not text:
                return err(400, "Bad Request: message text is empty")
            problem = _check_length(text, params.get("parse_mode"), caption=False)
            if problem:
                return err(400, problem)
            entities = params.get("entities") or None
            parse_mode = params.get("parse_mode")
        elif low == "editmessagecaption":
            if kind in ("text", "copy"):
                return err(400, "Bad Request: there is no caption in the message to edit")
            text = params.get("caption")
            entities = params.get("caption_entities") or None
            parse_mode = params.get("parse_mode")
        elif low == "editmessagemedia":
            try:
                media = json.loads(params.get("media", ""))
            except ValueError:
                return err(400, "Bad Request: can't parse InputMedia JSON object")
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
            return err(400, MSG_NOT_MODIFIED)
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
        self._store.put(new)
        self._journal.edits.append(
            Edit(chat_id, message_id, name, text, loads_or_none(markup), now)
        )
        return ok(render(new, self._bot_user, edit_date=edit_date))

    def delete(self, name: str, params: dict[str, str], chat_id: int, now: float) -> Answer:
        """deleteMessage: the message is gone for everyone, unless it is older than 48 h."""
        try:
            message_id = int(params.get("message_id", ""))
        except ValueError:
            return err(400, "Bad Request: message identifier is not specified")
        old = self._store.get(chat_id, message_id)
        if old is None:
            return err(400, "Bad Request: message to delete not found")
        if self._wall_clock() - old.date > DELETE_WINDOW:
            return err(400, MSG_TOO_OLD_TO_DELETE)
        self._store.pop(chat_id, message_id)
        self._journal.deleted.append((chat_id, message_id))
        return ok(True)
