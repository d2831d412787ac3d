"""Escalation policies: the pure state machine with a clock (tiers, timeouts, loops, acks, failed
deliveries), and its timers in PostgreSQL (frozen policy, claim with SKIP LOCKED, a restart loses none)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ews.alerting.escalation import Escalation, Policy, Tier, next_step, start
from ews.alerting.expand import expand_outbox
from ews.alerting.grouping import AlertState, plan_notifications
from ews.alerting.noise import (
    advance_escalations,
    escalation_of,
    log_entries,
    record_sent,
    start_escalation,
    stop_alert_escalation,
)
from ews.alerting.routes_file import parse_routes
from ews.db.pool import create_pool
from ews.db.repo.notification_log import prune_resolved, still_current
from tests.helpers import add_responders, plan
from tests.test_end_to_end import RESPONDERS
from tests.test_noise import ONE_ROUTE

T0 = datetime(2027, 8, 9, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
THREE = Policy("county", (Tier(("csic",), 15 * M), Tier(("mediators",), 15 * M), Tier(("national",), 30 * M)))


def run(escalation: Escalation, now: datetime, acked: bool = False,
        failed: bool = False) -> tuple[Escalation, tuple[str, ...] | None]:
    return next_step(escalation, now, acked, failed)


def test_three_tiers_where_tier_one_never_answers_and_tier_two_acks() -> None:
    escalation, told = start(12, THREE, T0)
    assert told == ("csic",) and escalation.next_at == T0 + 15 * M
    log = [(T0, told)]
    # The clock ticks every minute; tier 1 never answers.
    now = T0
    acked_at = T0 + 22 * M  # a mediator (tier 2, told at T0+15m) replies ACK 12 seven minutes later
    while escalation.stopped_at is None and now < T0 + 3 * 60 * M:
        now += M
        escalation, told = run(escalation, now, acked=now >= acked_at)
        if told:
            log.append((now, told))
    assert log == [(T0, ("csic",)), (T0 + 15 * M, ("mediators",))]
    assert (escalation.stop_reason, escalation.stopped_at, escalation.tier) == ("acknowledged", acked_at, 1)
    assert run(escalation, now + 60 * M) == (escalation, None)  # stopped stays stopped: nobody else is told


def test_a_tier_waits_its_whole_timeout() -> None:
    escalation, _ = start(1, THREE, T0)
    assert run(escalation, T0 + 15 * M - timedelta(seconds=1)) == (escalation, None)
    moved, told = run(escalation, T0 + 15 * M)
    assert told == ("mediators",) and moved.tier == 1 and moved.next_at == T0 + 30 * M
    moved, told = run(moved, T0 + 30 * M)
    assert told == ("national",) and moved.next_at == T0 + 60 * M


def test_the_policy_loops_repeat_times_then_stops_exhausted() -> None:
    policy = Policy("loop", (Tier(("a",), 10 * M), Tier(("b",), 10 * M)), repeat=2)
    escalation, told = start(1, policy, T0)
    seen = [told]
    now = T0
    while escalation.stopped_at is None:
        now += 10 * M
        escalation, told = run(escalation, now)
        if told:
            seen.append(told)
    assert seen == [("a",), ("b",)] * 3  # the first pass and two repeats
    assert escalation.stop_reason == "exhausted" and escalation.stopped_at == T0 + 60 * M
    assert escalation.loop == 2


def test_every_delivery_failed_escalates_at_once() -> None:
    escalation, _ = start(1, THREE, T0)
    moved, told = run(escalation, T0 + M, failed=True)
    assert told == ("mediators",) and moved.notified_at == T0 + M and moved.next_at == T0 + 16 * M


def test_resolution_stops_it_and_an_ack_wins_over_a_due_timeout() -> None:
    escalation, _ = start(1, THREE, T0)
    stopped, told = next_step(escalation, T0 + 5 * M, False, False, resolved=True)
    assert told is None and stopped.stop_reason == "resolved"
    acked, told = run(escalation, T0 + 20 * M, acked=True)
    assert told is None and acked.stop_reason == "acknowledged"


def test_the_frozen_policy_reads_back_the_same() -> None:
    assert Policy.from_json(THREE.to_json()) == THREE


@pytest.fixture
async def clean(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The test database without escalations or a notification log."""
    await pool.execute("TRUNCATE alert_escalations, notification_log")
    yield pool


