"""How a broadcast is delivered, beside what it says: the options an admin switches on in
the wizard's options step, stored with the broadcast (so a draft sent later keeps them)
and applied by the engine to every message it sends."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class BroadcastOptions:
    ask_confirmation: bool = False
    """Every delivered message carries one "✅ I have read it" button."""
    silent: bool = False
    """Sent with `disable_notification`: recipients get it without a sound."""
    protected: bool = False
    """Sent with `protect_content`: recipients cannot forward or save it."""
    urgent: bool = False
    """Sent at once and with sound, even during quiet hours (services/quiet_hours.py)."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The options in the order the wizard and the details show them."""
        return tuple(field.name for field in fields(cls))

    @classmethod
    def of(cls, broadcast: object) -> BroadcastOptions:
        """The options stored with a broadcast (a row whose columns bear their names)."""
        return cls(**{name: bool(getattr(broadcast, name)) for name in cls.names()})

    def columns(self) -> dict[str, Any]:
        """The broadcast columns that store these options."""
        return asdict(self)

    def switched_on(self) -> tuple[str, ...]:
        return tuple(name for name in self.names() if getattr(self, name))

    def toggled(self, name: str) -> BroadcastOptions:
        """One option switched on or off; switching on Urgent (with sound) switches Silent
        off, and the reverse. An unknown name changes nothing."""
        if name not in self.names():
            return self
        on = not getattr(self, name)
        changed = {name: on}
        if on and (other := EXCLUSIVE.get(name)) is not None:
            changed[other] = False
        return replace(self, **changed)


EXCLUSIVE = {"urgent": "silent", "silent": "urgent"}
"""Options that cannot both be on: an urgent broadcast rings."""

NO_OPTIONS = BroadcastOptions()
"""Every option off: how a broadcast is sent unless the admin chose otherwise."""
