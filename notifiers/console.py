"""Console notifier: prints alert SMS instead of sending them (the default, for trying the service)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import ClassVar, TextIO

from ews.core.models import Delivery, DeliveryStatus, Outgoing
from notifiers.base import CHANNELS


class ConsoleNotifier:
    """Writes each message to a stream, naming the recipient but never showing their number."""

    kind: ClassVar[str] = "console"
    channels: ClassVar[tuple[str, ...]] = CHANNELS  # it only prints, so it stands in for every channel

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._sent = 0

    async def send(self, message: Outgoing) -> Delivery:
        """Print the message."""
        self._sent += 1
        print(f"[{message.channel.upper()} to {message.recipient_label} ({message.language})] {message.body}",
              file=self._stream, flush=True)
        return Delivery(DeliveryStatus.OK, provider_id=f"console-{self._sent}")

    def secrets(self) -> Sequence[str]:
        """None."""
        return ()

    async def close(self) -> None:
        """Nothing to release."""
