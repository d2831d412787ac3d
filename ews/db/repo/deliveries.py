"""Deliveries: claiming due ones under a lease, recording outcomes, dead letters. Rows only: what to send
and to whom is decided in ews/alerting/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ews.core.models import Language


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery claimed for sending, with what the notifier needs (the address still encrypted)."""

    id: int
    kind: str
    attempts: int
    body: str
    notifier: str
    channel: str
    language: Language
    address_enc: bytes | None  # None: a reporter's contact purged after its retention
    recipient: str  # "Achieng #3" or "reporter contact #7": never the address
    responder_id: int | None
    alert_id: int | None
    report_id: int | None
    retry_from: datetime
    link_id: str | None = None  # AT's linkId of the message this answers
    opted_out: bool = False  # a reporter who opted out after the message was queued: it must not go
    # An alert message: which receiver and group it tells, the fingerprint of what it says, and its kind.
    receiver: str | None = None
    group_key: str | None = None
    fingerprint: str | None = None
    notice: str | None = None
    tried: tuple[str, ...] = ()  # gateways that already gave up on it (ews/alerting/dispatch.py falls back)


# A claim is a lease: if this process dies mid-send, the row becomes due again when the lease ends.
# SKIP LOCKED: a row another dispatcher is claiming right now is left to it, never claimed by both.
_CLAIM = """
WITH claimed AS (
    UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, lease_until = $2
    WHERE d.id IN (
        SELECT id FROM deliveries
        WHERE ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $1))
          AND (kind = 'alert') = $4
        ORDER BY next_attempt_at, id
        LIMIT $3
        FOR UPDATE SKIP LOCKED
    )
    RETURNING d.*
)
SELECT d.id, d.kind, d.attempts, d.body, d.notifier, d.channel, d.language, d.retry_from,
       coalesce(rc.address_enc, pc.address_enc) AS address_enc, r.id AS responder_id, r.name AS responder_name,
       d.reporter_contact_id, o.alert_id, o.report_id, o.link_id, o.receiver, o.group_key, o.fingerprint,
       o.notice, d.tried_notifiers,
       EXISTS (SELECT 1 FROM opt_outs x WHERE x.sender_hash = pc.sender_hash) AS opted_out
FROM claimed d
JOIN outbox o ON o.id = d.outbox_id
LEFT JOIN responder_contacts rc ON rc.id = d.responder_contact_id
LEFT JOIN responders r ON r.id = rc.responder_id
LEFT JOIN reporter_contacts pc ON pc.id = d.reporter_contact_id
ORDER BY d.id
"""


def _recipient(responder_id: int | None, responder_name: str | None, reporter_contact_id: int | None) -> str:
    if responder_id is not None:
        return f"{responder_name} #{responder_id}"
    return f"reporter contact #{reporter_contact_id}"


async def claim_due(pool: asyncpg.Pool, *, now: datetime, lease: timedelta, limit: int = 50) -> list[DueDelivery]:
    """Claim deliveries that are due (or whose lease expired): alerts first, then receipts, questions and
    notices, so a flood of reports (each with its receipt or question) never queues an alert behind it."""
    async with pool.acquire() as conn:
        rows = list(await conn.fetch(_CLAIM, now, now + lease, limit, True))
        if len(rows) < limit:
            rows += await conn.fetch(_CLAIM, now, now + lease, limit - len(rows), False)
    return [DueDelivery(id=r["id"], kind=r["kind"], attempts=r["attempts"], body=r["body"], notifier=r["notifier"],
                        channel=r["channel"], language=r["language"], address_enc=r["address_enc"],
                        recipient=_recipient(r["responder_id"], r["responder_name"], r["reporter_contact_id"]),
                        responder_id=r["responder_id"], alert_id=r["alert_id"], report_id=r["report_id"],
                        retry_from=r["retry_from"], link_id=r["link_id"], opted_out=r["opted_out"],
                        receiver=r["receiver"], group_key=r["group_key"], fingerprint=r["fingerprint"],
                        notice=r["notice"], tried=tuple(r["tried_notifiers"])) for r in rows]


