"""The entry points the expansion and the scheduler call (ews/alerting/noise.py), over the real database:
the active routing file, silences and the notification log read, the plan logged, escalations opened."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from ews.alerting.grouping import AlertState
from ews.alerting.noise import (
    add_silence,
    alert_labels,
    commit_plan,
    load_routes,
    open_alert_escalation,
    plan_from_database,
)
from ews.alerting.silences import parse_matchers
from ews.core.models import Level
from ews.db.repo.routes_versions import activate_routes

SAMPLE = Path(__file__).parent.parent / "routes.toml"
T0 = datetime(2027, 8, 9, 12, 0, tzinfo=UTC)


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy]:
    """A connection on an emptied database (the tables of issue 15 too)."""
    await pool.execute("TRUNCATE silences, notification_log, alert_escalations, routes_versions RESTART IDENTITY")
    async with pool.acquire() as connection:
        yield connection


async def test_plan_from_the_database_mutes_logs_and_escalates(conn: asyncpg.pool.PoolConnectionProxy) -> None:
    assert await load_routes(conn) is None
    text = SAMPLE.read_text(encoding="utf-8")
    assert (await load_routes(conn, fallback=text)) is not None
    await activate_routes(conn, sha256="0" * 64, body=text, receivers=5, by="Achieng", note="", now=T0)
    tree = await load_routes(conn, fallback="not toml at all [")  # the stored version wins
    assert tree is not None and "county-escalation" in tree.policies

    warning = AlertState(1, alert_labels(county_code=42, level=Level.WARNING, rule="r", group="communal",
                                         sensitive=False), T0)
    severe = AlertState(2, alert_labels(county_code=42, level=3, rule="r", group="violence", sensitive=False), T0)
    nakuru = AlertState(3, alert_labels(county_code=32, level=2, rule="r", group="communal", sensitive=False), T0)
    await add_silence(conn, matchers=parse_matchers(["county=Nakuru"]), starts_at=T0, ends_at=T0 + timedelta(hours=2),
                      author="Achieng", reason="peace meeting", via="test", now=T0)
    now = T0 + timedelta(minutes=1)
    plan = await plan_from_database(conn, tree, [warning, severe, nakuru], now)
    told = sorted((n.receiver, n.group_key, n.alerts) for n in plan.notifications)
    assert ("county-csic", "county=42", ((2, "ALERT"),)) in told  # the WARNING is inhibited for the CSIC
    assert ("national-desk", "county=42", ((2, "ALERT"),)) in told
    assert ("county-mediators", "county=42", ((1, "WARNING"),)) in told  # mediators never hear of A-2
    assert not any(n.group_key == "county=32" for n in plan.notifications)  # silenced
    assert {(m.alert_id, m.why) for m in plan.muted} >= {(3, "silence 1"), (1, "inhibited by A-2")}
    async with conn.transaction():
        await commit_plan(conn, plan, now)
    again = await plan_from_database(conn, tree, [warning, severe, nakuru], now + timedelta(minutes=1))
    assert again.notifications == ()

    alert_id = await conn.fetchval(
        "INSERT INTO alerts (rule, county_code, level, peak_level, trigger_count, opened_at, updated_at) "
        "VALUES ('r', 42, 2, 2, 3, $1, $1) RETURNING id", T0)
    step = await open_alert_escalation(conn, tree, alert_id, warning.labels, T0)
    assert step is not None and step.receivers == ("county-csic",)
    stored = await conn.fetchval("SELECT policy->>'name' FROM alert_escalations WHERE alert_id = $1", alert_id)
    assert stored == "county-escalation"
    watch = alert_labels(county_code=42, level=1, rule="r", group="tension", sensitive=False)
    assert await open_alert_escalation(conn, tree, alert_id, watch, T0) is None  # no policy on its route
