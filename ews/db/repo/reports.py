"""Reports: the group-commit insert, idempotent by (source, external_id)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from ews.core.models import IntakeResult, StoredReport, report_reference

# Only new rows come back, and only their keys: the rest of each result is already known here.
# Repeats are looked up separately (they are rare, and folding the lookup into this statement gave
# PostgreSQL a cached plan that scanned the whole table on every batch).
_INSERT_BATCH = """
INSERT INTO reports (source, external_id, channel, body, sender_hash, county_code, language, received_at,
                     constituency_code, ward_code, incident_type, casualties, occurred_at, trust,
                     place_confidence, place_span, place_source, latitude, longitude, partner,
                     flooding, repeat_of, monitor_id, sensitive, severity, media_count, media_types, forwarded,
                     type_source, id, understood)
-- understood = false: the placing stage reads the text after the commit (migration 0021)
SELECT *, false FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::text[],
                     $8::timestamptz[], $9::smallint[], $10::text[], $11::text[], $12::integer[],
                     $13::timestamptz[], $14::real[], $15::real[], $16::text[], $17::text[], $18::float8[],
                     $19::float8[], $20::text[], $21::boolean[], $22::bigint[], $23::bigint[], $24::bool[],
                     $25::text[], $26::smallint[], $27::jsonb[], $28::text[], $29::text[], $30::bigint[])
ON CONFLICT ON CONSTRAINT reports_one_per_source_external_id DO NOTHING
RETURNING id, source, external_id
"""

# One index probe per key (a LATERAL lookup), whatever plan is cached.
_FIND_EXISTING = """
SELECT r.id, r.source, r.external_id, r.county_code, r.language, r.flooding
FROM unnest($1::text[], $2::text[]) AS k(source, external_id)
CROSS JOIN LATERAL (
    SELECT id, source, external_id, county_code, language, flooding FROM reports
    WHERE source = k.source AND external_id = k.external_id
) r
"""

_COLUMNS = ("source", "external_id", "channel", "body", "sender_hash", "county_code", "language", "received_at",
            "constituency_code", "ward_code", "incident_type", "casualties", "occurred_at", "trust",
            "place_confidence", "place_span", "place_source", "latitude", "longitude", "partner",
            "flooding", "repeat_of", "monitor_id", "sensitive", "severity", "media_count", "media_types",
            "forwarded")

# Receipts that cannot ride in the gateway's answer (AT) are outbox rows, written by the same statement as
# their reports, so a receipt exists exactly when its report was committed; only reports actually inserted
# (not a gateway's retry) get one. One contact per sender: the batch holds at most one row per sender.
_N = len(_COLUMNS) + 2  # the type's source and the ids follow the columns
_WITH_RECEIPTS = f"""
WITH inserted AS ({_INSERT_BATCH}),
receipts AS (
    SELECT * FROM unnest(${_N + 1}::text[], ${_N + 2}::text[], ${_N + 3}::text[], ${_N + 4}::bytea[],
                         ${_N + 5}::text[], ${_N + 6}::text[], ${_N + 7}::text[], ${_N + 8}::text[],
                         ${_N + 9}::timestamptz[], ${_N + 10}::timestamptz[])
        AS r(source, external_id, sender_hash, address_enc, language, body, link_id, notifier, at, expires_at)
),
contacts AS (
    INSERT INTO reporter_contacts (sender_hash, channel, address_enc, language, created_at, updated_at,
                                   expires_at, notifier)
    SELECT DISTINCT ON (r.sender_hash) r.sender_hash, 'sms', r.address_enc, r.language, r.at, r.at,
           r.expires_at, r.notifier
    FROM receipts r JOIN inserted i ON i.source = r.source AND i.external_id = r.external_id
    ORDER BY r.sender_hash, r.at DESC
    ON CONFLICT ON CONSTRAINT reporter_contacts_one_per_sender_channel DO UPDATE SET
        address_enc = EXCLUDED.address_enc, language = EXCLUDED.language, updated_at = EXCLUDED.updated_at,
        expires_at = EXCLUDED.expires_at, notifier = EXCLUDED.notifier
    RETURNING id, sender_hash
),
queued AS (
    INSERT INTO outbox (kind, reporter_contact_id, report_id, body, language, created_at, link_id)
    SELECT 'receipt', c.id, i.id, r.body, r.language, r.at, r.link_id
    FROM receipts r
    JOIN inserted i ON i.source = r.source AND i.external_id = r.external_id
    JOIN contacts c ON c.sender_hash = r.sender_hash
)
SELECT id, source, external_id FROM inserted
"""  # noqa: S608 - built from this module's constants only


@dataclass(frozen=True, slots=True)
class QueuedReceipt:
    """A receipt to queue with its report: the reporter's address (encrypted), text, and how to answer."""

    source: str
    external_id: str
    sender_hash: str
    address_enc: bytes
    language: str
    body: str
    link_id: str | None
    notifier: str | None
    at: datetime
    expires_at: datetime

Key = tuple[str, str]
Connection: TypeAlias = "asyncpg.Connection | asyncpg.pool.PoolConnectionProxy"


def _value(report: StoredReport, name: str) -> Any:
    if name == "media_types":
        return json.dumps(list(report.media_types))  # a jsonb array (unnest flattens a text[][])
    return getattr(report, name)


async def insert_reports(conn: Connection, reports: Sequence[StoredReport], ids: Sequence[int],
                         receipts: Sequence[QueuedReceipt] = ()) -> dict[Key, IntakeResult]:
    """Insert reports (one per key) under the ids given (from `reserve_report_ids`), skipping ones already
    stored, with the receipts to queue for those inserted; the result for every key."""
    columns = [[_value(r, name) for r in reports] for name in _COLUMNS]
    # A type the channel gave (a form's menu) is the reporter's own answer, not the model's.
    columns.append(["channel" if r.incident_type else None for r in reports])
    if receipts:
        receipt_columns = [[getattr(r, name) for r in receipts] for name in QueuedReceipt.__slots__]
        rows = await conn.fetch(_WITH_RECEIPTS, *columns, list(ids), *receipt_columns)
    else:
        rows = await conn.fetch(_INSERT_BATCH, *columns, list(ids))
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
                row["id"], report_reference(row["id"]), row["county_code"], language, created=False,
                receipt=not row["flooding"])
    return found


