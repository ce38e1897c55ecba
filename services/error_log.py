"""`broadcasts.error_log`: one entry per error code with the last description seen, a count
and the first and last time, so 100k identical errors stay one entry.

Written by the engine (delivery errors), the broadcast service (manual retries) and the
scheduler (a broadcast that could not start); all of them go through `merge_error_log`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    code: str
    description: str
    at: datetime


def merge_error_log(
    log: list[dict[str, Any]] | None, events: Iterable[ErrorEvent]
) -> list[dict[str, Any]]:
    """`log` with `events` added to the entries of their codes."""
    entries = {entry["code"]: dict(entry) for entry in log or []}
    for event in events:
        at = event.at.isoformat()
        entry = entries.get(event.code)
        if entry is None:
            entries[event.code] = {
                "code": event.code,
                "description": event.description,
                "count": 1,
                "first_at": at,
                "last_at": at,
            }
        else:
            entry["description"] = event.description
            entry["count"] = int(entry.get("count", 0)) + 1
            entry["last_at"] = at
    return list(entries.values())
