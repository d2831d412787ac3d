"""Carry out inbound commands (STOP, START, HELP, ACK 12) before intake: recorded once, effect included."""

from __future__ import annotations

import asyncpg

from ews.core.models import Command, CommandOutcome, StorageUnavailable
from ews.core.privacy import sender_hash
from ews.db.repo.commands import acknowledge_alert, earlier_outcome, record_command, set_opted_out, set_outcome

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
_MAX_ALERT_ID = 2**62


class CommandHandler:
    """Records each command with its effect in one transaction; a repeat gets the first outcome again."""

    def __init__(self, pool: asyncpg.Pool, *, sender_key: str) -> None:
        self._pool = pool
        self._sender_key = sender_key

    async def handle(self, command: Command) -> CommandOutcome:
        """Carry out `command` once; StorageUnavailable when it cannot be recorded."""
        hashed = sender_hash(self._sender_key, command.sender)
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                command_id = await record_command(
                    conn, source=command.idempotency_source, external_id=command.external_id,
                    channel=command.channel, kind=command.kind, argument=command.argument, sender_hash=hashed,
                    received_at=command.received_at)
                if command_id is None:  # a gateway's retry: answer as the first time, do nothing again
                    earlier = await earlier_outcome(conn, command.idempotency_source, command.external_id)
                    assert earlier is not None
                    return CommandOutcome(command.kind, earlier[0], command.language, earlier[1])
                reply, alert_id = await self._carry_out(conn, command, hashed)
                await set_outcome(conn, command_id, reply, alert_id)
        except _DB_ERRORS as exc:
            raise StorageUnavailable(type(exc).__name__) from exc
        return CommandOutcome(command.kind, reply, command.language, alert_id)

    async def _carry_out(self, conn: asyncpg.Connection, command: Command, hashed: str) -> tuple[str, int | None]:
        now = command.received_at
        if command.kind == "help":
            return "help", None
        if command.kind in ("stop", "start"):
            await set_opted_out(conn, hashed, opted_out=command.kind == "stop", now=now)
            return ("stopped" if command.kind == "stop" else "started"), None
        alert_id = int(command.argument) if command.argument.isdecimal() else 0
        if 0 < alert_id < _MAX_ALERT_ID and await acknowledge_alert(conn, alert_id=alert_id, phone_hash=hashed,
                                                                    now=now):
            return "acknowledged", alert_id
        # The same answer whether the alert or the responder is unknown: a stranger learns nothing.
        return "ack_unknown", None
