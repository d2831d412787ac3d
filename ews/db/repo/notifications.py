"""What the notification planner reads and writes: open alerts with their labels, the alerts a message tells
of, the contacts a receiver stands for, and one outbox row per planned message. Rows only: what to send and
to whom is decided in ews/alerting/."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ews.core.models import Language, Level
from ews.db.repo.reports import Connection

# One planner at a time across every process (the notification log is read, decided on, then written);
# taken for the planning transaction, so a crash releases it. A second planner waits rather than skips: what
# woke it (a level change) may be newer than what the first one read.
PLANNER_LOCK = 0x45575321  # "EWS!"
_LOCK = "SELECT pg_advisory_xact_lock($1)"

# An alert's contributing reports are sensitive when any is flagged or typed as sexual or gender-based
# violence; an sgbv alert always is.
_SENSITIVE = """
(a.grp = 'sgbv' OR EXISTS (
    SELECT 1 FROM jsonb_array_elements(coalesce(a.explanation -> 'contributing', '[]'::jsonb)) u
    JOIN reports r ON r.id = CASE WHEN u ->> 'report' ~ '^EWS-[0-9]{1,18}$'
                                  THEN substr(u ->> 'report', 5)::bigint END
    WHERE r.sensitive OR r.incident_type IS NOT DISTINCT FROM 'sgbv'))
"""
# Open: the engine has not closed it and no responder said it is dealt with.
_OPEN = f"""
SELECT a.id, a.county_code, a.level, a.rule, a.grp, a.opened_at, {_SENSITIVE} AS sensitive,
       e.alert_id IS NOT NULL AS escalating, a.acknowledged_at IS NOT NULL AS acknowledged
FROM alerts a LEFT JOIN alert_escalations e ON e.alert_id = a.id
WHERE a.closed_at IS NULL AND a.resolved_at IS NULL AND a.level > 0
ORDER BY a.id
"""  # noqa: S608 - built from constants only


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An open alert as routing reads it, and whether its escalation has started."""

    id: int
    county_code: int
    level: Level
    rule: str
    group: str
    opened_at: datetime
    sensitive: bool
    escalating: bool
    acknowledged: bool


_IS_SENSITIVE = f"SELECT {_SENSITIVE} FROM alerts a WHERE a.id = $1"  # noqa: S608 - built from constants only


async def is_sensitive(conn: Connection | asyncpg.Pool, alert_id: int) -> bool:
    """Whether an alert is on sexual violence or counts a sensitive report (its `sensitive` label)."""
    return bool(await conn.fetchval(_IS_SENSITIVE, alert_id))


async def open_alerts(conn: Connection) -> list[OpenAlert]:
    """Every open alert, oldest first."""
    return [OpenAlert(r["id"], r["county_code"], Level(r["level"]), r["rule"], r["grp"], r["opened_at"],
                      r["sensitive"], r["escalating"], r["acknowledged"]) for r in await conn.fetch(_OPEN)]


async def planner_lock(conn: Connection) -> None:
    """Take the planner's lock for this transaction, waiting while another process plans."""
    await conn.execute(_LOCK, PLANNER_LOCK)


_ENQUEUE = """
INSERT INTO outbox (kind, alert_id, alert_ids, alert_levels, receiver, receiver_spec, group_key, fingerprint,
                    notice, reason, tier, created_at)
VALUES ('alert', ($1::bigint[])[1], $1::bigint[], $2::jsonb, $3, $4::jsonb, $5, $6, $7, $8, $9, $10)
RETURNING id
"""


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """One message to one receiver about a group of alerts (the first alert is the most severe)."""

    receiver: str
    receiver_spec: dict[str, Any]
    group_key: str
    fingerprint: str
    notice: str  # firing | resolved | escalation
    reason: str  # new | changed | repeat | resolved | tier
    alerts: Sequence[tuple[int, str, str | None]]  # (alert id, level as planned, level told before or None)
    tier: int | None = None


async def enqueue_planned(conn: Connection, message: PlannedMessage, *, now: datetime) -> int:
    """Queue a planned message in the caller's transaction; its outbox id."""
    outbox_id: int = await conn.fetchval(
        _ENQUEUE, [a[0] for a in message.alerts], json.dumps([list(a) for a in message.alerts]), message.receiver,
        json.dumps(message.receiver_spec), message.group_key, message.fingerprint, message.notice, message.reason,
        message.tier, now)
    return outbox_id


_TOLD = f"""
SELECT a.id, a.county_code, c.name AS county_name, a.level, a.grp, a.opened_at, a.explanation, {_SENSITIVE} AS sensitive
FROM alerts a JOIN counties c ON c.code = a.county_code
WHERE a.id = ANY($1::bigint[])
"""  # noqa: S608 - built from constants only


@dataclass(frozen=True, slots=True)
class ToldAlert:
    """An alert as a message renders it: where, what, since when, why and its stored explanation."""

    id: int
    county_code: int
    county_name: str
    level: Level
    group: str
    opened_at: datetime
    sensitive: bool
    explanation: dict[str, Any]


async def told_alerts(conn: Connection, alert_ids: Sequence[int]) -> dict[int, ToldAlert]:
    """The alerts a message tells of, by id."""
    found = {}
    for r in await conn.fetch(_TOLD, list(alert_ids)):
        raw = r["explanation"]
        explanation = (json.loads(raw) if isinstance(raw, str) else raw) or {}
        found[r["id"]] = ToldAlert(r["id"], r["county_code"], r["county_name"], Level(r["level"]), r["grp"],
                                   r["opened_at"], r["sensitive"], explanation)
    return found


# A receiver is a group of responders: by role (none named: every role), by county (the alerts' own
# counties, the national ones, or one named county), reached on one channel.
_CONTACTS = """
SELECT c.id, r.id AS responder_id, r.role, c.channel, c.notifier, r.language
FROM responders r JOIN responder_contacts c ON c.responder_id = r.id
WHERE r.active AND c.active AND c.channel = $1
  AND (cardinality($2::text[]) = 0 OR r.role = ANY($2::text[]))
  AND CASE $3::text WHEN 'alert' THEN r.county_code = ANY($4::smallint[])
                    WHEN 'national' THEN r.county_code IS NULL
                    ELSE r.county_code::text = $3 END
ORDER BY r.id, c.id
"""


@dataclass(frozen=True, slots=True)
class ReceiverContact:
    """One contact a receiver stands for."""

    contact_id: int
    responder_id: int
    role: str
    channel: str
    notifier: str | None
    language: Language


async def receiver_contacts(conn: Connection, spec: dict[str, Any], counties: Sequence[int]) -> list[ReceiverContact]:
    """The active contacts of the responders a receiver (as planned) stands for, for alerts in `counties`."""
    rows = await conn.fetch(_CONTACTS, spec["channel"], list(spec.get("roles", ())), str(spec.get("county", "alert")),
                            list(counties))
    return [ReceiverContact(r["id"], r["responder_id"], r["role"], r["channel"], r["notifier"], r["language"])
            for r in rows]