async def on(pool: asyncpg.Pool, use: Any, *args: Any) -> Any:
    """Call a repo function that takes a connection, on one of the pool's."""
    async with pool.acquire() as conn:
        return await use(conn, *args)


async def _alert(pool: asyncpg.Pool, county: int = 42) -> int:
    alert_id: int = await pool.fetchval(
        "INSERT INTO alerts (rule, county_code, level, peak_level, trigger_count, opened_at, updated_at) "
        "VALUES ('r', $1, 2, 2, 3, $2, $2) RETURNING id", county, T0)
    return alert_id


async def test_timers_live_in_postgresql_and_survive_a_restart(clean: asyncpg.Pool, database_url: str) -> None:
    alert_id = await _alert(clean)
    first = await on(clean, start_escalation, alert_id, THREE, T0)
    assert first is not None and first.receivers == ("csic",)
    assert await on(clean, start_escalation, alert_id, THREE, T0 + M) is None  # one per alert
    await clean.close()  # "restart": a new pool, nothing kept in memory
    pool = await create_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            assert await advance_escalations(conn, T0 + 14 * M) == []
            (step,) = await advance_escalations(conn, T0 + 15 * M)
        assert step.receivers == ("mediators",) and step.escalation.tier == 1
        # The policy was frozen: editing it afterwards does not change this alert's escalation.
        stored = await escalation_of(pool, alert_id)
        assert stored is not None and stored.policy == THREE
        await pool.execute("UPDATE alerts SET acknowledged_at = $1 WHERE id = $2", T0 + 20 * M, alert_id)
        async with pool.acquire() as conn:
            (stop,) = await advance_escalations(conn, T0 + 20 * M)
        assert stop.receivers == () and stop.escalation.stop_reason == "acknowledged"
        async with pool.acquire() as conn:
            assert await advance_escalations(conn, T0 + 5 * 60 * M) == []
        audit = await pool.fetch("SELECT action, detail->>'tier' AS tier FROM audit_log "
                                 "WHERE subject = $1 ORDER BY id", f"alert:{alert_id}")
        assert [(a["action"], a["tier"]) for a in audit] == [("escalation.started", "1"), ("escalation.step", "2"),
                                                             ("escalation.stopped", "2")]
    finally:
        await pool.close()


async def test_two_instances_never_step_the_same_escalation(clean: asyncpg.Pool) -> None:
    ids = [await _alert(clean, county) for county in (1, 2, 3, 4)]
    for alert_id in ids:
        await on(clean, start_escalation, alert_id, THREE, T0)
    async with clean.acquire() as one, clean.acquire() as two, one.transaction():
        mine = await advance_escalations(one, T0 + 15 * M, limit=2)  # holds its rows until it commits
        theirs = await advance_escalations(two, T0 + 15 * M)
    assert len(mine) == 2 and len(theirs) == 2
    assert {s.escalation.alert_id for s in mine}.isdisjoint({s.escalation.alert_id for s in theirs})


async def test_an_alert_whose_every_delivery_failed_escalates_at_once(clean: asyncpg.Pool) -> None:
    await add_responders(clean, RESPONDERS)
    alert_id = await _alert(clean, county=42)
    await on(clean, start_escalation, alert_id, THREE, T0)
    await plan(clean, T0)
    await expand_outbox(clean, served={"twilio_sms": ("sms",)}, now=T0 + timedelta(seconds=1))
    assert await clean.fetchval("SELECT count(*) FROM deliveries") > 0
    async with clean.acquire() as conn:
        assert await advance_escalations(conn, T0 + 2 * M) == []  # delivered or pending: wait for the timeout
    await clean.execute("UPDATE deliveries SET status = 'dead'")
    async with clean.acquire() as conn:
        (step,) = await advance_escalations(conn, T0 + 2 * M)
    assert step.receivers == ("mediators",)


