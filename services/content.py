"""What a broadcast delivers: text with entities, or one media file with a caption.

Entities are kept as Telegram sent them (JSON dicts) and passed back untouched, so
formatting never goes through a parse mode twice.

A text (or a caption) must have something to read: one made only of characters that show
nothing (whitespace, control and format characters such as zero-width spaces and joiners,
combining marks with no letter to sit on, Unicode's default-ignorable code points, Hangul
fillers, the blank braille pattern) would reach every recipient as an empty-looking
message, so it is refused like an empty one. Unassigned code points count as visible: they
may be emoji newer than Python's Unicode tables.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from db.models import ContentKind
from services.errors import ContentInvisible, ContentTooLong, ValidationFailed

CAPTION_MAX_LENGTH = 1024

# Control, format and surrogate code points; marks (M*) are checked by their first letter.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
# Code points outside those categories that render as nothing: letters and symbols meant
# as blanks (Hangul fillers U+115F, U+1160, U+3164, U+FFA0; braille blank U+2800; musical
# null notehead U+1D159) and the default-ignorable code points still unassigned.
_BLANK_LOOKALIKES = re.compile(
    "[\u115f\u1160\u3164\uffa0\u2800\U0001d159\u2065\ufff0-\ufff8\U000e0000-\U000e0fff]"
)


def is_visible(char: str) -> bool:
    """Whether one character shows something on its own."""
    if char.isspace() or _BLANK_LOOKALIKES.match(char):
        return False
    category = unicodedata.category(char)
    return category not in _INVISIBLE_CATEGORIES and not category.startswith("M")


def has_visible_text(text: str) -> bool:
    """Whether a reader would see any character of `text` (False for an empty text)."""
    return any(is_visible(char) for char in text)


@dataclass(frozen=True, slots=True)
class BroadcastContent:
    kind: ContentKind
    text: str
    entities: list[dict[str, Any]] | None = None
    file_id: str | None = None

    def validate(self, message_max_length: int) -> None:
        """Raise a ValidationFailed that says what is wrong, or return quietly.

        A text must have a visible character; a media caption may be empty (no caption),
        but a non-empty one must have a visible character too (ContentInvisible).
        """
        if self.kind is ContentKind.TEXT:
            if not has_visible_text(self.text):
                raise ContentInvisible()
            if len(self.text) > message_max_length:
                raise ContentTooLong(len(self.text), message_max_length)
            if self.file_id:
                raise ValidationFailed("A text message carries no file")
            return
        if not self.file_id:
            raise ValidationFailed(f"A {self.kind.value} needs a file_id")
        if self.text and not has_visible_text(self.text):
            raise ContentInvisible(what="Caption")
        if len(self.text) > CAPTION_MAX_LENGTH:
            raise ContentTooLong(len(self.text), CAPTION_MAX_LENGTH, what="Caption")
