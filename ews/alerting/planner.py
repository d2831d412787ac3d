"""The notification planner: from the open alerts, the routing file, the silences and the notification log,
what each receiver is told now, and which escalations move; written to the outbox in one transaction.

The engine only records level changes; this is what turns them into messages. One pass:

    open alerts + labels -> plan_notifications (grouping, inhibition, silences, the log)  -> firing/resolved rows
    alerts opening with a policy -> start their escalation                                 -> tier-1 rows
    escalations due (timeout, every delivery failed, acked, closed) -> next_step           -> tier-N rows

The decisions are pure (ews/alerting/grouping.py, escalation.py); one process plans at a time (an advisory
lock), and the log moves in the transaction that writes the messages, so a crash loses or repeats none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ews.alerting.grouping import AlertState, Notification, group_fingerprint
from ews.alerting.noise import (
    Step,
    advance_escalations,
    alert_labels,
    commit_plan,
    load_routes,
    open_alert_escalation,
    plan_from_database,
)
from ews.alerting.routes import Receiver, RoutingTree, matches
from ews.core.clock import utcnow
from ews.core.models import Level
from ews.core.worker import WakeableWorker
from ews.db.repo.escalations import next_escalation_at
from ews.db.repo.notifications import (
    OpenAlert,
    PlannedMessage,
    enqueue_planned,
    open_alerts,
    planner_lock,
)
from ews.db.repo.reports import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Planned:
    """What a pass did: messages queued, and when the plan may next change by the clock alone."""

    messages: int
    next_at: datetime | None


def receiver_spec(receiver: Receiver) -> dict[str, Any]:
    """A receiver as an outbox row keeps it: the routing file may change before the message is expanded."""
    return {"roles": list(receiver.roles), "county": receiver.county, "channel": receiver.channel}


def most_severe_first(alerts: Sequence[tuple[int, str]],
                      before: Sequence[tuple[int, str]] = ()) -> list[tuple[int, str, str | None]]:
    """A message's alerts, the most severe first (then the oldest), each with the level the receiver was told
    before (None: new to them): the message's reference is the first one's."""
    told = dict(before)
    ordered = sorted(alerts, key=lambda a: (-Level[a[1]].value if a[1] in Level.__members__ else 0, a[0]))
    return [(i, level, told.get(i)) for i, level in ordered]


def labels_of(alert: OpenAlert) -> dict[str, str]:
    """The labels routing, silences and inhibition read."""
    return alert_labels(county_code=alert.county_code, level=alert.level, rule=alert.rule, group=alert.group,
                        sensitive=alert.sensitive)


async def plan_once(conn: Connection, *, fallback: str | None, now: datetime) -> Planned:
    """One planning pass in the caller's connection (its own transaction, after any other process's pass);
    nothing when no routing file is active or given."""
    async with conn.transaction():
        await planner_lock(conn)
        tree = await load_routes(conn, fallback)
        if tree is None:
            return Planned(0, None)
        alerts = await open_alerts(conn)
        labels = {a.id: labels_of(a) for a in alerts}
        plan = await plan_from_database(conn, tree, [AlertState(a.id, labels[a.id], a.opened_at, a.acknowledged)
                                                       for a in alerts],
                                        now)
        written = 0
        for notification in plan.notifications:
            written += await _enqueue_notification(conn, tree, notification, now)
        await commit_plan(conn, plan, now)
        # A silenced or inhibited alert is told to nobody, so nobody is asked to acknowledge it either: its
        # escalation does not start, and a running one steps without telling anyone.
        muted = {m.alert_id for m in plan.muted}
        for alert in alerts:
            if not alert.escalating and alert.id not in muted:
                step = await open_alert_escalation(conn, tree, alert.id, labels[alert.id], now)
                if step is not None:
                    # Tier 1's receivers that the routes already tell of this alert hear of it in their group's
                    # message; the others are told now.
                    routed = {m.receiver for m in matches(tree, labels[alert.id])}
                    written += await _enqueue_tier(conn, tree, step, alert, now, skip=routed)
        by_id = {a.id: a for a in alerts}
        for step in await advance_escalations(conn, now):
            escalated = by_id.get(step.escalation.alert_id)
            if escalated is not None and step.receivers and escalated.id not in muted:
                written += await _enqueue_tier(conn, tree, step, escalated, now)
        due = [t for t in (plan.next_at, await next_escalation_at(conn)) if t is not None]
        return Planned(written, min(due) if due else None)


async def _enqueue_notification(conn: Connection, tree: RoutingTree, n: Notification, now: datetime) -> int:
    receiver = tree.receivers.get(n.receiver)
    if receiver is None:  # cannot happen with a checked tree; a stale log entry names an old receiver
        return 0
    await enqueue_planned(conn, PlannedMessage(n.receiver, receiver_spec(receiver), n.group_key, n.fingerprint,
                                               n.status, n.reason, most_severe_first(n.alerts, n.previous)),
                          now=now)
    return 1


async def _enqueue_tier(conn: Connection, tree: RoutingTree, step: Step, alert: OpenAlert, now: datetime, *,
                        skip: set[str] | frozenset[str] = frozenset()) -> int:
    written = 0
    alerts = ((alert.id, alert.level.name, None),)
    tier = step.escalation.tier + 1
    for name in step.receivers:
        receiver = tree.receivers.get(name)
        if name in skip:
            continue
        if receiver is None:
            # The policy was frozen when the alert opened; the routing file has since dropped this receiver.
            log.warning("alert=%s escalation tier %s: receiver %r is not in the routing file any more", alert.id,
                        tier, name)
            continue
        fingerprint = group_fingerprint(((alert.id, alert.level.name),))
        await enqueue_planned(conn, PlannedMessage(name, receiver_spec(receiver), f"alert={alert.id}", fingerprint,
                                                   "escalation", "tier", alerts, tier=tier), now=now)
        written += 1
    return written


class Planner(WakeableWorker):
    """Plans notifications when woken (a level changed, an ack, a failed delivery, the sweep) and again when
    the plan's next wait or escalation timeout is due."""

    name = "planner"

    def __init__(self, pool: asyncpg.Pool, *, routes_text: str | None, on_outbox: Callable[[], None],
                 clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__()
        self._pool = pool
        self._routes_text = routes_text
        self._on_outbox = on_outbox
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None

    async def work(self) -> None:
        """One pass: plan, hand new messages to the dispatcher, and set the timer for the next due time."""
        async with self._pool.acquire() as conn:
            planned = await plan_once(conn, fallback=self._routes_text, now=self._clock())
        if planned.messages:
            self._on_outbox()
        if planned.next_at is not None:
            self._wake_at(planned.next_at)

    async def stop(self) -> None:
        """Stop planning and cancel the timer."""
        if self._timer is not None:
            self._timer.cancel()
        await super().stop()

    def _wake_at(self, at: datetime) -> None:
        if self._timer is not None:
            self._timer.cancel()
        # A little after it is due: the loop's timer may fire a hair before the wall clock reaches it.
        delay = max(0.0, (at - self._clock()).total_seconds()) + 0.05
        self._timer = asyncio.get_running_loop().call_later(delay, self.wake)
