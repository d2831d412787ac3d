"""Partner API: `POST /api/v1/reports`, a JSON batch of up to 500 reports from a partner's own system.

Each request carries a partner's bearer token (`ews tokens create --partner NAME`); each report is
attributed to that partner. An `Idempotency-Key` makes a retry safe: the same key and body get the first
answer again, the same key with another body a 409. The answer is a 202 with one result per item, in order:
a reference, or the errors naming each wrong field. One bad item never fails the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from aiohttp import web

from ews.core.clock import utcnow
from ews.core.models import ChannelName, IntakeResult, ReportIn, StorageUnavailable
from ews.core.places import PlaceMismatch, PlaceTree, nested_place
from ingest.base import Inbox, Rejected
from ingest.fields import (
    MAX_BODY_CHARS,
    MAX_CASUALTIES,
    FieldError,
    choice_in,
    int_in,
    point_in,
    text_in,
    time_in,
    ward_in,
)

log = logging.getLogger(__name__)

PATH = "/api/v1/reports"
MAX_BATCH = 500
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # 500 reports of 4,000 characters each, with room for the other fields
MAX_KEY_CHARS = 255
ITEM_FIELDS = frozenset({"id", "body", "county_code", "constituency_code", "ward_code", "incident_type",
                         "occurred_at", "latitude", "longitude", "casualties", "language", "reporter_id"})


@runtime_checkable
class PartnerDesk(Protocol):
    """What the partner API needs besides the inbox: tokens, and the first answer to each key."""

    async def partner_for(self, token: str) -> str | None:
        """The partner a live token belongs to, or None."""
        ...

    async def first_answer(self, partner: str, key: str) -> tuple[str, int, dict[str, Any]] | None:
        """(body hash, status, answer) kept for the partner's Idempotency-Key, or None."""
        ...

    async def keep_answer(self, partner: str, key: str, body_hash: str, status: int,
                          answer: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
        """Keep the first answer to a key; the one kept (another request's, if it was first)."""
        ...


def parse_item(item: Any, index: int, *, partner: str, key: str | None, received_at: datetime,
               incident_types: Collection[str], places: PlaceTree | None = None) -> ReportIn | list[FieldError]:
    """One batch item as a report, or every error in it (pure). With `places`, the county, constituency and
    ward must nest, and a deeper code brings its parents."""
    if not isinstance(item, dict):
        return [FieldError("", "each report must be a JSON object")]
    errors: list[FieldError] = []
    unknown = sorted(_shown(str(k)) for k in item if k not in ITEM_FIELDS)
    if unknown:
        errors.append(FieldError(unknown[0], "unknown field(s): " + ", ".join(unknown[:5])))
    external_id = text_in(item, "id", errors)
    body = text_in(item, "body", errors, required=True, max_chars=MAX_BODY_CHARS)
    county = int_in(item, "county_code", 1, 47, errors)
    constituency = int_in(item, "constituency_code", 1, 290, errors)
    ward = ward_in(item, errors)
    incident_type = choice_in(item, "incident_type", incident_types, errors)
    occurred_at = time_in(item, "occurred_at", received_at, errors)
    point = point_in(item, errors)
    casualties = int_in(item, "casualties", 0, MAX_CASUALTIES, errors)
    language = choice_in(item, "language", ("en", "sw"), errors)
    reporter = text_in(item, "reporter_id", errors)
    if places is not None and not errors:
        try:
            county, constituency, ward = nested_place(places, county, constituency, ward)
        except PlaceMismatch as exc:
            errors.append(FieldError(exc.field, str(exc)))
    if errors or body is None:
        return errors
    if external_id is None:
        # A retry with the same Idempotency-Key names the same items, so they cannot be stored twice.
        external_id = f"{key}#{index}" if key else uuid.uuid4().hex
    # Distinct senders are what rules count: one per monitor when the partner says who reported, else
    # each report on its own (a partner is many people, not one phone).
    sender = f"partner:{partner}:reporter:{reporter}" if reporter else f"partner:{partner}:report:{external_id}"
    return ReportIn(
        channel="partner_api", external_id=external_id, body=body, sender=sender, received_at=received_at,
        source=f"partner:{partner}", county_code=county, constituency_code=constituency, ward_code=ward,
        incident_type=incident_type, casualties=casualties, occurred_at=occurred_at,
        language=language,  # type: ignore[arg-type]  # checked by choice_in
        latitude=point[0] if point else None, longitude=point[1] if point else None, partner=partner)


def _shown(name: str) -> str:
    """A client's field name as it can be echoed back and stored (jsonb holds no NUL or lone surrogate)."""
    return json.dumps(name[:64])[1:-1]


def parse_batch(payload: Any) -> list[Any]:
    """The items of a request body, or Rejected(400) saying what is wrong with the batch as a whole."""
    if not isinstance(payload, dict) or not isinstance(payload.get("reports"), list):
        raise Rejected(400, 'expected a JSON object {"reports": [...]}')
    extra = sorted(_shown(k) for k in payload if k != "reports")
    if extra:
        raise Rejected(400, f"unknown top-level field(s): {', '.join(extra[:5])}")
    items: list[Any] = payload["reports"]
    if not items:
        raise Rejected(400, "reports is empty")
    if len(items) > MAX_BATCH:
        raise Rejected(400, f"{len(items)} reports in one request; the limit is {MAX_BATCH}")
    return items


def body_hash(payload: Any) -> str:
    """A hash of the request's JSON, independent of key order and spacing."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class PartnerApi:
    """The partner API channel: bearer-token authenticated JSON batches."""

    name: ClassVar[ChannelName] = "partner_api"
    guard: ClassVar[str] = "a partner token (ews tokens create) is required at"

    def __init__(self, *, incident_types: Collection[str], places: PlaceTree | None = None) -> None:
        self._incident_types = frozenset(incident_types)
        self._places = places

    @property
    def authenticated(self) -> bool:
        """Always: every request needs a partner token."""
        return True

    def routes(self, inbox: Inbox) -> Sequence[web.RouteDef]:
        """`POST /api/v1/reports`; the inbox must also be a PartnerDesk (tokens and idempotency)."""
        if not isinstance(inbox, PartnerDesk):
            raise TypeError("the partner API needs an inbox that is also a PartnerDesk")
        desk: PartnerDesk = inbox

        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                return await self._handle(request, inbox, desk)
            except Rejected as exc:
                return web.json_response({"error": exc.reason}, status=exc.status)

        return [web.post(PATH, handle)]

    async def _handle(self, request: web.Request, inbox: Inbox, desk: PartnerDesk) -> web.StreamResponse:
        partner = await self._authenticate(request, desk)
        key = request.headers.get("Idempotency-Key")
        if key is not None and (not key.strip() or len(key) > MAX_KEY_CHARS or not key.isprintable()
                                or not key.isascii()):
            raise Rejected(400, f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable ASCII characters")
        payload = await read_json(request)
        items = parse_batch(payload)
        digest = body_hash(payload)
        if key is not None:
            kept = await desk.first_answer(partner, key)
            if kept is not None:
                return _replay(kept, digest)
        received_at = utcnow()
        parsed = [parse_item(item, i, partner=partner, key=key, received_at=received_at,
                             incident_types=self._incident_types, places=self._places)
                  for i, item in enumerate(items)]
        reports = [p for p in parsed if isinstance(p, ReportIn)]
        try:
            # Submitted together, so the group-commit writer stores the batch in a few transactions.
            committed = iter(await asyncio.gather(*(inbox.submit(r) for r in reports)))
        except StorageUnavailable:
            return web.json_response({"error": "reports could not be stored; try again with the same "
                                      "Idempotency-Key"}, status=503)
        results = [_result(i, p, next(committed) if isinstance(p, ReportIn) else None) for i, p in enumerate(parsed)]
        accepted = sum(1 for r in results if r["status"] == "accepted")
        answer = {"partner": partner, "accepted": accepted, "rejected": len(results) - accepted, "results": results}
        log.info("partner batch partner=%s items=%d accepted=%d", partner, len(results), accepted)
        if key is not None:
            kept_hash, status, kept_answer = await desk.keep_answer(partner, key, digest, 202, answer)
            return _replay((kept_hash, status, kept_answer), digest, replayed=False)
        return web.json_response(answer, status=202)

    async def _authenticate(self, request: web.Request, desk: PartnerDesk) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 256 or not token.isascii():
            raise Rejected(401, "missing bearer token: send 'Authorization: Bearer <partner token>'")
        partner = await desk.partner_for(token)
        if partner is None:
            raise Rejected(401, "unknown or revoked partner token")
        return partner


def _replay(kept: tuple[str, int, dict[str, Any]], digest: str, *, replayed: bool = True) -> web.Response:
    kept_hash, status, answer = kept
    if kept_hash != digest:
        raise Rejected(409, "this Idempotency-Key was already used with a different body; use a new key")
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return web.json_response(answer, status=status, headers=headers)


def _result(index: int, parsed: ReportIn | list[FieldError], committed: IntakeResult | None) -> dict[str, Any]:
    if isinstance(parsed, ReportIn):
        assert committed is not None
        return {"index": index, "status": "accepted", "id": parsed.external_id, "reference": committed.reference,
                "county_code": committed.county_code, "created": committed.created}
    return {"index": index, "status": "rejected", "errors": [e.as_dict() for e in parsed]}


async def read_json(request: web.Request, *, max_bytes: int = MAX_REQUEST_BYTES) -> Any:
    """The request's JSON; 413 when too large, 415 when not JSON, 400 when not valid UTF-8 JSON."""
    if request.content_type != "application/json":
        raise Rejected(415, f"expected application/json, got {request.content_type or 'no content type'}")
    if request.content_length is not None and request.content_length > max_bytes:
        raise Rejected(413, f"request body over {max_bytes} bytes")
    raw = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        raw.extend(chunk)
        if len(raw) > max_bytes:
            raise Rejected(413, f"request body over {max_bytes} bytes")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "request body is not valid UTF-8") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Rejected(400, f"request body is not valid JSON: {str(exc)[:120]}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")

