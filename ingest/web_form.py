"""The web form: `GET/POST /report`, a server-rendered page that works on a cheap phone without JavaScript.

Anonymous (no name or number asked), English or Swahili, a CSRF token bound to a cookie, a per-client rate
limit, validation errors beside each field keeping what was typed, and a thank-you page that shows the
reference and nothing of the report.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import jinja2
from aiohttp import web

from ews.core.clock import utcnow
from ews.core.models import KENYA_TIME, ChannelName, Language, ReportIn, StorageUnavailable
from ingest.base import Inbox, Rejected
from ingest.form import read_form
from ingest.web_form_text import TEXT

PATH = "/report"
COOKIE = "ews_form"
MAX_BODY_CHARS = 2000
MAX_PLACE_CHARS = 120
_FIELDS = ("county", "constituency", "place", "incident_type", "date", "time", "body")

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("ingest", "templates"),
    autoescape=True,  # every value shown back is text, never markup: XSS in any field renders as text
    undefined=jinja2.StrictUndefined,
)


def form_key(sender_key: str) -> bytes:
    """The key CSRF tokens are made with, derived from the sender key (one secret fewer to manage)."""
    return hmac.new(sender_key.encode(), b"ews web form csrf v1", hashlib.sha256).digest()


def csrf_token(key: bytes, cookie: str) -> str:
    """The form's token for a client's cookie: a page on another site cannot read either."""
    return hmac.new(key, cookie.encode(), hashlib.sha256).hexdigest()


class RateLimit:
    """At most `limit` requests per client in any `window` seconds (sliding window, in this process)."""

    def __init__(self, limit: int, window: float, *, max_clients: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self._max_clients = max_clients
        self._seen: collections.OrderedDict[str, collections.deque[float]] = collections.OrderedDict()

    def allow(self, client: str, now: float) -> float | None:
        """None when the request may go ahead (and counts it), else seconds until it would be allowed."""
        times = self._seen.get(client)
        if times is None:
            times = self._seen[client] = collections.deque()
            if len(self._seen) > self._max_clients:  # bounded memory under a flood of addresses
                self._seen.popitem(last=False)
        self._seen.move_to_end(client)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return times[0] + self.window - now
        times.append(now)
        return None


@dataclass(slots=True)
class Filled:
    """What the person typed, and the error beside each field that is wrong."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def parse_form(form: dict[str, str], *, language: Language, counties: Sequence[int], incident_types: Sequence[str],
               now: datetime, constituencies: Mapping[int, int] | None = None) -> tuple[Filled, dict[str, Any]]:
    """Check the fields (pure): what was typed with its errors, and the report's fields when there are none.
    `constituencies` maps each constituency code to its county (no constituency can be chosen without it)."""
    t = {k: v[language] for k, v in TEXT.items()}
    values = {name: form.get(name, "") for name in _FIELDS}
    filled = Filled(values)
    errors = filled.errors
    for name, value in values.items():
        if any(ord(c) < 32 and c not in "\r\n\t" for c in value):
            errors[name] = t["err_text"]
    county = values["county"].strip()
    if not (county.isascii() and county.isdigit() and int(county) in counties):
        errors.setdefault("county", t["err_county"])
    constituency = values["constituency"].strip()
    # Only one of the chosen county's: the list shows every county's, grouped, since without JavaScript it
    # cannot follow the county chosen above it.
    if constituency and not (constituency.isascii() and constituency.isdigit() and constituencies
                             and constituencies.get(int(constituency)) == (int(county) if county.isdigit() else None)):
        errors.setdefault("constituency", t["err_constituency"])
    incident_type = values["incident_type"].strip()
    if incident_type and incident_type not in incident_types:
        errors.setdefault("incident_type", t["err_type"])
    body = values["body"].strip()
    if not body:
        errors.setdefault("body", t["err_body"])
    elif len(body) > MAX_BODY_CHARS:
        errors.setdefault("body", t["err_body_long"].format(limit=MAX_BODY_CHARS, count=len(body)))
    place = values["place"].strip()
    if len(place) > MAX_PLACE_CHARS:
        errors.setdefault("place", t["err_place_long"].format(limit=MAX_PLACE_CHARS))
    occurred_at = _when(values["date"].strip(), values["time"].strip(), now, errors, t)
    if errors:
        return filled, {}
    # The place typed is kept as the report's first line, for intake to read with the rest of the text.
    text = f"{place}: {body}" if place else body
    return filled, {"county_code": int(county), "constituency_code": int(constituency) if constituency else None,
                    "incident_type": incident_type or None, "body": text, "occurred_at": occurred_at}


def _when(day: str, hour: str, now: datetime, errors: dict[str, str], t: dict[str, str]) -> datetime | None:
    if not day:
        if hour:
            errors.setdefault("time", t["err_time"])
        return None
    try:
        parsed_day = date.fromisoformat(day) if len(day) == 10 else None
    except ValueError:
        parsed_day = None
    if parsed_day is None or parsed_day.year < 1990:
        errors.setdefault("date", t["err_date"])
        return None
    clock = datetime.min.time()
    if hour:
        try:
            clock = datetime.strptime(hour, "%H:%M").time()
        except ValueError:
            errors.setdefault("time", t["err_time"])
            return None
    at = datetime.combine(parsed_day, clock, tzinfo=KENYA_TIME).astimezone(UTC)
    if at > now + timedelta(minutes=10):
        errors.setdefault("date", t["err_date"])
        return None
    return at


