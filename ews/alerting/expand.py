"""Expansion: each new outbox row becomes one rendered delivery per recipient contact, routed to a notifier."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from ews.core.models import Language
from ews.db.repo.outbox import (
    NewDelivery,
    OutboxRow,
    add_delivery,
    direct_contact,
    lock_unexpanded,
    mark_expanded,
)
from ews.db.repo.responders import alert_recipients
from notifiers.render import AlertEvent, render_alert

log = logging.getLogger(__name__)

# Notifier kind -> the contact channels it serves, in EWS_NOTIFIERS order.
Served = Mapping[str, Sequence[str]]


def route(channel: str, preferred: str | None, served: Served) -> str | None:
    """The notifier for a contact: its preferred one when configured for the channel, else the first
    configured notifier serving the channel; None when none does."""
    if preferred is not None and channel in served.get(preferred, ()):
        return preferred
    return next((kind for kind, channels in served.items() if channel in channels), None)


def alert_text(row: OutboxRow, language: Language) -> str:
    """The alert message of an outbox row in `language`."""
    assert row.alert_id is not None and row.event is not None and row.level is not None
    assert row.why_en is not None and row.why_sw is not None
    event = AlertEvent(alert_id=row.alert_id, event=row.event, county_name=row.county_name or "?", level=row.level,
                       why_en=row.why_en, why_sw=row.why_sw)
    return render_alert(event, language)


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
    if row.county_code is None:
        return []
    bodies: dict[Language, str] = {}
    planned = []
    for contact in await alert_recipients(conn, row.county_code):
        notifier = route(contact.channel, contact.notifier, served)
        if notifier is None:
            # The responder is reached on their other channels, if any; this one waits for a notifier.
            log.warning("alert=%s responder=%s contact=%s: no configured notifier sends %s", row.alert_id,
                        contact.responder_id, contact.contact_id, contact.channel)
            continue
        body = bodies.get(contact.language) or bodies.setdefault(contact.language,
                                                                  alert_text(row, contact.language))
        planned.append(NewDelivery(outbox_id=row.id, kind="alert", channel=contact.channel, notifier=notifier,
                                   language=contact.language, body=body, responder_contact_id=contact.contact_id))
    return planned


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
