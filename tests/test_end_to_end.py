"""A signed webhook becomes a row, a level change and an SMS alert at a loopback Twilio."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from tests.conftest import REPORTER_PHONES, RESPONDER_PHONES, TWILIO_FROM
from tests.helpers import add_responders, eventually, send_report
from tests.loopback import FakeTwilioApi

RESPONDERS = f"""name,phone,county,role,language
Achieng (CSIC Kisumu),{RESPONDER_PHONES[0]},Kisumu,csic,sw
Peter (CSIC Nakuru),{RESPONDER_PHONES[1]},Nakuru,csic,en
Situation room,{RESPONDER_PHONES[2]},national,analyst,en
"""


async def test_reports_raise_kisumu_and_alert_its_responders_by_sms(
        client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    await send_report(client, "Youths with pangas at Kondele market, Kisumu")
    assert fake_twilio.messages == []  # one report is below WATCH (2)
    await send_report(client, "Watu wanapigana Kisumu sasa hivi")

    messages = await fake_twilio.wait_for(2)
    level = await pool.fetchval("SELECT level FROM engine_states WHERE county_code = 42")
    assert level == 1
    alert = await pool.fetchrow("SELECT id, level, trigger_count, closed_at FROM alerts")
    assert alert is not None and alert["level"] == 1 and alert["trigger_count"] == 2
    by_to = {m.form["To"]: m.form for m in messages}
    assert set(by_to) == {RESPONDER_PHONES[0], RESPONDER_PHONES[2]}, "Nakuru's responder must not be paged"
    swahili, english = by_to[RESPONDER_PHONES[0]], by_to[RESPONDER_PHONES[2]]
    assert swahili["From"] == english["From"] == TWILIO_FROM
    assert "Kisumu" in swahili["Body"] and "UANGALIZI" in swahili["Body"]
    assert f"NDIO {alert['id']}" in swahili["Body"] and "Ripoti 2 za matukio ndani ya saa 1" in swahili["Body"]
    assert "2 reports of incidents in 1 h" in english["Body"]
    assert "Kisumu" in english["Body"] and "WATCH" in english["Body"] and f"ACK {alert['id']}" in english["Body"]
    assert english["ValidityPeriod"] == "900"

    await eventually(lambda: _sent(pool, 2))
    response = await client.get("/api/v1/alerts")
    (listed,) = (await response.json())["alerts"]
    assert listed["reference"] == f"A-{alert['id']}" and listed["county_name"] == "Kisumu"
    assert listed["messages_sent"] == 2
    counties = (await (await client.get("/api/v1/counties")).json())["counties"]
    assert len(counties) == 47
    kisumu = next(c for c in counties if c["code"] == 42)
    assert kisumu["level"] == "WATCH" and kisumu["since"] is not None


async def test_escalation_sends_again_and_keeps_one_open_alert(
        client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    for i in range(2):
        await send_report(client, f"Attack number {i} in Nakuru town")
    await fake_twilio.wait_for(2)  # WATCH at 2 -> Peter and the situation room
    for i in range(2, 4):
        await send_report(client, f"Attack number {i} in Nakuru town")
    messages = await fake_twilio.wait_for(4)  # WARNING at 4 -> both again
    bodies = [m.form["Body"] for m in fake_twilio.messages if m.form["To"] == RESPONDER_PHONES[1]]
    assert any("WATCH" in b for b in bodies) and any("WARNING (raised)" in b for b in bodies), messages
    assert await pool.fetchval("SELECT count(*) FROM alerts WHERE closed_at IS NULL") == 1
    assert await pool.fetchval("SELECT level FROM alerts") == 2


async def test_one_phone_flooding_a_county_cannot_raise_it_alone(client: TestClient, pool: asyncpg.Pool,
                                                                 fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    for i in range(20):
        await send_report(client, f"Kisumu is burning, message {i}", sender=REPORTER_PHONES[0])
    assert await pool.fetchval("SELECT count(*) FROM reports") == 20, "every report is still kept"
    await eventually(lambda: _evaluated_after_last_report(pool, 42))
    state = await pool.fetchrow("SELECT level, statistic FROM engine_states WHERE county_code = 42")
    assert (state["level"], state["statistic"]) == (0, 1), "the flood's first report counts, and only it"
    assert fake_twilio.messages == []


async def test_reports_with_no_county_change_no_level(client: TestClient, pool: asyncpg.Pool,
                                                      fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    for _ in range(3):
        await send_report(client, "Fighting at the market, please come")
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE county_code IS NULL") == 3
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 0
    # No alert; at most the one "where did this happen?" question to the sender (see test_places.py).
    assert all(m.form["Body"].startswith("Where did this happen?") for m in fake_twilio.messages)


async def _evaluated_after_last_report(pool: asyncpg.Pool, county: int) -> bool:
    return bool(await pool.fetchval(
        "SELECT s.evaluated_at >= (SELECT max(received_at) FROM reports WHERE county_code = $1) "
        "FROM engine_states s WHERE s.county_code = $1", county))


async def _sent(pool: asyncpg.Pool, count: int) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'") >= count)


async def test_different_reports_from_one_phone_under_the_flood_rate_each_count(pool: asyncpg.Pool, settings) -> None:  # type: ignore[no-untyped-def]
    from aiohttp.test_utils import TestServer

    from ews.web.app import create_app

    async with TestClient(TestServer(create_app(settings))) as client:
        # Six different reports (no near-repeats) from one phone, under the flood rate: each counts.
        texts = ["Kisumu is burning near the market", "Shops looted in Kondele, Kisumu",
                 "Police fire teargas at Kisumu bus park", "Youths block the Kisumu-Kakamega road",
                 "Two houses torched in Nyalenda, Kisumu", "Crowd with pangas gathering at Kibuye, Kisumu"]
        for text in texts:
            await send_report(client, text, sender=REPORTER_PHONES[0])
        await eventually(lambda: _level(pool, 42, 3))


async def _level(pool: asyncpg.Pool, county: int, level: int) -> bool:
    return bool(await pool.fetchval("SELECT max(level) FROM engine_states WHERE county_code = $1", county) == level)
