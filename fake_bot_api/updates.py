"""Incoming updates: the queue getUpdates serves, and builders of the updates users cause.

Why it exists: conversation tests act as users -- they build a message, a photo, a button
press or a block of the bot, push it, and the bot under test fetches it by long polling.
:class:`UpdateBuilders` is a base of ``FakeBotAPI`` (``fake.make_message_update(...)``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from fake_bot_api.store import MessageStore
from fake_bot_api.wire import chat_dict, media_stub, render, user_dict

Update = dict[str, Any]


class UpdateQueue:
    """Pending updates in ``update_id`` order and the long polls waiting for one."""

    def __init__(self, store: MessageStore) -> None:
        self._store = store
        self._next_update_id = 1  # survives clear(): a polling bot keeps its offset
        self.pending: list[Update] = []
        self.waiters: set[asyncio.Future[None]] = set()
        self.closed = False  # the server is stopping: long polls answer at once

    def push(self, update: Update) -> None:
        """Queue an update (assigns ``update_id`` if missing).  Messages in it become known
        to the store (copyMessage sources)."""
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self.pending.append(update)
        self.pending.sort(key=lambda u: u["update_id"])
        for key in ("message", "channel_post", "edited_message"):
            msg = update.get(key)
            if isinstance(msg, dict):
                self._store.remember_incoming(msg)
        waiters, self.waiters = self.waiters, set()
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def confirm(self, offset: int) -> None:
        """Forget updates before ``offset`` (negative: keep only the last ``-offset``)."""
        if offset > 0:
            if self.pending and self.pending[0]["update_id"] < offset:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - getUpdates' timeout
        """Until an update is pushed, the queue is woken, or ``timeout`` seconds pass."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            self.waiters.discard(fut)

    def wake(self) -> None:
        for fut in self.waiters:
            if not fut.done():
                fut.set_result(None)

    def clear(self) -> None:
        self.wake()
        self.pending = []
        self.waiters = set()


class UpdateBuilders:
    """``make_*_update`` builders.  Messages get ids from the store, so they never clash
    with the bot's; a button press renders the pressed message from the store."""

    bot_user: dict[str, Any]
    _messages: MessageStore
    _callback_ids: Iterator[int]

    def _incoming(
        self,
        from_id: int,
        language_code: str | None,
        username: str | None,
        content: dict[str, Any],
    ) -> Update:
        message: dict[str, Any] = {
            "message_id": self._messages.alloc_id(from_id),
            "date": int(time.time()),
            "chat": chat_dict(from_id),
            "from": user_dict(from_id, language_code, username),
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
    ) -> Update:
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
    ) -> Update:
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
    ) -> Update:
        photo = media_stub("photo", file_id)
        return self._media_update("photo", photo, from_id, caption, caption_entities, language_code)

    def make_document_update(
        self,
        from_id: int,
        file_id: str,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        *,
        language_code: str | None = "en",
    ) -> Update:
        doc = media_stub("document", file_id)
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
    ) -> Update:
        video = media_stub("video", file_id)
        return self._media_update("video", video, from_id, caption, caption_entities, language_code)

    def make_animation_update(
        self,
        from_id: int,
        file_id: str,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        *,
        language_code: str | None = "en",
    ) -> Update:
        # Telegram sends animations with both "animation" and "document" set.
        return self._media_update(
            "animation",
            media_stub("animation", file_id),
            from_id,
            caption,
            caption_entities,
            language_code,
            extra={"document": media_stub("document", file_id)},
        )

    def make_sticker_update(
        self, from_id: int, file_id: str, *, language_code: str | None = "en"
    ) -> Update:
        sticker = media_stub("sticker", file_id)
        sticker["emoji"] = "\N{THUMBS UP SIGN}"
        return self._media_update("sticker", sticker, from_id, None, None, language_code)

    def make_callback_update(
        self,
        from_id: int,
        data: str,
        message_id: int,
        *,
        language_code: str | None = "en",
        chat_id: int | None = None,
    ) -> Update:
        """A button press by ``from_id`` on message ``message_id`` of chat ``chat_id``
        (default: the user's private chat).  The message is rendered from the fake's store
        when known."""
        chat = from_id if chat_id is None else chat_id
        stored = self._messages.get(chat, message_id)
        if stored is not None:
            message = render(stored, self.bot_user)
        else:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": chat_dict(chat),
                "from": self.bot_user,
                "text": "",
            }
        return {
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": user_dict(from_id, language_code),
                "chat_instance": str(chat),
                "data": data,
                "message": message,
            }
        }

    def make_button_press(
        self,
        from_id: int,
        chat_id: int,
        message_id: int,
        label: str,
        *,
        language_code: str | None = "en",
    ) -> Update:
        """A press by ``from_id`` of the inline button labelled ``label`` on a message the
        fake holds (a delivered one, as it is after edits), with that button's data.
        ``ValueError`` if the message is unknown or has no such button."""
        stored = self._messages.get(chat_id, message_id)
        markup = (stored.reply_markup if stored is not None else None) or {}
        found = [
            button["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for button in row
            if button.get("text") == label and "callback_data" in button
        ]
        if not found:
            raise ValueError(f"no button {label!r} on message {message_id} of chat {chat_id}")
        return self.make_callback_update(
            from_id, found[0], message_id, language_code=language_code, chat_id=chat_id
        )

    def make_my_chat_member_update(
        self, from_id: int, status: str = "kicked", *, chat_id: int | None = None
    ) -> Update:
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
                "chat": chat_dict(chat),
                "from": user_dict(from_id, "en"),
                "date": int(time.time()),
                "old_chat_member": member(old_status),
                "new_chat_member": member(status),
            }
        }
