"""HTTP API: health, county levels, alerts, reports (JSON)."""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from aiohttp import web

from ews import __version__
from ews.alerting.grouping import alert_fingerprint
from ews.alerting.noise import alert_labels
from ews.core.clock import utcnow
from ews.core.models import IntakeResult, Level, alert_reference, report_reference
from ews.db.pool import database_ok
from ews.db.repo import deliveries, export, views
from ews.db.repo.views import CountyFilter
from ews.web import corrections
from ews.web.appkeys import LEADERSHIP, POOL, SETTINGS
from ews.web.openapi import DOCUMENT
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


def _bearer(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ").strip()


def cleared_for_sensitive(request: web.Request) -> bool:
    """Whether the caller holds EWS_SENSITIVE_API_TOKEN (cleared for sexual and gender-based violence reports)."""
    token = request.app[SETTINGS].sensitive_api_token
    return bool(token) and hmac.compare_digest(_bearer(request).encode(), token.encode())  # type: ignore[union-attr]


def requires_token(handler: Handler) -> Handler:
    """With EWS_API_TOKEN set, the route requires 'Authorization: Bearer <token>' (that token, or the
    sensitive one, which opens everything the first does)."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        token = request.app[SETTINGS].api_token
        if token:
            given = _bearer(request)
            if not hmac.compare_digest(given.encode(), token.encode()) and not cleared_for_sensitive(request):
                return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        return await handler(request)

    return guarded


@routes.get("/api/v1/counties")
@requires_token
@with_query(NoQuery)
async def counties(request: web.Request, _query: NoQuery) -> web.StreamResponse:
    """All 47 counties with their level and reports of the last 24 h, and the reports placed in none."""
    since = utcnow() - RECENT
    return web.json_response({"counties": await views.county_levels(request.app[POOL], since=since),
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
    rows = await views.alerts(request.app[POOL], status=query.status, county=query.county, limit=query.limit,
                              cleared=cleared_for_sensitive(request))
    return web.json_response({"alerts": rows})


@routes.get("/api/v1/alerts/{id}")
@requires_token
@with_query(NoQuery)
async def alert(request: web.Request, _query: NoQuery) -> web.StreamResponse:
    """One alert with each level change and its explanation (rule version, detector, statistic, threshold,
    baseline, contributing reports with their weights, the why line); 404 when there is none, or when it is
    on sexual and gender-based violence and the caller is not cleared."""
    raw = request.match_info["id"].removeprefix("A-")
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        return _error(400, f"alert id must be a number or A-<number>, not {request.match_info['id'][:40]!r}")
    found = await views.alert_detail(request.app[POOL], int(raw), cleared=cleared_for_sensitive(request))
    if found is None:
        return _error(404, f"no alert {raw}")
    # What routing, silences and inhibition match it by, as the planner labels it.
    labels = alert_labels(county_code=found["county_code"], level=Level[found["level"]], rule=found["rule"],
                          group=found["group"], sensitive=found.pop("sensitive"))
    found["labels"], found["fingerprint"] = labels, alert_fingerprint(labels)
    return web.json_response(found)


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
    rows = await views.reports(request.app[POOL], county=query.county, before_id=query.before, limit=query.limit,
                               cleared=cleared_for_sensitive(request))
    return web.json_response({"reports": rows})


def _report_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise web.HTTPBadRequest(text=json.dumps({"error": "report id must be a positive integer"}),
                                 content_type="application/json")
    return int(raw)


# A correction or a review is a few fields; the largest the schema allows (a 2,000-character note, each
# character an astral one that a client's JSON encoder writes as a 12-byte surrogate-pair escape, 24 KB,
# with the other fields likewise) must fit, or a valid request would be refused as too large.
MAX_JSON = 64 * 1024


async def json_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's JSON object body, or the 413, 415 or 400 answer saying what is wrong with it."""
    if request.content_length is not None and request.content_length > MAX_JSON:
        return _error(413, f"body over {MAX_JSON} bytes")
    raw = await request.content.read(MAX_JSON + 1)
    if len(raw) > MAX_JSON:
        return _error(413, f"body over {MAX_JSON} bytes")
    if request.content_type != "application/json":
        return _error(415, "send a JSON object with Content-Type: application/json")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _error(400, "body is not valid UTF-8 JSON")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    return body


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


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


@routes.get("/api/v1/reports/{id}")
@requires_token
@with_query(NoQuery)
async def report(request: web.Request, _query: NoQuery) -> web.StreamResponse:
    """One report, as `ews export --format ews` writes it; 404 when there is none, or when it is sensitive
    and the caller is not cleared (EWS_SENSITIVE_API_TOKEN)."""
    report_id = _report_id(request)
    found = await export.report_by_id(request.app[POOL], report_id, cleared=cleared_for_sensitive(request))
    if found is None:
        return _error(404, f"no report {report_id}")
    return web.json_response(found)


@routes.patch("/api/v1/reports/{id}")
@requires_token
async def patch_report(request: web.Request) -> web.StreamResponse:
    """Correct a report by hand: its place (county_code, constituency_code, ward_code, with `by` and `note`)
    and/or its review (review_status, incident_type, sensitive, duplicate_of..., reviewer); both audited."""
    report_id = _report_id(request)
    body = await json_object(request)
    if isinstance(body, web.Response):
        return body
    try:
        correction = corrections.parse_correction(body)
    except corrections.BadCorrection as exc:
        return _error(400, str(exc))
    settings, cleared = request.app[SETTINGS], cleared_for_sensitive(request)
    via = "sensitive_token" if cleared else ("api_token" if settings.api_token else "open")
    try:
        applied = await corrections.apply_correction(request.app[POOL], report_id, correction, cleared=cleared,
                                                     via=via, window=timedelta(seconds=settings.incident_window),
                                                     now=utcnow())
    except corrections.ReviewConflict as exc:
        return _error(409, str(exc))
    if applied is None:
        return _error(404, f"no report {report_id}")
    if applied.moved is not None:
        before, after = applied.moved
        # The rules count reports by county: both the old and the new county may have changed level.
        request.app[LEADERSHIP].reports_committed([
            IntakeResult(report_id, report_reference(report_id), code, "en", created=True)
            for code in {before.county_code, after.county_code} if code is not None])
    row = await export.report_by_id(request.app[POOL], report_id, cleared=cleared)
    # An uncleared caller who just marked a report sensitive may no longer see it: say only that.
    return web.json_response(row if row is not None else {"id": report_id, "reference": report_reference(report_id),
                                                           "sensitive": True})


@routes.get("/api/v1/openapi.json")
@with_query(NoQuery)
async def openapi_document(_request: web.Request, _query: NoQuery) -> web.StreamResponse:
    """The OpenAPI 3.1 description of the whole HTTP API (public: it holds no data)."""
    return web.json_response(DOCUMENT)
