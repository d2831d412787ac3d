"""What every notifier implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

from ews.core.models import Delivery, Outgoing


class Notifier(Protocol):
    """Sends one message; returns ok / retryable / permanent and never raises."""

    kind: ClassVar[str]

    async def send(self, message: Outgoing) -> Delivery:
        """Send `message` once."""
        ...

    def secrets(self) -> Sequence[str]:
        """Values that must never appear in logs or rows."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
