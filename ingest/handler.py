"""The one aiohttp handler shared by every channel: read, parse, commit, then acknowledge."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ews.core.clock import utcnow
from ews.core.models import IntakeResult, ReportIn, StorageUnavailable
from ingest.base import Ingester, Rejected

log = logging.getLogger(__name__)

Intake = Callable[[ReportIn], Awaitable[IntakeResult]]


def make_handler(ingester: Ingester, intake: Intake) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler that acknowledges only after every report in the request is committed."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            payload = await ingester.read(request)
            reports = ingester.parse(payload, received_at=utcnow())
        except Rejected as exc:
            return web.json_response({"error": exc.reason}, status=exc.status)
        results = []
        try:
            for report in reports:  # a loop, not a comprehension: that would wrap each await in one more coroutine
                results.append(await intake(report))
        except StorageUnavailable:
            # Not stored, so not acknowledged: the gateway (or the person) can try again.
            return web.json_response({"error": "report could not be stored; try again"}, status=503)
        for result in results:
            log.info("report stored channel=%s report=%s county=%s new=%s", ingester.name,
                     result.reference, result.county_code, result.created)
        return ingester.ack(results)

    return handle
