"""The live engine on rules file v2 against the real database: a critical report raises its county in one
evaluation, a baseline rule raises on a surge and explains it, an activated rules version reaches the
running engine without a restart, and GET /api/v1/alerts/{id} tells why."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from ews.core.clock import utcnow
from ews.core.settings import Settings
from ews.db.repo.rules_versions import activate
from ews.engine.evaluator import Evaluator
from ews.engine.series import apply_pending
from ews.web.app import create_app
from rules.rulebook import load
from rules.series import EAT
from tests.conftest import TEST_RULES
from tests.helpers import add_responders, eventually, plan, send_report
from tests.loopback import FakeTwilioApi
from tests.test_end_to_end import RESPONDERS
from tests.test_partner_api import PATH, auth, token_for

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = load((ROOT / "rules.toml").read_text(), "rules.toml")
_ids = itertools.count(1)

_INSERT = """
INSERT INTO reports (source, external_id, channel, body, sender_hash, language, received_at, occurred_at,
                     county_code, incident_type, severity, casualties)
VALUES ('test', $1, $2, 'a report', $3, 'en', $4, $4, $5, $6, $7, $8)
"""


async def add(pool: asyncpg.Pool, at: datetime, kind: str = "physical_assault", *, county: int = 42,
              channel: str = "twilio_sms", severity: str = "medium", casualties: int = 0) -> None:
    """A placed, typed report (as the classification stage leaves it)."""
    n = next(_ids)
    await pool.execute(_INSERT, f"e{n}", channel, f"{n:064x}", at, county, kind, severity, casualties)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_a_critical_report_raises_its_county_in_one_evaluation_and_says_why(pool: asyncpg.Pool) -> None:
    clock = Clock(datetime(2027, 8, 9, 14, 30, tzinfo=EAT))  # election day, mid-afternoon
    evaluator = Evaluator(pool, DEFAULT_RULES, on_change=lambda: None, clock=clock)
    assert await evaluator.evaluate([42]) == []
    await add(pool, clock.now - timedelta(minutes=5), "killing", severity="critical", casualties=1)
    clock.now += timedelta(seconds=2)
    (change,) = await evaluator.evaluate([42])  # the next evaluation, not the next day
    assert (change.rule, change.group, change.to_level.name) == ("critical-report", "violence", "ALERT")
    alert = await pool.fetchrow("SELECT rules_version, explanation FROM alerts WHERE id = $1", change.alert_id)
    assert alert["rules_version"] == "file (default-3)"
    assert json.loads(alert["explanation"])["why"] == {"en": "1 critical report of violence in 24 h",
                                                       "sw": "ripoti 1 ya vurugu hatari ndani ya saa 24"}
    # Later evaluations in the same day change nothing; then it takes a calm day and one more (keep_for 1).
    clock.now += timedelta(hours=2)
    assert await evaluator.evaluate([42]) == []
    clock.now += timedelta(days=1)
    assert await evaluator.evaluate([42]) == [], "the day of the killing, judged complete, still holds ALERT"
    clock.now += timedelta(days=1)
    assert await evaluator.evaluate([42]) == [], "one calm day: not yet"
    clock.now += timedelta(days=1)
    (fall,) = await evaluator.evaluate([42])
    assert (fall.from_level.name, fall.to_level.name) == ("ALERT", "NORMAL")
    assert await pool.fetchval("SELECT closed_at FROM alerts WHERE id = $1", change.alert_id) == clock.now


async def test_an_incident_is_judged_by_its_gravest_report(pool: asyncpg.Pool) -> None:
    # Stones first, then a killing about the same clash: grouped into one incident, it is critical now.
    clock = Clock(datetime(2027, 8, 9, 0, 40, tzinfo=EAT))  # just after midnight, Kenya time
    evaluator = Evaluator(pool, DEFAULT_RULES, on_change=lambda: None, clock=clock)
    incident = await pool.fetchval(
        "INSERT INTO incidents (type_group, place_level, place_code, county_code, first_at, last_at) "
        "VALUES ('violence', 'county', '42', 42, $1, $1) RETURNING id", clock.now - timedelta(minutes=30))
    await add(pool, clock.now - timedelta(minutes=30), "armed_attack", severity="high")
    await pool.execute("UPDATE reports SET incident_id = $1", incident)
    assert await evaluator.evaluate([42]) == []
    await add(pool, clock.now - timedelta(minutes=10), "killing", severity="critical", casualties=2)
    await pool.execute("UPDATE reports SET incident_id = $1 WHERE incident_id IS NULL", incident)
    async with pool.acquire() as conn, conn.transaction():
        # The incident's weight and cells stay as they were; its gravity moved, so the engine must look.
        assert await apply_pending(conn) == {42: {"violence", "all"}}
    changes = await evaluator.evaluate([42])
    assert ("critical-report", "violence", "ALERT") in {(c.rule, c.group, c.to_level.name) for c in changes}
    unit = await pool.fetchrow("SELECT incident_type, severity, casualties, reports FROM series_units")
    assert tuple(unit) == ("killing", "critical", 2, 2)


async def test_a_surge_against_the_county_s_own_past_raises_with_its_baseline(pool: asyncpg.Pool) -> None:
    today = datetime(2027, 8, 9, 18, 0, tzinfo=EAT)
    for day in range(1, 31):  # a month of one assault a day, imported from a partner's archive
        await add(pool, today - timedelta(days=day), channel="import")
    clock = Clock(today)
    evaluator = Evaluator(pool, DEFAULT_RULES, on_change=lambda: None, clock=clock)
    for minute in range(8):  # then eight separate assaults this afternoon
        await add(pool, today - timedelta(hours=4, minutes=-7 * minute))
    changes = await evaluator.evaluate([42])
    c1 = next(c for c in changes if c.rule == "violence-c1")
    assert c1.to_level.name == "WARNING"  # z = (8 - 1) / max(sd 0, min_sigma 1) = 7 >= warning 7
    explanation = await pool.fetchval("SELECT explanation FROM level_transitions WHERE alert_id = $1", c1.alert_id)
    import json

    e = json.loads(explanation)
    assert (e["detector"], e["statistic"], e["threshold"], e["observed"]) == ("ears-c1", 7.0, 7, 8.0)
    assert e["baseline"] == {"periods": 7, "mean": 1.0, "sd": 0.0}
    assert e["why"]["en"] == "8 reports of violence in 24 h; usual 1"
    assert e["contributing_count"] == 8 and len(e["contributing"]) == 8
    assert {u["weight"] for u in e["contributing"]} == {1.0}
    # The imported month alone raises nothing: the engine judges live reports only.
    await pool.execute("DELETE FROM reports WHERE channel <> 'import'")
    evaluator_b = Evaluator(pool, DEFAULT_RULES, on_change=lambda: None, clock=Clock(today + timedelta(days=3)))
    changes_b = await evaluator_b.evaluate([42])
    assert {(c.rule, c.to_level.name) for c in changes_b} <= {("violence-c1", "NORMAL")}


async def test_an_activated_version_reaches_the_running_engine_and_retires_removed_rules(
        pool: asyncpg.Pool) -> None:
    clock = Clock(utcnow())
    evaluator = Evaluator(pool, load(TEST_RULES), on_change=lambda: None, clock=clock)
    for minute in range(2):
        await add(pool, clock.now - timedelta(minutes=minute + 1))
    (raised,) = await evaluator.evaluate([42])
    assert (raised.rule, raised.to_level.name) == ("reports_1h", "WATCH")
    assert await plan(pool, clock.now) > 0  # its receivers are told it fires
    stricter = TEST_RULES.replace('version = "test-1"', 'version = "test-2"').replace(
        'name = "reports_1h"', 'name = "reports_1h_strict"').replace("watch = 2", "watch = 1")
    async with pool.acquire() as conn:
        version_id = await activate(conn, version="test-2", sha256=hashlib.sha256(stricter.encode()).hexdigest(),
                                    body=stricter, rules=1, by="Achieng (NCIC Nakuru)", note="", now=clock.now)
    clock.now += timedelta(seconds=1)
    await add(pool, clock.now, county=1)
    changes = await evaluator.evaluate([42, 1])  # no restart: the next pass reads the active version
    assert evaluator.rules.label == f"V{version_id} (test-2)"
    assert {(c.rule, c.county_code, c.to_level.name) for c in changes} == {
        ("reports_1h_strict", 42, "WATCH"), ("reports_1h_strict", 1, "WATCH")}
    old = await pool.fetchrow("SELECT closed_at, level FROM alerts WHERE id = $1", raised.alert_id)
    assert old["closed_at"] is not None, "the removed rule's alert is closed"
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE notice = 'resolved'") == 0
    await plan(pool, clock.now)
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE notice = 'resolved'") == 0, \
        "silently: nobody hears 'back to normal' for a rename"
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'alert.retired'") == 1
    assert await pool.fetchval("SELECT count(*) FROM engine_states WHERE rule = 'reports_1h'") == 0


async def test_a_critical_partner_report_pages_at_once_and_the_api_explains_it(
        pool: asyncpg.Pool, settings: Settings, fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    app = create_app(settings.replace(rules_file=ROOT / "rules.toml"))
    async with TestClient(TestServer(app)) as client:
        token = await token_for(pool)
        batch = {"reports": [{"body": "Two people killed in a raid at Kondele", "county_code": 42,
                              "incident_type": "killing", "casualties": 2, "reporter_id": "m1"}]}
        assert (await client.post(PATH, json=batch, headers=auth(token))).status == 202
        messages = await fake_twilio.wait_for(2, timeout=15)  # Kisumu's CSIC member and the situation room
        assert all("ALERT" in m.form["Body"] or "HATARI" in m.form["Body"] for m in messages)
        english = next(m.form["Body"] for m in messages if m.form["To"] != RESPONDERS.split("\n")[1].split(",")[1])
        assert "1 critical report of violence in 24 h" in english
        alert_id = await pool.fetchval("SELECT id FROM alerts")
        response = await client.get(f"/api/v1/alerts/A-{alert_id}")
        assert response.status == 200
        found = await response.json()
        assert (found["rule"], found["group"], found["level"]) == ("critical-report", "violence", "ALERT")
        assert found["labels"] == {"county": "42", "level": "ALERT", "rule": "critical-report",
                                   "group": "violence", "sensitive": "false"}
        assert len(found["fingerprint"]) == 16
        (change,) = found["changes"]
        assert change["explanation"]["detector"] == "immediate"
        assert change["explanation"]["contributing"][0]["report"] == "EWS-1"
        for bad, status in (("A-x", 400), ("٣", 400), ("0", 400), (str(alert_id + 1), 404)):
            assert (await client.get(f"/api/v1/alerts/{bad}")).status == status, bad
        listed = (await (await client.get("/api/v1/alerts")).json())["alerts"]
        assert listed[0]["why"]["sw"] == "ripoti 1 ya vurugu hatari ndani ya saa 24"


async def test_an_sgbv_alert_and_its_reports_are_only_for_cleared_callers(pool: asyncpg.Pool,
                                                                         settings: Settings) -> None:
    clock = Clock(datetime(2027, 8, 9, 14, 30, tzinfo=EAT))
    evaluator = Evaluator(pool, DEFAULT_RULES, on_change=lambda: None, clock=clock)
    await add(pool, clock.now - timedelta(minutes=5), "sgbv", severity="critical")
    (change,) = await evaluator.evaluate([42])
    assert change.group == "sgbv"
    cleared = settings.replace(api_token="a" * 32, sensitive_api_token="b" * 32)
    async with TestClient(TestServer(create_app(cleared))) as client:
        plain, secret = {"Authorization": "Bearer " + "a" * 32}, {"Authorization": "Bearer " + "b" * 32}
        assert (await client.get(f"/api/v1/alerts/{change.alert_id}", headers=plain)).status == 404
        assert (await (await client.get("/api/v1/alerts", headers=plain)).json())["alerts"] == []
        assert (await client.get(f"/api/v1/alerts/{change.alert_id}", headers=secret)).status == 200


async def test_reports_sent_by_sms_are_counted_after_classification_and_raise_without_a_tick(
        client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    await send_report(client, "Youths with pangas at Kondele market, Kisumu")
    await send_report(client, "Watu wanapigana Kisumu sasa hivi")
    await eventually(lambda: _level(pool, 42, 1))
    units = await pool.fetchval("SELECT count(*) FROM series_units WHERE county_code = 42")
    assert units == 2 and await pool.fetchval("SELECT count(*) FROM reports WHERE classified_at IS NULL") == 0


async def _level(pool: asyncpg.Pool, county: int, level: int) -> bool:
    return bool(await pool.fetchval("SELECT coalesce(max(level), 0) FROM engine_states WHERE county_code = $1",
                                    county) >= level)


def test_the_shipped_rules_are_the_default_rules() -> None:
    assert DEFAULT_RULES.version.startswith("default-") and {r.name for r in DEFAULT_RULES.rules} >= {
        "critical-report", "violence-c1"}
    assert UTC  # the periods are Kenyan (EAT); the clock given in UTC or EAT is the same moment
