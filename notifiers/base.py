"""What every notifier implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

from ews.core.models import Delivery, Outgoing

# The kinds of address a contact can have; a notifier says which of them it can send to.
CHANNELS = ("sms", "email", "webhook")


class Notifier(Protocol):
    """Sends one message; returns ok / retryable / permanent and never raises, within EWS_SEND_TIMEOUT."""

    kind: ClassVar[str]
    channels: ClassVar[tuple[str, ...]]  # the contact channels (CHANNELS) it sends to

    async def send(self, message: Outgoing) -> Delivery:
        """Send `message` once."""
        ...

    def secrets(self) -> Sequence[str]:
        """Values that must never appear in logs or rows."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
