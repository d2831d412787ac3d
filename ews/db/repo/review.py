"""Review rows: lock a report's reviewable state, write it back, record each change and audit it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ews.core.models import FieldChange as Change
from ews.core.models import ReviewState
from ews.db.repo.reports import Connection

_LOCK_REPORT = """
SELECT id, body, casualties, sensitive, county_code, constituency_code, ward_code, received_at, classified_at,
       review_status, incident_type, type_source, type_confidence, needs_review, severity, duplicate_of_report,
       duplicate_of_incident, incident_id
FROM reports WHERE id = $1 FOR UPDATE
"""


@dataclass(frozen=True, slots=True)
class Locked:
    """A report locked for review: its state and what regrouping it needs."""

    state: ReviewState
    body: str
    casualties: int | None
    county_code: int | None
    constituency_code: int | None
    ward_code: str | None
    received_at: datetime
    classified: bool


async def lock_report(conn: Connection, report_id: int) -> Locked | None:
    """The report, locked until the transaction ends; None if there is none."""
    r = await conn.fetchrow(_LOCK_REPORT, report_id)
    if r is None:
        return None
    state = ReviewState(r["review_status"], r["incident_type"], r["type_source"], r["type_confidence"],
                        r["needs_review"], r["sensitive"], r["severity"], r["duplicate_of_report"],
                        r["duplicate_of_incident"], r["incident_id"])
    return Locked(state, r["body"], r["casualties"], r["county_code"], r["constituency_code"], r["ward_code"],
                  r["received_at"], r["classified_at"] is not None)


async def report_exists(conn: Connection, report_id: int) -> bool:
    """Whether a report with this id exists."""
    return bool(await conn.fetchval("SELECT true FROM reports WHERE id = $1", report_id))


async def incident_exists(conn: Connection, incident_id: int) -> bool:
    """Whether an incident with this id exists."""
    return bool(await conn.fetchval("SELECT true FROM incidents WHERE id = $1", incident_id))


_UPDATE = """
UPDATE reports SET review_status = $2, incident_type = $3, type_source = $4, type_confidence = $5,
       needs_review = $6, sensitive = $7, severity = $8, duplicate_of_report = $9, duplicate_of_incident = $10,
       incident_id = $11, reviewed_by = $12, reviewed_at = $13
WHERE id = $1
"""

_CORRECTION = """
INSERT INTO report_corrections (report_id, field, old_value, new_value, actor, at)
SELECT $1, f, o, n, $5, $6 FROM unnest($2::text[], $3::text[], $4::text[]) AS c(f, o, n)
"""

_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, 'report.review', $3, $4::jsonb)"


async def save_review(conn: Connection, report_id: int, state: ReviewState, changes: Sequence[Change], *,
                      actor: str, via: str, now: datetime) -> None:
    """Write the reviewed state, one correction row per changed field, and one audit entry."""
    await conn.execute(_UPDATE, report_id, state.review_status, state.incident_type, state.type_source,
                       state.type_confidence, state.needs_review, state.sensitive, state.severity,
                       state.duplicate_of_report, state.duplicate_of_incident, state.incident_id, actor, now)
    if changes:
        await conn.execute(_CORRECTION, report_id, [c[0] for c in changes], [c[1] for c in changes],
                           [c[2] for c in changes], actor, now)
    await conn.execute(_AUDIT, now, actor, f"report:{report_id}", json.dumps(
        {"via": via, "changes": {field: {"from": old, "to": new} for field, old, new in changes}}))


_RECOUNT_ONE = """
UPDATE incidents i SET reports = (SELECT count(*) FROM reports WHERE incident_id = i.id),
       senders = (SELECT count(DISTINCT sender_hash) FROM reports WHERE incident_id = i.id),
       sensitive = coalesce((SELECT bool_or(sensitive) FROM reports WHERE incident_id = i.id), false)
WHERE i.id = $1
"""


async def unlink_report(conn: Connection, report_id: int) -> None:
    """Take a report out of its incident (the incident is recounted by the caller)."""
    await conn.execute("UPDATE reports SET incident_id = NULL WHERE id = $1", report_id)


async def recount_incident(conn: Connection, incident_id: int) -> None:
    """Count an incident's reports and senders again (after a report left it)."""
    await conn.execute(_RECOUNT_ONE, incident_id)
