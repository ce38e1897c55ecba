"""The Bot API's JSON shapes: answers, decoded parameters, chats, users, file stubs and
rendered messages.

Why it exists: the update builders and the method emulation must produce the same
objects Telegram does, so aiogram validates them; they share these helpers.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Final

from fake_bot_api.records import Delivered, MessageState

# An answer to a Bot API request: HTTP status and JSON body.
Answer = tuple[int, bytes]

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


def ok(result: Any) -> Answer:
    return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


def err(code: int, description: str, parameters: dict[str, Any] | None = None) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, json.dumps(body).encode()


def parse_chat_id(raw: object) -> int | str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, int):
        return raw
    s = str(raw)
    try:
        return int(s)
    except ValueError:
        return s


def coerce_chat(chat_id: int | str) -> int:
    """Numeric id for a chat; ``@username`` chats get a stable fake channel id."""
    if isinstance(chat_id, int):
        return chat_id
    return -1_000_000_000_000 - zlib.crc32(chat_id.encode())


def decode_params(raw: dict[str, str]) -> dict[str, Any]:
    """Request fields as the bot meant them: JSON fields parsed, booleans and ids typed."""
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
            out[key] = parse_chat_id(value)
        else:
            out[key] = value
    return out


def chat_dict(chat_id: int) -> dict[str, Any]:
    """Chat object: "private" for positive ids, "supergroup" for negative ones."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}


def user_dict(
    user_id: int, language_code: str | None, username: str | None = None
) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def bot_user_dict(bot_id: int, username: str) -> dict[str, Any]:
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": "School Test Bot",
        "username": username,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def media_stub(kind: str, file_id: str) -> Any:
    """The file object(s) Telegram puts under a message's ``kind`` field."""
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


def render(
    msg: Delivered | MessageState, bot_user: dict[str, Any], edit_date: int | None = None
) -> dict[str, Any]:
    """A stored message as a Message object."""
    out: dict[str, Any] = {
        "message_id": msg.message_id,
        "date": msg.date,
        "chat": chat_dict(msg.chat_id),
    }
    if msg.from_bot:
        out["from"] = bot_user
    if edit_date is not None:
        out["edit_date"] = edit_date
    kind = msg.kind
    if kind in ("text", "copy"):
        out["text"] = msg.text or ""
        if msg.entities_json:
            out["entities"] = json.loads(msg.entities_json)
    else:
        out[kind] = media_stub(kind, msg.file_id or "")
        if kind == "animation":
            out["document"] = media_stub("document", msg.file_id or "")
        if msg.text is not None:
            out["caption"] = msg.text
        if msg.entities_json:
            out["caption_entities"] = json.loads(msg.entities_json)
    markup = msg.reply_markup_json
    if markup and '"inline_keyboard"' in markup:  # Message.reply_markup is inline only
        out["reply_markup"] = json.loads(markup)
    return out
