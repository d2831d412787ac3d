"""Alerts through the routing tree, end to end over the real database: the default routing file's cases,
grouping and repeat timing with an injected clock, inhibition, silences, a three-tier escalation whose second
tier acknowledges by SMS, and a gateway down for ten minutes (each receiver then gets the current state once)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from ews.alerting.acknowledgements import Actor, act_on_alert
from ews.alerting.dispatch import Dispatcher
from ews.alerting.expand import expand_outbox
from ews.alerting.noise import add_silence, expire_silence
from ews.alerting.silences import parse_matchers
from ews.core.clock import utcnow
from ews.core.privacy import ContactCipher
from ews.db.repo.deliveries import claim_due
from notifiers.twilio_sms import TwilioSmsNotifier
from tests.conftest import CONTACT_KEY, REPORTER_PHONES, RESPONDER_PHONES, random_sid
from tests.helpers import add_responders, open_alert, open_and_plan, plan, post_signed, sms_form
from tests.loopback import FakeTwilioApi
from tests.test_dispatch_invariants import twilio

ROUTES_FILE = Path(__file__).parent.parent / "routes.toml"
ROUTES = ROUTES_FILE.read_text(encoding="utf-8")
AMINA, BARAKA, CHEBET = RESPONDER_PHONES  # Kisumu: CSIC, mediator, gender desk
DESK, PETER = REPORTER_PHONES[4], REPORTER_PHONES[5]  # the national situation room; Nakuru's CSIC
DIRECTORY = f"""name,phone,county,role,language,email
Amina,{AMINA},Kisumu,csic,en,
Baraka,{BARAKA},Kisumu,mediator,sw,
Chebet,{CHEBET},Kisumu,gender_desk,en,
Situation room,{DESK},national,analyst,en,desk@ews.example.org
Peter,{PETER},Nakuru,csic,en,
"""
KISUMU, NAKURU, MOMBASA, NAIROBI = 42, 32, 1, 47
S = timedelta(seconds=1)
M = timedelta(minutes=1)


@pytest.fixture
def routes_file() -> Path:
    """The app routes with the shipped default file (the routing these tests are about)."""
    return ROUTES_FILE


@pytest.fixture
async def sms(fake_twilio: FakeTwilioApi) -> AsyncIterator[TwilioSmsNotifier]:
    """The real Twilio notifier aimed at the loopback API."""
    notifier = twilio(fake_twilio, timeout=2.0)
    yield notifier
    await notifier.close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def planned(pool: asyncpg.Pool) -> set[tuple[str, str, tuple[int, ...]]]:
    """The (receiver, notice, alert ids) of every message planned so far."""
    rows = await pool.fetch("SELECT receiver, notice, alert_ids FROM outbox WHERE kind = 'alert'")
    return {(r["receiver"], r["notice"], tuple(r["alert_ids"])) for r in rows}


async def bodies_to(pool: asyncpg.Pool, name: str) -> list[str]:
    """The alert texts a responder was given, in order."""
    rows = await pool.fetch("SELECT d.body FROM deliveries d "
                            "JOIN responder_contacts c ON c.id = d.responder_contact_id "
                            "JOIN responders r ON r.id = c.responder_id WHERE r.name = $1 AND d.kind = 'alert' "
                            "ORDER BY d.id", name)
    return [r["body"] for r in rows]


async def test_the_default_routes_send_each_alert_to_the_people_it_concerns(pool: asyncpg.Pool) -> None:
    await add_responders(pool, DIRECTORY)
    t0 = utcnow()
    violence = await open_alert(pool, county=KISUMU, level=2, group="violence", opened_at=t0,
                                why=("5 reports of armed attack in 24 h", "ripoti 5 za mashambulizi ndani ya saa 24"))
    sgbv = await open_alert(pool, county=KISUMU, level=2, group="sgbv", rule="sgbv-c1", opened_at=t0,
                            why=("3 reports of sexual violence in 24 h", "ripoti 3 za unyanyasaji ndani ya saa 24"))
    communal = await open_alert(pool, county=NAKURU, level=2, group="communal", opened_at=t0)
    severe = await open_alert(pool, county=MOMBASA, level=3, group="violence", opened_at=t0)
    tension = await open_alert(pool, county=NAIROBI, level=1, group="tension", opened_at=t0)
    assert await plan(pool, t0, routes=ROUTES) == 2, "ALERT routes do not wait; the others wait 30 s"
    assert await planned(pool) == {("county-csic", "firing", (severe,)), ("national-desk", "firing", (severe,))}
    await plan(pool, t0 + 31 * S, routes=ROUTES)
    assert await planned(pool) - {("county-csic", "firing", (severe,)), ("national-desk", "firing", (severe,))} == {
        ("county-csic", "firing", (violence,)),        # Kisumu's CSIC: WARNING and above
        ("gender-desk", "firing", (sgbv,)),            # sexual violence: the gender desk only
        ("county-csic", "firing", (communal,)),        # Nakuru's CSIC ...
        ("county-mediators", "firing", (communal,)),   # ... and its mediators: inter-communal
        ("analysts", "firing", (tension,)),            # a WATCH nobody else takes
    }
    await expand_outbox(pool, served={"twilio_sms": ("sms",)}, now=t0 + 31 * S)
    (amina,) = await bodies_to(pool, "Amina")
    assert f"A-{violence}" in amina and f"A-{sgbv}" not in amina and "armed attack" in amina
    (chebet,) = await bodies_to(pool, "Chebet")
    assert f"A-{sgbv}" in chebet and "sexual violence" in chebet, "the gender desk is cleared: it reads the details"
    assert await bodies_to(pool, "Baraka") == [], "Kisumu's violence is not inter-communal"
    (peter,) = await bodies_to(pool, "Peter")
    assert f"A-{communal}" in peter


async def test_an_uncleared_receiver_of_a_sensitive_alert_is_told_it_exists_not_what_it_says(
        pool: asyncpg.Pool) -> None:
    await add_responders(pool, DIRECTORY)
    csic_only = '[[receiver]]\nname = "csic"\nroles = ["csic"]\nchannel = "sms"\n' \
                '[route]\nreceiver = "csic"\ngroup_wait = "0s"\n'
    alert = await open_alert(pool, county=KISUMU, level=2, group="sgbv",
                             why=("3 reports of sexual violence in 24 h", "ripoti 3 za unyanyasaji ndani ya saa 24"))
    assert await plan(pool, routes=csic_only) == 1
    await expand_outbox(pool, served={"twilio_sms": ("sms",)}, now=utcnow())
    (amina,) = await bodies_to(pool, "Amina")
    assert f"A-{alert}" in amina and "sexual" not in amina and "sensitive" in amina


GROUPED = """
[[receiver]]
name = "kisumu-csic"
roles = ["csic"]
channel = "sms"
[route]
receiver = "kisumu-csic"
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"
"""


async def test_grouping_waits_batches_repeats_and_resolves_on_the_clock(pool: asyncpg.Pool) -> None:
    await add_responders(pool, DIRECTORY)
    t0 = utcnow()
    first = await open_alert(pool, county=KISUMU, level=1, rule="r1", opened_at=t0)
    assert await plan(pool, t0, routes=GROUPED) == 0, "group_wait: a new group waits 30 s for company"
    second = await open_alert(pool, county=KISUMU, level=2, rule="r2", opened_at=t0 + 10 * S)
    assert await plan(pool, t0 + 20 * S, routes=GROUPED) == 0
    assert await plan(pool, t0 + 31 * S, routes=GROUPED) == 1
    assert await planned(pool) == {("kisumu-csic", "firing", (second, first))}, "one message, most severe first"
    assert await plan(pool, t0 + 40 * S, routes=GROUPED) == 0, "nobody is told the same thing twice"
    await pool.execute("UPDATE alerts SET level = 3 WHERE id = $1", first)
    assert await plan(pool, t0 + 2 * M, routes=GROUPED) == 0, "group_interval: a change waits 5 min"
    assert await plan(pool, t0 + 5 * M + 32 * S, routes=GROUPED) == 1
    assert await plan(pool, t0 + 3 * 60 * M, routes=GROUPED) == 0
    assert await plan(pool, t0 + 4 * 60 * M + 6 * M, routes=GROUPED) == 1, "repeat_interval: told again after 4 h"
    await pool.execute("UPDATE alerts SET level = 0, closed_at = $1", t0 + 5 * 60 * M)
    assert await plan(pool, t0 + 5 * 60 * M, routes=GROUPED) == 1
    assert await plan(pool, t0 + 5 * 60 * M + S, routes=GROUPED) == 0, "resolved once"
    reasons = [r["reason"] for r in await pool.fetch("SELECT reason FROM outbox ORDER BY id")]
    assert reasons == ["new", "changed", "repeat", "resolved"]
    await expand_outbox(pool, served={"twilio_sms": ("sms",)}, now=t0 + 5 * 60 * M)
    texts = await bodies_to(pool, "Amina")
    assert "(raised)" in texts[1] and "back to normal" in texts[-1] and "ACK" not in texts[-1]


async def test_an_alert_in_a_county_mutes_its_warning_and_a_silence_mutes_until_expired(pool: asyncpg.Pool) -> None:
    await add_responders(pool, DIRECTORY)
    t0 = utcnow()
    warning = await open_alert(pool, county=KISUMU, level=2, group="violence", opened_at=t0)
    severe = await open_alert(pool, county=KISUMU, level=3, group="violence", rule="critical", opened_at=t0)
    await plan(pool, t0 + 31 * S, routes=ROUTES)
    told = {(r, tuple(a)) for r, _n, a in await planned(pool)}
    assert ("county-csic", (severe,)) in told and not any(warning in a for _r, a in told), "inhibited"
    async with pool.acquire() as conn:
        silence = await add_silence(conn, matchers=parse_matchers(["county=Nakuru"]), starts_at=t0,
                                    ends_at=t0 + 60 * M, author="Achieng", reason="a known rally", via="test", now=t0)
    nakuru = await open_alert(pool, county=NAKURU, level=2, group="communal", opened_at=t0)
    assert await plan(pool, t0 + 2 * M, routes=ROUTES) == 0, "silenced: nobody is told"
    async with pool.acquire() as conn:
        await expire_silence(conn, silence.id, by="Achieng", via="test", now=t0 + 3 * M)
    assert await plan(pool, t0 + 3 * M, routes=ROUTES) == 2
    assert {("county-csic", (nakuru,)), ("county-mediators", (nakuru,))} <= {
        (r, tuple(a)) for r, _n, a in await planned(pool)}
    audit = await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'silence.%'")
    assert audit == 2, "added and expired, both audited"


def _replies(twiml: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]  # noqa: S314 - our own server's output


async def test_three_tiers_nobody_answers_tier_one_and_tier_two_acks_by_sms(
        client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi, sms: TwilioSmsNotifier) -> None:
    await add_responders(pool, DIRECTORY)
    clock = Clock(utcnow())
    t0 = clock.now
    dispatcher = Dispatcher(pool, [sms], ContactCipher(CONTACT_KEY), retry_for=30 * M, send_timeout=5, clock=clock)
    alert = await open_alert(pool, county=KISUMU, level=2, group="violence", opened_at=t0)
    clock.now = t0 + 31 * S
    await plan(pool, clock.now, routes=ROUTES)  # tier 1 is the CSIC, told in its group's message
    await dispatcher.drain()
    assert [m.form["To"] for m in fake_twilio.messages] == [AMINA]
    clock.now = t0 + 31 * S + 15 * M + S  # nobody acknowledged within 15 min of tier 1 being told
    await plan(pool, clock.now, routes=ROUTES)
    await dispatcher.drain()
    assert [m.form["To"] for m in fake_twilio.messages] == [AMINA, BARAKA]
    assert "KUPANDISHWA (ngazi 2)" in fake_twilio.messages[1].form["Body"], "in Baraka's language"
    response = await post_signed(client, sms_form(f"NDIO {alert}", sid=random_sid(), sender=BARAKA))
    assert "A-" in _replies(await response.text())[0]
    clock.now = t0 + 17 * M
    await plan(pool, clock.now, routes=ROUTES)
    clock.now = t0 + 47 * M  # past tier 2's timeout: it would have gone to the national desk
    assert await plan(pool, clock.now, routes=ROUTES) == 0
    steps = await pool.fetch("SELECT action, detail->>'tier' AS tier, detail->>'reason' AS reason FROM audit_log "
                             "WHERE action LIKE 'escalation.%' ORDER BY id")
    assert [(s["action"], s["tier"], s["reason"]) for s in steps] == [
        ("escalation.started", "1", None), ("escalation.step", "2", None),
        ("escalation.stopped", "2", "acknowledged")]
    assert not [r for r in await planned(pool) if r[0] == "national-desk"]


async def test_a_gateway_down_for_ten_minutes_delivers_the_current_state_once(
        pool: asyncpg.Pool, fake_twilio: FakeTwilioApi, sms: TwilioSmsNotifier) -> None:
    await add_responders(pool, DIRECTORY)
    clock = Clock(utcnow())
    t0 = clock.now
    dispatcher = Dispatcher(pool, [sms], ContactCipher(CONTACT_KEY), retry_for=30 * M, send_timeout=5, clock=clock)
    warning = await open_alert(pool, county=KISUMU, level=2, group="violence", opened_at=t0)
    other = await open_alert(pool, county=NAKURU, level=2, group="violence", opened_at=t0)
    fake_twilio.failures = [(503, 0)] * 10_000  # down
    while clock.now < t0 + 15 * M:
        if clock.now >= t0 + 10 * M:
            fake_twilio.failures.clear()  # back after ten minutes
        if t0 + 3 * M <= clock.now < t0 + 3 * M + 30 * S:
            await pool.execute("UPDATE alerts SET level = 3 WHERE id = $1", warning)  # it got worse meanwhile
        await plan(pool, clock.now, routes=ROUTES)
        await dispatcher.drain()
        clock.now += 30 * S
    sent = Counter((m.form["To"], m.form["Body"]) for m in fake_twilio.messages)
    assert set(sent.values()) == {1}, "nothing twice"
    to_amina = [body for to, body in sent if to == AMINA]
    assert len(to_amina) == 1 and "ALERT" in to_amina[0], "Kisumu's CSIC: the current state, once"
    assert [to for to, _ in sent].count(PETER) == 1, "Nakuru's message waited out the outage and went"
    superseded = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'superseded'")
    assert superseded == 1, "the WARNING queued during the outage was replaced by the ALERT"
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'dead'") == 0
    assert other
    audited = {r["action"] for r in await pool.fetch("SELECT DISTINCT action FROM audit_log")}
    assert {"delivery.pending", "delivery.sent", "delivery.superseded", "notification.planned"} <= audited, \
        "every notification and delivery status is an audit row"


async def test_done_tells_everyone_once_and_no_back_to_normal_follows(pool: asyncpg.Pool) -> None:
    await add_responders(pool, DIRECTORY)
    t0 = utcnow()
    alert = await open_alert(pool, county=KISUMU, level=3, group="violence", opened_at=t0)
    await plan(pool, t0, routes=ROUTES)
    await expand_outbox(pool, served={"twilio_sms": ("sms",)}, now=t0)
    async with pool.acquire() as conn, conn.transaction():
        acted = await act_on_alert(conn, alert_id=alert, action="resolve", actor=Actor(name="Wanjiru"), now=t0 + M)
    assert acted.outcome == "resolved" and acted.notified == 1  # Amina, who was sent it
    assert await plan(pool, t0 + 2 * M, routes=ROUTES) == 0, "handled was told; 'back to normal' is not news"
    await pool.execute("UPDATE alerts SET level = 0, closed_at = $1", t0 + 60 * M)
    assert await plan(pool, t0 + 61 * M, routes=ROUTES) == 0


async def test_a_silenced_alert_does_not_escalate(pool: asyncpg.Pool) -> None:
    await add_responders(pool, DIRECTORY)
    t0 = utcnow()
    async with pool.acquire() as conn:
        await add_silence(conn, matchers=parse_matchers(["county=Kisumu"]), starts_at=t0, ends_at=t0 + 60 * M,
                          author="Achieng", reason="drill", via="test", now=t0)
    await open_alert(pool, county=KISUMU, level=2, group="violence", opened_at=t0)
    for minutes in (1, 20, 40):
        assert await plan(pool, t0 + minutes * M, routes=ROUTES) == 0
    assert await pool.fetchval("SELECT count(*) FROM alert_escalations") == 0


async def test_alerts_go_before_a_backlog_of_receipts(pool: asyncpg.Pool) -> None:
    await add_responders(pool, DIRECTORY)
    contact = await pool.fetchval("INSERT INTO reporter_contacts (sender_hash, channel, address_enc, language, "
                                  "created_at, updated_at) VALUES ('h', 'sms', '\\x00', 'en', now(), now()) "
                                  "RETURNING id")
    await pool.execute("INSERT INTO outbox (kind, reporter_contact_id, body, language, created_at) "
                       "SELECT 'receipt', $1, 'EWS: received', 'en', now() FROM generate_series(1, 30)", contact)
    (alert,) = await open_and_plan(pool, county=KISUMU, level=3, routes=ROUTES)
    await expand_outbox(pool, served={"twilio_sms": ("sms",)}, now=utcnow(), limit=3)
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE kind = 'alert'") >= 1, "expanded first"
    await expand_outbox(pool, served={"twilio_sms": ("sms",)}, now=utcnow(), limit=100)
    (first,) = await claim_due(pool, now=utcnow(), lease=M, limit=1)
    assert first.kind == "alert" and first.alert_id == alert, "sent first, though queued last"
