"""Noise control and escalation, wired to storage: the entry points alert expansion and the scheduler call.

    tree = await load_routes(conn, fallback=text)   # the active version, else a file's text
    plan = await plan_from_database(conn, tree, open_alerts, now)      # silences + log read, pure plan
    ... write one outbox row per plan.notifications item ...
    await commit_plan(conn, plan, now)                                 # same transaction: the log moves
    step = await open_alert_escalation(conn, tree, alert_id, labels, now)   # when an alert opens
    steps = await advance_due(conn, now)                               # scheduler tick: tiers due

The decisions are pure (ews/alerting/grouping.py, inhibit.py, silences.py, escalation.py); this module
only reads what they need and stores what they decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ews.alerting.grouping import AlertState, Plan, plan_notifications, policy_for
from ews.alerting.routes import RoutingTree
from ews.alerting.routes_file import parse_routes
from ews.core.models import Level
from ews.db.repo.escalations import Step, advance_due, open_escalation
from ews.db.repo.notification_log import log_entries, record_sent
from ews.db.repo.reports import Connection
from ews.db.repo.routes_versions import active_routes
from ews.db.repo.silences import silences_in_force

__all__ = ["advance_due", "alert_labels", "commit_plan", "load_routes", "open_alert_escalation",
           "plan_from_database"]


def alert_labels(*, county_code: int, level: int | Level, rule: str, group: str, sensitive: bool) -> dict[str, str]:
    """An alert's labels as routing, silences and inhibition read them."""
    return {"county": str(county_code), "level": Level(level).name, "rule": rule, "group": group,
            "sensitive": "true" if sensitive else "false"}


async def load_routes(conn: Connection, fallback: str | None = None) -> RoutingTree | None:
    """The active routing file (`ews routes activate`), else the `fallback` text (e.g. a file read at
    start-up), else None. RoutesFileError if the fallback has problems (a stored version was checked when it
    was activated)."""
    stored = await active_routes(conn)
    if stored is not None:
        return parse_routes(stored.body)
    return parse_routes(fallback) if fallback is not None else None


async def plan_from_database(conn: Connection, tree: RoutingTree, alerts: Sequence[AlertState],
                             now: datetime) -> Plan:
    """What to send now for the open `alerts`, given the silences in force and the notification log."""
    return plan_notifications(tree, alerts, await silences_in_force(conn, now), await log_entries(conn), now)


async def commit_plan(conn: Connection, plan: Plan, now: datetime) -> None:
    """Log the plan's notifications as sent (with audit rows); call it in the transaction that writes them
    to the outbox."""
    await record_sent(conn, plan.notifications, now)


async def open_alert_escalation(conn: Connection, tree: RoutingTree, alert_id: int, labels: Mapping[str, str],
                                now: datetime) -> Step | None:
    """Start the escalation of an alert opening now, its route's policy frozen onto it; tier 1's receivers
    to tell, or None when its routes name no policy (or it already has one)."""
    name = policy_for(tree, labels)
    if name is None:
        return None
    return await open_escalation(conn, alert_id, tree.policies[name], now)
