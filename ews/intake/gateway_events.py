"""Delivery reports and opt-out notices from a gateway: move deliveries forward, feed the suppression list."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import asyncpg

from ews.core.clock import utcnow
from ews.core.models import DeliveryReport, StorageUnavailable
from ews.core.privacy import sender_hash
from ews.db.repo.delivery_reports import advance_delivery, opt_out_hash, opt_out_recipient

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


class GatewayEvents:
    """What the gateways tell us after the fact, for the messages their notifiers sent."""

    def __init__(self, pool: asyncpg.Pool, *, sender_key: str, notifiers: Mapping[str, str],
                 on_gateway_gave_up: Callable[[int], None] = lambda _id: None) -> None:
        self._pool = pool
        self._sender_key = sender_key
        self._notifiers = dict(notifiers)  # the channel a report comes in on -> the notifier that sent
        # A responder's message the gateway accepted and then could not deliver: the dispatcher may give it
        # to the next gateway (ews/alerting/dispatch.py).
        self._on_gateway_gave_up = on_gateway_gave_up

    async def delivery_report(self, report: DeliveryReport) -> bool:
        """Move the delivery forward (never back), dead-letter it on a permanent failure; a blocked
        recipient goes on the suppression list. One rule for every gateway."""
        notifier = self._notifiers.get(report.channel)
        if notifier is None:
            return False
        now = utcnow()
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                moved = await advance_delivery(conn, notifier=notifier, provider_id=report.provider_id,
                                               status=report.status, rank=report.rank, reason=report.reason,
                                               now=now, permanent=report.permanent)
                if report.opted_out:
                    await opt_out_recipient(conn, notifier=notifier, provider_id=report.provider_id,
                                            reason="delivery_report", now=now)
                    if report.address:
                        await opt_out_hash(conn, sender_hash(self._sender_key, report.address),
                                           reason="delivery_report", now=now)
        except _DB_ERRORS as exc:
            raise StorageUnavailable(type(exc).__name__) from exc
        if moved is not None and moved.dead and moved.to_responder:
            self._on_gateway_gave_up(moved.delivery_id)
        return moved is not None

    async def opt_out(self, address: str, *, reason: str) -> None:
        """Suppress every later receipt and question to `address`."""
        try:
            async with self._pool.acquire() as conn:
                await opt_out_hash(conn, sender_hash(self._sender_key, address), reason=reason, now=utcnow())
        except _DB_ERRORS as exc:
            raise StorageUnavailable(type(exc).__name__) from exc
