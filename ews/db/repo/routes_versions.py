"""Activated routing files, stored as the rules are: store a version (audited), list them, read one, the
active one (the latest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ews.db.repo.reports import Connection

_ACTIVATE = """
INSERT INTO routes_versions (sha256, body, receivers, activated_by, activated_at, note)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"
_HISTORY = """
SELECT id, sha256, body, receivers, activated_by, activated_at, note FROM routes_versions
ORDER BY activated_at DESC, id DESC
"""
_ACTIVE = _HISTORY + " LIMIT 1"
_ONE = "SELECT id, sha256, body, receivers, activated_by, activated_at, note FROM routes_versions WHERE id = $1"


@dataclass(frozen=True, slots=True)
class RoutesVersion:
    """One activation of a routing file: its id (R1, R2, ...), text, who and when."""

    id: int
    sha256: str
    body: str
    receivers: int
    activated_by: str
    activated_at: datetime
    note: str


async def activate_routes(conn: Connection, *, sha256: str, body: str, receivers: int, by: str, note: str,
                          now: datetime) -> int:
    """Store a checked routing file as the active version, audited in the same transaction; its id."""
    async with conn.transaction():
        version_id: int = await conn.fetchval(_ACTIVATE, sha256, body, receivers, by, now, note)
        detail = {"sha256": sha256, "receivers": receivers, "note": note}
        await conn.execute(_AUDIT, now, by, "routes.activated", f"routes:{version_id}", json.dumps(detail))
    return version_id


async def routes_history(conn: Connection) -> list[RoutesVersion]:
    """Every activation, newest first (the first is the active version)."""
    return [RoutesVersion(**dict(r)) for r in await conn.fetch(_HISTORY)]


async def active_routes(conn: Connection) -> RoutesVersion | None:
    """The active routing file (the latest activated), or None when none was activated."""
    row = await conn.fetchrow(_ACTIVE)
    return RoutesVersion(**dict(row)) if row is not None else None


async def routes_version(conn: Connection, version_id: int) -> RoutesVersion | None:
    """One activation by its id, or None."""
    row = await conn.fetchrow(_ONE, version_id)
    return RoutesVersion(**dict(row)) if row is not None else None
