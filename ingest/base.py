"""What every channel implements, where it hands over what it parsed, and the error for a refused request."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import ClassVar, Protocol

from aiohttp import web

from ews.core.models import ChannelName, Command, CommandOutcome, DeliveryReport, IntakeResult, ReportIn


class Rejected(Exception):
    """A request refused before anything is stored: an HTTP status and a reason the caller can read."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Inbox(Protocol):
    """Where a channel hands over what it parsed: reports go to intake, commands to their handler."""

    def submit(self, report: ReportIn) -> Awaitable[IntakeResult]:
        """Commit a report; the result once it is durable (StorageUnavailable if it cannot be)."""
        ...

    def command(self, command: Command) -> Awaitable[CommandOutcome]:
        """Carry out a command (STOP, START, HELP, ACK 12) and record it; what it did."""
        ...

    def delivery_report(self, report: DeliveryReport) -> Awaitable[bool]:
        """Move the matching delivery forward (never back); whether one moved."""
        ...

    def opt_out(self, address: str, *, reason: str) -> Awaitable[None]:
        """Put an address on the suppression list (a gateway said its owner opted out)."""
        ...


class Channel(Protocol):
    """One inbound channel: its own routes, mounted only when configured, saying whether it checks callers.

    Each route authenticates the request, parses it (pure) into reports or commands, hands them to the
    inbox, and only once they are committed answers in the provider's shape.
    """

    name: ClassVar[ChannelName]

    @property
    def authenticated(self) -> bool:
        """Whether requests are checked (a signature or a token); an open channel is warned about."""
        ...

    def routes(self, inbox: Inbox) -> Sequence[web.RouteDef]:
        """The channel's paths, with handlers bound to `inbox`."""
        ...
