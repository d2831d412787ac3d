"""The responder directory in PostgreSQL; numbers stored only as a keyed hash and ciphertext."""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg

from ews.alerting.directory import ResponderEntry
from ews.core.privacy import ContactCipher, sender_hash

_UPSERT = """
INSERT INTO responders (name, phone_hash, phone_enc, county_code, role, language)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (phone_hash) DO UPDATE SET
    name = EXCLUDED.name, phone_enc = EXCLUDED.phone_enc, county_code = EXCLUDED.county_code,
    role = EXCLUDED.role, language = EXCLUDED.language, active = true, updated_at = now()
RETURNING (xmax = 0) AS inserted
"""
_AUDIT = "INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, 'responders', $3::jsonb)"


async def import_responders(pool: asyncpg.Pool, entries: Sequence[ResponderEntry], *, hash_key: str,
                            cipher: ContactCipher, actor: str = "cli") -> tuple[int, int]:
    """Insert or update responders by phone (all or nothing); return (added, updated)."""
    added = updated = 0
    async with pool.acquire() as conn, conn.transaction():
        for entry in entries:
            inserted = await conn.fetchval(_UPSERT, entry.name, sender_hash(hash_key, entry.phone),
                                           cipher.encrypt(entry.phone), entry.county_code, entry.role,
                                           entry.language)
            added += int(inserted)
            updated += int(not inserted)
        await conn.execute(_AUDIT, actor, "responders.import", json.dumps({"added": added, "updated": updated}))
    return added, updated

