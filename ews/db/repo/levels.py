"""Engine state per (rule, county, type group), level changes, alerts and the outbox, written together.

The decisions are made by the engine (rules.escalation, pure); these functions only lock, read and write
the rows, inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ews.core.models import Level
from ews.db.repo.notification_log import settle_quietly
from ews.db.repo.reports import Connection

_ENSURE = """
INSERT INTO engine_states (rule, county_code, grp)
SELECT r, $1, g FROM unnest($2::text[], $3::text[]) AS k(r, g)
ON CONFLICT DO NOTHING
"""
# One county's rows, locked: two instances evaluating it at once (a leader hand-over) take turns.
_LOCK = """
SELECT rule, grp, level, since, pending_since, pending_level, calm_since, calm_level, judged_through
FROM engine_states WHERE county_code = $1 AND (rule, grp) IN (SELECT * FROM unnest($2::text[], $3::text[]))
ORDER BY rule, grp
FOR UPDATE
"""


@dataclass(frozen=True, slots=True)
class StoredState:
    """A state row as stored (levels as numbers; the engine turns it into rules.escalation.State)."""

    level: int
    since: datetime | None
    pending_since: datetime | None
    pending_level: int
    calm_since: datetime | None
    calm_level: int
    judged_through: datetime | None


async def lock_states(conn: Connection, county: int,
                      keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredState]:
    """The states of these (rule, group) keys in `county`, created NORMAL where missing, locked."""
    rules, groups = [k[0] for k in keys], [k[1] for k in keys]
    rows = await conn.fetch(_LOCK, county, rules, groups)
    if len(rows) < len(set(keys)):  # a rule or county seen for the first time
        await conn.execute(_ENSURE, county, rules, groups)
        rows = await conn.fetch(_LOCK, county, rules, groups)
    return {(r["rule"], r["grp"]): StoredState(r["level"], r["since"], r["pending_since"], r["pending_level"],
                                               r["calm_since"], r["calm_level"], r["judged_through"]) for r in rows}


_SAVE = """
UPDATE engine_states s SET level = u.level, since = u.since, pending_since = u.pending_since,
       pending_level = u.pending_level, calm_since = u.calm_since, calm_level = u.calm_level,
       judged_through = u.judged_through, statistic = u.statistic, observed = u.observed,
       rules_version = $2, evaluated_at = $3
FROM unnest($4::text[], $5::text[], $6::smallint[], $7::timestamptz[], $8::timestamptz[], $9::smallint[],
            $10::timestamptz[], $11::smallint[], $12::timestamptz[], $13::float8[], $14::float8[])
    AS u(rule, grp, level, since, pending_since, pending_level, calm_since, calm_level, judged_through,
         statistic, observed)
WHERE s.county_code = $1 AND s.rule = u.rule AND s.grp = u.grp
"""


async def save_states(conn: Connection, county: int, rows: Sequence[tuple[Any, ...]], *, version: str,
                      now: datetime) -> None:
    """Write the states of one county: rows of (rule, grp, level, since, pending_since, pending_level,
    calm_since, calm_level, judged_through, statistic, observed). Saved even when nothing moved: the last
    look's figures explain the level."""
    if rows:
        await conn.execute(_SAVE, county, version, now, *(list(c) for c in zip(*rows, strict=True)))


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A (rule, county, group) moved level (the planner decides who hears of it)."""

    rule: str
    county_code: int
    group: str
    from_level: Level
    to_level: Level
    count: int
    alert_id: int


_OPEN_ALERT = """
INSERT INTO alerts (rule, county_code, grp, level, peak_level, trigger_count, opened_at, updated_at, rules_version,
                    explanation)
VALUES ($1, $2, $3, $4, $4, $5, $6, $6, $7, $8::jsonb) RETURNING id
"""
_MOVE_ALERT = """
UPDATE alerts SET level = $4::smallint, peak_level = greatest(peak_level, $4::smallint), trigger_count = $5,
       updated_at = $6::timestamptz, closed_at = CASE WHEN $4::smallint = 0 THEN $6::timestamptz END,
       rules_version = $7, explanation = $8::jsonb
