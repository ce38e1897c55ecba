"""How a broadcast's delivery options and its read confirmations read: the same words in
the wizard's preview, the details and the progress message."""

from __future__ import annotations

from fluent.runtime.types import fluent_number

from core.i18n import Translator
from services.options import BroadcastOptions


def options_text(t: Translator, options: BroadcastOptions) -> str | None:
    """`asks to confirm reading, silent`; None when every option is off."""
    names = options.switched_on()
    return ", ".join(t(f"option-{name}") for name in names) if names else None


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
