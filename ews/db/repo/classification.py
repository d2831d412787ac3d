"""The classification stage's rows: claim unclassified reports, store decisions, group into incidents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ews.db.repo.reports import Connection

# SKIP LOCKED: several processes may run the stage; each report is classified by one of them.
_CLAIM = """
SELECT id, body, incident_type, type_source, casualties, sensitive, county_code, constituency_code, ward_code,
       received_at
FROM reports WHERE classified_at IS NULL
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """A committed report waiting for its classification."""

    id: int
    body: str
    incident_type: str | None
    type_source: str | None
    casualties: int | None
    sensitive: bool
    county_code: int | None
    constituency_code: int | None
    ward_code: str | None
    received_at: datetime


async def claim_unclassified(conn: Connection, limit: int) -> list[Pending]:
    """Lock up to `limit` unclassified reports, oldest first, for this transaction."""
    return [Pending(**dict(r)) for r in await conn.fetch(_CLAIM, limit)]


_STORE = """
UPDATE reports r SET incident_type = d.incident_type, type_confidence = d.confidence,
       needs_review = d.needs_review, sensitive = d.sensitive, severity = d.severity,
       model_version = $7, classified_at = $8,
       type_source = coalesce(r.type_source, 'model')
FROM unnest($1::bigint[], $2::text[], $3::real[], $4::bool[], $5::bool[], $6::text[])
     AS d(id, incident_type, confidence, needs_review, sensitive, severity)
WHERE r.id = d.id
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """One report's classification, as stored."""

    id: int
    incident_type: str
    confidence: float | None
    needs_review: bool
    sensitive: bool
    severity: str


async def store_classifications(conn: Connection, rows: Sequence[Stored], *, model_version: str,
                                now: datetime) -> None:
    """Write every decision of a batch in one statement."""
    await conn.execute(
        _STORE, [r.id for r in rows], [r.incident_type for r in rows], [r.confidence for r in rows],
        [r.needs_review for r in rows], [r.sensitive for r in rows], [r.severity for r in rows], model_version, now)


# Two reports are of one incident when they share a type group and place and lie within the window of
# each other; the lock makes two stages that see the same place at once create one incident, not two.
_LOCK_PLACE = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"

_FIND_INCIDENT = """
SELECT id FROM incidents
WHERE type_group = $1 AND place_level = $2 AND place_code = $3
  AND last_at >= $4::timestamptz - $5::interval AND first_at <= $4::timestamptz + $5::interval
ORDER BY last_at DESC
LIMIT 1
"""

_NEW_INCIDENT = """
INSERT INTO incidents (type_group, place_level, place_code, county_code, first_at, last_at)
VALUES ($1, $2, $3, $4, $5, $5)
RETURNING id
"""

_LINK = "UPDATE reports SET incident_id = $2 WHERE id = $1"

# Counted from the links, not incremented: a report linked twice or moved cannot skew the numbers, and
# `senders` counts distinct keyed hashes, so one reporter's repeats add reports but never corroboration.
_RECOUNT = """
UPDATE incidents i SET reports = c.reports, senders = c.senders, first_at = c.first_at, last_at = c.last_at,
       sensitive = c.sensitive
FROM (SELECT incident_id, count(*) AS reports, count(DISTINCT sender_hash) AS senders,
             min(received_at) AS first_at, max(received_at) AS last_at, bool_or(sensitive) AS sensitive
      FROM reports WHERE incident_id = ANY($1::bigint[]) GROUP BY incident_id) c
WHERE i.id = c.incident_id
"""


@dataclass(frozen=True, slots=True)
class Placed:
    """A classified report to group: its type group and place key."""

    report_id: int
    type_group: str
    place_level: str
    place_code: str
    county_code: int | None
    received_at: datetime


async def group_into_incidents(conn: Connection, reports: Sequence[Placed], *, window: timedelta) -> list[int]:
    """Link each report to the incident of its group and place within `window` (a new one if none); the
    incidents touched, recounted."""
    touched: set[int] = set()
    for report in sorted(reports, key=lambda r: (r.type_group, r.place_level, r.place_code)):
        key = f"incident/{report.type_group}/{report.place_level}/{report.place_code}"
        await conn.execute(_LOCK_PLACE, key)
        incident = await conn.fetchval(_FIND_INCIDENT, report.type_group, report.place_level, report.place_code,
                                       report.received_at, window)
        if incident is None:
            incident = await conn.fetchval(_NEW_INCIDENT, report.type_group, report.place_level, report.place_code,
                                           report.county_code, report.received_at)
        await conn.execute(_LINK, report.report_id, incident)
        touched.add(incident)
    if touched:
        await conn.execute(_RECOUNT, sorted(touched))
    return sorted(touched)


async def unclassified_count(pool: asyncpg.Pool) -> int:
    """How many committed reports wait for classification."""
    return int(await pool.fetchval("SELECT count(*) FROM reports WHERE classified_at IS NULL"))
