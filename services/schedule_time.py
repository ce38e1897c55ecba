"""Turning the time an admin types for a scheduled broadcast into an aware UTC datetime.

Admins think in the school's time zone (settings.tz), so every accepted form is read as
local wall-clock time and converted to UTC for the database:

- `2026-12-01 09:30` and `01.12.2026 09:30`: that date and time;
- `09:30` (or `9:30`): today, or tomorrow when that time has already passed;
- `today 18:00` / `сегодня 18:00` and `tomorrow 9:00` / `завтра 9:00`.

Anything else raises `UnparseableTime`, whose message lists these forms; a time that is
not in the future raises `TimeInPast`, and a wall-clock time skipped by a daylight-saving
change raises `NonexistentTime`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.errors import ValidationFailed

ACCEPTED_FORMATS = (
    "2026-12-01 09:30",
    "01.12.2026 09:30",
    "09:30",
    "today 18:00",
    "tomorrow 9:00",
    "сегодня 18:00",
    "завтра 9:00",
)
DISPLAY_FORMAT = "%d.%m.%Y %H:%M"

_CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
_ISO_DATE = re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?:\s+|t)" + _CLOCK)
_DOTTED_DATE = re.compile(r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})\s+" + _CLOCK)
_RELATIVE_DAY = re.compile(r"(?:(?P<word>today|tomorrow|сегодня|завтра)\s+)?" + _CLOCK)
_DAYS_AHEAD = {"today": 0, "сегодня": 0, "tomorrow": 1, "завтра": 1}


class UnparseableTime(ValidationFailed):
    def __init__(self, text: str) -> None:
        super().__init__(
            f"Cannot read {text!r} as a date and time; use one of: {', '.join(ACCEPTED_FORMATS)}"
        )
        self.text = text


class NonexistentTime(ValidationFailed):
    def __init__(self, local: datetime, tz: ZoneInfo) -> None:
        super().__init__(
            f"{local.strftime(DISPLAY_FORMAT)} does not exist in {tz.key} (the clocks change "
            "then); pick another time"
        )
        self.local = local


class TimeInPast(ValidationFailed):
    def __init__(self, when: datetime, tz: ZoneInfo) -> None:
        super().__init__(
            f"{format_schedule_time(when, tz)} ({tz.key}) has already passed; "
            "pick a time in the future"
        )
        self.when = when


def parse_schedule_time(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The moment `text` names in `tz`, as an aware UTC datetime after `now`."""
    cleaned = " ".join(text.split()).lower()
    local_now = now.astimezone(tz)
    if match := _ISO_DATE.fullmatch(cleaned) or _DOTTED_DATE.fullmatch(cleaned):
        day = _date(text, match)
        local = _at(text, day, match, tz)
    elif match := _RELATIVE_DAY.fullmatch(cleaned):
        word = match["word"]
        day = local_now.date() + timedelta(days=_DAYS_AHEAD[word] if word else 0)
        local = _at(text, day, match, tz)
        if word is None and local <= local_now:
            local = _at(text, day + timedelta(days=1), match, tz)
    else:
        raise UnparseableTime(text)
    when = local.astimezone(UTC)
    if when <= now:
        raise TimeInPast(when, tz)
    return when


def format_schedule_time(when: datetime, tz: ZoneInfo) -> str:
    """`when` as the admin reads it: `01.12.2026 09:30` in `tz`."""
    return when.astimezone(tz).strftime(DISPLAY_FORMAT)


def _date(text: str, match: re.Match[str]) -> date:
    try:
        return date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        raise UnparseableTime(text) from None


def _at(text: str, day: date, match: re.Match[str], tz: ZoneInfo) -> datetime:
    """`day` at the matched clock time in `tz`; a time skipped by a clock change is refused."""
    try:
        clock = time(int(match["hour"]), int(match["minute"]))
    except ValueError:
        raise UnparseableTime(text) from None
    local = datetime.combine(day, clock, tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentTime(local, tz)
    return local
