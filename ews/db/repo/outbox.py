"""The outbox of every outbound message (alerts, receipts, questions, ack confirmations), rows only.

Messages are enqueued inside the caller's transaction, so a message exists exactly when the change that
caused it was committed. Expansion into deliveries (who, which notifier, what text) is decided in
ews/alerting/expand.py; this module only reads and writes the rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ews.core.models import OUTBOUND_KINDS, Language
from ews.core.privacy import ContactCipher, sender_hash

# One named recipient, text given by the caller: every kind but the engine's alerts.
DIRECT_KINDS = tuple(kind for kind in OUTBOUND_KINDS if kind != "alert")

_KEEP_REPORTER = """
INSERT INTO reporter_contacts (sender_hash, channel, address_enc, language, created_at, updated_at, expires_at,
                               notifier)
VALUES ($1, $2, $3, $4, $5, $5, $6, $7)
ON CONFLICT ON CONSTRAINT reporter_contacts_one_per_sender_channel DO UPDATE SET
    address_enc = EXCLUDED.address_enc, language = EXCLUDED.language, updated_at = EXCLUDED.updated_at,
    expires_at = EXCLUDED.expires_at, notifier = coalesce(EXCLUDED.notifier, reporter_contacts.notifier)
RETURNING id
"""


async def keep_reporter_contact(conn: asyncpg.Connection, *, hash_key: str, cipher: ContactCipher, address: str,
                                channel: str, language: Language, now: datetime,
                                expires_at: datetime | None = None, notifier: str | None = None) -> int:
    """Keep a reporter's address (encrypted) so replies can reach them; its id. Keyed by the sender hash.

    `expires_at`: when the purge job deletes the address (EWS_CONTACT_RETENTION_DAYS); `notifier`: the
    gateway that answers this reporter (the one they wrote through)."""
    contact_id: int = await conn.fetchval(_KEEP_REPORTER, sender_hash(hash_key, address), channel,
                                          cipher.encrypt(address), language, now, expires_at, notifier)
    return contact_id


_ENQUEUE = """
INSERT INTO outbox (kind, reporter_contact_id, responder_contact_id, report_id, alert_id, body, language,
                    created_at, link_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id
"""


async def enqueue_message(conn: asyncpg.Connection, *, kind: str, body: str, language: Language, now: datetime,
                          reporter_contact_id: int | None = None, responder_contact_id: int | None = None,
                          report_id: int | None = None, alert_id: int | None = None,
                          link_id: str | None = None) -> int:
    """Queue a receipt, question or ack confirmation for one contact, in the caller's transaction; its id.

    Exactly one of `reporter_contact_id` and `responder_contact_id` names the recipient (a CHECK holds it).
    """
    if kind not in DIRECT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(DIRECT_KINDS)} (alerts are queued by the engine)")
    outbox_id: int = await conn.fetchval(_ENQUEUE, kind, reporter_contact_id, responder_contact_id, report_id,
                                         alert_id, body, language, now, link_id)
    return outbox_id


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An outbox row not yet expanded into deliveries, with what deciding and rendering need."""

    id: int
    kind: str
    created_at: datetime
    # alerts: the planned message (ews/alerting/planner.py): to which receiver, about which alerts
    alert_id: int | None
    alert_ids: list[int] | None
    alert_levels: list[tuple[int, str, str | None]] | None  # (alert id, level, level told before or None)
    receiver: str | None
    receiver_spec: dict[str, Any] | None
    notice: str | None  # firing | resolved | escalation
    tier: int | None
    # every other kind: the one recipient and the text
    reporter_contact_id: int | None
    responder_contact_id: int | None
    report_id: int | None
    body: str | None
    language: Language | None


_UNEXPANDED = """
SELECT id, kind, created_at, alert_id, alert_ids, alert_levels, receiver, receiver_spec, notice, tier,
       reporter_contact_id, responder_contact_id, report_id, body, language
FROM outbox
WHERE expanded_at IS NULL AND (kind = 'alert') = $2
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""


def _json(raw: Any) -> Any:
    return json.loads(raw) if isinstance(raw, str) else raw


async def lock_unexpanded(conn: asyncpg.Connection, limit: int) -> list[OutboxRow]:
    """Lock up to `limit` unexpanded rows for this transaction (others skip them): alerts first, so a
    backlog of receipts and questions never holds one up."""
    found = list(await conn.fetch(_UNEXPANDED, limit, True))
    if len(found) < limit:
        found += await conn.fetch(_UNEXPANDED, limit - len(found), False)
    rows = []
    for r in found:
        levels = _json(r["alert_levels"])
        rows.append(OutboxRow(
            id=r["id"], kind=r["kind"], created_at=r["created_at"], alert_id=r["alert_id"],
            alert_ids=list(r["alert_ids"]) if r["alert_ids"] is not None else None,
            alert_levels=[(int(a[0]), str(a[1]), a[2] if len(a) > 2 else None) for a in levels] if levels else None,
            receiver=r["receiver"], receiver_spec=_json(r["receiver_spec"]), notice=r["notice"], tier=r["tier"],
            reporter_contact_id=r["reporter_contact_id"], responder_contact_id=r["responder_contact_id"],
            report_id=r["report_id"], body=r["body"], language=r["language"]))
    return rows


@dataclass(frozen=True, slots=True)
class DirectContact:
    """The one recipient of a direct message: which channel, and a preferred notifier if any."""

    channel: str
    notifier: str | None


# A reporter who sent STOP gets nothing more from us, whatever asked to message them.
_REPORTER_CONTACT = """
SELECT channel, notifier FROM reporter_contacts rc
WHERE id = $1 AND address_enc IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.sender_hash = rc.sender_hash)
"""
_RESPONDER_CONTACT = "SELECT channel, notifier FROM responder_contacts WHERE id = $1 AND active"


async def direct_contact(conn: asyncpg.Connection, row: OutboxRow) -> DirectContact | None:
    """The contact a direct message goes to (None: gone, deactivated, or a reporter who opted out)."""
    if row.reporter_contact_id is not None:
        found = await conn.fetchrow(_REPORTER_CONTACT, row.reporter_contact_id)
    else:
        found = await conn.fetchrow(_RESPONDER_CONTACT, row.responder_contact_id)
    return DirectContact(found["channel"], found["notifier"]) if found else None


_ADD_TO_RESPONDER = """
INSERT INTO deliveries (outbox_id, kind, responder_contact_id, channel, notifier, language, body, status,
                        last_error, next_attempt_at, created_at, retry_from)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)
