"""Grouping and the notification log (pure, handed `now`): what each receiver should be told now.

After Alertmanager's dispatcher and notification log: each receiver's alerts are grouped by the route's
`group_by` labels (per county by default). A new group is told after `group_wait` (counted from its oldest
alert's opening; "0s" on a route: at once); a group whose alerts or levels changed is told again no sooner
than `group_interval` after the last message; an unchanged group is told again after `repeat_interval`;
a group whose alerts have all resolved gets one resolved message. The log holds, per (receiver, group
key), the fingerprint of what was last sent (a hash of the alert ids and levels) and when, so nobody gets
the same thing twice unless it changed or the repeat is due (a group whose every alert was acknowledged is
not repeated: someone answered for it). The decision is made from the current state
each time, so a receiver cut off for a while (an outage, a stopped service) gets the current state once,
not every step it missed.

Silenced alerts are told to nobody; inhibited alerts are not told to the receivers the inhibiting alert
reaches (ews/alerting/inhibit.py). A group whose alerts are all muted, but not resolved, gets no message.
Silenced alerts do not inhibit others: a receiver would otherwise hear of neither.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ews.alerting.inhibit import Firing, inhibited_by
from ews.alerting.routes import RoutingTree, Timing, matches
from ews.alerting.silences import Silence, silenced_by

AlertLevels = tuple[tuple[int, str], ...]  # ((alert id, level name), ...) sorted by id


@dataclass(frozen=True, slots=True)
class AlertState:
    """An open alert as the planner sees it: id, labels (county code, level, rule, group, sensitive), when it
    opened, and whether someone acknowledged it."""

    id: int
    labels: Mapping[str, str]
    opened_at: datetime
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class LogEntry:
    """What a receiver was last told about a group (a notification_log row)."""

    receiver: str
    group_key: str
    fingerprint: str
    alerts: AlertLevels
    resolved: bool
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send now: to whom, about which group, its current alerts and levels, why, and what the
    receiver was told before (for the message to say what changed)."""

    receiver: str
    group_key: str
    status: Literal["firing", "resolved"]
    reason: Literal["new", "changed", "repeat", "resolved"]
    alerts: AlertLevels
    fingerprint: str
    previous: AlertLevels = ()

    def logged(self, now: datetime) -> LogEntry:
        """The notification log entry to store when this message is committed to the outbox."""
        return LogEntry(self.receiver, self.group_key, self.fingerprint, self.alerts, self.status == "resolved",
                        now)


@dataclass(frozen=True, slots=True)
class Muted:
    """An alert kept from a receiver (None: from everybody, by a silence) and why, e.g. "silence 3"."""

    alert_id: int
    receiver: str | None
    why: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What to send now, what was muted, and the next time the plan may change by the clock alone."""

    notifications: tuple[Notification, ...]
    muted: tuple[Muted, ...]
    next_at: datetime | None


def alert_fingerprint(labels: Mapping[str, str]) -> str:
    """A stable hash of an alert's sorted labels (16 hex digits)."""
    text = "\n".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def group_fingerprint(alerts: AlertLevels) -> str:
    """A stable hash of a group's alert ids and levels (16 hex digits): changes when either does."""
    text = ",".join(f"{i}:{level}" for i, level in sorted(alerts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def group_key(labels: Mapping[str, str], group_by: Iterable[str]) -> str:
    """The key of an alert's group: its values of the group_by labels, e.g. "county=42" ("" groups all)."""
    return ",".join(f"{label}={labels.get(label, '')}" for label in sorted(group_by))


@dataclass
class _Group:
    timing: Timing | None = None  # set by the first alert told (a muted one's route does not count)
    alerts: dict[int, AlertState] = field(default_factory=dict)

    def add(self, alert: AlertState, timing: Timing) -> None:
        self.alerts[alert.id] = alert
        if self.timing is None:
            self.timing = timing
            return
        # Two routes may feed one receiver's group: the more urgent settings win.
        self.timing = Timing(self.timing.group_by, min(self.timing.group_wait, timing.group_wait),
                             min(self.timing.group_interval, timing.group_interval),
                             min(self.timing.repeat_interval, timing.repeat_interval))


def plan_notifications(tree: RoutingTree, alerts: Iterable[AlertState], silences: Iterable[Silence],
                       log: Iterable[LogEntry], now: datetime) -> Plan:
    """Every message due now, for the open `alerts`, the silences in force, and the notification log."""
    alerts = list(alerts)
    silences = list(silences)
    entries = {(e.receiver, e.group_key): e for e in log}
    muted: list[Muted] = []
    silenced: set[int] = set()
    for alert in alerts:
        silence = silenced_by(alert.labels, silences, now)
        if silence is not None:
            silenced.add(alert.id)
            muted.append(Muted(alert.id, None, f"silence {silence.id}"))
    routed = {alert.id: matches(tree, alert.labels) for alert in alerts}
    sources: dict[str, list[Firing]] = {}
    for alert in alerts:
        if alert.id not in silenced:
            for match in routed[alert.id]:
                sources.setdefault(match.receiver, []).append(Firing(alert.id, alert.labels))
    groups: dict[tuple[str, str], _Group] = {}
    for alert in alerts:
        for match in routed[alert.id]:
            where = (match.receiver, group_key(alert.labels, match.timing.group_by))
            group = groups.setdefault(where, _Group())
            if alert.id in silenced:
                continue
            source = inhibited_by(alert.labels, alert.id, sources.get(match.receiver, ()), tree.inhibit)
            if source is not None:
                muted.append(Muted(alert.id, match.receiver, f"inhibited by A-{source.id}"))
                continue
            group.add(alert, match.timing)
    send: list[Notification] = []
    waits: list[datetime] = []
    for (receiver, key), group in sorted(groups.items()):
        if group.timing is None:
            continue  # muted, not resolved: nothing to say
        current: AlertLevels = tuple(sorted((a.id, a.labels.get("level", "")) for a in group.alerts.values()))
        fingerprint = group_fingerprint(current)
        entry = entries.get((receiver, key))
        reason: Literal["new", "changed", "repeat"]
        if entry is None or entry.resolved:
            due, reason = min(a.opened_at for a in group.alerts.values()) + group.timing.group_wait, "new"
        elif entry.fingerprint != fingerprint:
            due, reason = entry.sent_at + group.timing.group_interval, "changed"
        elif all(a.acknowledged for a in group.alerts.values()):
            continue  # someone answered for every alert of it: no reminders until it changes
        else:
            due, reason = entry.sent_at + group.timing.repeat_interval, "repeat"
        if now < due:
            waits.append(due)
            continue
        previous = entry.alerts if entry is not None and not entry.resolved else ()
        send.append(Notification(receiver, key, "firing", reason, current, fingerprint, previous))
    still_open = {alert.id for alert in alerts}
    for (receiver, key), entry in sorted(entries.items()):
        # Resolved means its alerts closed: a group that vanished because the routing file changed (another
        # group_by, another receiver) while its alerts are open says nothing; it resolves when they close.
        if entry.resolved or (receiver, key) in groups or any(i in still_open for i, _ in entry.alerts):
            continue
        send.append(Notification(receiver, key, "resolved", "resolved", entry.alerts, entry.fingerprint,
                                 entry.alerts))
    return Plan(tuple(send), tuple(muted), min(waits) if waits else None)


def policy_for(tree: RoutingTree, labels: Mapping[str, str]) -> str | None:
    """The escalation policy of an alert opening with `labels`: that of the first route it matches that has
    one (None: no escalation)."""
    return next((m.policy for m in matches(tree, labels) if m.policy is not None), None)
