"""Dispatch: drain the outbox to responders through the configured notifier, with retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from ews.core.clock import utcnow
from ews.core.models import Delivery, DeliveryStatus, Outgoing, alert_reference
from ews.core.privacy import ContactCipher
from ews.core.worker import WakeableWorker
from ews.db.repo.deliveries import DueDelivery, claim_due, expand_outbox, mark_dead, mark_retry, mark_sent
from notifiers.base import Notifier

log = logging.getLogger(__name__)

SEND_LEASE = timedelta(seconds=60)
MAX_CONCURRENT_SENDS = 8


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after `attempts` failed sends: 5 s, 10 s, 20 s ... capped at 5 minutes."""
    return timedelta(seconds=min(300, 5 * 2 ** max(0, attempts - 1)))


class Dispatcher(WakeableWorker):
    """Expands new alerts into deliveries and sends the due ones; woken at once by the evaluator."""

    name = "dispatcher"

    def __init__(self, pool: asyncpg.Pool, notifier: Notifier, cipher: ContactCipher, *,
                 max_attempts: int, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__()
        self._pool = pool
        self._notifier = notifier
        self._cipher = cipher
        self._max_attempts = max_attempts
        self._clock = clock
        self._sends = asyncio.Semaphore(MAX_CONCURRENT_SENDS)

    async def work(self) -> None:
        """One drain."""
        await self.drain()

    async def drain(self) -> int:
        """Expand the outbox and send everything due now; the number of sends attempted."""
        now = self._clock()
        await expand_outbox(self._pool, notifier=self._notifier.kind, now=now)
        attempted = 0
        while True:
            due = await claim_due(self._pool, now=self._clock(), lease=SEND_LEASE)
            if not due:
                return attempted
            await asyncio.gather(*(self._deliver(d) for d in due))
            attempted += len(due)

    async def _deliver(self, due: DueDelivery) -> None:
        try:
            phone = self._cipher.decrypt(due.phone_enc)
        except ValueError:
            await mark_dead(self._pool, due.id, reason="responder contact cannot be decrypted")
            log.error("delivery=%s responder=%s contact undecryptable; dead-lettered", due.id, due.responder_id)
            return
        message = Outgoing(to=phone, body=due.body, recipient_label=f"{due.responder_name} #{due.responder_id}",
                           language=due.language, reference=alert_reference(due.alert_id))
        async with self._sends:
            outcome = await self._send(message)
        now = self._clock()
        if outcome.status is DeliveryStatus.OK:
            await mark_sent(self._pool, due.id, now=now, provider_id=outcome.provider_id)
            log.info("alert sent alert=%s delivery=%s responder=%s via=%s", due.alert_id, due.id,
                     due.responder_id, self._notifier.kind)
        elif outcome.status is DeliveryStatus.RETRYABLE and due.attempts < self._max_attempts:
            await mark_retry(self._pool, due.id, at=now + retry_delay(due.attempts), reason=outcome.reason)
            log.warning("alert send failed, will retry alert=%s delivery=%s attempt=%s reason=%s",
                        due.alert_id, due.id, due.attempts, outcome.reason)
        else:
            await mark_dead(self._pool, due.id, reason=outcome.reason)
            log.error("alert send gave up alert=%s delivery=%s attempts=%s reason=%s",
                      due.alert_id, due.id, due.attempts, outcome.reason)

    async def _send(self, message: Outgoing) -> Delivery:
        try:
            return await self._notifier.send(message)
        except Exception as exc:  # a notifier must not raise; if one does, treat it as retryable, not fatal
            log.exception("notifier %s raised %s", self._notifier.kind, type(exc).__name__)
            return Delivery(DeliveryStatus.RETRYABLE, reason=f"notifier raised {type(exc).__name__}")
