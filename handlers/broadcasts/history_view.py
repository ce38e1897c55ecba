"""A broadcast's history in its details: the latest entries, one line each, in the
reader's language and the school's time (an edit shows the start of the text it
replaced, so the original stays in sight after an edit)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import html

from core.i18n import Translator
from services.history import HistoryEntry
from services.schedule_time import format_schedule_time

SHOWN = 6
"""Entries shown in the details; the CSV export has them all."""
PREVIOUS_LENGTH = 80


def _previous(text: str | None) -> str:
    flat = " ".join((text or "").split())
    short = flat if len(flat) <= PREVIOUS_LENGTH else flat[: PREVIOUS_LENGTH - 1] + "…"
    return f"«{html.quote(short)}»"


def history_line(t: Translator, entry: HistoryEntry, tz: ZoneInfo) -> str:
    who = html.quote(entry.actor_name) if entry.actor_name else t("history-nobody")
    return t(
        f"history-{entry.kind}",
        time=format_schedule_time(entry.at, tz),
        who=who,
        previous=_previous(entry.previous_text),
    )


def history_lines(t: Translator, history: list[HistoryEntry], tz: ZoneInfo) -> list[str]:
    """The title and the latest SHOWN entries, oldest first; nothing without history."""
    if not history:
        return []
    lines = [t("history-title")]
    if len(history) > SHOWN:
        lines.append(t("history-more", count=len(history) - SHOWN))
    lines += [history_line(t, entry, tz) for entry in history[-SHOWN:]]
    return lines
