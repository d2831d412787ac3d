"""The notification log: what each receiver was last told about each alert group, and when (one row per
(receiver, group key)). Written in the transaction that commits the message to the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from ews.alerting.grouping import LogEntry, Notification
from ews.db.repo.reports import Connection

_ALL = """
SELECT receiver, group_key, fingerprint, alerts, resolved, sent_at FROM notification_log
ORDER BY receiver, group_key
"""
_UPSERT = """
INSERT INTO notification_log (receiver, group_key, fingerprint, alerts, resolved, sent_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6)
ON CONFLICT (receiver, group_key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, alerts = EXCLUDED.alerts, resolved = EXCLUDED.resolved,
    sent_at = EXCLUDED.sent_at
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"
_CURRENT = "SELECT fingerprint = $3 AND NOT resolved FROM notification_log WHERE receiver = $1 AND group_key = $2"
# Resolved groups are kept for a while, so a group that resolves and fires again is seen as new.
_PRUNE = "DELETE FROM notification_log WHERE resolved AND sent_at < $1"


def _entry(row: asyncpg.Record) -> LogEntry:
    raw = row["alerts"]
    alerts = json.loads(raw) if isinstance(raw, str) else raw
    return LogEntry(row["receiver"], row["group_key"], row["fingerprint"],
                    tuple((int(i), str(level)) for i, level in alerts), row["resolved"], row["sent_at"])


async def log_entries(conn: Connection) -> list[LogEntry]:
    """Every entry of the log (one per receiver and group): what plan_notifications reads."""
    return [_entry(r) for r in await conn.fetch(_ALL)]


async def record_sent(conn: Connection, notifications: Iterable[Notification], now: datetime) -> None:
    """Log each notification as sent at `now`, with an audit row each; call it in the transaction that puts
    the messages in the outbox, so a message is logged exactly when it is committed."""
    async with conn.transaction():
        for n in notifications:
            entry = n.logged(now)
            await conn.execute(_UPSERT, entry.receiver, entry.group_key, entry.fingerprint,
                               json.dumps([list(a) for a in entry.alerts]), entry.resolved, now)
            detail = {"group": n.group_key, "status": n.status, "reason": n.reason, "fingerprint": n.fingerprint,
                      "alerts": [f"A-{i} {level}" for i, level in n.alerts]}
            await conn.execute(_AUDIT, now, "notifier", "notification.planned", f"receiver:{n.receiver}",
                               json.dumps(detail))


async def still_current(conn: Connection, receiver: str, group_key: str, fingerprint: str) -> bool:
    """Whether a firing message about (receiver, group) with `fingerprint` is still the latest one logged: a
    dispatcher back from an outage skips queued messages a newer one superseded, so the receiver gets the
    current state once, not every stale step."""
    return bool(await conn.fetchval(_CURRENT, receiver, group_key, fingerprint))


async def prune_resolved(conn: Connection, before: datetime) -> int:
    """Forget resolved groups last told before `before`; how many."""
    done = await conn.execute(_PRUNE, before)
    return int(done.split()[-1])
