"""HTTP API: health, county levels, alerts, reports (JSON)."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from ews import __version__
from ews.core.clock import utcnow
from ews.db.pool import database_ok
from ews.db.repo import views
from ews.db.repo.views import CountyFilter
from ews.web.appkeys import LEADERSHIP, POOL, RULES, SETTINGS
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
    body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unavailable",
            "engine": engine, "version": __version__}
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
