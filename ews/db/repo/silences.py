"""Silences: add (audited), list, the ones still in force, lock one, store its expiry (audited). Never
deleted. Matchers are stored as [{"label", "op", "value"}]; ews/alerting/noise.py turns rows into Silences."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

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


@dataclass(frozen=True, slots=True)
class SilenceRow:
    """A silences row, matchers as stored."""

    id: int
    matchers: list[dict[str, str]]
    starts_at: datetime
    ends_at: datetime
    author: str
    reason: str
    created_at: datetime
    expired_by: str | None
    expired_at: datetime | None


def _row(row: asyncpg.Record) -> SilenceRow:
    data: dict[str, Any] = dict(row)
    raw = data["matchers"]
    data["matchers"] = json.loads(raw) if isinstance(raw, str) else raw
    return SilenceRow(**data)


async def insert_silence(conn: Connection, *, matchers: list[dict[str, str]], starts_at: datetime,
                         ends_at: datetime, author: str, reason: str, via: str, now: datetime) -> SilenceRow:
    """Store a silence and its audit row in one transaction."""
    async with conn.transaction():
        row = _row(await conn.fetchrow(_ADD, json.dumps(matchers), starts_at, ends_at, author, reason, now))
        detail = {"matchers": [f"{m['label']} {m['op']} {m['value']}" for m in matchers],
                  "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "reason": reason, "via": via}
        await conn.execute(_AUDIT, now, author, "silence.created", f"silence:{row.id}", json.dumps(detail))
    return row


async def silences_in_force(conn: Connection, now: datetime) -> list[SilenceRow]:
    """Silences that have not ended at `now` (active or pending), oldest first: what routing must consult."""
    return [_row(r) for r in await conn.fetch(_IN_FORCE, now)]


async def all_silences(conn: Connection, limit: int = 500) -> list[SilenceRow]:
    """Every silence, ended ones too, newest first."""
    return [_row(r) for r in await conn.fetch(_ALL, limit)]


async def lock_silence(conn: Connection, silence_id: int) -> SilenceRow | None:
    """One silence, locked until the transaction ends (to expire it), or None."""
    row = await conn.fetchrow(_LOCK, silence_id)
    return _row(row) if row is not None else None


async def store_expiry(conn: Connection, silence_id: int, *, starts_at: datetime, by: str, via: str,
                       now: datetime) -> SilenceRow:
    """Store that a silence was expired at `now` by `by` (ends_at = now), with its audit row."""
    row = _row(await conn.fetchrow(_EXPIRE, silence_id, starts_at, now, by))
    detail = {"matchers": [f"{m['label']} {m['op']} {m['value']}" for m in row.matchers], "via": via}
    await conn.execute(_AUDIT, now, by, "silence.expired", f"silence:{silence_id}", json.dumps(detail))
    return row
