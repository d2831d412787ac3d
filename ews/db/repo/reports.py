"""Reports: the group-commit insert, idempotent by (source, external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import asyncpg

from ews.core.models import IntakeResult, StoredReport, report_reference

# Only new rows come back, and only their keys: the rest of each result is already known here.
# Repeats are looked up separately (they are rare, and folding the lookup into this statement gave
# PostgreSQL a cached plan that scanned the whole table on every batch).
_INSERT_BATCH = """
INSERT INTO reports (source, external_id, channel, body, sender_hash, county_code, language, received_at,
                     constituency_code, ward_code, incident_type, casualties, occurred_at, trust,
                     place_confidence, place_span, place_source, latitude, longitude, partner,
                     sensitive, severity, type_source)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::text[],
                     $8::timestamptz[], $9::smallint[], $10::text[], $11::text[], $12::integer[],
                     $13::timestamptz[], $14::real[], $15::real[], $16::text[], $17::text[], $18::float8[],
                     $19::float8[], $20::text[], $21::bool[], $22::text[], $23::text[])
ON CONFLICT ON CONSTRAINT reports_one_per_source_external_id DO NOTHING
RETURNING id, source, external_id
"""

# One index probe per key (a LATERAL lookup), whatever plan is cached.
_FIND_EXISTING = """
SELECT r.id, r.source, r.external_id, r.county_code, r.language
FROM unnest($1::text[], $2::text[]) AS k(source, external_id)
CROSS JOIN LATERAL (
    SELECT id, source, external_id, county_code, language FROM reports
    WHERE source = k.source AND external_id = k.external_id
) r
"""

_COLUMNS = ("source", "external_id", "channel", "body", "sender_hash", "county_code", "language", "received_at",
            "constituency_code", "ward_code", "incident_type", "casualties", "occurred_at", "trust",
            "place_confidence", "place_span", "place_source", "latitude", "longitude", "partner",
            "sensitive", "severity")

Key = tuple[str, str]
Connection: TypeAlias = "asyncpg.Connection | asyncpg.pool.PoolConnectionProxy"


async def insert_reports(conn: Connection, reports: Sequence[StoredReport]) -> dict[Key, IntakeResult]:
    """Insert reports (one per key), skipping ones already stored; the result for every key."""
    columns = [[getattr(r, name) for r in reports] for name in _COLUMNS]
    # A type the channel gave (a form's menu) is the reporter's own answer, not the model's.
    columns.append(["channel" if r.incident_type else None for r in reports])
    rows = await conn.fetch(_INSERT_BATCH, *columns)
    by_key = {(r.source, r.external_id): r for r in reports}
    found: dict[Key, IntakeResult] = {}
    for report_id, source, external_id in rows:
        report = by_key[source, external_id]
        found[source, external_id] = IntakeResult(report_id, report_reference(report_id), report.county_code,
                                                   report.reply_language, created=True)
    if len(found) < len(by_key):
        # Already stored (a gateway retry), or committed by another instance a moment ago: read them.
        missing = [key for key in by_key if key not in found]
        again = await conn.fetch(_FIND_EXISTING, [k[0] for k in missing], [k[1] for k in missing])
        for row in again:
            # The stored language may be sheng or mixed; a retry carries the same text, so the same reply.
            language = row["language"] if row["language"] in ("en", "sw") else by_key[
                row["source"], row["external_id"]].reply_language
            found[row["source"], row["external_id"]] = IntakeResult(
                row["id"], report_reference(row["id"]), row["county_code"], language, created=False)
    return found