# Every status an alert's delivery takes is an audit row, written by the statement that sets it (receipts
# and questions, many times more numerous, keep their status in the row only).
AUDIT_ALERT_DELIVERY = """
INSERT INTO audit_log (at, actor, action, subject, detail)
SELECT {at}, 'dispatcher', 'delivery.' || d.status, 'delivery:' || d.id,
       jsonb_build_object('alert', d.alert_id, 'attempts', d.attempts, 'reason', d.last_error)
FROM d WHERE d.kind = 'alert'
"""
_RETURNING = "RETURNING id, kind, status, attempts, last_error, (SELECT alert_id FROM outbox WHERE id = outbox_id)"
_SENT = f"""
WITH d AS (
    UPDATE deliveries SET status = 'sent', sent_at = $2, provider_id = $3, lease_until = NULL, last_error = NULL
    WHERE id = $1
    {_RETURNING}
)
{AUDIT_ALERT_DELIVERY.format(at="$2::timestamptz")}
"""  # noqa: S608 - built from constants only
_RETRY = f"""
WITH d AS (
    UPDATE deliveries SET status = 'pending', next_attempt_at = $2, lease_until = NULL, last_error = $3
    WHERE id = $1
    {_RETURNING}
)
{AUDIT_ALERT_DELIVERY.format(at="now()")}
"""  # noqa: S608 - built from constants only
# The claim counted an attempt that was not made: the sender had no room yet (the per-sender rate).
_DEFER = """
UPDATE deliveries SET status = 'pending', next_attempt_at = $2, lease_until = NULL,
    attempts = greatest(attempts - 1, 0)
WHERE id = $1
"""
_DEAD = f"""
WITH d AS (
    UPDATE deliveries SET status = 'dead', lease_until = NULL, last_error = $2 WHERE id = $1
    {_RETURNING}
)
{AUDIT_ALERT_DELIVERY.format(at="now()")}
"""  # noqa: S608 - built from constants only


async def mark_sent(pool: asyncpg.Pool, delivery_id: int, *, now: datetime, provider_id: str | None) -> None:
    """Record a successful send."""
    await pool.execute(_SENT, delivery_id, now, provider_id)


async def mark_retry(pool: asyncpg.Pool, delivery_id: int, *, at: datetime, reason: str) -> None:
    """Put a delivery back to be tried again at `at`."""
    await pool.execute(_RETRY, delivery_id, at, reason)


async def defer(pool: asyncpg.Pool, delivery_id: int, *, at: datetime) -> None:
    """Hand a claimed delivery back unsent, due at `at`, without counting an attempt."""
    await pool.execute(_DEFER, delivery_id, at)


_SUPERSEDE = f"""
WITH d AS (
    UPDATE deliveries SET status = 'superseded', lease_until = NULL, last_error = $2 WHERE id = $1
    {_RETURNING}
)
{AUDIT_ALERT_DELIVERY.format(at="now()")}
"""  # noqa: S608 - built from constants only


async def mark_superseded(pool: asyncpg.Pool | asyncpg.Connection, delivery_id: int, *, reason: str) -> None:
    """A queued message a newer one replaced: not sent, and not a failure."""
    await pool.execute(_SUPERSEDE, delivery_id, reason)


async def mark_dead(pool: asyncpg.Pool, delivery_id: int, *, reason: str) -> None:
    """Give up on a delivery (dead letter)."""
    await pool.execute(_DEAD, delivery_id, reason)


# The attempts start again from the next gateway's first; the one that gave up is kept in the row and the audit.
_HAND_OVER = """
WITH d AS (
    UPDATE deliveries SET tried_notifiers = tried_notifiers || $2::text, notifier = $3, status = 'pending',
        attempts = 0, next_attempt_at = $4, retry_from = $4, lease_until = NULL, last_error = $5
    WHERE id = $1 AND status IN ('sending', 'dead')  -- being sent by us, or dead-lettered by a delivery report
    RETURNING id, kind, (SELECT alert_id FROM outbox WHERE id = outbox_id) AS alert_id
)
INSERT INTO audit_log (at, actor, action, subject, detail)
SELECT $4, 'dispatcher', 'delivery.handed_over', 'delivery:' || d.id,
       jsonb_build_object('alert', d.alert_id, 'from', $2::text, 'to', $3::text, 'reason', $5::text)
FROM d WHERE d.kind = 'alert'
"""


