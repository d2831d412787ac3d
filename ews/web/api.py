"""HTTP API: health, county levels, alerts, reports (JSON)."""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from aiohttp import web

from ews import __version__
from ews.core.clock import utcnow
from ews.core.models import IntakeResult, alert_reference, report_reference
from ews.db.pool import database_ok
from ews.db.repo import deliveries, export, views
from ews.db.repo.views import CountyFilter
from ews.web.appkeys import LEADERSHIP, POOL, RULES, SETTINGS
from ews.web.openapi import DOCUMENT
from ews.web.places import BadCorrection, apply_place_correction, place_from_body
from ews.web.query import choice, county_filter, integer, param, with_query

routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_ID = 2**63 - 1  # report ids are bigint
RECENT = timedelta(hours=24)  # the window of the counties answer's report counts


@dataclass(frozen=True, slots=True)
class NoQuery:
    """The query of a route that takes no parameters (any given is refused)."""


@routes.get("/healthz")
@with_query(NoQuery)
async def healthz(request: web.Request, _query: NoQuery) -> web.Response:
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
@with_query(NoQuery)
async def counties(request: web.Request, _query: NoQuery) -> web.StreamResponse:
    """All 47 counties with their level and reports of the last 24 h, and the reports placed in none."""
    names = [rule.name for rule in request.app[RULES]]
    since = utcnow() - RECENT
    return web.json_response({"counties": await views.county_levels(request.app[POOL], names, since=since),
                              **await views.unplaced_reports(request.app[POOL], since=since)})


@dataclass(frozen=True, slots=True)
class AlertsQuery:
    """?status=open|closed|all&county=CODE|NAME|none&limit=N."""

    status: str = param(choice("open", "closed", "all"), default="all")
    county: CountyFilter | None = param(county_filter)
    limit: int = param(integer(1, MAX_LIMIT), default=DEFAULT_LIMIT)


@routes.get("/api/v1/alerts")
@requires_token
@with_query(AlertsQuery)
async def alerts(request: web.Request, query: AlertsQuery) -> web.StreamResponse:
    """Alerts, newest first, by status and county."""
    rows = await views.alerts(request.app[POOL], status=query.status, county=query.county, limit=query.limit)
    return web.json_response({"alerts": rows})


@dataclass(frozen=True, slots=True)
class ReportsQuery:
    """?county=CODE|NAME|none&before=ID&limit=N."""

    county: CountyFilter | None = param(county_filter)
    before: int | None = param(integer(1, MAX_ID))
    limit: int = param(integer(1, MAX_LIMIT), default=DEFAULT_LIMIT)


@routes.get("/api/v1/reports")
@requires_token
@with_query(ReportsQuery)
async def reports(request: web.Request, query: ReportsQuery) -> web.StreamResponse:
    """Reports, newest first (keyset pages with `before`), by county. Never includes the sender."""
    rows = await views.reports(request.app[POOL], county=query.county, before_id=query.before, limit=query.limit)
    return web.json_response({"reports": rows})


@dataclass(frozen=True, slots=True)
class DeliveriesQuery:
    """?status=dead|pending|sent|all&limit=N."""

    status: str = param(choice(*deliveries.DELIVERY_STATUSES), default="all")
    limit: int = param(integer(1, MAX_LIMIT), default=DEFAULT_LIMIT)


@routes.get("/api/v1/deliveries")
@requires_token
@with_query(DeliveriesQuery)
async def list_deliveries(request: web.Request, query: DeliveriesQuery) -> web.StreamResponse:
    """Outbound messages, newest first, by status (dead letters: status=dead). Never the address."""
    rows = await deliveries.list_deliveries(request.app[POOL], status=query.status, limit=query.limit)
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


MAX_BODY = 16 * 1024


@routes.patch("/api/v1/reports/{id}")
@requires_token
async def patch_report(request: web.Request) -> web.StreamResponse:
    """Correct a report by hand: its place (county_code, constituency_code, ward_code), with `by` and `note`."""
    try:
        report_id = int(request.match_info["id"])
    except ValueError:
        return web.json_response({"error": "report id must be a number"}, status=400)
    if not 1 <= report_id <= MAX_ID:
        return web.json_response({"error": "no such report"}, status=404)
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.json_response({"error": f"body over {MAX_BODY} bytes"}, status=413)
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    by, note = body.get("by"), body.get("note", "")
    if not isinstance(by, str) or not by.strip() or len(by) > 200:
        return web.json_response({"error": "'by' (who corrects, 1-200 characters) is required"}, status=400)
    if not isinstance(note, str) or len(note) > 2000:
        return web.json_response({"error": "'note' must be text of at most 2000 characters"}, status=400)
    try:
        place = place_from_body(body)
    except BadCorrection as exc:
        return web.json_response({"error": str(exc)}, status=400)
    if place is None:
        return web.json_response({"error": "nothing to change: give county_code, constituency_code or ward_code"},
                                 status=400)
    changed = await apply_place_correction(request.app[POOL], report_id, place, by=by.strip(), note=note)
    if changed is None:
        return web.json_response({"error": "no such report"}, status=404)
    before, after = changed
    # The rules count reports by county: both the old and the new county may have changed level.
    request.app[LEADERSHIP].reports_committed([
        IntakeResult(report_id, report_reference(report_id), code, "en", created=True)
        for code in {before.county_code, after.county_code} if code is not None])
    return web.json_response({"id": report_id, "reference": report_reference(report_id),
                              "county_code": after.county_code, "constituency_code": after.constituency_code,
                              "ward_code": after.ward_code, "place_source": "correction" if after.county_code
                              else None, "corrected_by": by.strip()})


@routes.get("/api/v1/reports/{id}")
@requires_token
@with_query(NoQuery)
async def report(request: web.Request, _query: NoQuery) -> web.StreamResponse:
    """One report, as `ews export --format ews` writes it; sensitive reports are not shown (no roles yet)."""
    raw = request.match_info["id"]
    report_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else 0
    found = await export.report_by_id(request.app[POOL], report_id) if report_id else None
    if found is None or found["sensitive"]:
        return web.json_response({"error": f"no report {raw[:20]!r}"}, status=404)
    return web.json_response(found)


@routes.get("/api/v1/openapi.json")
@with_query(NoQuery)
async def openapi_document(_request: web.Request, _query: NoQuery) -> web.StreamResponse:
    """The OpenAPI 3.1 description of the whole HTTP API (public: it holds no data)."""
    return web.json_response(DOCUMENT)
