"""What a broadcast delivers: text with entities, or one media file with a caption.

Entities are kept as Telegram sent them (JSON dicts) and passed back untouched, so
formatting never goes through a parse mode twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.models import ContentKind
from services.errors import ContentTooLong, ValidationFailed

CAPTION_MAX_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class BroadcastContent:
    kind: ContentKind
    text: str
    entities: list[dict[str, Any]] | None = None
    file_id: str | None = None

    def validate(self, message_max_length: int) -> None:
        """Raise a ValidationFailed that says what is wrong, or return quietly."""
        if self.kind is ContentKind.TEXT:
            if not self.text.strip():
                raise ValidationFailed("Message is empty")
            if len(self.text) > message_max_length:
                raise ContentTooLong(len(self.text), message_max_length)
            if self.file_id:
                raise ValidationFailed("A text message carries no file")
            return
        if not self.file_id:
            raise ValidationFailed(f"A {self.kind.value} needs a file_id")
        if len(self.text) > CAPTION_MAX_LENGTH:
            raise ContentTooLong(len(self.text), CAPTION_MAX_LENGTH, what="Caption")