async def hand_over(pool: asyncpg.Pool, delivery_id: int, *, tried: str, to: str, now: datetime,
                    reason: str) -> None:
    """Give a delivery that gateway `tried` gave up on to gateway `to`, due now with fresh attempts."""
    await pool.execute(_HAND_OVER, delivery_id, tried, to, now, reason)


@dataclass(frozen=True, slots=True)
class DeadDelivery:
    """A dead letter as the fallback to another gateway sees it."""

    id: int
    channel: str
    notifier: str
    tried: tuple[str, ...]
    to_responder: bool
    reason: str


_DEAD_ONE = """
SELECT id, channel, notifier, tried_notifiers, responder_contact_id, coalesce(last_error, '') AS last_error
FROM deliveries WHERE id = $1 AND status = 'dead'
"""


async def dead_delivery(pool: asyncpg.Pool, delivery_id: int) -> DeadDelivery | None:
    """The delivery if it is a dead letter, else None."""
    row = await pool.fetchrow(_DEAD_ONE, delivery_id)
    if row is None:
        return None
    return DeadDelivery(row["id"], row["channel"], row["notifier"], tuple(row["tried_notifiers"]),
                        row["responder_contact_id"] is not None, row["last_error"])


_DEAD_COUNT = "SELECT count(*) FROM deliveries WHERE status = 'dead'"


async def dead_letter_count(pool: asyncpg.Pool, *, timeout: float = 2.0) -> int:
    """How many deliveries were given up on."""
    count: int = await pool.fetchval(_DEAD_COUNT, timeout=timeout)
    return count


# 'pending' means not yet sent nor given up: waiting for its time, or being sent right now.
DELIVERY_STATUSES = {"pending": ["pending", "sending"], "sending": ["sending"], "sent": ["sent"], "dead": ["dead"],
                     "all": ["pending", "sending", "sent", "dead"]}
_LIST = """
SELECT d.id, d.kind, d.status, d.channel, d.notifier, d.attempts, d.last_error, d.created_at, d.next_attempt_at,
       d.sent_at, o.alert_id, o.event, o.report_id, r.id AS responder_id, r.name AS responder_name,
       d.reporter_contact_id
FROM deliveries d
JOIN outbox o ON o.id = d.outbox_id
LEFT JOIN responder_contacts rc ON rc.id = d.responder_contact_id
LEFT JOIN responders r ON r.id = rc.responder_id
WHERE d.status = ANY($1::text[])
ORDER BY d.id DESC
LIMIT $2
"""


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery as operators see it: ids, state and the last error, never the address."""

    id: int
    kind: str
    status: str
    channel: str
    notifier: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    alert_id: int | None
    event: str | None
    report_id: int | None
    recipient: str


async def list_deliveries(pool: asyncpg.Pool, *, status: str, limit: int) -> list[DeliveryRow]:
    """Deliveries in `status` (a key of DELIVERY_STATUSES), newest first."""
    rows = await pool.fetch(_LIST, DELIVERY_STATUSES[status], limit)
    return [DeliveryRow(id=r["id"], kind=r["kind"], status=r["status"], channel=r["channel"], notifier=r["notifier"],
                        attempts=r["attempts"], last_error=r["last_error"], created_at=r["created_at"],
                        next_attempt_at=r["next_attempt_at"], sent_at=r["sent_at"], alert_id=r["alert_id"],
                        event=r["event"], report_id=r["report_id"],
                        recipient=_recipient(r["responder_id"], r["responder_name"], r["reporter_contact_id"]))
            for r in rows]


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
