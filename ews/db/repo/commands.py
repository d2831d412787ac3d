"""Inbound commands: recorded once per (source, external_id), with their effect in the same transaction."""

from __future__ import annotations

from datetime import datetime

import asyncpg

# A concurrent repeat of the same key waits here for the first one's commit, then finds it: the effect
# below runs once per key.
_RECORD = """
INSERT INTO inbound_commands (source, external_id, channel, kind, argument, sender_hash, received_at, outcome)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')
ON CONFLICT ON CONSTRAINT inbound_commands_one_per_source_external_id DO NOTHING
RETURNING id
"""
_OUTCOME = "UPDATE inbound_commands SET outcome = $2, alert_id = $3 WHERE id = $1"
_EARLIER = "SELECT outcome, alert_id FROM inbound_commands WHERE source = $1 AND external_id = $2"
_OPT_OUT = "INSERT INTO opt_outs (sender_hash, since) VALUES ($1, $2) ON CONFLICT DO NOTHING"
_OPT_IN = "DELETE FROM opt_outs WHERE sender_hash = $1"


async def earlier_outcome(conn: asyncpg.Connection, source: str, external_id: str) -> tuple[str, int | None] | None:
    """What a command already recorded under this key did (a gateway's retry), or None."""
    row = await conn.fetchrow(_EARLIER, source, external_id)
    return (row["outcome"], row["alert_id"]) if row else None


async def record_command(conn: asyncpg.Connection, *, source: str, external_id: str, channel: str, kind: str,
                         argument: str, sender_hash: str, received_at: datetime) -> int | None:
    """Store a new command and return its id; None when one with this key was stored already."""
    command_id: int | None = await conn.fetchval(_RECORD, source, external_id, channel, kind, argument,
                                                 sender_hash, received_at)
    return command_id


async def set_outcome(conn: asyncpg.Connection, command_id: int, outcome: str, alert_id: int | None) -> None:
    """Record what a command did."""
    await conn.execute(_OUTCOME, command_id, outcome, alert_id)


async def set_opted_out(conn: asyncpg.Connection, sender_hash: str, *, opted_out: bool, now: datetime) -> None:
    """Record that a sender asked for no more messages, or asked for them again."""
    if opted_out:
        await conn.execute(_OPT_OUT, sender_hash, now)
    else:
        await conn.execute(_OPT_IN, sender_hash)

