"""`POST /api/v1/alerts/{id}/ack` and `/resolve`: an analyst acknowledges or resolves an alert from the
console or a script, audited under the name they give; the alert's recipients are told as for an SMS reply."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ews.alerting.acknowledgements import MAX_ALERT_ID, NAME_PATTERN, NOTE_PATTERN, Action, Actor, act_on_alert
from ews.core.clock import utcnow
from ews.core.models import alert_reference
from ews.web.api import cleared_for_sensitive, json_object, requires_token
from ews.web.appkeys import DISPATCHER, PLANNER, POOL, SETTINGS

routes = web.RouteTableDef()

FIELDS = frozenset({"by", "note"})
MAX_BY = 200
MAX_NOTE = 1000

_NAME = re.compile(NAME_PATTERN)
_NOTE = re.compile(NOTE_PATTERN)
_STATE = "SELECT acknowledged_at, resolved_at FROM alerts WHERE id = $1"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _alert_id(request: web.Request) -> int | web.Response:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ALERT_ID:
        return _error(400, "alert id must be a positive integer (the number of A-12)")
    return int(raw)


def parse_actor(body: dict[str, Any]) -> tuple[str, str] | str:
    """(by, note) from the request body, or what is wrong with it."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}; expected by, note"
    by, note = body.get("by"), body.get("note", "")
    # The length first: the pattern backtracks over a long run of spaces.
    if not isinstance(by, str) or len(by) > MAX_BY or _NAME.fullmatch(by) is None:
        return f"'by' (who acts, 1-{MAX_BY} characters, not only spaces, no control characters) is required"
    if not isinstance(note, str) or len(note) > MAX_NOTE or _NOTE.fullmatch(note) is None:
        return f"'note' must be text of at most {MAX_NOTE} characters, without NUL"
    return _whole(by.strip() or by), _whole(note)


def _whole(text: str) -> str:
    # JSON may carry a lone surrogate (\ud800), which no database or SMS can hold: a replacement mark instead.
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


async def _act(request: web.Request, action: Action) -> web.StreamResponse:
    alert_id = _alert_id(request)
    if isinstance(alert_id, web.Response):
        return alert_id
    body = await json_object(request)
    if isinstance(body, web.Response):
        return body
    parsed = parse_actor(body)
    if isinstance(parsed, str):
        return _error(400, parsed)
    by, note = parsed
    settings = request.app[SETTINGS]
    via = "api:" + ("sensitive_token" if cleared_for_sensitive(request) else
                    ("api_token" if settings.api_token else "open"))
    now = utcnow()
    async with request.app[POOL].acquire() as conn, conn.transaction():
        acted = await act_on_alert(conn, alert_id=alert_id, action=action, actor=Actor(name=by, via=via), now=now,
                                   note=note)
        state = await conn.fetchrow(_STATE, alert_id)
    if acted.outcome == "unknown":
        return _error(404, f"no alert {alert_reference(alert_id)}")
    if acted.outcome == "already_resolved":
        return _error(409, f"alert {alert_reference(alert_id)} is already resolved")
    if acted.notified:
        request.app[DISPATCHER].wake()  # the notices go now, not at the next dispatch tick
    if acted.changed:
        request.app[PLANNER].wake()  # its escalation stops now
    return web.json_response({
        "id": alert_id, "reference": alert_reference(alert_id), "outcome": acted.outcome, "first": acted.changed,
        "notified": acted.notified, "acknowledged_at": _iso(state["acknowledged_at"]),
        "resolved_at": _iso(state["resolved_at"])})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@routes.post("/api/v1/alerts/{id}/ack")
@requires_token
async def acknowledge(request: web.Request) -> web.StreamResponse:
    """Acknowledge an alert ({"by": NAME, "note": TEXT}); 404 for none, 409 when it is resolved already."""
    return await _act(request, "ack")


@routes.post("/api/v1/alerts/{id}/resolve")
@requires_token
async def resolve(request: web.Request) -> web.StreamResponse:
    """Mark an alert handled ({"by": NAME, "note": TEXT}); 404 for none, 409 when it is resolved already."""
    return await _act(request, "resolve")

