"""The few settings the sending engine runs by, and nothing else.

The engine takes this instead of the application's settings, so it depends on neither how
configuration is loaded nor on the rest of it; the bot builds one from its settings, and
a test or benchmark states the policy it runs under.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SendPolicy:
    send_batch_size: int  # recipients read per page
    max_retries: int  # how often one recipient is sent again after a transient error
    retry_delays: tuple[float, ...]  # seconds before the 1st, 2nd, … retry; the last repeats
    paid_broadcast: bool  # send with allow_paid_broadcast (above the free 30/s)

    def retry_delay(self, attempts: int) -> float | None:
        """Seconds to wait before the next send to a recipient that has had `attempts`
        transient errors; None once that is more than `max_retries`."""
        if attempts > self.max_retries:
            return None
        return self.retry_delays[min(attempts, len(self.retry_delays)) - 1]
