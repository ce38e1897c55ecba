"""How a broadcast's delivery options, its read confirmations and quiet hours read: the
same words in the wizard's preview, the details, the send question and the progress
message."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fluent.runtime.types import fluent_number

from core.i18n import Translator
from services.options import BroadcastOptions


def options_text(t: Translator, options: BroadcastOptions) -> str | None:
    """`asks to confirm reading, silent`; None when every option is off."""
    names = options.switched_on()
    return ", ".join(t(f"option-{name}") for name in names) if names else None


def clock_time(moment: datetime, tz: ZoneInfo) -> str:
    """`07:00`: the time of day in the school's time zone."""
    return f"{moment.astimezone(tz):%H:%M}"


def quiet_line(t: Translator, starts_at: datetime | None, tz: ZoneInfo) -> str | None:
    """`🌙 Quiet hours now: it will start at 07:00.`; None when it starts at once."""
    return None if starts_at is None else t("quiet-starts", time=clock_time(starts_at, tz))


def confirmed_line(t: Translator, confirmed: int, delivered: int) -> str:
    """`Confirmed: 812 of 1,011 delivered (80%)`, the percentage rounded down (it says
    100% only when everyone has confirmed)."""
    percent = confirmed * 100 // delivered if delivered > 0 else 0
    return t(
        "read-count",
        confirmed=confirmed,
        delivered=delivered,
        percent=fluent_number(percent / 100, style="percent"),
    )
