"""`GET/POST /api/v1/silences` and `POST /api/v1/silences/{id}/expire`: silences over the API (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ews.alerting.durations import parse_duration
from ews.alerting.noise import add_silence, all_silences, expire_silence, silences_in_force
from ews.alerting.routes_file import MatcherError
from ews.alerting.silences import Silence, SilenceEnded, parse_matchers
from ews.core.clock import utcnow
from ews.web.api import cleared_for_sensitive, json_object, requires_token
from ews.web.appkeys import POOL, SETTINGS
from ews.web.query import choice, param, with_query

routes = web.RouteTableDef()

MAX_NAME = 100
MAX_REASON = 1000
MAX_MATCHERS = 20
MAX_ID = 2**63 - 1
ADD_FIELDS = frozenset({"matchers", "starts_at", "ends_at", "duration", "by", "reason"})


class BadSilence(ValueError):
    """A silence request that cannot be used (a 400 naming what is wrong)."""


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def silence_json(silence: Silence, now: datetime) -> dict[str, Any]:
    """A silence as the API answers it."""
    return {"id": silence.id, "state": silence.state(now), "matchers": [str(m) for m in silence.matchers],
            "starts_at": silence.starts_at.isoformat(), "ends_at": silence.ends_at.isoformat(),
            "author": silence.author, "reason": silence.reason, "created_at": silence.created_at.isoformat(),
            "expired_by": silence.expired_by,
            "expired_at": silence.expired_at.isoformat() if silence.expired_at else None}


def _text(body: dict[str, Any], name: str, most: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > most:
        raise BadSilence(f"'{name}' (text, 1 to {most} characters) is required")
    return value.strip()


def _time(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        found = None
    if found is None or found.tzinfo is None:
        raise BadSilence(f"'{name}' must be an ISO 8601 time with a zone, e.g. 2027-08-09T18:00:00+03:00")
    return found.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class NewSilence:
    """A checked silence request."""

    matchers: tuple[Any, ...]
    starts_at: datetime
    ends_at: datetime
    by: str
    reason: str


def parse_new_silence(body: dict[str, Any], now: datetime) -> NewSilence:
    """The silence a POST body asks for; BadSilence saying what is wrong."""
    unknown = sorted(set(body) - ADD_FIELDS)
    if unknown:
        raise BadSilence(f"unknown field(s): {', '.join(unknown)}; fields are {', '.join(sorted(ADD_FIELDS))}")
    raw = body.get("matchers")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_MATCHERS or \
            not all(isinstance(m, str) and len(m) <= 500 for m in raw):
        raise BadSilence(f"'matchers' must be a list of 1 to {MAX_MATCHERS} strings like \"county = Kisumu\"")
    try:
        matchers = parse_matchers(raw)
    except MatcherError as exc:
        raise BadSilence(f"matchers: {exc}") from None
    by, reason = _text(body, "by", MAX_NAME), _text(body, "reason", MAX_REASON)
    starts = _time(body, "starts_at") or now
    ends = _time(body, "ends_at")
    duration = body.get("duration")
    if (ends is None) == (duration is None):
        raise BadSilence("give 'duration' (e.g. \"2h\") or 'ends_at', one of them")
    if duration is not None:
        try:
            ends = starts + parse_duration(duration if isinstance(duration, str) else "")
        except ValueError as exc:
            raise BadSilence(f"'duration': {exc}") from None
    assert ends is not None
    if ends <= max(starts, now):
        raise BadSilence("the silence would end before it starts, or in the past")
    return NewSilence(matchers, starts, ends, by, reason)


def _via(request: web.Request) -> str:
    if cleared_for_sensitive(request):
        return "api:sensitive_token"
    return "api:api_token" if request.app[SETTINGS].api_token else "api:open"


@dataclass(frozen=True, slots=True)
class SilencesQuery:
    """?state=in_force|all."""

    state: str = param(choice("in_force", "all"), default="in_force")


@routes.get("/api/v1/silences")
@requires_token
@with_query(SilencesQuery)
async def list_silences(request: web.Request, query: SilencesQuery) -> web.StreamResponse:
    """Silences in force (active and pending), or all of them, ended ones too (newest first)."""
    now = utcnow()
    async with request.app[POOL].acquire() as conn:
        found = await (all_silences(conn) if query.state == "all" else silences_in_force(conn, now))
    return web.json_response({"silences": [silence_json(s, now) for s in found]})


@routes.post("/api/v1/silences")
@requires_token
async def post_silence(request: web.Request) -> web.StreamResponse:
    """Add a silence: matchers, duration or ends_at (starts_at: now unless given), by, reason; audited."""
    body = await json_object(request)
    if isinstance(body, web.Response):
        return body
    now = utcnow()
    try:
        new = parse_new_silence(body, now)
    except BadSilence as exc:
        return _error(400, str(exc))
    async with request.app[POOL].acquire() as conn:
        silence = await add_silence(conn, matchers=new.matchers, starts_at=new.starts_at, ends_at=new.ends_at,
                                    author=new.by, reason=new.reason, via=_via(request), now=now)
    return web.json_response(silence_json(silence, now), status=201)


@routes.post("/api/v1/silences/{id}/expire")
@requires_token
async def post_expire(request: web.Request) -> web.StreamResponse:
    """End a silence now (body {"by": NAME}); 404 when there is none, 409 when it has already ended."""
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        return _error(400, "silence id must be a positive integer")
    body = await json_object(request)
    if isinstance(body, web.Response):
        return body
    unknown = sorted(set(body) - {"by"})
    try:
        if unknown:
            raise BadSilence(f"unknown field(s): {', '.join(unknown)}; the only field is 'by'")
        by = _text(body, "by", MAX_NAME)
    except BadSilence as exc:
        return _error(400, str(exc))
    now = utcnow()
    try:
        async with request.app[POOL].acquire() as conn:
            done = await expire_silence(conn, int(raw), by=by, via=_via(request), now=now)
    except SilenceEnded as exc:
        return _error(409, str(exc))
    if done is None:
        return _error(404, f"no silence {raw}")
    return web.json_response(silence_json(done, now))


__all__ = ["BadSilence", "parse_new_silence", "routes", "silence_json"]
