"""Escalation timers in PostgreSQL (alert_escalations): insert one with its policy frozen (JSON), claim the
due ones (FOR UPDATE SKIP LOCKED, so several instances never step the same one), lock one, store a step.
Every start, step and stop is an audit row. The stepping itself is ews/alerting/escalation.py's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ews.db.repo.reports import Connection

_OPEN = """
INSERT INTO alert_escalations (alert_id, policy, tier, loop, notified_at, next_at, created_at)
VALUES ($1, $2::jsonb, 0, 0, $3, $4, $3)
ON CONFLICT (alert_id) DO NOTHING
RETURNING alert_id
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"
_ONE = """
SELECT alert_id, policy, tier, loop, notified_at, next_at, stopped_at, stop_reason,
       false AS acked, false AS resolved, false AS all_failed
FROM alert_escalations WHERE alert_id = $1
"""
# Due: the timeout passed, or the alert was acknowledged or closed (to stop it), or every delivery made for
# this alert since the current tier was told is dead. Rows another instance holds are skipped.
_CLAIM = """
SELECT e.alert_id, e.policy, e.tier, e.loop, e.notified_at, e.next_at, e.stopped_at, e.stop_reason,
       a.acknowledged_at IS NOT NULL AS acked, a.closed_at IS NOT NULL AS resolved, f.all_failed
FROM alert_escalations e
JOIN alerts a ON a.id = e.alert_id
CROSS JOIN LATERAL (
    SELECT count(*) > 0 AND coalesce(bool_and(d.status = 'dead'), false) AS all_failed
    FROM deliveries d JOIN outbox o ON o.id = d.outbox_id
    WHERE o.alert_ids @> ARRAY[e.alert_id] AND d.kind = 'alert' AND d.created_at >= e.notified_at
) f
WHERE e.stopped_at IS NULL
  AND (e.next_at <= $1 OR a.acknowledged_at IS NOT NULL OR a.closed_at IS NOT NULL OR f.all_failed)
ORDER BY e.next_at, e.alert_id
LIMIT $2
FOR UPDATE OF e SKIP LOCKED
"""
_NEXT = "SELECT min(next_at) FROM alert_escalations WHERE stopped_at IS NULL"
_SAVE = """
UPDATE alert_escalations SET tier = $2, loop = $3, notified_at = $4, next_at = $5, stopped_at = $6,
       stop_reason = $7
WHERE alert_id = $1
"""


@dataclass(frozen=True, slots=True)
class EscalationRow:
    """An alert_escalations row (policy as its frozen JSON), with what the claim read of the alert."""

    alert_id: int
    policy: dict[str, Any]
    tier: int
    loop: int
    notified_at: datetime
    next_at: datetime
    stopped_at: datetime | None
    stop_reason: str | None
    acked: bool = False
    resolved: bool = False
    all_failed: bool = False


def _row(row: asyncpg.Record) -> EscalationRow:
    data: dict[str, Any] = dict(row)
    raw = data["policy"]
    data["policy"] = json.loads(raw) if isinstance(raw, str) else raw
    return EscalationRow(**data)


async def insert_escalation(conn: Connection, alert_id: int, policy: dict[str, Any], *, next_at: datetime,
                            audit: dict[str, Any], now: datetime) -> bool:
    """Store the alert's escalation at tier 1, told at `now` (audited); False if the alert already had one."""
    async with conn.transaction():
        made = await conn.fetchval(_OPEN, alert_id, json.dumps(policy), now, next_at)
        if made is None:
            return False
        await conn.execute(_AUDIT, now, "escalation", "escalation.started", f"alert:{alert_id}", json.dumps(audit))
    return True


async def escalation_row(conn: Connection, alert_id: int, *, lock: bool = False) -> EscalationRow | None:
    """The alert's escalation (locked until the transaction ends with `lock`), or None."""
    row = await conn.fetchrow(_ONE + (" FOR UPDATE" if lock else ""), alert_id)
    return _row(row) if row is not None else None


async def claim_due(conn: Connection, now: datetime, limit: int) -> list[EscalationRow]:
    """Lock up to `limit` escalations due at `now` (skipping ones another instance holds); call it in a
    transaction, and store their steps in the same one."""
    return [_row(r) for r in await conn.fetch(_CLAIM, now, limit)]


async def save_step(conn: Connection, row: EscalationRow, *, action: str, audit: dict[str, Any],
                    now: datetime) -> None:
    """Store where an escalation stands now, with its audit row (`escalation.step` or `.stopped`)."""
    await conn.execute(_SAVE, row.alert_id, row.tier, row.loop, row.notified_at, row.next_at, row.stopped_at,
                       row.stop_reason)
    await conn.execute(_AUDIT, now, "escalation", action, f"alert:{row.alert_id}", json.dumps(audit))


async def next_escalation_at(conn: Connection) -> datetime | None:
    """When the next running escalation times out (None: none is running)."""
    found: datetime | None = await conn.fetchval(_NEXT)
    return found
