"""Bulk import of history: COPY into a staging table, then one INSERT .. ON CONFLICT DO NOTHING per batch."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ews.core.models import ImportReady

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS import_stage (
    source text, external_id text, channel text, body text, sender_hash text, county_code smallint,
    language text, received_at timestamptz, constituency_code smallint, ward_code text, incident_type text,
    casualties integer, occurred_at timestamptz, latitude float8, longitude float8, severity text,
    sensitive boolean
) ON COMMIT DELETE ROWS
"""
_STAGE_COLUMNS = ("source", "external_id", "channel", "body", "sender_hash", "county_code", "language",
                  "received_at", "constituency_code", "ward_code", "incident_type", "casualties", "occurred_at",
                  "latitude", "longitude", "severity", "sensitive")
_MOVE = """
INSERT INTO reports (source, external_id, channel, body, sender_hash, county_code, language, received_at,
                     constituency_code, ward_code, incident_type, casualties, occurred_at, latitude, longitude,
                     severity, sensitive, type_source)
SELECT source, external_id, channel, body, sender_hash, county_code, language, received_at, constituency_code,
       ward_code, incident_type, casualties, occurred_at, latitude, longitude, severity, sensitive,
       -- a type the file gives is its own answer: the classifier keeps it (issue 11)
       CASE WHEN incident_type IS NOT NULL THEN 'channel' END
FROM import_stage
ON CONFLICT ON CONSTRAINT reports_one_per_source_external_id DO NOTHING
"""


async def prepare(conn: asyncpg.Connection) -> None:
    """Create this session's staging table (once per connection)."""
    await conn.execute(_STAGE)


async def store_batch(conn: asyncpg.Connection, rows: Sequence[ImportReady]) -> int:
    """Store one batch in one transaction; how many rows were new (the rest were already there)."""
    records = [(r.report.source, r.report.external_id, r.report.channel, r.report.body, r.report.sender_hash,
                r.report.county_code, r.report.language, r.report.received_at, r.report.constituency_code,
                r.report.ward_code, r.report.incident_type, r.report.casualties, r.report.occurred_at,
                r.report.latitude, r.report.longitude, r.severity, r.sensitive) for r in rows]
    async with conn.transaction():
        await conn.copy_records_to_table("import_stage", records=records, columns=_STAGE_COLUMNS)
        status = await conn.execute(_MOVE)
    return int(status.rsplit(" ", 1)[1])
