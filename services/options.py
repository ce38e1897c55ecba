"""How a broadcast is delivered, beside what it says: the options an admin switches on in
the wizard's options step, stored with the broadcast (so a draft sent later keeps them)
and applied by the engine to every message it sends."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class BroadcastOptions:
    ask_confirmation: bool = False
    """Every delivered message carries one "✅ I have read it" button."""
    silent: bool = False
    """Sent with `disable_notification`: recipients get it without a sound."""
    protected: bool = False
    """Sent with `protect_content`: recipients cannot forward or save it."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The options in the order the wizard and the details show them."""
        return tuple(field.name for field in fields(cls))

    def switched_on(self) -> tuple[str, ...]:
        return tuple(name for name in self.names() if getattr(self, name))


NO_OPTIONS = BroadcastOptions()
"""Every option off: how a broadcast is sent unless the admin chose otherwise."""
