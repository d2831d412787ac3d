"""Read models for the API: county levels, alerts, reports. None of them carries contact data."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import asyncpg

from ews.core.models import Level, alert_reference, report_reference
from ews.db.repo.notifications import is_sensitive

UNPLACED: Literal["none"] = "none"
CountyFilter = int | Literal["none"]
"""A county code 1-47, or "none" for the reports (and alerts) placed in no county."""

_COUNTIES = """
SELECT c.code, c.name, coalesce(s.level, 0) AS level, s.since,
       (SELECT count(*) FROM reports r WHERE r.county_code = c.code AND r.received_at >= $1) AS reports_recent
FROM counties c
LEFT JOIN LATERAL (
    SELECT level, updated_at AS since FROM alerts
    WHERE county_code = c.code AND closed_at IS NULL
    ORDER BY level DESC, updated_at ASC
    LIMIT 1
) s ON true
ORDER BY c.code
"""


async def county_levels(pool: asyncpg.Pool, *, since: datetime) -> list[dict[str, Any]]:
    """Each county's level (its highest open alert's, and since when) and its reports since `since`."""
    # Each count is a range of the (county_code, received_at) index, so its cost is the window's reports.
    return [{"code": r["code"], "name": r["name"], "level": Level(r["level"]).name, "since": _iso(r["since"]),
             "reports_24h": r["reports_recent"]} for r in await pool.fetch(_COUNTIES, since)]


_UNPLACED = """
SELECT count(*) AS total, count(*) FILTER (WHERE received_at >= $1) AS recent
FROM reports WHERE county_code IS NULL
"""


async def unplaced_reports(pool: asyncpg.Pool, *, since: datetime) -> dict[str, int]:
    """How many reports were placed in no county: ever, and since `since`."""
    row = await pool.fetchrow(_UNPLACED, since)
    return {"unplaced_reports": row["total"], "unplaced_reports_24h": row["recent"]}


_ALERT_COLUMNS = """
a.id, a.rule, a.grp, a.rules_version, a.county_code, c.name AS county_name, a.level, a.peak_level,
a.trigger_count, a.explanation -> 'why' AS why, a.opened_at, a.updated_at, a.closed_at, a.acknowledged_at,
a.resolved_at, (SELECT count(*) FROM deliveries d JOIN outbox o ON o.id = d.outbox_id
  WHERE o.alert_ids @> ARRAY[a.id] AND d.kind = 'alert' AND d.status = 'sent') AS messages_sent
"""
# Alerts on sexual and gender-based violence only for cleared callers ($5).
_ALERTS = f"""
SELECT {_ALERT_COLUMNS} FROM alerts a JOIN counties c ON c.code = a.county_code
WHERE ($1::text = 'all' OR ($1 = 'open') = (a.closed_at IS NULL))
  AND ($2::smallint IS NULL OR a.county_code = $2)
  AND (NOT $4::bool OR a.county_code IS NULL)
  AND ($5::bool OR a.grp <> 'sgbv')
ORDER BY a.id DESC
LIMIT $3
"""  # noqa: S608 - built from constants only
_ALERT = f"""
SELECT {_ALERT_COLUMNS} FROM alerts a JOIN counties c ON c.code = a.county_code
WHERE a.id = $1 AND ($2::bool OR a.grp <> 'sgbv')
"""  # noqa: S608 - built from constants only


async def alerts(pool: asyncpg.Pool, *, status: str, county: CountyFilter | None, limit: int,
                 cleared: bool = False) -> list[dict[str, Any]]:
    """Alerts, newest first, filtered by status (open, closed, all) and county (a code, or "none"); alerts on
    sexual and gender-based violence only for a `cleared` caller."""
    code, unplaced = _county_args(county)
    rows = await pool.fetch(_ALERTS, status, code, limit, unplaced, cleared)
    return [_alert(r) for r in rows]


def _alert(r: asyncpg.Record) -> dict[str, Any]:
    return {"id": r["id"], "reference": alert_reference(r["id"]), "rule": r["rule"], "group": r["grp"],
            "rules_version": r["rules_version"], "why": json.loads(r["why"]) if r["why"] else None,
            "county_code": r["county_code"],
             "county_name": r["county_name"], "level": Level(r["level"]).name,
             "peak_level": Level(r["peak_level"]).name, "trigger_count": r["trigger_count"],
             "opened_at": _iso(r["opened_at"]), "updated_at": _iso(r["updated_at"]),
             "closed_at": _iso(r["closed_at"]), "acknowledged_at": _iso(r["acknowledged_at"]),
             "resolved_at": _iso(r["resolved_at"]), "messages_sent": r["messages_sent"]}


_TRANSITIONS = """
SELECT from_level, to_level, trigger_count, at, rules_version, explanation FROM level_transitions
WHERE alert_id = $1 ORDER BY at, id
"""
_ESCALATION = """
SELECT policy ->> 'name' AS policy, jsonb_array_length(policy -> 'tiers') AS tiers, tier, loop, notified_at,
       next_at, stopped_at, stop_reason,
       policy -> 'tiers' -> tier -> 'receivers' AS receivers
