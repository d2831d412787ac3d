"""Reports as the API and `ews export` show them (never the sender), one at a time or streamed by filter."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ews.core.models import report_reference

# What a report shows: everything but the sender's hash and the gateway's message id (which a gateway's
# console could tie back to a phone number).
COLUMNS = """
r.id, r.source, r.channel, r.body, r.county_code, c.name AS county_name, r.constituency_code, r.ward_code,
r.incident_type, r.casualties, r.severity, r.sensitive, r.language, r.occurred_at, r.received_at,
r.latitude, r.longitude, r.partner, r.place_confidence, r.place_span, r.place_source,
r.type_confidence, r.needs_review, r.review_status, r.incident_id, r.model_version, r.media_count,
r.media_types, r.forwarded, r.flooding, r.repeat_of, r.trust, r.monitor_id IS NOT NULL AS from_monitor,
r.duplicate_of_report
"""

_ONE = f"SELECT {COLUMNS} FROM reports r LEFT JOIN counties c ON c.code = r.county_code WHERE r.id = $1"  # noqa: S608 - constants

# Sensitive: flagged, or typed as sexual or gender-based violence. Ordered by id, so a stream is stable
# while new reports arrive (they come after the last one read).
_MANY = f"""
SELECT {COLUMNS} FROM reports r LEFT JOIN counties c ON c.code = r.county_code
WHERE ($1::timestamptz IS NULL OR coalesce(r.occurred_at, r.received_at) >= $1)
  AND ($2::timestamptz IS NULL OR coalesce(r.occurred_at, r.received_at) < $2)
  AND ($3::smallint IS NULL OR r.county_code = $3)
  AND ($4::bool OR NOT (r.sensitive OR r.incident_type IS NOT DISTINCT FROM 'sgbv'))
ORDER BY r.id
"""  # noqa: S608 - built from constants only

_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"


def report_object(row: asyncpg.Record) -> dict[str, Any]:
    """The JSON object of one report (GET /api/v1/reports/{id}, and one line of the `ews` format)."""
    # A report typed as sexual or gender-based violence is sensitive whether or not the flag was set yet
    # (the classifier sets it for text; a form or a partner gives the type).
    sensitive = bool(row["sensitive"]) or row["incident_type"] == "sgbv"
    confidence = row["type_confidence"]
    return {"id": row["id"], "reference": report_reference(row["id"]), "source": row["source"],
            "channel": row["channel"], "body": row["body"], "county_code": row["county_code"],
            "county_name": row["county_name"], "constituency_code": row["constituency_code"],
            "ward_code": row["ward_code"], "incident_type": row["incident_type"], "casualties": row["casualties"],
            "severity": row["severity"], "sensitive": sensitive, "language": row["language"],
            "occurred_at": _iso(row["occurred_at"]), "received_at": _iso(row["received_at"]),
            "latitude": row["latitude"], "longitude": row["longitude"], "partner": row["partner"],
            "place_confidence": row["place_confidence"], "place_span": row["place_span"],
            "place_source": row["place_source"],
            # What the classifier made of it (issue 11), and where an analyst's review left it.
            "type_confidence": round(float(confidence), 3) if confidence is not None else None,
            "needs_review": row["needs_review"], "review_status": row["review_status"],
            "incident_id": row["incident_id"], "model_version": row["model_version"],
            # What else the message carried: counted and typed only (the media stay at the gateway).
            "media": {"count": row["media_count"], "content_types": json.loads(row["media_types"])},
            "forwarded": row["forwarded"],
            # Stored but not counted by the rules (a flooding sender's, a repeat, a duplicate), and a monitor's
            # trust mark: a backtest over an export leaves out and weighs reports exactly as the engine does.
            "flooding": row["flooding"], "repeat_of": _reference(row["repeat_of"]), "trust": row["trust"],
            "from_monitor": row["from_monitor"], "duplicate_of_report": _reference(row["duplicate_of_report"])}


async def report_by_id(pool: asyncpg.Pool, report_id: int, *, cleared: bool = False) -> dict[str, Any] | None:
    """One report's object, or None when there is none with this id, or when it is sensitive and the caller
    is not `cleared` for sensitive reports (the same answer: not even its existence is told)."""
    row = await pool.fetchrow(_ONE, report_id)
    if row is None:
        return None
    found = report_object(row)
    return found if cleared or not found["sensitive"] else None


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which reports an export holds: when they happened (from inclusive, to exclusive), county, sensitive."""

    start: datetime | None = None
    end: datetime | None = None
    county_code: int | None = None
    include_sensitive: bool = False


async def stream_reports(conn: asyncpg.Connection, which: ExportFilter, *, actor: str,
                         now: datetime) -> AsyncIterator[dict[str, Any]]:
    """Every matching report, read through a server-side cursor (never all in memory); the export is audited,
    sensitive reports only when asked for."""
    detail = {"from": _iso(which.start), "to": _iso(which.end), "county": which.county_code,
              "include_sensitive": which.include_sensitive}
    async with conn.transaction():
        await conn.execute(_AUDIT, now, actor, "reports.exported", "reports", json.dumps(detail))
        async for row in conn.cursor(_MANY, which.start, which.end, which.county_code, which.include_sensitive,
                                     prefetch=1000):
            yield report_object(row)


def _reference(report_id: int | None) -> str | None:
    return report_reference(report_id) if report_id is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
