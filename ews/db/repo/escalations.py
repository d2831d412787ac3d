"""Escalation timers in PostgreSQL (alert_escalations): open one with its policy frozen, claim the due ones
(FOR UPDATE SKIP LOCKED, so several instances never step the same one), move them with the pure
`next_step`, stop one on an ack. Every start, step and stop is an audit row."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from ews.alerting.escalation import Escalation, Policy, StopReason, next_step, start
from ews.db.repo.reports import Connection

_OPEN = """
INSERT INTO alert_escalations (alert_id, policy, tier, loop, notified_at, next_at, created_at)
VALUES ($1, $2::jsonb, $3, $4, $5, $6, $5)
ON CONFLICT (alert_id) DO NOTHING
RETURNING alert_id
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"
_ONE = """
SELECT alert_id, policy, tier, loop, notified_at, next_at, stopped_at, stop_reason FROM alert_escalations
WHERE alert_id = $1
"""
# Due: the timeout passed, or the alert was acknowledged or closed (to stop it), or every delivery made to
# the current tier (for this alert, since the tier was told) is dead. Locked rows are skipped: another
# instance is stepping them.
_CLAIM = """
SELECT e.alert_id, e.policy, e.tier, e.loop, e.notified_at, e.next_at, e.stopped_at, e.stop_reason,
       a.acknowledged_at IS NOT NULL AS acked, a.closed_at IS NOT NULL AS resolved, f.all_failed
FROM alert_escalations e
JOIN alerts a ON a.id = e.alert_id
CROSS JOIN LATERAL (
    SELECT count(*) > 0 AND coalesce(bool_and(d.status = 'dead'), false) AS all_failed
    FROM deliveries d JOIN outbox o ON o.id = d.outbox_id
    WHERE o.alert_id = e.alert_id AND d.created_at >= e.notified_at
) f
WHERE e.stopped_at IS NULL
  AND (e.next_at <= $1 OR a.acknowledged_at IS NOT NULL OR a.closed_at IS NOT NULL OR f.all_failed)
ORDER BY e.next_at, e.alert_id
LIMIT $2
FOR UPDATE OF e SKIP LOCKED
"""
_SAVE = """
UPDATE alert_escalations SET tier = $2, loop = $3, notified_at = $4, next_at = $5, stopped_at = $6,
       stop_reason = $7
WHERE alert_id = $1
"""


@dataclass(frozen=True, slots=True)
class Step:
    """An escalation that moved: where it stands now, and the receivers to tell (empty when it stopped)."""

    escalation: Escalation
    receivers: tuple[str, ...]


def _escalation(row: asyncpg.Record) -> Escalation:
    raw = row["policy"]
    policy = Policy.from_json(json.loads(raw) if isinstance(raw, str) else raw)
    return Escalation(row["alert_id"], policy, row["tier"], row["loop"], row["notified_at"], row["next_at"],
                      row["stopped_at"], row["stop_reason"])


async def open_escalation(conn: Connection, alert_id: int, policy: Policy, now: datetime) -> Step | None:
    """Freeze `policy` onto the alert opening now; the first tier to tell, or None if it already had one."""
    escalation, receivers = start(alert_id, policy, now)
    async with conn.transaction():
        made = await conn.fetchval(_OPEN, alert_id, json.dumps(policy.to_json()), 0, 0, now, escalation.next_at)
        if made is None:
            return None
        await conn.execute(_AUDIT, now, "escalation", "escalation.started", f"alert:{alert_id}",
                           json.dumps({"policy": policy.name, "tier": 1, "receivers": list(receivers)}))
    return Step(escalation, receivers)


async def escalation_of(conn: Connection, alert_id: int) -> Escalation | None:
    """The alert's escalation, or None."""
    row = await conn.fetchrow(_ONE, alert_id)
    return _escalation(row) if row is not None else None


async def _save(conn: Connection, before: Escalation, after: Escalation, receivers: tuple[str, ...] | None,
                now: datetime) -> None:
    await conn.execute(_SAVE, after.alert_id, after.tier, after.loop, after.notified_at, after.next_at,
                       after.stopped_at, after.stop_reason)
    detail: dict[str, object]
    if after.stop_reason is not None:
        action, detail = "escalation.stopped", {"reason": after.stop_reason, "tier": before.tier + 1,
                                                "loop": before.loop}
    else:
        action, detail = "escalation.step", {"tier": after.tier + 1, "loop": after.loop,
                                             "receivers": list(receivers or ()), "from_tier": before.tier + 1}
    await conn.execute(_AUDIT, now, "escalation", action, f"alert:{after.alert_id}",
                       json.dumps({"policy": after.policy.name, **detail}))


async def advance_due(conn: Connection, now: datetime, limit: int = 100) -> list[Step]:
    """Claim the escalations due at `now` (locked, skipping ones another instance holds), step each with
    `next_step`, store them, and return the ones that moved with the receivers to tell. Call it inside the
    transaction that also puts those messages in the outbox: a crash then loses neither."""
    steps: list[Step] = []
    async with conn.transaction():
        for row in await conn.fetch(_CLAIM, now, limit):
            before = _escalation(row)
            after, receivers = next_step(before, now, row["acked"], row["all_failed"], resolved=row["resolved"])
            if after == before:
                continue
            await _save(conn, before, after, receivers, now)
            steps.append(Step(after, receivers or ()))
    return steps


async def stop_escalation(conn: Connection, alert_id: int, reason: StopReason, now: datetime) -> bool:
    """Stop the alert's escalation now (an ack: "acknowledged"); False when it had none or it had stopped."""
    async with conn.transaction():
        row = await conn.fetchrow(_ONE + " FOR UPDATE", alert_id)
        if row is None or row["stopped_at"] is not None:
            return False
        before = _escalation(row)
        after = replace(before, stopped_at=now, stop_reason=reason)
        await _save(conn, before, after, None, now)
    return True
