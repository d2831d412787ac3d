"""Dispatch: drain the outbox to every recipient through the configured notifiers, with retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import asyncpg

from ews.alerting.acknowledgements import sms_segments
from ews.alerting.expand import expand_outbox, route
from ews.alerting.rate import SenderLimits
from ews.core.clock import utcnow
from ews.core.models import Delivery, DeliveryStatus, Outgoing, alert_reference, report_reference
from ews.core.privacy import ContactCipher
from ews.core.worker import WakeableWorker
from ews.db.repo.deliveries import (
    DueDelivery,
    claim_due,
    dead_delivery,
    defer,
    hand_over,
    mark_dead,
    mark_retry,
    mark_sent,
    mark_superseded,
)
from ews.db.repo.notification_log import still_current
from notifiers.base import Notifier

log = logging.getLogger(__name__)

SEND_LEASE = timedelta(seconds=60)
MAX_CONCURRENT_SENDS = 8
RETRY_CAP = timedelta(minutes=5)
# A send that would wait longer than this for its sender's rate goes back to the table, due when the sender
# has room, rather than hold a sending slot (and its lease) while it waits.
MAX_RATE_WAIT = 2.0
# Failed attempts through one gateway before a responder's message tries the next gateway for its channel
# (5 s, 10 s and 20 s apart: about half a minute), rather than retry one that is down for EWS_DISPATCH_RETRY_FOR.
FALLBACK_AFTER = 3


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after `attempts` failed sends: 5 s, 10 s, 20 s ... capped at RETRY_CAP."""
    exponent = min(max(0, attempts - 1), 16)  # 5 s * 2**16 is far past the cap; no huge integers
    return min(RETRY_CAP, timedelta(seconds=5 * 2 ** exponent))


def check_send_timeout(send_timeout: float) -> None:
    """Refuse a send deadline that is not shorter than the lease: the lease would end mid-send and another
    dispatcher would send the same message again."""
    if not 0 < send_timeout < SEND_LEASE.total_seconds():
        raise ValueError(f"EWS_SEND_TIMEOUT ({send_timeout:g} s) must be above 0 and below the send lease "
                         f"({SEND_LEASE.total_seconds():g} s)")


