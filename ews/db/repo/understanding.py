"""The placing stage's rows: claim reports whose text is not yet read, store place, sensitivity, severity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ews.core.models import Understood, Unplaced
from ews.db.repo.reports import Connection

# SKIP LOCKED: several processes may run the stage; each report is placed by one of them.
_CLAIM = """
SELECT id, body, county_code, constituency_code, ward_code, place_source, monitor_id, incident_type, casualties,
       sender_hash, received_at, language
FROM reports WHERE NOT understood
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A report claimed for placing: what the pure step reads, and what the follow-ups need."""

    report: Unplaced
    sender_hash: str | None
    received_at: datetime
    language: str


async def claim_not_understood(conn: Connection, limit: int) -> list[Claimed]:
    """Lock up to `limit` reports whose text is not yet read, oldest first, for this transaction."""
    rows = await conn.fetch(_CLAIM, limit)
    return [Claimed(Unplaced(r["id"], r["body"], r["county_code"], r["constituency_code"], r["ward_code"],
                             r["place_source"], r["monitor_id"], r["incident_type"], r["casualties"]),
                    r["sender_hash"], r["received_at"], r["language"]) for r in rows]


# One statement for the batch. An analyst who reviewed the report before its text was read decided its
# sensitivity; that stands (the stored flag was true until then, so a review left it true or set it).
_STORE = """
UPDATE reports r SET county_code = d.county_code, constituency_code = d.constituency_code,
       ward_code = d.ward_code, place_confidence = d.confidence, place_span = d.span, place_source = d.source,
       sensitive = CASE WHEN r.reviewed_at IS NULL THEN d.sensitive ELSE r.sensitive END,
       severity = coalesce(r.severity, d.severity), understood = true
FROM unnest($1::bigint[], $2::smallint[], $3::smallint[], $4::text[], $5::real[], $6::text[], $7::text[],
            $8::bool[], $9::text[])
     AS d(id, county_code, constituency_code, ward_code, confidence, span, source, sensitive, severity)
WHERE r.id = d.id AND NOT r.understood
"""


async def store_understood(conn: Connection, rows: Sequence[Understood]) -> None:
    """Write what the placing stage found for a batch, in one statement."""
    await conn.execute(
        _STORE, [r.id for r in rows], [r.county_code for r in rows], [r.constituency_code for r in rows],
        [r.ward_code for r in rows], [r.place_confidence for r in rows], [r.place_span for r in rows],
        [r.place_source for r in rows], [r.sensitive for r in rows], [r.severity for r in rows])


async def not_understood_count(conn: Connection) -> int:
    """How many committed reports wait for the placing stage."""
    return int(await conn.fetchval("SELECT count(*) FROM reports WHERE NOT understood"))