async def test_stop_escalation_on_an_ack(clean: asyncpg.Pool) -> None:
    alert_id = await _alert(clean)
    await on(clean, start_escalation, alert_id, THREE, T0)
    assert await on(clean, stop_alert_escalation, alert_id, "acknowledged", T0 + M)
    assert not await on(clean, stop_alert_escalation, alert_id, "acknowledged", T0 + 2 * M)
    stored = await escalation_of(clean, alert_id)
    assert stored is not None and stored.stop_reason == "acknowledged" and stored.stopped_at == T0 + M


async def test_the_notification_log_round_trips_and_says_what_is_current(clean: asyncpg.Pool) -> None:
    tree = parse_routes(ONE_ROUTE)
    labels = {"county": "42", "level": "WARNING", "group": "communal", "rule": "r", "sensitive": "false"}
    alerts = [AlertState(1, labels, T0)]
    plan = plan_notifications(tree, alerts, (), await log_entries(clean), T0 + M)
    (first,) = plan.notifications
    await on(clean, record_sent, plan.notifications, T0 + M)
    assert await still_current(clean, "csic", "county=42", first.fingerprint)
    # Nothing new to say: the stored log keeps the planner quiet.
    assert plan_notifications(tree, alerts, (), await log_entries(clean), T0 + 2 * M).notifications == ()
    raised = [AlertState(1, {**labels, "level": "ALERT"}, T0)]
    plan = plan_notifications(tree, raised, (), await log_entries(clean), T0 + 7 * M)
    await on(clean, record_sent, plan.notifications, T0 + 7 * M)
    assert not await still_current(clean, "csic", "county=42", first.fingerprint)  # superseded
    plan = plan_notifications(tree, [], (), await log_entries(clean), T0 + 8 * M)
    assert [n.status for n in plan.notifications] == ["resolved"]
    await on(clean, record_sent, plan.notifications, T0 + 8 * M)
    assert await prune_resolved(clean, T0 + 9 * M) == 1
    audit = await clean.fetch("SELECT action, detail->>'reason' AS reason FROM audit_log "
                              "WHERE action = 'notification.planned' ORDER BY id")
    assert [a["reason"] for a in audit] == ["new", "changed", "resolved"]





_TIERS = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 60)), min_size=1, max_size=4)


@given(_TIERS, st.integers(0, 3), st.lists(st.tuples(st.integers(0, 90), st.booleans(), st.booleans()),
                                            max_size=40), st.integers(0, 60))
def test_any_clock_tells_tiers_in_order_and_nobody_after_an_ack(
        tiers: list[tuple[str, int]], repeat: int, ticks: list[tuple[int, bool, bool]], ack_at: int) -> None:
    policy = Policy("p", tuple(Tier((name,), minutes * M) for name, minutes in tiers), repeat)
    escalation, told = start(1, policy, T0)
    order = [told]
    now = T0
    for minutes, failed, acked in ticks:
        now += minutes * M
        acked = acked and len(order) > ack_at % 3
        before = escalation
        escalation, told = next_step(escalation, now, acked, failed)
        if told is not None:
            order.append(told)
            assert escalation.notified_at == now and escalation.next_at == now + policy.tiers[escalation.tier].timeout
            assert failed or now >= before.next_at  # never before the timeout unless every delivery failed
        if before.stopped_at is not None:
            assert told is None and escalation == before
        if acked and before.stopped_at is None:
            assert told is None and escalation.stop_reason == "acknowledged"
    expected = [t.receivers for t in policy.tiers] * (repeat + 1)
    assert order == expected[:len(order)]  # tiers in order, loop after loop, never more than the policy has
