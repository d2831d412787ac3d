"""Rule state per (rule, county), level transitions, alerts and the outbox, changed in one transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ews.core.models import Level
from rules.window_count import RuleState, WindowCountRule, step

_ENSURE_STATES = """
INSERT INTO rule_states (rule, county_code)
SELECT r, c.code FROM counties c CROSS JOIN unnest($1::text[]) AS r
ON CONFLICT DO NOTHING
"""


async def ensure_rule_states(conn: asyncpg.Connection, rule_names: list[str]) -> None:
    """A state row for every (rule, county), so evaluation only ever locks and updates."""
    await conn.execute(_ENSURE_STATES, rule_names)


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A (rule, county) moved level; `outbox_id` is set when responders must hear of it."""

    rule: str
    county_code: int
    from_level: Level
    to_level: Level
    count: int
    alert_id: int
    outbox_id: int | None


# Locks in county order, so two instances evaluating overlapping sets cannot deadlock.
_LOCK_STATES = """
SELECT county_code, level, since, calm_since FROM rule_states
WHERE rule = $1 AND county_code = ANY($2::smallint[])
ORDER BY county_code
FOR UPDATE
"""
# Reports count by when they happened where the channel says (occurred_at), never later than they reached us.
# Since an incident cannot be reported before it happens, every report counted was also received in the
# window, so the (county_code, received_at) index still bounds the scan. Imported history (channel
# 'import') is what backtests replay: it never counts towards live levels. A flooding sender's reports and
# near-repeats of an earlier report are stored and shown, never counted.
_COUNTS = {
    "reports": "SELECT county_code, count(*) AS n FROM reports "
               "WHERE county_code = ANY($1::smallint[]) AND received_at > $2 AND received_at <= $3 "
               "AND least(coalesce(occurred_at, received_at), received_at) > $2 AND channel <> 'import' "
               "AND NOT flooding AND repeat_of IS NULL "
               "GROUP BY county_code",
    "senders": "SELECT county_code, count(DISTINCT sender_hash) AS n FROM reports "
               "WHERE county_code = ANY($1::smallint[]) AND received_at > $2 AND received_at <= $3 "
               "AND least(coalesce(occurred_at, received_at), received_at) > $2 AND channel <> 'import' "
               "AND NOT flooding AND repeat_of IS NULL "
               "GROUP BY county_code",
}
_SAVE_STATES = """
UPDATE rule_states s SET level = u.level, since = u.since, calm_since = u.calm_since, last_count = u.n,
       evaluated_at = $2
FROM unnest($3::smallint[], $4::smallint[], $5::timestamptz[], $6::timestamptz[], $7::integer[])
    AS u(county_code, level, since, calm_since, n)
WHERE s.rule = $1 AND s.county_code = u.county_code
"""
_OPEN_ALERT = """
INSERT INTO alerts (rule, county_code, level, peak_level, trigger_count, opened_at, updated_at)
VALUES ($1, $2, $3, $3, $4, $5, $5) RETURNING id
"""
_MOVE_ALERT = """
UPDATE alerts SET level = $3::smallint, peak_level = greatest(peak_level, $3::smallint), trigger_count = $4,
       updated_at = $5::timestamptz, closed_at = CASE WHEN $3::smallint = 0 THEN $5::timestamptz END
WHERE rule = $1 AND county_code = $2 AND closed_at IS NULL
RETURNING id
"""
_TRANSITION = """
INSERT INTO level_transitions (rule, county_code, from_level, to_level, trigger_count, at, alert_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
_OUTBOX = """
INSERT INTO outbox (alert_id, event, level, trigger_count, window_seconds, threshold, created_at, count_unit)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, 'engine', $2, $3, $4::jsonb)"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One rule evaluated for some counties: every county's new state, and the ones that moved."""

    states: dict[int, RuleState]
    changes: list[LevelChange]


async def evaluate_counties(pool: asyncpg.Pool, rule: WindowCountRule, county_codes: Sequence[int],
                            now: datetime) -> Evaluation:
    """Re-evaluate one rule for several counties at `now`: states, transitions, alerts and outbox rows are
    written in one transaction, with a fixed number of statements however many counties there are."""
    codes = sorted(set(county_codes))
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_LOCK_STATES, rule.name, codes)
        counts = {r["county_code"]: r["n"] for r in
                  await conn.fetch(_COUNTS[rule.unit], codes, now - rule.window, now)}
        saved: list[tuple[int, int, datetime | None, datetime | None, int]] = []
        states: dict[int, RuleState] = {}
        moved: list[tuple[int, Level, Level, int]] = []
        for row in rows:
            code, count = row["county_code"], counts.get(row["county_code"], 0)
            before = RuleState(Level(row["level"]), row["since"], row["calm_since"])
            after = step(rule, before, count, now)
            states[code] = after
            # Saved even when nothing moved: the count and time of the last look explain the level.
            saved.append((code, int(after.level), after.since, after.calm_since, count))
            if after.level != before.level:
                moved.append((code, before.level, after.level, count))
        if saved:
            await conn.execute(_SAVE_STATES, rule.name, now, *(list(column) for column in zip(*saved, strict=True)))
        changes = [await _record_change(conn, rule, code, old, new, count, now) for code, old, new, count in moved]
        return Evaluation(states, changes)


async def _record_change(conn: asyncpg.Connection, rule: WindowCountRule, county_code: int,
                         old: Level, new: Level, count: int, now: datetime) -> LevelChange:
    if old == Level.NORMAL:
        alert_id = await conn.fetchval(_OPEN_ALERT, rule.name, county_code, int(new), count, now)
        event: str | None = "raised"
    else:
        alert_id = await conn.fetchval(_MOVE_ALERT, rule.name, county_code, int(new), count, now)
        if alert_id is None:  # state said open but no alert row (manual cleanup): open a fresh one
            alert_id = await conn.fetchval(_OPEN_ALERT, rule.name, county_code, int(new), count, now)
        # A step down that stays above NORMAL is recorded, not sent: committees hear of rises and the end.
        event = "resolved" if new == Level.NORMAL else ("escalated" if new > old else None)
    await conn.execute(_TRANSITION, rule.name, county_code, int(old), int(new), count, now, alert_id)
    outbox_id = None
    if event is not None:
        threshold = rule.threshold(new) if new != Level.NORMAL else rule.threshold(old)
        outbox_id = await conn.fetchval(_OUTBOX, alert_id, event, int(new), count,
                                        round(rule.window.total_seconds()), threshold, now, rule.unit)
    detail = {"rule": rule.name, "county": county_code, "from": old.name, "to": new.name, "count": count}
    await conn.execute(_AUDIT, now, "alert." + (event or "lowered"), f"alert:{alert_id}", json.dumps(detail))
    return LevelChange(rule.name, county_code, old, new, count, alert_id, outbox_id)
