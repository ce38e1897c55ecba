"""Telegram refuses messages over 4096 characters; long lists go out in several messages.

`split_text` cuts at line breaks (a line is cut only when it alone is too long), and
`show` is the one way handlers put a possibly long text on screen: it edits the message a
button sits on when the text fits in one message, and otherwise sends the parts as new
messages with the keyboard on the last one.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, MaybeInaccessibleMessageUnion, Message

TELEGRAM_TEXT_LIMIT = 4096


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` characters, cut at line breaks whenever possible.

    A line too long for one message is cut at a space or line break, never inside an
    HTML tag or entity (`&amp;`), so each part still parses; tags must not span lines.
    """
    parts: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        candidate = line if current is None else f"{current}\n{line}"
        if len(candidate) > limit and current is not None and len(line) <= limit:
            parts.append(current)
            candidate = line
        while len(candidate) > limit:
            cut = _cut_point(candidate, limit)
            parts.append(candidate[:cut])
            candidate = candidate[cut:]
        current = candidate
    parts.append(current or "")
    return parts


def _cut_point(text: str, limit: int) -> int:
    cut = limit
    for opener, closer in (("<", ">"), ("&", ";")):
        start = text.rfind(opener, 0, cut)
        if start > 0 and text.find(closer, start, cut) == -1:
            cut = start
    gap = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
    return gap + 1 if gap >= cut // 2 else cut


async def show(
    message: MaybeInaccessibleMessageUnion,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    edit: bool = False,
) -> None:
    """Put `text` on screen: edit `message` (`edit=True`) or answer in its chat.

    An edit that would change nothing is not an error; a text too long for one message,
    or a message the bot can no longer edit, goes out as new messages instead.
    """
    parts = split_text(text)
    if edit and len(parts) == 1 and isinstance(message, Message):
        try:
            await message.edit_text(parts[0], reply_markup=reply_markup)
        except TelegramBadRequest as error:
            if "message is not modified" not in error.message:
                raise
        return
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], reply_markup=reply_markup)
