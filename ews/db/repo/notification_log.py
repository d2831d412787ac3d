"""The notification log: what each receiver was last told about each alert group, and when (one row per
(receiver, group key)). Written in the transaction that commits the message to the outbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

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
# Receivers told of these alerts get no resolved message: their entries count as resolved once every alert in
# them is over (closed, or said handled); an entry that still holds a live alert is told of it as changed.
_SETTLE = """
UPDATE notification_log l SET resolved = true
WHERE NOT l.resolved
  AND EXISTS (SELECT 1 FROM jsonb_array_elements(l.alerts) e WHERE (e ->> 0)::bigint = ANY($1::bigint[]))
  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(l.alerts) e JOIN alerts a ON a.id = (e ->> 0)::bigint
                  WHERE a.closed_at IS NULL AND a.resolved_at IS NULL)
"""
# Resolved groups are kept for a while, so a group that resolves and fires again is seen as new.
_PRUNE = "DELETE FROM notification_log WHERE resolved AND sent_at < $1"


@dataclass(frozen=True, slots=True)
class LogRow:
    """A notification_log row: alerts as [[alert id, level], ...]."""

    receiver: str
    group_key: str
    fingerprint: str
    alerts: list[tuple[int, str]]
    resolved: bool
    sent_at: datetime


def _row(row: asyncpg.Record) -> LogRow:
    raw = row["alerts"]
    alerts = json.loads(raw) if isinstance(raw, str) else raw
    return LogRow(row["receiver"], row["group_key"], row["fingerprint"], [(int(i), str(lv)) for i, lv in alerts],
                  row["resolved"], row["sent_at"])


async def log_rows(conn: Connection) -> list[LogRow]:
    """Every entry of the log (one per receiver and group)."""
    return [_row(r) for r in await conn.fetch(_ALL)]


async def upsert_log(conn: Connection, row: LogRow, *, audit: dict[str, Any]) -> None:
    """Replace the entry of (receiver, group) with `row`, with an audit row carrying `audit`."""
    await conn.execute(_UPSERT, row.receiver, row.group_key, row.fingerprint,
                       json.dumps([list(a) for a in row.alerts]), row.resolved, row.sent_at)
    await conn.execute(_AUDIT, row.sent_at, "notifier", "notification.planned", f"receiver:{row.receiver}",
                       json.dumps({"group": row.group_key, **audit}))


async def still_current(conn: Connection, receiver: str, group_key: str, fingerprint: str) -> bool:
    """Whether a firing message about (receiver, group) with `fingerprint` is still the latest one logged: a
    dispatcher back from an outage skips queued messages a newer one superseded, so the receiver gets the
    current state once, not every stale step."""
    return bool(await conn.fetchval(_CURRENT, receiver, group_key, fingerprint))


async def prune_resolved(conn: Connection, before: datetime) -> int:
    """Forget resolved groups last told before `before`; how many."""
    done = await conn.execute(_PRUNE, before)
    return int(done.split()[-1])


async def settle_quietly(conn: Connection, alert_ids: Sequence[int]) -> None:
    """These alerts ended without news for their receivers (a retired rule; a person said it is handled, and
    was told to everyone already): no resolved message for the groups they leave empty."""
    await conn.execute(_SETTLE, list(alert_ids))