ON CONFLICT (outbox_id, responder_contact_id) WHERE responder_contact_id IS NOT NULL DO NOTHING
"""
_ADD_TO_REPORTER = """
INSERT INTO deliveries (outbox_id, kind, reporter_contact_id, channel, notifier, language, body, status,
                        last_error, next_attempt_at, created_at, retry_from)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)
ON CONFLICT (outbox_id, reporter_contact_id) WHERE reporter_contact_id IS NOT NULL DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One (message, contact) to be sent through `notifier`; `dead_reason` set: given up on at once."""

    outbox_id: int
    kind: str
    channel: str
    notifier: str
    language: Language
    body: str
    responder_contact_id: int | None = None
    reporter_contact_id: int | None = None
    dead_reason: str | None = None


async def add_delivery(conn: asyncpg.Connection, delivery: NewDelivery, *, now: datetime) -> None:
    """Write one delivery (once per message and contact)."""
    status = "dead" if delivery.dead_reason else "pending"
    sql, contact = ((_ADD_TO_RESPONDER, delivery.responder_contact_id) if delivery.responder_contact_id is not None
                    else (_ADD_TO_REPORTER, delivery.reporter_contact_id))
    await conn.execute(sql, delivery.outbox_id, delivery.kind, contact, delivery.channel, delivery.notifier,
                       delivery.language, delivery.body, status, delivery.dead_reason, now)


_MARK_EXPANDED = "UPDATE outbox SET expanded_at = $2 WHERE id = $1"


async def mark_expanded(conn: asyncpg.Connection, outbox_id: int, *, now: datetime) -> None:
    """The row's deliveries are written."""
    await conn.execute(_MARK_EXPANDED, outbox_id, now)


_PURGE_CONTACTS = """
UPDATE reporter_contacts SET address_enc = NULL, updated_at = $1
WHERE expires_at <= $1 AND address_enc IS NOT NULL
"""


async def purge_reporter_contacts(pool: asyncpg.Pool, *, now: datetime) -> int:
    """Delete the kept addresses whose retention ended (the rows stay, for the messages that name them);
    how many were purged."""
    status: str = await pool.execute(_PURGE_CONTACTS, now)
    return int(status.split()[-1])
