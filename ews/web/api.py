"""HTTP API: health, county levels, alerts, reports (JSON)."""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web

from ews import __version__
from ews.core.models import alert_reference, report_reference
from ews.db.pool import database_ok
from ews.db.repo import deliveries, views
from ews.web.appkeys import LEADERSHIP, POOL, RULES, SETTINGS

routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_LIMIT = 500


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 when it does not."""
    ok = await database_ok(request.app[POOL])
    # Which process runs the rules engine: with several workers or instances exactly one says "leader".
    engine = "leader" if request.app[LEADERSHIP].leading else "follower"
    body: dict[str, object] = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unavailable",
            "engine": engine, "version": __version__}
    if ok:  # messages given up on: each needs a person (`ews deliveries retry ID`, or fix the contact)
        try:
            body["dead_letters"] = await deliveries.dead_letter_count(request.app[POOL])
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            body["dead_letters"] = None  # the database went away between the two queries
    return web.json_response(body, status=200 if ok else 503)


def requires_token(handler: Handler) -> Handler:
    """With EWS_API_TOKEN set, the route requires 'Authorization: Bearer <token>'."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        token = request.app[SETTINGS].api_token
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        return await handler(request)

    return guarded


@routes.get("/api/v1/counties")
@requires_token
async def counties(request: web.Request) -> web.StreamResponse:
    """All 47 counties with their current level."""
    names = [rule.name for rule in request.app[RULES]]
    return web.json_response({"counties": await views.county_levels(request.app[POOL], names)})


@routes.get("/api/v1/alerts")
@requires_token
async def alerts(request: web.Request) -> web.StreamResponse:
    """Alerts, newest first; ?status=open|closed|all&county=CODE&limit=N."""
    status = request.query.get("status", "all")
    if status not in ("open", "closed", "all"):
        raise _bad("status must be open, closed or all")
    rows = await views.alerts(request.app[POOL], status=status, county=_county(request),
                              limit=_limit(request))
    return web.json_response({"alerts": rows})


@routes.get("/api/v1/reports")
@requires_token
async def reports(request: web.Request) -> web.StreamResponse:
    """Reports, newest first; ?county=CODE&before=ID&limit=N. Never includes the sender."""
    before = _int(request, "before", None, 1, 2**62)
    rows = await views.reports(request.app[POOL], county=_county(request), before_id=before,
                               limit=_limit(request))
    return web.json_response({"reports": rows})


# --- deliveries (dispatch) ------------------------------------------------------------------------------

@routes.get("/api/v1/deliveries")
@requires_token
async def list_deliveries(request: web.Request) -> web.StreamResponse:
    """Outbound messages, newest first; ?status=dead|pending|sent|all&limit=N. Never the address."""
    status = request.query.get("status", "all")
    if status not in deliveries.DELIVERY_STATUSES:
        raise _bad("status must be one of " + ", ".join(deliveries.DELIVERY_STATUSES))
    rows = await deliveries.list_deliveries(request.app[POOL], status=status, limit=_limit(request))
    return web.json_response({"deliveries": [_delivery(row) for row in rows]})


def _delivery(row: deliveries.DeliveryRow) -> dict[str, object]:
    return {"id": row.id, "kind": row.kind, "status": row.status, "channel": row.channel, "notifier": row.notifier,
            "attempts": row.attempts,
            "last_error": row.last_error, "created_at": row.created_at.isoformat(),
            "next_attempt_at": row.next_attempt_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            "alert": alert_reference(row.alert_id) if row.alert_id is not None else None, "event": row.event,
            "report": report_reference(row.report_id) if row.report_id is not None else None,
            "recipient": row.recipient}


# --- shared parameter helpers -------------------------------------------------------------------------

def _limit(request: web.Request) -> int:
    return _int(request, "limit", 100, 1, MAX_LIMIT) or 100


def _county(request: web.Request) -> int | None:
    return _int(request, "county", None, 1, 47)


def _int(request: web.Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _bad(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _bad(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": reason}), content_type="application/json")
