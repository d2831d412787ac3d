"""Outbox expansion into per-recipient deliveries, claiming due deliveries, and recording outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ews.core.models import Language, Level
from notifiers.render import AlertEvent, render_alert

_UNEXPANDED = """
SELECT o.id, o.alert_id, o.event, o.level, o.trigger_count, o.window_seconds, o.threshold, o.count_unit,
       a.county_code, c.name AS county_name
FROM outbox o JOIN alerts a ON a.id = o.alert_id JOIN counties c ON c.code = a.county_code
WHERE o.expanded_at IS NULL
ORDER BY o.id
LIMIT $1
FOR UPDATE OF o SKIP LOCKED
"""
# Routing for now: the county's responders plus national ones (county_code IS NULL).
_RECIPIENTS = """
SELECT id, language FROM responders
WHERE active AND (county_code = $1 OR county_code IS NULL)
ORDER BY id
"""
_ADD_DELIVERY = """
INSERT INTO deliveries (outbox_id, responder_id, notifier, body, next_attempt_at, created_at, retry_from)
VALUES ($1, $2, $3, $4, $5, $5, $5)
ON CONFLICT ON CONSTRAINT deliveries_one_per_outbox_responder DO NOTHING
"""
_MARK_EXPANDED = "UPDATE outbox SET expanded_at = $2 WHERE id = $1"


async def expand_outbox(pool: asyncpg.Pool, *, notifier: str, now: datetime, limit: int = 100) -> tuple[int, int]:
    """Turn new outbox rows into one rendered delivery per recipient; (events, deliveries) created."""
    events = deliveries = 0
    async with pool.acquire() as conn, conn.transaction():
        for row in await conn.fetch(_UNEXPANDED, limit):
            event = AlertEvent(alert_id=row["alert_id"], event=row["event"], county_name=row["county_name"],
                               level=Level(row["level"]), trigger_count=row["trigger_count"],
                               window_seconds=row["window_seconds"], threshold=row["threshold"],
                               count_unit=row["count_unit"])
            bodies: dict[str, str] = {}
            for recipient in await conn.fetch(_RECIPIENTS, row["county_code"]):
                language = recipient["language"]
                body = bodies.get(language) or bodies.setdefault(language, render_alert(event, language))
                await conn.execute(_ADD_DELIVERY, row["id"], recipient["id"], notifier, body, now)
                deliveries += 1
            await conn.execute(_MARK_EXPANDED, row["id"], now)
            events += 1
    return events, deliveries


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery claimed for sending, with what the notifier needs."""

    id: int
    attempts: int
    body: str
    responder_id: int
    responder_name: str
    language: Language
    phone_enc: bytes
    alert_id: int
    retry_from: datetime


# A claim is a lease: if this process dies mid-send, the row becomes due again when the lease ends.
_CLAIM = """
UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, lease_until = $2
FROM responders r, outbox o
WHERE d.id IN (
    SELECT id FROM deliveries
    WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $1)
    ORDER BY next_attempt_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
) AND r.id = d.responder_id AND o.id = d.outbox_id
RETURNING d.id, d.attempts, d.body, r.id AS responder_id, r.name, r.language, r.phone_enc, o.alert_id,
          d.retry_from
"""


async def claim_due(pool: asyncpg.Pool, *, now: datetime, lease: timedelta, limit: int = 50) -> list[DueDelivery]:
    """Claim deliveries that are due (or whose lease expired)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_CLAIM, now, now + lease, limit)
    return [DueDelivery(id=r["id"], attempts=r["attempts"], body=r["body"], responder_id=r["responder_id"],
                        responder_name=r["name"], language=r["language"], phone_enc=r["phone_enc"],
                        alert_id=r["alert_id"], retry_from=r["retry_from"]) for r in rows]


_SENT = """
UPDATE deliveries SET status = 'sent', sent_at = $2, provider_id = $3, lease_until = NULL, last_error = NULL
WHERE id = $1
"""
_RETRY = """
UPDATE deliveries SET status = 'pending', next_attempt_at = $2, lease_until = NULL, last_error = $3
WHERE id = $1
"""
_DEAD = "UPDATE deliveries SET status = 'dead', lease_until = NULL, last_error = $2 WHERE id = $1"


async def mark_sent(pool: asyncpg.Pool, delivery_id: int, *, now: datetime, provider_id: str | None) -> None:
    """Record a successful send."""
    await pool.execute(_SENT, delivery_id, now, provider_id)


async def mark_retry(pool: asyncpg.Pool, delivery_id: int, *, at: datetime, reason: str) -> None:
    """Put a delivery back to be tried again at `at`."""
    await pool.execute(_RETRY, delivery_id, at, reason)


async def mark_dead(pool: asyncpg.Pool, delivery_id: int, *, reason: str) -> None:
    """Give up on a delivery (dead letter)."""
    await pool.execute(_DEAD, delivery_id, reason)


_DEAD_COUNT = "SELECT count(*) FROM deliveries WHERE status = 'dead'"


async def dead_letter_count(pool: asyncpg.Pool, *, timeout: float = 2.0) -> int:
    """How many deliveries were given up on."""
    count: int = await pool.fetchval(_DEAD_COUNT, timeout=timeout)
    return count


# 'pending' means not yet sent nor given up: waiting for its time, or being sent right now.
DELIVERY_STATUSES = {"pending": ["pending", "sending"], "sending": ["sending"], "sent": ["sent"], "dead": ["dead"],
                     "all": ["pending", "sending", "sent", "dead"]}
_LIST = """
SELECT d.id, d.status, d.notifier, d.attempts, d.last_error, d.created_at, d.next_attempt_at, d.sent_at,
       o.alert_id, o.event, r.id AS responder_id, r.name AS responder_name
FROM deliveries d JOIN outbox o ON o.id = d.outbox_id JOIN responders r ON r.id = d.responder_id
WHERE d.status = ANY($1::text[])
ORDER BY d.id DESC
LIMIT $2
"""


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery as operators see it: ids, state and the last error, never the address."""

    id: int
    status: str
    notifier: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    alert_id: int | None
    event: str | None
    responder_id: int | None
    responder_name: str | None


async def list_deliveries(pool: asyncpg.Pool, *, status: str, limit: int) -> list[DeliveryRow]:
    """Deliveries in `status` (a key of DELIVERY_STATUSES), newest first."""
    rows = await pool.fetch(_LIST, DELIVERY_STATUSES[status], limit)
    return [DeliveryRow(id=r["id"], status=r["status"], notifier=r["notifier"], attempts=r["attempts"],
                        last_error=r["last_error"], created_at=r["created_at"], next_attempt_at=r["next_attempt_at"],
                        sent_at=r["sent_at"], alert_id=r["alert_id"], event=r["event"],
                        responder_id=r["responder_id"], responder_name=r["responder_name"]) for r in rows]


_REQUEUE = """
UPDATE deliveries SET status = 'pending', next_attempt_at = $2, retry_from = $2, lease_until = NULL
WHERE id = $1 AND status = 'dead'
RETURNING id
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, '{}'::jsonb)"


async def requeue_dead(pool: asyncpg.Pool, delivery_id: int, *, now: datetime, actor: str) -> bool:
    """Make a dead letter due again now, with a fresh retry window (audited); False if it is not dead."""
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(_REQUEUE, delivery_id, now)
        if found is not None:
            await conn.execute(_AUDIT, now, actor, "delivery.requeue", f"delivery:{delivery_id}")
    return found is not None
