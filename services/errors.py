"""Domain errors. Each carries a message fit to show to an admin; handlers turn them into replies.

They subclass ValueError because the seed's contract raises ValueError
("Broadcast 99999 not found", "Cannot cancel broadcast with status ...").
"""

from __future__ import annotations


class DomainError(ValueError):
    """A request the domain refuses, with a message for the person who made it."""

    code = "INVALID"


class BroadcastNotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(f"Broadcast {broadcast_id} not found")
        self.broadcast_id = broadcast_id


class InvalidStatus(DomainError):
    """The broadcast's status does not allow the operation (e.g. cancelling a sent one)."""

    code = "INVALID_STATUS"


class ValidationFailed(DomainError):
    """Bad input: an over-long message, a wrong filter, unknown user ids..."""

    code = "VALIDATION"


class ContentTooLong(ValidationFailed):
    def __init__(self, length: int, limit: int, what: str = "Message") -> None:
        super().__init__(f"{what} is {length} characters long; the limit is {limit}")
        self.length = length
        self.limit = limit


class NoRecipients(DomainError):
    code = "NO_RECIPIENTS"

    def __init__(self, target_group: str) -> None:
        super().__init__(f"No recipients found for group {target_group}")
        self.target_group = target_group
