"""What the edit and delete for everyone screens say, in the reader's language."""

from __future__ import annotations

from core.i18n import Translator
from db.models import BroadcastKind, ContentKind
from handlers.broadcasts.views import View
from handlers.callbacks import AmendKind
from handlers.keyboards import amend_keyboard
from services.amend import AmendPreview


def ask_text(t: Translator, preview: AmendPreview) -> str:
    """Asked first: the corrected text (or caption), and how many it will change."""
    what = "text" if preview.content_kind is ContentKind.TEXT else "caption"
    lines = [t(f"edit-ask-{what}", id=str(preview.broadcast_id), count=preview.count)]
    if preview.pending:
        lines.append(t("edit-pending", count=preview.pending))
    return "\n".join(lines)


def amend_question(t: Translator, preview: AmendPreview) -> View:
    """Yes / No, with the messages it touches, and for a delete those too old and those
    still pending that will not be sent."""
    kind = AmendKind.EDIT if preview.kind is BroadcastKind.EDIT else AmendKind.DELETE
    lines = [t(f"{kind}-confirm", id=str(preview.broadcast_id), count=preview.count)]
    if preview.too_old:
        lines.append(t("delete-too-old", count=preview.too_old))
    if preview.pending:
        lines.append(t(f"{kind}-pending", count=preview.pending))
    return "\n".join(lines), amend_keyboard(t, kind, preview.broadcast_id)


def started_text(t: Translator, kind: AmendKind, broadcast_id: int, count: int) -> str:
    return t(f"{kind}-started", id=str(broadcast_id), count=count)
