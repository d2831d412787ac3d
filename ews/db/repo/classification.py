"""The classification stage's rows: claim unclassified reports, store decisions, group into incidents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ews.core.models import IncidentSpan as Span
from ews.db.repo.reports import Connection

# SKIP LOCKED: several processes may run the stage; each report is classified by one of them. Only once
# the placing stage has read the text: grouping needs the place, and the decision the keyword sensitivity.
_CLAIM = """
SELECT id, body, incident_type, type_source, casualties, sensitive, county_code, constituency_code, ward_code,
       received_at, sender_hash, incident_id
FROM reports WHERE classified_at IS NULL AND understood
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
    sender_hash: str | None = None
    incident_id: int | None = None  # already set only by an analyst's review


async def claim_unclassified(conn: Connection, limit: int) -> list[Pending]:
    """Lock up to `limit` unclassified reports, oldest first, for this transaction."""
    return [Pending(**dict(r)) for r in await conn.fetch(_CLAIM, limit)]


# The incident is set in the same statement: every UPDATE of a report writes a new row version and, as an
# indexed column changes, an entry in each of its indexes, so one statement per report, not two.
_STORE = """
UPDATE reports r SET incident_type = d.incident_type, type_confidence = d.confidence,
       needs_review = d.needs_review, sensitive = d.sensitive, severity = d.severity,
       model_version = $8, classified_at = $9,
       type_source = coalesce(r.type_source, 'model'),
       incident_id = coalesce(r.incident_id, d.incident_id)
FROM unnest($1::bigint[], $2::text[], $3::real[], $4::bool[], $5::bool[], $6::text[], $7::bigint[])
     AS d(id, incident_type, confidence, needs_review, sensitive, severity, incident_id)
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
                                now: datetime, incidents: Mapping[int, int] | None = None) -> None:
    """Write every decision of a batch, and the incident each report joins (report id -> incident id; a
    report an analyst already linked keeps its incident), in one statement."""
    joins = incidents or {}
    await conn.execute(
        _STORE, [r.id for r in rows], [r.incident_type for r in rows], [r.confidence for r in rows],
        [r.needs_review for r in rows], [r.sensitive for r in rows], [r.severity for r in rows],
        [joins.get(r.id) for r in rows], model_version, now)


# Two stages grouping the same place at once would each create an incident: the locks (taken in key
# order, so two batches cannot deadlock) make the second wait and then see the first's.
_LOCK_PLACES = "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k ORDER BY k"

_FIND_INCIDENTS = """
SELECT i.id, i.type_group, i.place_level, i.place_code, i.first_at, i.last_at
FROM unnest($1::text[], $2::text[], $3::text[]) AS k(type_group, place_level, place_code)
JOIN incidents i ON i.type_group = k.type_group AND i.place_level = k.place_level AND i.place_code = k.place_code
WHERE i.last_at >= $4::timestamptz - $6::interval AND i.first_at <= $5::timestamptz + $6::interval
"""

_NEW_INCIDENTS = """
INSERT INTO incidents (type_group, place_level, place_code, county_code, first_at, last_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[], $5::timestamptz[])
RETURNING id
"""

_LINK = "UPDATE reports r SET incident_id = l.incident FROM unnest($1::bigint[], $2::bigint[]) AS l(id, incident) " \
        "WHERE r.id = l.id"

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


# Counted on from what each incident held: recounting from the links would read every report of a growing
# incident on each batch (a flood at one place made that quadratic). A sender corroborates once: the new
# reports' senders are looked up among the incident's earlier reports (on the incident/sender index).
_ADD_TO_INCIDENTS = """
UPDATE incidents i SET reports = i.reports + c.reports, senders = i.senders + c.senders,
       first_at = least(i.first_at, c.first_at), last_at = greatest(i.last_at, c.last_at),
       sensitive = i.sensitive OR c.sensitive
FROM (SELECT a.incident, count(*) AS reports,
             count(DISTINCT a.sender_hash) FILTER (WHERE NOT EXISTS (
                 SELECT 1 FROM reports o
                 WHERE o.incident_id = a.incident AND o.sender_hash = a.sender_hash AND o.id <> ALL($1::bigint[])
             )) AS senders,
             min(a.at) AS first_at, max(a.at) AS last_at, bool_or(a.sensitive) AS sensitive
      FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::bool[])
           AS a(id, incident, sender_hash, at, sensitive)
      GROUP BY a.incident) c
WHERE i.id = c.incident
"""


@dataclass(frozen=True, slots=True)
class Joined:
    """A report newly linked to an incident, as the incident's counts need it."""

    report_id: int
    incident_id: int
    sender_hash: str | None
    received_at: datetime
    sensitive: bool


async def add_to_incidents(conn: Connection, joined: Sequence[Joined]) -> None:
    """Add newly linked reports to their incidents' counts and spans (after the links are stored)."""
    if joined:
        await conn.execute(_ADD_TO_INCIDENTS, [j.report_id for j in joined], [j.incident_id for j in joined],
                           [j.sender_hash for j in joined], [j.received_at for j in joined],
                           [j.sensitive for j in joined])


async def lock_places(conn: Connection, keys: Sequence[tuple[str, str, str]]) -> None:
    """Hold the grouping lock of each (group, level, code) key until the transaction ends."""
    await conn.execute(_LOCK_PLACES, ["/".join(k) for k in sorted(keys)])


async def incidents_near(conn: Connection, keys: Sequence[tuple[str, str, str]], first: datetime, last: datetime,
                         window: timedelta) -> list[Span]:
    """The incidents of these keys whose span comes within `window` of [first, last]."""
    rows = await conn.fetch(_FIND_INCIDENTS, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                            first, last, window)
    return [Span((r["type_group"], r["place_level"], r["place_code"]), r["first_at"], r["last_at"], r["id"])
            for r in rows]


async def create_incidents(conn: Connection, spans: Sequence[Span], county: Mapping[tuple[str, str, str], int | None]
                           ) -> None:
    """Insert new incidents for these spans and give each its id."""
    ids = await conn.fetch(_NEW_INCIDENTS, [s.key[0] for s in spans], [s.key[1] for s in spans],
                           [s.key[2] for s in spans], [county.get(s.key) for s in spans], [s.first_at for s in spans])
    for span, row in zip(spans, ids, strict=True):
        span.id = row["id"]


async def link_reports(conn: Connection, links: Sequence[tuple[int, int]]) -> None:
    """Set each report's incident: (report id, incident id) pairs."""
    await conn.execute(_LINK, [r for r, _ in links], [i for _, i in links])


async def recount_incidents(conn: Connection, incident_ids: Sequence[int]) -> None:
    """Count the incidents' reports, distinct senders and span again from their links."""
    await conn.execute(_RECOUNT, list(incident_ids))


async def unclassified_count(pool: asyncpg.Pool) -> int:
    """How many committed reports wait for classification."""
    return int(await pool.fetchval("SELECT count(*) FROM reports WHERE classified_at IS NULL"))