FROM alert_escalations WHERE alert_id = $1
"""
_SENSITIVE_AMONG = """
SELECT id FROM reports WHERE id = ANY($1::bigint[]) AND (sensitive OR incident_type IS NOT DISTINCT FROM 'sgbv')
"""


async def alert_detail(pool: asyncpg.Pool, alert_id: int, *, cleared: bool) -> dict[str, Any] | None:
    """One alert with every level change it went through and why (GET /api/v1/alerts/{id}); None when there
    is none, or when it is on sexual and gender-based violence and the caller is not cleared. Sensitive
    contributing reports are left out of the lists an uncleared caller sees (their count stays)."""
    row = await pool.fetchrow(_ALERT, alert_id, cleared)
    if row is None:
        return None
    found = _alert(row)
    changes = [dict(r) for r in await pool.fetch(_TRANSITIONS, alert_id)]
    explanations = [json.loads(c["explanation"]) if c["explanation"] else None for c in changes]
    if not cleared:
        ids = [int(u["report"].removeprefix("EWS-")) for e in explanations if e for u in e.get("contributing", ())]
        hidden = {report_reference(r["id"]) for r in await pool.fetch(_SENSITIVE_AMONG, ids)}
        for e in explanations:
            if e:
                e["contributing"] = [u for u in e.get("contributing", ()) if u["report"] not in hidden]
    found["sensitive"] = await is_sensitive(pool, alert_id)
    escalation = await pool.fetchrow(_ESCALATION, alert_id)
    found["escalation"] = None if escalation is None else {
        "policy": escalation["policy"], "tier": escalation["tier"] + 1, "tiers": escalation["tiers"],
        "loop": escalation["loop"], "receivers": json.loads(escalation["receivers"] or "[]"),
        "told_at": _iso(escalation["notified_at"]),
        "next_at": None if escalation["stopped_at"] else _iso(escalation["next_at"]),
        "stopped_at": _iso(escalation["stopped_at"]), "stop_reason": escalation["stop_reason"]}
    found["changes"] = [{"from": Level(c["from_level"]).name, "to": Level(c["to_level"]).name,
                         "count": c["trigger_count"], "at": _iso(c["at"]), "rules_version": c["rules_version"],
                         "explanation": e} for c, e in zip(changes, explanations, strict=True)]
    return found


# Sensitive reports (flagged, or typed sgbv) are left out entirely for callers not cleared for them ($5),
# never just their text.
_REPORT_COLUMNS = """
r.id, r.source, r.body, r.county_code, c.name AS county_name, r.language, r.received_at,
r.constituency_code, r.ward_code, r.place_confidence, r.place_span, r.place_source,
r.incident_type, r.type_confidence, r.severity, r.needs_review, r.review_status, r.incident_id, r.sensitive,
r.model_version, r.flooding, r.repeat_of, r.trust, r.monitor_id IS NOT NULL AS from_monitor
"""

_REPORTS = f"""
SELECT {_REPORT_COLUMNS}
FROM reports r LEFT JOIN counties c ON c.code = r.county_code
WHERE ($1::smallint IS NULL OR r.county_code = $1)
  AND (NOT $4::bool OR r.county_code IS NULL)
  AND ($2::bigint IS NULL OR r.id < $2)
  AND ($5::bool OR NOT (r.sensitive OR r.incident_type IS NOT DISTINCT FROM 'sgbv'))
ORDER BY r.id DESC
LIMIT $3
"""  # noqa: S608 - the f-string inserts a constant column list, never input


async def reports(pool: asyncpg.Pool, *, county: CountyFilter | None, before_id: int | None,
                  limit: int, cleared: bool = False) -> list[dict[str, Any]]:
    """Reports, newest first (keyset pagination by id), by county (a code, or "none"); never the sender.
    Sensitive reports only for a caller `cleared` for them."""
    code, unplaced = _county_args(county)
    rows = await pool.fetch(_REPORTS, code, before_id, limit, unplaced, cleared)
    return [_report(r) for r in rows]


def _report(r: asyncpg.Record) -> dict[str, Any]:
    confidence = r["type_confidence"]
    return {"id": r["id"], "reference": report_reference(r["id"]), "source": r["source"], "body": r["body"],
            "county_code": r["county_code"], "county_name": r["county_name"], "language": r["language"],
            "received_at": _iso(r["received_at"]), **_place(r), "incident_type": r["incident_type"],
            "type_confidence": round(float(confidence), 3) if confidence is not None else None,
            "severity": r["severity"], "needs_review": r["needs_review"], "review_status": r["review_status"],
            "incident_id": r["incident_id"], "model_version": r["model_version"],
            # typed sgbv counts as sensitive whether or not the flag is set yet (as in exports)
            "sensitive": bool(r["sensitive"]) or r["incident_type"] == "sgbv",
            # Stored but not counted by the rules: a flooding sender's, or a repeat of an earlier report.
            "flooding": r["flooding"],
            "repeat_of": report_reference(r["repeat_of"]) if r["repeat_of"] is not None else None,
            "trust": r["trust"], "from_monitor": r["from_monitor"]}


def _place(row: asyncpg.Record) -> dict[str, Any]:
    """A report's place fields as the API gives them (codes as far as known, confidence, span, source)."""
    confidence = row["place_confidence"]
    return {"constituency_code": row["constituency_code"], "ward_code": row["ward_code"],
            "place_confidence": round(confidence, 2) if confidence is not None else None,
            "place_span": row["place_span"], "place_source": row["place_source"]}


def _county_args(county: CountyFilter | None) -> tuple[int | None, bool]:
    # (code to match, or None for any county; whether only reports placed in no county are wanted)
    if county == UNPLACED:
        return None, True
    assert county is None or isinstance(county, int)
    return county, False


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
