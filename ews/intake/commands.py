"""Carry out inbound commands (STOP, START, HELP, ACK 12, DONE 12) before intake: recorded once, effect included."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

from ews.alerting.acknowledgements import Actor, act_on_alert
from ews.core.models import Command, CommandOutcome, Language, StorageUnavailable
from ews.core.privacy import ContactCipher, sender_hash
from ews.db.repo.acks import responder_by_hash
from ews.db.repo.commands import earlier_outcome, record_command, set_opted_out, set_outcome
from ews.db.repo.monitors import monitor_id
from ews.db.repo.outbox import enqueue_message, keep_reporter_contact
from rules.monitor_format import format_help

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
# What an ACK or DONE did -> the reply kind (ingest/replies.py) and whether the alert number may be quoted.
_ALERT_REPLIES: dict[str, tuple[str, bool]] = {
    "acknowledged": ("acknowledged", True), "resolved": ("resolved", True),
    "already_resolved": ("already_resolved", True), "other_county": ("ack_other_county", True),
    # The same answer whether the alert or the responder is unknown: a stranger learns nothing.
    "unknown": ("ack_unknown", False),
}


@dataclass(frozen=True, slots=True)
class OutboxReplies:
    """Channels whose command replies go through the outbox (AT's answer cannot carry one): channel -> the
    notifier that answers it; the replies' texts; the cipher and how long the address is kept."""

    cipher: ContactCipher
    texts: Callable[[CommandOutcome], Sequence[str]]
    channels: Mapping[str, str] = field(default_factory=dict)
    retention: timedelta = timedelta(days=30)


class CommandHandler:
    """Records each command with its effect in one transaction; a repeat gets the first outcome again."""

    def __init__(self, pool: asyncpg.Pool, *, sender_key: str, replies: OutboxReplies | None = None,
                 on_queued: Callable[[], None] = lambda: None) -> None:
        self._pool = pool
        self._sender_key = sender_key
        self._replies = replies
        self._on_queued = on_queued  # wakes the dispatcher (a reply was queued) and the planner (an ack)

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
                    language = await self._reply_language(conn, command, hashed)
                    return CommandOutcome(command.kind, earlier[0], language, earlier[1])
                reply, alert_id, language, notified = await self._carry_out(conn, command, hashed)
                await set_outcome(conn, command_id, reply, alert_id)
                outcome = CommandOutcome(command.kind, reply, language, alert_id,
                                         texts=tuple(format_help(command.language)) if reply == "monitor_help" else ())
                queued = await self._queue_reply(conn, command, outcome) or notified
        except _DB_ERRORS as exc:
            raise StorageUnavailable(type(exc).__name__) from exc
        # An ACK or DONE also stops the alert's escalation: the planner (woken with the dispatcher) does it now.
        if queued or command.kind in ("ack", "resolve"):
            self._on_queued()
        return outcome

    async def _queue_reply(self, conn: asyncpg.Connection, command: Command, outcome: CommandOutcome) -> bool:
        """Queue the reply in the command's transaction, for channels that cannot answer in the response."""
        replies = self._replies
        # After STOP nothing more goes to them, not even a confirmation (the outbox would drop it anyway).
        if replies is None or command.channel not in replies.channels or outcome.reply == "stopped" \
                or not command.sender:
            return False
        now = command.received_at
        contact = await keep_reporter_contact(conn, hash_key=self._sender_key, cipher=replies.cipher,
                                              address=command.sender, channel="sms", language=outcome.language,
                                              now=now, expires_at=now + replies.retention,
                                              notifier=replies.channels[command.channel])
        kind = "ack_confirmation" if command.kind in ("ack", "resolve") else "receipt"
        for text in replies.texts(outcome):
            await enqueue_message(conn, kind=kind, body=text, language=outcome.language, now=now,
                                  reporter_contact_id=contact, link_id=command.link_id)
        return True

    async def _reply_language(self, conn: asyncpg.Connection, command: Command, hashed: str) -> Language:
        """A responder is answered in their directory language; anyone else in their keyword's."""
        if command.kind not in ("ack", "resolve"):
            return command.language
        responder = await responder_by_hash(conn, hashed)
        return responder.language if responder is not None else command.language

    async def _carry_out(self, conn: asyncpg.Connection, command: Command,
                         hashed: str) -> tuple[str, int | None, Language, bool]:
        """(reply kind, alert quoted, reply language, whether messages to others were queued)."""
        now = command.received_at
        if command.kind == "help":
            # A registered monitor is answered with the structured format and the 14 type numbers.
            helped = "monitor_help" if await monitor_id(conn, hashed) is not None else "help"
            return helped, None, command.language, False
        if command.kind in ("stop", "start"):
            await set_opted_out(conn, hashed, opted_out=command.kind == "stop", now=now)
            return ("stopped" if command.kind == "stop" else "started"), None, command.language, False
        responder = await responder_by_hash(conn, hashed)
        alert_id = int(command.argument) if command.argument.isascii() and command.argument.isdigit() else 0
        acted = await act_on_alert(conn, alert_id=alert_id, action="ack" if command.kind == "ack" else "resolve",
                                   actor=Actor(responder=responder, sender_hash=hashed, via=command.channel),
                                   now=now)
        reply, quoted = _ALERT_REPLIES[acted.outcome]
        language = responder.language if responder else command.language
        return reply, alert_id if quoted else None, language, acted.notified > 0
