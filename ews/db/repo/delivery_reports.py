"""Gateways' later word on sent messages (delivery reports) and their opt-out notices: rows only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

# Forward only: a report of a lower or equal rank (a late "Sent" after "Success") changes nothing. A
# permanent failure also dead-letters the delivery ($7), so it shows with the others and can be retried.
_ADVANCE = """
WITH d AS (
    UPDATE deliveries SET provider_status = $2, provider_rank = $3, provider_reason = nullif($4, ''),
           provider_status_at = $5,
           status = CASE WHEN $7 AND status = 'sent' THEN 'dead' ELSE status END,
           last_error = CASE WHEN $7 AND status = 'sent' THEN 'gateway: ' || $2 || ' ' || $4 ELSE last_error END
    WHERE provider_id = $1 AND notifier = $6 AND provider_rank < $3
    RETURNING id, reporter_contact_id, responder_contact_id, kind, status,
              (SELECT alert_id FROM outbox WHERE id = outbox_id)
), audited AS (
    -- Every word from the gateway on an alert's delivery is an audit row.
    INSERT INTO audit_log (at, actor, action, subject, detail)
    SELECT $5, 'gateway', 'delivery.status', 'delivery:' || d.id,
           jsonb_build_object('alert', d.alert_id, 'status', $2::text, 'reason', nullif($4, ''), 'now', d.status)
    FROM d WHERE d.kind = 'alert'
)
SELECT id, status, responder_contact_id FROM d
"""
# The reporter behind a delivery, for a delivery report that says they blocked us.
_OPT_OUT_RECIPIENT = """
INSERT INTO opt_outs (sender_hash, since, reason)
SELECT pc.sender_hash, $2, $3 FROM deliveries d JOIN reporter_contacts pc ON pc.id = d.reporter_contact_id
WHERE d.provider_id = $1 AND d.notifier = $4
ON CONFLICT DO NOTHING
"""
_OPT_OUT = "INSERT INTO opt_outs (sender_hash, since, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"


@dataclass(frozen=True, slots=True)
class Advanced:
    """A delivery a gateway's report moved forward: whether it is now a dead letter, and to a responder."""

    delivery_id: int
    dead: bool
    to_responder: bool


async def advance_delivery(conn: asyncpg.Connection, *, notifier: str, provider_id: str, status: str, rank: int,
                           reason: str, now: datetime, permanent: bool = False) -> Advanced | None:
    """Move the delivery `notifier` sent as `provider_id` to `status` if that is further along (and
    dead-letter it when `permanent`); what moved, or None."""
    row = await conn.fetchrow(_ADVANCE, provider_id, status, rank, reason, now, notifier, permanent)
    if row is None:
        return None
    return Advanced(row["id"], row["status"] == "dead", row["responder_contact_id"] is not None)


async def opt_out_recipient(conn: asyncpg.Connection, *, notifier: str, provider_id: str, reason: str,
                            now: datetime) -> None:
    """Put the reporter a delivery went to on the suppression list."""
    await conn.execute(_OPT_OUT_RECIPIENT, provider_id, now, reason, notifier)


async def opt_out_hash(conn: asyncpg.Connection, sender_hash: str, *, reason: str, now: datetime) -> None:
    """Put a keyed hash on the suppression list (as STOP does)."""
    await conn.execute(_OPT_OUT, sender_hash, now, reason)
