"""Key fingerprints: a database filled under one EWS_SENDER_KEY / EWS_CONTACT_KEY refuses any other."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import asyncpg

from ews.core.privacy import ContactCipher, sender_hash


class KeyMismatch(ValueError):
    """The configured keys are not the ones this database was filled with."""


# What a start with the wrong key would break, and what to do about it.
_CONSEQUENCE = {
    "sender_key": "phone hashes would no longer match, silently breaking duplicate detection, flood "
                  "control, reporter trust and matching responders' replies",
    "contact_key": "the responders' stored numbers could not be decrypted, so no alert could be sent",
}
_ENV = {"sender_key": "EWS_SENDER_KEY", "contact_key": "EWS_CONTACT_KEY"}


def fingerprint(name: str, key: str) -> str:
    """HMAC-SHA256 of a fixed label under the key: identifies the key without revealing it."""
    return hmac.new(key.encode(), f"ews {name} fingerprint v1".encode(), hashlib.sha256).hexdigest()


_LOCK = "LOCK TABLE service_keys IN SHARE ROW EXCLUSIVE MODE"
_STORED = "SELECT name, fingerprint, created_at FROM service_keys"
_STORE = "INSERT INTO service_keys (name, fingerprint) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
# A database from before fingerprints: one responder carries a hash under the sender key and a ciphertext
# under the contact key of the same number, which checks both keys.
_A_RESPONDER = """
SELECT address_hash AS phone_hash, address_enc AS phone_enc, created_at FROM responder_contacts
WHERE channel = 'sms' ORDER BY id LIMIT 1
"""


async def check_keys(conn: asyncpg.Connection, *, sender_key: str, contact_key: str) -> None:
    """Refuse keys other than the database's (KeyMismatch); on first use, store their fingerprints."""
    keys = {"sender_key": sender_key, "contact_key": contact_key}
    async with conn.transaction():
        await conn.execute(_LOCK)  # two first starts with different keys must not both store theirs
        stored = {row["name"]: row for row in await conn.fetch(_STORED)}
        wrong: dict[str, datetime | None] = {
            name: stored[name]["created_at"] for name, key in keys.items()
            if name in stored and not hmac.compare_digest(stored[name]["fingerprint"], fingerprint(name, key))}
        if len(stored) < len(keys) and not wrong:
            wrong = await _check_against_a_responder(conn, sender_key, contact_key)
        if wrong:
            raise KeyMismatch(_explain(wrong))
        for name, key in keys.items():
            await conn.execute(_STORE, name, fingerprint(name, key))


async def _check_against_a_responder(conn: asyncpg.Connection, sender_key: str,
                                     contact_key: str) -> dict[str, datetime | None]:
    row = await conn.fetchrow(_A_RESPONDER)
    if row is None:
        return {}
    try:
        phone = ContactCipher(contact_key).decrypt(row["phone_enc"])
    except ValueError:
        return {"contact_key": row["created_at"]}
    if not hmac.compare_digest(sender_hash(sender_key, phone), row["phone_hash"]):
        return {"sender_key": row["created_at"]}
    return {}


def _explain(wrong: dict[str, datetime | None]) -> str:
    parts = []
    for name, since in wrong.items():
        when = f" (in use since {since:%Y-%m-%d %H:%M} UTC)" if since else ""
        parts.append(f"{_ENV[name]} is not the key this database was filled with{when}: with it, "
                     f"{_CONSEQUENCE[name]}.")
    return (" ".join(parts) + " Refusing to start. Set the original key (in EWS_SENDER_KEY / EWS_CONTACT_KEY, "
            "or keep the keys.json of the data directory first used with this database), or point "
            "EWS_DATABASE_URL at a new, empty database.")
