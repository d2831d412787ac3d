"""Registered monitors in PostgreSQL: phone kept only as a keyed hash and Fernet ciphertext."""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg

from ews.core.models import MonitorEntry
from ews.core.privacy import ContactCipher, sender_hash

_UPSERT = """
INSERT INTO monitors (name, phone_hash, phone_enc, county_code, ward_code, organisation, language)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (phone_hash) DO UPDATE SET
    name = EXCLUDED.name, phone_enc = EXCLUDED.phone_enc, county_code = EXCLUDED.county_code,
    ward_code = EXCLUDED.ward_code, organisation = EXCLUDED.organisation, language = EXCLUDED.language,
    active = true, updated_at = now()
RETURNING (xmax = 0) AS inserted
"""
_AUDIT = "INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4::jsonb)"
_IS_MONITOR = "SELECT id FROM monitors WHERE phone_hash = $1 AND active"


async def import_monitors(pool: asyncpg.Pool, entries: Sequence[MonitorEntry], *, hash_key: str,
                          cipher: ContactCipher, actor: str = "cli") -> tuple[int, int]:
    """Insert or update monitors by phone (all or nothing, audited); (added, updated)."""
    added = updated = 0
    async with pool.acquire() as conn, conn.transaction():
        for e in entries:
            inserted = await conn.fetchval(_UPSERT, e.name, sender_hash(hash_key, e.phone), cipher.encrypt(e.phone),
                                           e.county_code, e.ward_code, e.organisation, e.language)
            added += int(inserted)
            updated += int(not inserted)
        await conn.execute(_AUDIT, actor, "monitors.import", "monitors",
                           json.dumps({"added": added, "updated": updated}))
    return added, updated


async def monitor_id(conn: asyncpg.Connection, phone_hash: str) -> int | None:
    """The active monitor with this phone hash, or None."""
    found: int | None = await conn.fetchval(_IS_MONITOR, phone_hash)
    return found


_HOME_COUNTY = "SELECT county_code FROM monitors WHERE phone_hash = $1 AND active"


async def home_county(conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, phone_hash: str) -> int | None:
    """The registered home county of an active monitor with this number's hash, or None."""
    code: int | None = await conn.fetchval(_HOME_COUNTY, phone_hash)
    return code
