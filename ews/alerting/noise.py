"""Noise control and escalation over storage: the entry points alert expansion, the scheduler, the CLI and
the API call. The decisions are pure (grouping.py, inhibit.py, silences.py, escalation.py); this module reads
what they need from the repositories and stores what they decided.

    tree = await load_routes(conn, fallback=text)                      # the active version, else a file's text
    plan = await plan_from_database(conn, tree, open_alerts, now)      # silences + log read, pure plan
    ... one outbox row per plan.notifications item ...
    await commit_plan(conn, plan, now)                                 # same transaction: the log moves
    step = await open_alert_escalation(conn, tree, alert_id, labels, now)   # when an alert opens
    steps = await advance_escalations(conn, now)                       # scheduler tick: tiers due
    await stop_alert_escalation(conn, alert_id, "acknowledged", now)   # on ACK 12
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ews.alerting.escalation import Escalation, Policy, StopReason, next_step, start
from ews.alerting.grouping import AlertState, LogEntry, Notification, Plan, plan_notifications, policy_for
from ews.alerting.routes import Matcher, RoutingTree
from ews.alerting.routes_file import parse_routes
from ews.alerting.silences import Silence, SilenceEnded, expired, matchers_from_json, matchers_json
from ews.core.models import Level
from ews.db.repo import escalations as esc_repo
from ews.db.repo import notification_log as log_repo
from ews.db.repo import silences as silence_repo
from ews.db.repo.reports import Connection
from ews.db.repo.routes_versions import active_routes

__all__ = ["SilenceEnded", "Step", "add_silence", "advance_escalations", "alert_labels", "all_silences",
           "commit_plan", "escalation_of", "expire_silence", "load_routes", "log_entries", "open_alert_escalation",
           "plan_from_database", "record_sent", "silences_in_force", "start_escalation", "stop_alert_escalation"]


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


# --- silences ----------------------------------------------------------------------------------------------

def _silence(row: silence_repo.SilenceRow) -> Silence:
    return Silence(row.id, matchers_from_json(row.matchers), row.starts_at, row.ends_at, row.author, row.reason,
                   row.created_at, row.expired_by, row.expired_at)


async def add_silence(conn: Connection, *, matchers: tuple[Matcher, ...], starts_at: datetime, ends_at: datetime,
                      author: str, reason: str, via: str, now: datetime) -> Silence:
    """Store a silence (checked by the caller), audited."""
    return _silence(await silence_repo.insert_silence(conn, matchers=matchers_json(matchers), starts_at=starts_at,
                                                      ends_at=ends_at, author=author, reason=reason, via=via,
                                                      now=now))


async def silences_in_force(conn: Connection, now: datetime) -> list[Silence]:
    """Silences active or pending at `now`, oldest first."""
    return [_silence(r) for r in await silence_repo.silences_in_force(conn, now)]


async def all_silences(conn: Connection) -> list[Silence]:
    """Every silence, ended ones too, newest first."""
    return [_silence(r) for r in await silence_repo.all_silences(conn)]


async def expire_silence(conn: Connection, silence_id: int, *, by: str, via: str, now: datetime) -> Silence | None:
    """Expire a silence now, audited; None when there is no such silence, SilenceEnded when it already ended."""
    async with conn.transaction():
        row = await silence_repo.lock_silence(conn, silence_id)
        if row is None:
            return None
        done = expired(_silence(row), by=by, now=now)
        return _silence(await silence_repo.store_expiry(conn, silence_id, starts_at=done.starts_at, by=by, via=via,
                                                        now=now))


# --- grouping and the notification log ---------------------------------------------------------------------

async def log_entries(conn: Connection) -> list[LogEntry]:
    """The notification log as plan_notifications reads it."""
    return [LogEntry(r.receiver, r.group_key, r.fingerprint, tuple(r.alerts), r.resolved, r.sent_at)
            for r in await log_repo.log_rows(conn)]


async def record_sent(conn: Connection, notifications: Iterable[Notification], now: datetime) -> None:
    """Log each notification as sent at `now`, with an audit row each."""
    async with conn.transaction():
        for n in notifications:
            e = n.logged(now)
            await log_repo.upsert_log(conn, log_repo.LogRow(e.receiver, e.group_key, e.fingerprint, list(e.alerts),
                                                            e.resolved, e.sent_at),
                                      audit={"status": n.status, "reason": n.reason, "fingerprint": n.fingerprint,
                                             "alerts": [f"A-{i} {level}" for i, level in n.alerts]})


async def plan_from_database(conn: Connection, tree: RoutingTree, alerts: Sequence[AlertState],
                             now: datetime) -> Plan:
    """What to send now for the open `alerts`, given the silences in force and the notification log."""
    return plan_notifications(tree, alerts, await silences_in_force(conn, now), await log_entries(conn), now)


async def commit_plan(conn: Connection, plan: Plan, now: datetime) -> None:
    """Log the plan's notifications as sent (audited); call it in the transaction that writes them to the
    outbox, so a message is logged exactly when it is committed."""
    await record_sent(conn, plan.notifications, now)


# --- escalation --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Step:
    """An escalation that moved: where it stands now, and the receivers to tell (empty when it stopped)."""

    escalation: Escalation
    receivers: tuple[str, ...]


def _escalation(row: esc_repo.EscalationRow) -> Escalation:
    return Escalation(row.alert_id, Policy.from_json(row.policy), row.tier, row.loop, row.notified_at, row.next_at,
                      row.stopped_at, row.stop_reason)  # type: ignore[arg-type]  # the table's CHECK holds it


def _as_row(escalation: Escalation) -> esc_repo.EscalationRow:
    return esc_repo.EscalationRow(escalation.alert_id, escalation.policy.to_json(), escalation.tier,
                                  escalation.loop, escalation.notified_at, escalation.next_at, escalation.stopped_at,
                                  escalation.stop_reason)


async def _save(conn: Connection, before: Escalation, after: Escalation, receivers: Sequence[str],
                now: datetime) -> None:
    if after.stop_reason is not None:
        action = "escalation.stopped"
        audit: dict[str, object] = {"policy": after.policy.name, "reason": after.stop_reason,
                                    "tier": before.tier + 1, "loop": before.loop}
    else:
        action = "escalation.step"
        audit = {"policy": after.policy.name, "tier": after.tier + 1, "loop": after.loop,
                 "from_tier": before.tier + 1, "receivers": list(receivers)}
    await esc_repo.save_step(conn, _as_row(after), action=action, audit=audit, now=now)


async def open_alert_escalation(conn: Connection, tree: RoutingTree, alert_id: int, labels: Mapping[str, str],
                                now: datetime) -> Step | None:
    """Start the escalation of an alert opening now, its route's policy frozen onto it; tier 1's receivers
    to tell, or None when its routes name no policy (or it already has an escalation)."""
    name = policy_for(tree, labels)
    return await start_escalation(conn, alert_id, tree.policies[name], now) if name is not None else None


async def start_escalation(conn: Connection, alert_id: int, policy: Policy, now: datetime) -> Step | None:
    """Freeze `policy` onto the alert opening now (audited); tier 1's receivers to tell, or None if the
    alert already has an escalation."""
    escalation, receivers = start(alert_id, policy, now)
    made = await esc_repo.insert_escalation(conn, alert_id, policy.to_json(), next_at=escalation.next_at,
                                            audit={"policy": policy.name, "tier": 1, "receivers": list(receivers)},
                                            now=now)
    return Step(escalation, receivers) if made else None


async def escalation_of(conn: Connection, alert_id: int) -> Escalation | None:
    """The alert's escalation, or None."""
    row = await esc_repo.escalation_row(conn, alert_id)
    return _escalation(row) if row is not None else None


async def advance_escalations(conn: Connection, now: datetime, limit: int = 100) -> list[Step]:
    """Claim the escalations due at `now`, step each with `next_step`, store them (audited), and return the
    ones that moved with the receivers to tell. Call it inside the transaction that also puts those messages
    in the outbox: a crash then loses neither."""
    steps: list[Step] = []
    async with conn.transaction():
        for row in await esc_repo.claim_due(conn, now, limit):
            before = _escalation(row)
            after, receivers = next_step(before, now, row.acked, row.all_failed, resolved=row.resolved)
            if after == before:
                continue
            await _save(conn, before, after, receivers or (), now)
            steps.append(Step(after, receivers or ()))
    return steps


async def stop_alert_escalation(conn: Connection, alert_id: int, reason: StopReason, now: datetime) -> bool:
    """Stop the alert's escalation now (an ack: "acknowledged"); False when it had none or it had stopped."""
    async with conn.transaction():
        row = await esc_repo.escalation_row(conn, alert_id, lock=True)
        if row is None or row.stopped_at is not None:
            return False
        before = _escalation(row)
        await _save(conn, before, replace(before, stopped_at=now, stop_reason=reason), (), now)
    return True
