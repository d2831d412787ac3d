"""Silences: add (audited), list, the ones still in force, expire (audited). Never deleted."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from ews.alerting.routes import Matcher
from ews.alerting.silences import Silence, SilenceEnded, expired, matchers_from_json, matchers_json
from ews.db.repo.reports import Connection

_ADD = """
INSERT INTO silences (matchers, starts_at, ends_at, author, reason, created_at)
VALUES ($1::jsonb, $2, $3, $4, $5, $6)
RETURNING id, matchers, starts_at, ends_at, author, reason, created_at, expired_by, expired_at
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"
# Pending and active ones (ends_at in the future), for the routing decision and `ews silences list`.
_IN_FORCE = """
SELECT id, matchers, starts_at, ends_at, author, reason, created_at, expired_by, expired_at
FROM silences WHERE ends_at > $1 ORDER BY id
"""
_ALL = """
SELECT id, matchers, starts_at, ends_at, author, reason, created_at, expired_by, expired_at
FROM silences ORDER BY id DESC LIMIT $1
"""
_LOCK = """
SELECT id, matchers, starts_at, ends_at, author, reason, created_at, expired_by, expired_at
FROM silences WHERE id = $1 FOR UPDATE
"""
_EXPIRE = """
UPDATE silences SET starts_at = $2, ends_at = $3, expired_by = $4, expired_at = $3 WHERE id = $1
RETURNING id, matchers, starts_at, ends_at, author, reason, created_at, expired_by, expired_at
"""


def _silence(row: asyncpg.Record) -> Silence:
    raw = row["matchers"]
    data = dict(row)
    data["matchers"] = matchers_from_json(json.loads(raw) if isinstance(raw, str) else raw)
    return Silence(**data)


async def add_silence(conn: Connection, *, matchers: tuple[Matcher, ...], starts_at: datetime, ends_at: datetime,
                      author: str, reason: str, via: str, now: datetime) -> Silence:
    """Store a silence and its audit row in one transaction."""
    async with conn.transaction():
        row = await conn.fetchrow(_ADD, json.dumps(matchers_json(matchers)), starts_at, ends_at, author, reason, now)
        silence = _silence(row)
        detail = {"matchers": [str(m) for m in matchers], "starts_at": starts_at.isoformat(),
                  "ends_at": ends_at.isoformat(), "reason": reason, "via": via}
        await conn.execute(_AUDIT, now, author, "silence.created", f"silence:{silence.id}", json.dumps(detail))
    return silence


async def silences_in_force(conn: Connection, now: datetime) -> list[Silence]:
    """Silences that have not ended at `now` (active or pending), oldest first: what routing must consult."""
    return [_silence(r) for r in await conn.fetch(_IN_FORCE, now)]


async def all_silences(conn: Connection, limit: int = 500) -> list[Silence]:
    """Every silence, ended ones too, newest first."""
    return [_silence(r) for r in await conn.fetch(_ALL, limit)]


async def expire_silence(conn: Connection, silence_id: int, *, by: str, via: str, now: datetime) -> Silence | None:
    """Expire a silence now, audited; None when there is no such silence, SilenceEnded when it already ended."""
    async with conn.transaction():
        row = await conn.fetchrow(_LOCK, silence_id)
        if row is None:
            return None
        done = expired(_silence(row), by=by, now=now)
        stored = _silence(await conn.fetchrow(_EXPIRE, silence_id, done.starts_at, now, by))
        detail = {"matchers": [str(m) for m in stored.matchers], "via": via}
        await conn.execute(_AUDIT, now, by, "silence.expired", f"silence:{silence_id}", json.dumps(detail))
    return stored


__all__ = ["SilenceEnded", "add_silence", "all_silences", "expire_silence", "silences_in_force"]