WHERE rule = $1 AND county_code = $2 AND grp = $3 AND closed_at IS NULL
RETURNING id
"""
_TRANSITION = """
INSERT INTO level_transitions (rule, county_code, grp, from_level, to_level, trigger_count, at, alert_id,
                               rules_version, explanation)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, 'engine', $2, $3, $4::jsonb)"


@dataclass(frozen=True, slots=True)
class NewLevel:
    """One level change to record, with its explanation (a JSON-ready dict) and its "why" line."""

    rule: str
    county_code: int
    group: str
    before: Level
    after: Level
    count: int
    at: datetime
    version: str
    explanation: Mapping[str, Any]
    why_en: str
    why_sw: str


async def record_change(conn: Connection, change: NewLevel) -> LevelChange:
    """Open, move or close the alert of a level change, with its transition and audit row. Nobody is told
    here: the notification planner reads the open alerts and the routing file (ews/alerting/planner.py)."""
    explanation = json.dumps(change.explanation)
    key = (change.rule, change.county_code, change.group)
    if change.before == Level.NORMAL:
        alert_id = await conn.fetchval(_OPEN_ALERT, *key, int(change.after), change.count, change.at,
                                       change.version, explanation)
        event: str | None = "raised"
    else:
        alert_id = await conn.fetchval(_MOVE_ALERT, *key, int(change.after), change.count, change.at,
                                       change.version, explanation)
        if alert_id is None:  # state said open but no alert row (manual cleanup): open a fresh one
            alert_id = await conn.fetchval(_OPEN_ALERT, *key, int(change.after), change.count, change.at,
                                           change.version, explanation)
        event = "resolved" if change.after == Level.NORMAL else ("escalated" if change.after > change.before else None)
    await conn.execute(_TRANSITION, *key, int(change.before), int(change.after), change.count, change.at, alert_id,
                       change.version, explanation)
    detail = {"rule": change.rule, "group": change.group, "county": change.county_code, "from": change.before.name,
              "to": change.after.name, "count": change.count, "version": change.version}
    await conn.execute(_AUDIT, change.at, "alert." + (event or "lowered"), f"alert:{alert_id}", json.dumps(detail))
    return LevelChange(change.rule, change.county_code, change.group, change.before, change.after, change.count,
                       alert_id)


# A rule the active version no longer has: its open alerts close without a message (nobody should hear
# "back to normal" because an analyst renamed a rule) and its states are dropped.
_RETIRE_ALERTS = """
UPDATE alerts SET closed_at = $2, updated_at = $2 WHERE closed_at IS NULL AND NOT (rule = ANY($1::text[]))
RETURNING id, rule, county_code, grp
"""
_RETIRE_STATES = "DELETE FROM engine_states WHERE NOT (rule = ANY($1::text[]))"



async def retire_rules(conn: Connection, active: Sequence[str], *, version: str, now: datetime) -> int:
    """Close the open alerts and drop the states of rules not in `active`, audited; how many alerts closed."""
    async with conn.transaction():
        closed = await conn.fetch(_RETIRE_ALERTS, list(active), now)
        for r in closed:
            detail = {"rule": r["rule"], "group": r["grp"], "county": r["county_code"], "version": version}
            await conn.execute(_AUDIT, now, "alert.retired", f"alert:{r['id']}", json.dumps(detail))
        await conn.execute(_RETIRE_STATES, list(active))
        await settle_quietly(conn, [r["id"] for r in closed])
    return len(closed)


_ACTIVE_VERSION = "SELECT id, body FROM rules_versions ORDER BY activated_at DESC, id DESC LIMIT 1"
_ACTIVE_ID = "SELECT id FROM rules_versions ORDER BY activated_at DESC, id DESC LIMIT 1"


async def active_rules_id(conn: Connection | asyncpg.Pool) -> int | None:
    """The id of the newest activated rules version (None: none was ever activated)."""
    found: int | None = await conn.fetchval(_ACTIVE_ID)
    return found


async def active_rules(conn: Connection | asyncpg.Pool) -> tuple[int, str] | None:
    """The active rules version's id and text, or None."""
    row = await conn.fetchrow(_ACTIVE_VERSION)
    return (row["id"], row["body"]) if row is not None else None
