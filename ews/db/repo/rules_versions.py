"""Activated rules files: store a version (with its audit row), list them, read one, the active one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ews.db.repo.reports import Connection

_ACTIVATE = """
INSERT INTO rules_versions (version, sha256, body, rules, activated_by, activated_at, note)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"
_HISTORY = """
SELECT id, version, sha256, body, rules, activated_by, activated_at, note FROM rules_versions
ORDER BY activated_at DESC, id DESC
"""
_ONE = "SELECT id, version, sha256, body, rules, activated_by, activated_at, note FROM rules_versions WHERE id = $1"


@dataclass(frozen=True, slots=True)
class RulesVersion:
    """One activation of a rules file: its id (V1, V2, ...), the file's version and text, who and when."""

    id: int
    version: str
    sha256: str
    body: str
    rules: int
    activated_by: str
    activated_at: datetime
    note: str


async def activate(conn: Connection, *, version: str, sha256: str, body: str, rules: int, by: str, note: str,
                   now: datetime) -> int:
    """Store a checked rules file as the active version, audited in the same transaction; its id."""
    async with conn.transaction():
        version_id: int = await conn.fetchval(_ACTIVATE, version, sha256, body, rules, by, now, note)
        detail = {"version": version, "sha256": sha256, "rules": rules, "note": note}
        await conn.execute(_AUDIT, now, by, "rules.activated", f"rules:{version_id}", json.dumps(detail))
    return version_id


async def history(conn: Connection) -> list[RulesVersion]:
    """Every activation, newest first (the first is the active version)."""
    return [RulesVersion(**dict(r)) for r in await conn.fetch(_HISTORY)]


async def version_by_id(conn: Connection, version_id: int) -> RulesVersion | None:
    """One activation by its id, or None."""
    row = await conn.fetchrow(_ONE, version_id)
    return RulesVersion(**dict(row)) if row is not None else None