class Dispatcher(WakeableWorker):
    """Expands new outbox rows into deliveries and sends the due ones; woken at once by the evaluator.

    Sends run as tasks, at most `max_in_flight` at a time. A pass claims only as many deliveries as there
    are free slots and returns without waiting for them, and every finished send wakes another pass, so a
    stuck send holds up only its own slot, never the claiming of the others.
    """

    name = "dispatcher"

    def __init__(self, pool: asyncpg.Pool, notifiers: Sequence[Notifier], cipher: ContactCipher, *,
                 retry_for: timedelta, send_timeout: float, max_in_flight: int = MAX_CONCURRENT_SENDS,
                 clock: Callable[[], datetime] = utcnow, rates: Mapping[str, float] | None = None,
                 on_dead: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        check_send_timeout(send_timeout)
        self._pool = pool
        self._notifiers = {notifier.kind: notifier for notifier in notifiers}
        self._served = {notifier.kind: notifier.channels for notifier in notifiers}
        self._cipher = cipher
        self._retry_for = retry_for
        # The notifier enforces send_timeout itself; this is the last resort against one that does not.
        # It stays short of the lease, so the row is still ours when the outcome is written.
        lease = SEND_LEASE.total_seconds()
        self._deadline = min(2 * send_timeout, send_timeout + 5.0, (send_timeout + lease) / 2)
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._in_flight: set[asyncio.Task[None]] = set()
        # Notifier kind -> messages (SMS: segments) a second from its one sender; kinds not named: no limit.
        self._limits = SenderLimits(rates or {})
        self._wake_ups: set[asyncio.TimerHandle] = set()
        # An alert whose every delivery failed escalates at once: the planner is told of each dead letter.
        self._on_dead = on_dead

    async def work(self) -> None:
        """One pass: expand the outbox and start sends for the free slots."""
        await self._fill()

    async def drain(self) -> int:
        """Send everything due now and wait for those sends to end; the number of sends attempted."""
        attempted = 0
        while True:
            attempted += await self._fill()
            if not self._in_flight:
                return attempted
            await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    async def stop(self) -> None:
        """Stop claiming; sends in flight are cancelled and become due again when their lease ends."""
        await super().stop()
        for handle in self._wake_ups:
            handle.cancel()
        for task in list(self._in_flight):
            task.cancel()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def _fill(self) -> int:
        await expand_outbox(self._pool, served=self._served, now=self._clock())
        started = 0
        while (free := self._max_in_flight - len(self._in_flight)) > 0:
            due = await claim_due(self._pool, now=self._clock(), lease=SEND_LEASE, limit=free)
            for delivery in due:
                task = asyncio.create_task(self._deliver(delivery), name=f"delivery-{delivery.id}")
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            started += len(due)
            if len(due) < free:
                break
        return started

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task %s failed", task.get_name(), exc_info=task.exception())
        self.wake()  # a slot is free: claim whatever else is due

    async def _deliver(self, due: DueDelivery) -> None:
        # Chosen at expansion; if EWS_NOTIFIERS changed since, another notifier for the channel takes over.
        kind = due.notifier if due.notifier in self._notifiers else route(due.channel, None, self._served)
        if kind is None:
            await self._dead(due, f"no configured notifier sends {due.channel} (EWS_NOTIFIERS)")
            return
        notifier = self._notifiers[kind]
        if due.opted_out:  # STOP arrived after this was queued: nothing more goes to them
            await self._dead(due, "recipient opted out")
            return
        if await self._superseded(due):
            return
        if due.address_enc is None:
            await self._dead(due, "reporter contact purged (EWS_CONTACT_RETENTION_DAYS)")
            return
        try:
            address = self._cipher.decrypt(due.address_enc)
        except ValueError:
            await self._dead(due, "contact cannot be decrypted")
            return
        message = Outgoing(to=address, body=due.body, recipient_label=due.recipient, language=due.language,
                           reference=_reference(due), channel=due.channel, link_id=due.link_id)
        if not await self._sender_has_room(due, kind):
            return
        outcome = await self._send(notifier, message)
        now = self._clock()
        if outcome.status is DeliveryStatus.OK:
            await mark_sent(self._pool, due.id, now=now, provider_id=outcome.provider_id)
            log.info("message sent kind=%s alert=%s delivery=%s %s via=%s", due.kind, due.alert_id, due.id,
                     _who(due), notifier.kind)
            return
        retrying = outcome.status is DeliveryStatus.RETRYABLE and now < due.retry_from + self._retry_for
        fallback = self._next_gateway(due.channel, (*due.tried, kind), to_responder=due.responder_id is not None)
        if fallback is not None and (not retrying or due.attempts >= FALLBACK_AFTER):
            await hand_over(self._pool, due.id, tried=kind, to=fallback, now=now, reason=outcome.reason)
            log.warning("gateway gave up, trying the next kind=%s alert=%s delivery=%s %s from=%s to=%s reason=%s",
                        due.kind, due.alert_id, due.id, _who(due), kind, fallback, outcome.reason)
            self.wake()
        elif retrying:
            # The provider's Retry-After when it asks for longer than our backoff would wait.
            wait = max(retry_delay(due.attempts), outcome.retry_after or timedelta(0))
            await mark_retry(self._pool, due.id, at=now + wait, reason=outcome.reason)
            log.warning("send failed, will retry kind=%s alert=%s delivery=%s attempt=%s reason=%s",
                        due.kind, due.alert_id, due.id, due.attempts, outcome.reason)
        else:
            await self._dead(due, outcome.reason)

    def _next_gateway(self, channel: str, tried: Sequence[str], *, to_responder: bool) -> str | None:
        """Another configured notifier for a responder's channel that has not given up on this delivery yet.

        Reporters are never handed over: their receipt or question must come from the number they wrote to,
        and a message from a stranger's number can expose them."""
        if not to_responder:
            return None
        return next((k for k, channels in self._served.items() if channel in channels and k not in tried), None)

    def gateway_gave_up(self, delivery_id: int) -> None:
        """A delivery report dead-lettered a responder's message the gateway had accepted: hand it to the
        next gateway, if there is one (in the background; the report's handler does not wait)."""
        task = asyncio.create_task(self._after_delivery_report(delivery_id), name=f"fallback-{delivery_id}")
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    async def _after_delivery_report(self, delivery_id: int) -> None:
        dead = await dead_delivery(self._pool, delivery_id)
        if dead is None:
            return
        fallback = self._next_gateway(dead.channel, (*dead.tried, dead.notifier), to_responder=dead.to_responder)
        if fallback is None:
            return
        await hand_over(self._pool, dead.id, tried=dead.notifier, to=fallback, now=self._clock(), reason=dead.reason)
        log.warning("gateway reported a failure, trying the next delivery=%s from=%s to=%s reason=%s", dead.id,
                    dead.notifier, fallback, dead.reason)

    async def _superseded(self, due: DueDelivery) -> bool:
        """Skip a queued firing message a newer one about the same receiver and group replaced: after an
        outage, a receiver gets the group's current state once, not every step it went through."""
        if due.notice != "firing" or due.receiver is None or due.group_key is None or due.fingerprint is None:
            return False
        async with self._pool.acquire() as conn:
            if await still_current(conn, due.receiver, due.group_key, due.fingerprint):
                return False
            await mark_superseded(conn, due.id, reason="a newer message about this group replaced it")
        log.info("superseded delivery=%s alert=%s receiver=%s group=%s", due.id, due.alert_id, due.receiver,
                 due.group_key)
        return True

    async def _sender_has_room(self, due: DueDelivery, kind: str) -> bool:
        """Wait for the sender's rate (a short wait), or hand the delivery back for later (False)."""
        if not self._limits.limited(kind):
            return True
        # Twilio counts segments: a two-part SMS is two of the sender's messages a second.
        cost = float(sms_segments(due.body)[0]) if due.channel == "sms" else 1.0
        now = self._clock()
        wait = self._limits.wait(kind, now.timestamp(), cost)
        if wait > MAX_RATE_WAIT:
            wait = self._limits.later(kind, now.timestamp(), cost)
            await defer(self._pool, due.id, at=now + timedelta(seconds=wait))
            # A little after it is due: the loop's timer may fire a hair before the wall clock reaches it.
            handle = asyncio.get_running_loop().call_later(wait + 0.05, self._woken_later)
            self._wake_ups.add(handle)
            log.debug("sender busy, deferred delivery=%s via=%s for %.1f s", due.id, kind, wait)
            return False
        delay = self._limits.take(kind, now.timestamp(), cost)
        if delay > 0:
            await asyncio.sleep(delay)
        return True

    def _woken_later(self) -> None:
        now = asyncio.get_running_loop().time()
        self._wake_ups = {h for h in self._wake_ups if not h.cancelled() and h.when() > now}
        self.wake()

    async def _dead(self, due: DueDelivery, reason: str) -> None:
        await mark_dead(self._pool, due.id, reason=reason)
        if due.kind == "alert":
            self._on_dead()
        log.error("dead letter: delivery=%s kind=%s alert=%s %s attempts=%s reason=%s; "
                  "`ews deliveries retry %s` sends it again", due.id, due.kind, due.alert_id, _who(due),
                  due.attempts, reason, due.id)

    async def _send(self, notifier: Notifier, message: Outgoing) -> Delivery:
        try:
            async with asyncio.timeout(self._deadline):
                return await notifier.send(message)
        except TimeoutError:
            log.error("notifier %s overran its deadline (%g s)", notifier.kind, self._deadline)
            return Delivery(DeliveryStatus.RETRYABLE, reason=f"notifier {notifier.kind} timed out")
        except Exception as exc:  # a notifier must not raise; if one does, treat it as retryable, not fatal
            log.exception("notifier %s raised %s", notifier.kind, type(exc).__name__)
            return Delivery(DeliveryStatus.RETRYABLE, reason=f"notifier raised {type(exc).__name__}")


def _reference(due: DueDelivery) -> str:
    if due.alert_id is not None:
        return alert_reference(due.alert_id)
    if due.report_id is not None:
        return report_reference(due.report_id)
    return f"D-{due.id}"


def _who(due: DueDelivery) -> str:
    # Ids only, for the log line: the responder, or which kept reporter contact (never the address).
    return f"responder={due.responder_id}" if due.responder_id is not None else "to=reporter"