class WebForm:
    """The web form channel. Open by nature (anyone may report); guarded by CSRF and a rate limit."""

    name: ClassVar[ChannelName] = "web_form"
    guard: ClassVar[str] = "open to anyone, with a CSRF token and a per-client rate limit, at"

    def __init__(self, *, csrf_key: bytes, counties: Sequence[tuple[int, str]],
                 incident_types: Sequence[tuple[str, str, str]], rate_limit: int, rate_window: float,
                 forwarded_for: bool = False, constituencies: Sequence[tuple[int, str, int]] = ()) -> None:
        """`constituencies`: (code, name, county code) of each, for the optional constituency list."""
        self._key = csrf_key
        self._counties = list(counties)
        self._county_of = {code: county for code, _name, county in constituencies}
        names = dict(counties)
        # Grouped by county, in the counties' order, for an <optgroup> each.
        self._constituency_groups = [(names[county], [(code, name) for code, name, c in constituencies if c == county])
                                     for county, _ in counties if any(c == county for _, _, c in constituencies)]
        self._types = list(incident_types)
        self._limit = RateLimit(rate_limit, rate_window)
        self._forwarded_for = forwarded_for

    @property
    def authenticated(self) -> bool:
        """Reports come from anyone by design; CSRF and the rate limit guard it, so it is not warned about."""
        return True

    def routes(self, inbox: Inbox) -> Sequence[web.RouteDef]:
        """`GET /report` (the form) and `POST /report` (a report)."""

        async def show(request: web.Request) -> web.StreamResponse:
            return self._page(request, _language(request.query.get("lang")), Filled(dict.fromkeys(_FIELDS, "")))

        async def submit(request: web.Request) -> web.StreamResponse:
            return await self._submit(request, inbox)

        return [web.get(PATH, show), web.post(PATH, submit)]

    async def _submit(self, request: web.Request, inbox: Inbox) -> web.StreamResponse:
        try:
            form, _raw = await read_form(request)
        except Rejected as exc:
            return web.json_response({"error": exc.reason}, status=exc.status)
        language = _language(form.get("lang"))
        cookie = request.cookies.get(COOKIE, "")
        given = form.get("csrf", "")
        if not cookie or not hmac.compare_digest(csrf_token(self._key, cookie).encode(), given.encode("utf-8")):
            return self._message(language, "csrf_title", "csrf", "back", status=403)
        client = self._client(request)
        wait = self._limit.allow(client, time.monotonic())
        if wait is not None:
            minutes = max(1, round(wait / 60))
            response = self._message(language, "slow_title", "slow", "back", status=429, minutes=minutes)
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        now = utcnow()
        filled, fields = parse_form(dict(form), language=language, counties=[c for c, _ in self._counties],
                                    incident_types=[code for code, _, _ in self._types], now=now,
                                    constituencies=self._county_of)
        if filled.errors:
            return self._page(request, language, filled, status=400)
        report = ReportIn(channel=self.name, external_id=secrets.token_hex(16), body=fields["body"],
                          # Distinct clients count as distinct reporters; only a keyed hash of the address is kept.
                          sender=f"web_form:{client}", received_at=now, county_code=fields["county_code"],
                          constituency_code=fields["constituency_code"],
                          incident_type=fields["incident_type"], occurred_at=fields["occurred_at"],
                          language=language)
        try:
            result = await inbox.submit(report)
        except StorageUnavailable:
            return self._message(language, "busy_title", "busy", "back", status=503)
        # Post/redirect/get would put the reference in a URL (browser history); a 200 page keeps it on screen only.
        return self._message(language, "thanks_title", "thanks", "another", reference=result.reference)

    def _client(self, request: web.Request) -> str:
        if self._forwarded_for:
            # Behind a reverse proxy the last hop it appended is the client it saw.
            forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
            if forwarded:
                return forwarded
        return request.remote or "unknown"

    def _page(self, request: web.Request, language: Language, filled: Filled, *, status: int = 200) -> web.Response:
        cookie = request.cookies.get(COOKIE, "")
        new_cookie = not cookie or len(cookie) != 32 or not cookie.isalnum()
        if new_cookie:
            cookie = secrets.token_hex(16)
        t = {k: v[language] for k, v in TEXT.items()}
        html = _templates.get_template("report.html").render(
            lang=language, other_lang="en" if language == "sw" else "sw", title=t["title"], t=t,
            csrf=csrf_token(self._key, cookie), counties=self._counties,
            constituency_groups=self._constituency_groups,
            incident_types=[(code, sw if language == "sw" else en) for code, en, sw in self._types],
            values=filled.values, errors={name: filled.errors.get(name, "") for name in _FIELDS},
            has_errors=bool(filled.errors), place_max=MAX_PLACE_CHARS)
        response = web.Response(text=html, content_type="text/html", status=status, headers=_NO_STORE)
        if new_cookie:
            response.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", path=PATH, max_age=7 * 86400)
        return response

    def _message(self, language: Language, title: str, message: str, link: str, *, status: int = 200,
                 reference: str | None = None, **values: Any) -> web.Response:
        t = {k: v[language] for k, v in TEXT.items()}
        html = _templates.get_template("message.html").render(
            lang=language, title=t[title], t=t, message=t[message].format(**values), link=t[link],
            reference=reference)
        return web.Response(text=html, content_type="text/html", status=status, headers=_NO_STORE)


# Pages hold a CSRF token or a reference: neither belongs in a shared cache.
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}


def _language(raw: str | None) -> Language:
    return "sw" if raw == "sw" else "en"
