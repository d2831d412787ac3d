"""Partner API tokens (stored as hashes) and the first answer to each Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

TOKEN_PREFIX = "ews_pt_"  # noqa: S105 - not a secret: so a leaked token is recognisable (secret scanners, logs)


def token_hash(token: str) -> str:
    """SHA-256 of a token: tokens are 256 random bits, so no key is needed to make the hash irreversible."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class PartnerToken:
    """One issued token, as listed (never the token itself)."""

    id: int
    partner: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


_CREATE = """
INSERT INTO partner_tokens (partner, token_hash, hint, created_at) VALUES ($1, $2, $3, $4) RETURNING id
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"


async def create_token(pool: asyncpg.Pool, partner: str, *, now: datetime, actor: str = "cli") -> tuple[int, str]:
    """Issue a token for `partner`: (id, token). The token is returned once and only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with pool.acquire() as conn, conn.transaction():
        token_id = await conn.fetchval(_CREATE, partner, token_hash(token), token[:len(TOKEN_PREFIX) + 4], now)
        await conn.execute(_AUDIT, now, actor, "partner_token.created", f"partner_token:{token_id}",
                           json.dumps({"partner": partner}))
    return token_id, token


_LIST = """
SELECT id, partner, hint, created_at, revoked_at, last_used_at FROM partner_tokens ORDER BY id
"""


async def list_tokens(pool: asyncpg.Pool) -> list[PartnerToken]:
    """Every token ever issued, revoked ones too, oldest first."""
    return [PartnerToken(**dict(row)) for row in await pool.fetch(_LIST)]


_REVOKE = """
UPDATE partner_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING partner
"""


async def revoke_token(pool: asyncpg.Pool, token_id: int, *, now: datetime, actor: str = "cli") -> bool:
    """Revoke a token at once (audited); False when there is no such live token."""
    async with pool.acquire() as conn, conn.transaction():
        partner = await conn.fetchval(_REVOKE, token_id, now)
        if partner is None:
            return False
        await conn.execute(_AUDIT, now, actor, "partner_token.revoked", f"partner_token:{token_id}",
                           json.dumps({"partner": partner}))
    return True


# last_used_at is refreshed at most once a minute per token, so a busy partner does not write on every call.
_PARTNER_FOR = """
WITH t AS (SELECT id, partner FROM partner_tokens WHERE token_hash = $1 AND revoked_at IS NULL)
UPDATE partner_tokens p SET last_used_at = $2 FROM t
WHERE p.id = t.id AND (p.last_used_at IS NULL OR p.last_used_at < $2::timestamptz - interval '1 minute')
RETURNING t.partner
"""
_PARTNER_ONLY = "SELECT partner FROM partner_tokens WHERE token_hash = $1 AND revoked_at IS NULL"


async def partner_for_token(pool: asyncpg.Pool, token: str, *, now: datetime) -> str | None:
    """The partner a live token belongs to, or None (unknown or revoked)."""
    digest = token_hash(token)
    partner: str | None = await pool.fetchval(_PARTNER_FOR, digest, now)
    if partner is None:
        partner = await pool.fetchval(_PARTNER_ONLY, digest)
    return partner


@dataclass(frozen=True, slots=True)
class FirstAnswer:
    """The answer given the first time a partner used an Idempotency-Key, and what body it was for."""

    body_hash: str
    status: int
    response: dict[str, Any]


_FIND_ANSWER = """
SELECT body_hash, status, response FROM partner_requests WHERE partner = $1 AND idempotency_key = $2
"""
_KEEP_ANSWER = """
INSERT INTO partner_requests (partner, idempotency_key, body_hash, status, response, created_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (partner, idempotency_key) DO NOTHING
"""


async def first_answer(pool: asyncpg.Pool, partner: str, key: str) -> FirstAnswer | None:
    """The answer kept for this partner's key, or None when the key is new."""
    row = await pool.fetchrow(_FIND_ANSWER, partner, key)
    if row is None:
        return None
    return FirstAnswer(row["body_hash"], row["status"], json.loads(row["response"]))


async def keep_answer(pool: asyncpg.Pool, partner: str, key: str, answer: FirstAnswer, *,
                      now: datetime) -> FirstAnswer:
    """Keep `answer` as the key's first answer; when a concurrent request kept one first, that one."""
    await pool.execute(_KEEP_ANSWER, partner, key, answer.body_hash, answer.status, json.dumps(answer.response), now)
    kept = await first_answer(pool, partner, key)
    assert kept is not None
    return kept
