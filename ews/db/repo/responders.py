"""The responder directory in PostgreSQL; addresses stored only as a keyed hash and ciphertext, per channel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from ews.core.models import Language, ResponderEntry
from ews.core.privacy import ContactCipher, sender_hash

_UPSERT = """
INSERT INTO responders (name, phone_hash, county_code, role, language)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (phone_hash) DO UPDATE SET
    name = EXCLUDED.name, county_code = EXCLUDED.county_code,
    role = EXCLUDED.role, language = EXCLUDED.language, active = true, updated_at = now()
RETURNING id, (xmax = 0) AS inserted
"""
# The file is the truth for the preferred gateway too: one left out goes back to EWS_NOTIFIERS order.
_UPSERT_CONTACT = """
INSERT INTO responder_contacts (responder_id, channel, address_hash, address_enc, notifier)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT ON CONSTRAINT responder_contacts_one_per_channel DO UPDATE SET
    address_hash = EXCLUDED.address_hash, address_enc = EXCLUDED.address_enc, notifier = EXCLUDED.notifier,
    active = true, updated_at = now()
"""
# The file is the truth for the people in it: a channel no longer given stops receiving (rows stay for the
# deliveries that point at them).
_RETIRE_CONTACTS = """
UPDATE responder_contacts SET active = false, updated_at = now()
WHERE responder_id = $1 AND active AND NOT channel = ANY($2::text[])
"""
_AUDIT = "INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4::jsonb)"


async def import_responders(pool: asyncpg.Pool, entries: Sequence[ResponderEntry], *, hash_key: str,
                            cipher: ContactCipher, actor: str = "cli") -> tuple[int, int]:
    """Insert or update responders by phone, with their contacts (all or nothing); return (added, updated)."""
    added = updated = 0
    async with pool.acquire() as conn, conn.transaction():
        for entry in entries:
            row = await conn.fetchrow(_UPSERT, entry.name, sender_hash(hash_key, entry.phone), entry.county_code,
                                      entry.role, entry.language)
            for channel, address in entry.contacts():
                await conn.execute(_UPSERT_CONTACT, row["id"], channel, sender_hash(hash_key, address),
                                   cipher.encrypt(address), entry.sms_notifier if channel == "sms" else None)
            await conn.execute(_RETIRE_CONTACTS, row["id"], [channel for channel, _ in entry.contacts()])
            added += int(row["inserted"])
            updated += int(not row["inserted"])
        await conn.execute(_AUDIT, actor, "responders.import", "responders",
                           json.dumps({"added": added, "updated": updated}))
    return added, updated


@dataclass(frozen=True, slots=True)
class RecipientContact:
    """One contact of a responder who should hear of an alert."""

    contact_id: int
    responder_id: int
    channel: str
    notifier: str | None
    language: Language


# Routing for now: the county's responders plus national ones (county_code IS NULL), every active contact.
_ALERT_RECIPIENTS = """
SELECT c.id, r.id AS responder_id, c.channel, c.notifier, r.language
FROM responders r JOIN responder_contacts c ON c.responder_id = r.id
WHERE r.active AND c.active AND (r.county_code = $1 OR r.county_code IS NULL)
ORDER BY r.id, c.id
"""


async def alert_recipients(conn: asyncpg.Connection, county_code: int) -> list[RecipientContact]:
    """The active contacts of the county's and the national responders."""
    return [RecipientContact(contact_id=r["id"], responder_id=r["responder_id"], channel=r["channel"],
                             notifier=r["notifier"], language=r["language"])
            for r in await conn.fetch(_ALERT_RECIPIENTS, county_code)]


@dataclass(frozen=True, slots=True)
class ResponderListing:
    """A responder as the CLI lists them; addresses still encrypted (the caller masks them)."""

    id: int
    name: str
    county_name: str | None
    role: str
    language: Language
    active: bool
    contacts: list[tuple[str, bytes]]  # (channel, ciphertext) of the active contacts


_LIST = """
SELECT r.id, r.name, co.name AS county_name, r.role, r.language, r.active,
       coalesce(array_agg(c.channel ORDER BY c.id) FILTER (WHERE c.active), '{}') AS channels,
       coalesce(array_agg(c.address_enc ORDER BY c.id) FILTER (WHERE c.active), '{}') AS addresses
FROM responders r
LEFT JOIN counties co ON co.code = r.county_code
LEFT JOIN responder_contacts c ON c.responder_id = r.id
GROUP BY r.id, co.name
ORDER BY r.id
"""


async def list_responders(pool: asyncpg.Pool, *, actor: str = "cli") -> list[ResponderListing]:
    """Every responder with their active contacts; the read of contact data is audited."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_LIST)
        await conn.execute(_AUDIT, actor, "responders.list", "responders", json.dumps({"responders": len(rows)}))
    return [ResponderListing(id=r["id"], name=r["name"], county_name=r["county_name"], role=r["role"],
                             language=r["language"], active=r["active"],
                             contacts=list(zip(r["channels"], r["addresses"], strict=True))) for r in rows]


_DEACTIVATE = "UPDATE responders SET active = false, updated_at = now() WHERE id = $1 AND active RETURNING id"


async def deactivate_responder(pool: asyncpg.Pool, responder_id: int, *, actor: str = "cli") -> bool:
    """Stop sending to a responder (kept for the record of what they were sent); False if none was active."""
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(_DEACTIVATE, responder_id)
        if found is not None:
            await conn.execute(_AUDIT, actor, "responders.remove", f"responder:{responder_id}", "{}")
    return found is not None
