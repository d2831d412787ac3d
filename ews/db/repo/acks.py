"""Acknowledging and resolving alerts (by SMS reply or the API): the rows only. Who may act, and what is said
to whom, is decided in ews/alerting/acknowledgements.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ews.core.models import Language


@dataclass(frozen=True, slots=True)
class ResponderRow:
    """An active responder, as acknowledging needs them: who, which county they receive, their language."""

    id: int
    name: str
    role: str
    county_code: int | None  # None: national, receives every county
    county_name: str | None
    language: Language


_RESPONDER = """
SELECT r.id, r.name, r.role, r.county_code, c.name AS county_name, r.language
FROM responders r LEFT JOIN counties c ON c.code = r.county_code
WHERE r.phone_hash = $1 AND r.active
"""


async def responder_by_hash(conn: asyncpg.Connection, phone_hash: str) -> ResponderRow | None:
    """The active responder whose number has this keyed hash, or None."""
    row = await conn.fetchrow(_RESPONDER, phone_hash)
    return ResponderRow(**dict(row)) if row else None


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert's county and where people's word left it."""

    id: int
    county_code: int
    county_name: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None


# FOR UPDATE: two replies for one alert at once are applied one after the other, so exactly one is first.
_ALERT = """
SELECT a.id, a.county_code, c.name AS county_name, a.acknowledged_at, a.resolved_at
FROM alerts a JOIN counties c ON c.code = a.county_code
WHERE a.id = $1
FOR UPDATE OF a
"""


async def lock_alert(conn: asyncpg.Connection, alert_id: int) -> AlertRow | None:
    """The alert, locked for this transaction; None when there is none."""
    row = await conn.fetchrow(_ALERT, alert_id)
    return AlertRow(**dict(row)) if row else None


# A routing tree may send a county's alert to a responder of another county (a mediation partner): whoever
# was sent the alert may answer it.
_RECEIVED = """
SELECT EXISTS (
    SELECT 1 FROM deliveries d
    JOIN outbox o ON o.id = d.outbox_id
    JOIN responder_contacts rc ON rc.id = d.responder_contact_id
    WHERE o.alert_ids @> ARRAY[$1::bigint] AND d.kind = 'alert' AND rc.responder_id = $2)
"""


async def was_sent_alert(conn: asyncpg.Connection, alert_id: int, responder_id: int) -> bool:
    """Whether the alert was addressed to one of this responder's contacts."""
    sent: bool = await conn.fetchval(_RECEIVED, alert_id, responder_id)
    return sent


# The first acknowledgement wins; a later one is audited, not written over the first.
_ACKNOWLEDGE = """
UPDATE alerts SET acknowledged_at = $2, acknowledged_by = $3, acknowledged_by_name = $4
WHERE id = $1 AND acknowledged_at IS NULL
RETURNING id
"""
# Resolving acknowledges too, when nobody had: what stops escalation reads acknowledged_at.
_RESOLVE = """
UPDATE alerts SET resolved_at = $2, resolved_by = $3, resolved_by_name = $4,
    acknowledged_at = coalesce(acknowledged_at, $2),
    acknowledged_by = CASE WHEN acknowledged_at IS NULL THEN $3 ELSE acknowledged_by END,
    acknowledged_by_name = CASE WHEN acknowledged_at IS NULL THEN $4 ELSE acknowledged_by_name END
WHERE id = $1 AND resolved_at IS NULL
RETURNING id
"""


async def mark_acknowledged(conn: asyncpg.Connection, alert_id: int, *, now: datetime, responder_id: int | None,
                            name: str | None) -> bool:
    """Record the first acknowledgement (by a responder, or by a named API caller); False if one was already."""
    return await conn.fetchval(_ACKNOWLEDGE, alert_id, now, responder_id, name) is not None


async def mark_resolved(conn: asyncpg.Connection, alert_id: int, *, now: datetime, responder_id: int | None,
                        name: str | None) -> bool:
    """Record that a person says the alert is handled; False if it was resolved already."""
    return await conn.fetchval(_RESOLVE, alert_id, now, responder_id, name) is not None


@dataclass(frozen=True, slots=True)
class NoticeContact:
    """A contact the alert was sent to, to be told that somebody acted on it."""

    contact_id: int
    responder_id: int
    language: Language


# The people who were sent the alert (any of its messages), on each active contact it reached them on.
_AUDIENCE = """
SELECT DISTINCT rc.id AS contact_id, r.id AS responder_id, r.language
FROM deliveries d
JOIN outbox o ON o.id = d.outbox_id
JOIN responder_contacts rc ON rc.id = d.responder_contact_id
JOIN responders r ON r.id = rc.responder_id
WHERE o.alert_ids @> ARRAY[$1::bigint] AND d.kind = 'alert' AND rc.active AND r.active
  AND r.id IS DISTINCT FROM $2
ORDER BY rc.id
"""


async def alert_audience(conn: asyncpg.Connection, alert_id: int, *,
                         except_responder: int | None) -> list[NoticeContact]:
    """The active contacts the alert was sent to, leaving out one responder's (the one who acted)."""
    return [NoticeContact(r["contact_id"], r["responder_id"], r["language"])
            for r in await conn.fetch(_AUDIENCE, alert_id, except_responder)]


_SMS_CONTACT = "SELECT id FROM responder_contacts WHERE responder_id = $1 AND channel = 'sms' AND active"


async def sms_contact(conn: asyncpg.Connection, responder_id: int) -> int | None:
    """The responder's active SMS contact, or None."""
    contact_id: int | None = await conn.fetchval(_SMS_CONTACT, responder_id)
    return contact_id


_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"


async def audit(conn: asyncpg.Connection, *, now: datetime, actor: str, action: str, subject: str,
                detail: Mapping[str, object]) -> None:
    """Write one audit row (never an address: callers pass ids and keyed hashes)."""
    await conn.execute(_AUDIT, now, actor, action, subject, json.dumps(dict(detail)))
