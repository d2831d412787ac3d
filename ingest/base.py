"""What every channel implements, and the error it raises for a request it refuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from aiohttp import web

from ews.core.models import IntakeResult, ReportIn


class Rejected(Exception):
    """A request refused before anything is stored: an HTTP status and a reason the caller can read."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Ingester(Protocol):
    """One inbound channel: authenticate and read, parse (pure), and answer in the provider's shape."""

    name: ClassVar[str]
    path: ClassVar[str]

    async def read(self, request: web.Request) -> Mapping[str, Any]:
        """Authenticate the request and return its payload; raise Rejected."""
        ...

    def parse(self, payload: Mapping[str, Any], *, received_at: datetime) -> list[ReportIn]:
        """Reports in the payload; raise Rejected for missing or malformed fields."""
        ...

    def ack(self, results: Sequence[IntakeResult]) -> web.StreamResponse:
        """The reply the provider expects once every report is committed."""
        ...
