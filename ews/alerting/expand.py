"""Expansion: each new outbox row becomes one rendered delivery per recipient contact, routed to a notifier.

An alert row is one planned message to one receiver (ews/alerting/planner.py): its contacts are the
responders the receiver stands for, each told in their language, sensitive details only to cleared roles."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from ews.alerting.directory import CLEARED_ROLES
from ews.core.models import Language, Level
from ews.db.repo.notifications import ToldAlert, receiver_contacts, told_alerts
from ews.db.repo.outbox import (
    NewDelivery,
    OutboxRow,
    add_delivery,
    direct_contact,
    lock_unexpanded,
    mark_expanded,
)
from notifiers.render import AlertLine, GroupMessage, render_email, render_sms

log = logging.getLogger(__name__)

# Notifier kind -> the contact channels it serves, in EWS_NOTIFIERS order.
Served = Mapping[str, Sequence[str]]


def route(channel: str, preferred: str | None, served: Served) -> str | None:
    """The notifier for a contact: its preferred one when configured for the channel, else the first
    configured notifier serving the channel; None when none does."""
    if preferred is not None and channel in served.get(preferred, ()):
        return preferred
    return next((kind for kind, channels in served.items() if channel in channels), None)


async def expand_outbox(pool: asyncpg.Pool, *, served: Served, now: datetime, limit: int = 100) -> tuple[int, int]:
    """Turn new outbox rows into deliveries; (messages, deliveries) created. Rows are locked while expanded,
    so several processes expand side by side without doing a row twice."""
    messages = deliveries = 0
    async with pool.acquire() as conn, conn.transaction():
        for row in await lock_unexpanded(conn, limit):
            planned = await (_alert(conn, row, served) if row.kind == "alert" else _direct(conn, row, served))
            for delivery in planned:
                await add_delivery(conn, delivery, now=now)
            await mark_expanded(conn, row.id, now=now)
            messages += 1
            deliveries += len(planned)
    return messages, deliveries


async def _alert(conn: asyncpg.Connection, row: OutboxRow, served: Served) -> list[NewDelivery]:
    if not row.alert_levels or row.receiver_spec is None or row.notice is None:
        return []  # written by the engine before the planner (migration 0023): nothing more to send
    told = await told_alerts(conn, [a[0] for a in row.alert_levels])
    message = group_message(row, told)
    if message is None:
        return []
    counties = sorted({told[a.alert_id].county_code for a in message.alerts})
    bodies: dict[tuple[str, Language, bool], str] = {}
    planned = []
    for contact in await receiver_contacts(conn, row.receiver_spec, counties):
        notifier = route(contact.channel, contact.notifier, served)
        if notifier is None:
            # The responder is reached on their other channels, if any; this one waits for a notifier.
            log.warning("alert=%s responder=%s contact=%s: no configured notifier sends %s", row.alert_id,
                        contact.responder_id, contact.contact_id, contact.channel)
            continue
        cleared = contact.role in CLEARED_ROLES
        key = (contact.channel, contact.language, cleared)
        if key not in bodies:
            bodies[key] = message_text(message, contact.channel, contact.language, cleared=cleared, told=told)
        planned.append(NewDelivery(outbox_id=row.id, kind="alert", channel=contact.channel, notifier=notifier,
                                   language=contact.language, body=bodies[key],
                                   responder_contact_id=contact.contact_id))
    return planned


def group_message(row: OutboxRow, told: Mapping[int, ToldAlert]) -> GroupMessage | None:
    """The message an outbox row plans, from the alerts as stored now (None: they are gone)."""
    assert row.alert_levels is not None
    lines = []
    for alert_id, level, before in row.alert_levels:
        alert = told.get(alert_id)
        if alert is None:
            continue
        why = alert.explanation.get("why") or {}
        lines.append(AlertLine(
            alert_id=alert_id, county_name=alert.county_name,
            level=Level.NORMAL if row.notice == "resolved" else Level[level], group=alert.group,
            why_en=str(why.get("en") or ""), why_sw=str(why.get("sw") or ""), opened_at=alert.opened_at,
            sensitive=alert.sensitive,
            previous_level=Level[before] if before is not None and before in Level.__members__ else None))
    if not lines:
        return None
    waited = row.created_at - min(a.opened_at for a in told.values()) if row.notice == "escalation" else None
    return GroupMessage(kind=row.notice, alerts=tuple(lines), tier=row.tier or 1,  # type: ignore[arg-type]
                        waited=waited)


def message_text(message: GroupMessage, channel: str, language: Language, *, cleared: bool,
                 told: Mapping[int, ToldAlert]) -> str:
    """What one recipient reads: an SMS within two segments, or an email that adds each alert's explanation
    (the email notifier makes its subject from the first sentence, the same headline)."""
    if channel != "email":
        return render_sms(message, language, cleared=cleared)
    _subject, body = render_email(message, language, cleared=cleared,
                                  explanations={i: a.explanation for i, a in told.items()})
    return body


async def _direct(conn: asyncpg.Connection, row: OutboxRow, served: Served) -> list[NewDelivery]:
    assert row.body is not None and row.language is not None
    contact = await direct_contact(conn, row)
    if contact is None:
        log.warning("outbox=%s kind=%s: its recipient is gone, deactivated or opted out; nothing to send", row.id,
                    row.kind)
        return []
    notifier = route(contact.channel, contact.notifier, served)
    # Nobody else would reach this recipient: a message no notifier can send is a dead letter, visible.
    return [NewDelivery(outbox_id=row.id, kind=row.kind, channel=contact.channel, notifier=notifier or "none",
                        language=row.language, body=row.body, responder_contact_id=row.responder_contact_id,
                        reporter_contact_id=row.reporter_contact_id,
                        dead_reason=None if notifier else f"no configured notifier sends {contact.channel}")]
