"""Acknowledge and resolve an alert by SMS reply (Twilio, WhatsApp, Africa's Talking) and the API: who may,
what changes, what the sender is told, and what the alert's other recipients are told."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from ews.alerting.acknowledgements import (
    MAX_NAME_CHARS,
    Actor,
    actor_label,
    decide,
    may_act,
    notice_text,
    sms_segments,
)
from ews.alerting.expand import expand_outbox
from ews.core.clock import utcnow
from ews.core.privacy import sender_hash
from ews.core.settings import Settings
from ews.db.repo.acks import AlertRow, ResponderRow
from ews.web.app import create_app
from ingest.commands import ParsedCommand, parse_command
from tests.conftest import REPORTER_PHONES, RESPONDER_PHONES, SENDER_KEY, random_sid
from tests.helpers import add_responders, count_rows, eventually, open_and_plan, post_signed, sms_form
from tests.loopback import FakeAfricasTalkingApi, FakeTwilioApi

PETER = REPORTER_PHONES[4]  # a Nakuru responder (a number the suite's leak guard knows)
STRANGER = REPORTER_PHONES[5]
DIRECTORY = f"""name,phone,county,role,language
Amina,{RESPONDER_PHONES[0]},Kisumu,csic,en
Achieng,{RESPONDER_PHONES[1]},Kisumu,csic,sw
Situation room,{RESPONDER_PHONES[2]},national,analyst,en
Peter,{PETER},Nakuru,csic,en
"""


# --- the parser -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("ACK 12", ParsedCommand("ack", "12", "en")), ("NDIO 12", ParsedCommand("ack", "12", "sw")),
    ("SAWA 12", ParsedCommand("ack", "12", "sw")), ("sawa a-12", ParsedCommand("ack", "12", "sw")),
    ("DONE 12", ParsedCommand("resolve", "12", "en")), ("IMEISHA 12", ParsedCommand("resolve", "12", "sw")),
    ("done A-12", ParsedCommand("resolve", "12", "en")), ("Imeisha A12.", ParsedCommand("resolve", "12", "sw")),
    ("ACK A12", ParsedCommand("ack", "12", "en")), ("ack #12!", ParsedCommand("ack", "12", "en")),
    ("ACK: 12", ParsedCommand("ack", "12", "en")), ("  done   a - 12 ?", ParsedCommand("resolve", "12", "en")),
    ("DONE12", ParsedCommand("resolve", "12", "en")), ("ack\u00a012", ParsedCommand("ack", "12", "en")),
    ("ACK 007", ParsedCommand("ack", "7", "en")),
    # a number too large for any alert is still a reply about an alert (answered: no such alert), not a report
    ("ACK 9999999999999999999", ParsedCommand("ack", "9999999999999999999", "en")),
])
def test_ack_and_done_words_are_commands_in_any_case_and_spacing(text: str, expected: ParsedCommand) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", [
    "ack \u0661\u0662",  # Arabic-Indic digits: not what any alert printed; a report, read by a person
    "done \uff11\uff12",  # full-width digits
    "ACK 12345678901234567890",  # more digits than any bigint: somebody's text
    "done with the fighting 12", "DONE", "imeisha", "sawa", "sawa sawa", "A-12", "12 done",
    "done 12 13", "ack 12, ndio 13",
])
def test_what_is_not_exactly_an_alert_reply_stays_a_report(text: str) -> None:
    assert parse_command(text) is None


_ALERT_WORD = st.sampled_from(["ack", "ACK", "Ndio", "sawa", "SAWA", "done", "Done", "imeisha", "IMEISHA"])
_PREFIX = st.sampled_from(["", " ", "  ", "a-", " A-", " a - ", "#", " #", ": ", "-", " a"])
_SUFFIX = st.sampled_from(["", ".", "!", "?", " .", "!!", ",", ";"])


@given(_ALERT_WORD, _PREFIX, st.integers(min_value=1, max_value=2**63 - 1), _SUFFIX)
def test_every_spelling_of_a_reply_names_its_alert(word: str, prefix: str, number: int, suffix: str) -> None:
    parsed = parse_command(f"{word}{prefix}{number}{suffix}")
    assert parsed is not None and parsed.argument == str(number)
    assert parsed.kind == ("resolve" if word.lower() in ("done", "imeisha") else "ack")
    assert parsed.language == ("en" if word.lower() in ("ack", "done") else "sw")


@given(st.text(max_size=60))
def test_a_parsed_reply_always_carries_an_ascii_number(text: str) -> None:
    parsed = parse_command(text)
    if parsed is not None and parsed.kind in ("ack", "resolve"):
        assert parsed.argument.isascii() and parsed.argument.isdigit() and len(parsed.argument) <= 19


# --- pure decisions and texts -----------------------------------------------------------------------------

def _alert(county: int = 42, *, resolved: bool = False) -> AlertRow:
    return AlertRow(id=12, county_code=county, county_name="Kisumu", acknowledged_at=None,
                    resolved_at=utcnow() if resolved else None)


def test_who_may_answer_an_alert() -> None:
    assert may_act(None, 42, was_sent=False)  # national
    assert may_act(42, 42, was_sent=False)
    assert not may_act(32, 42, was_sent=False)  # another county's
    assert may_act(32, 42, was_sent=True)  # a routing tree sent it to them


def test_what_a_reply_does() -> None:
    assert decide("ack", None, allowed=False) == "unknown"
    assert decide("ack", _alert(), allowed=False) == "other_county"
    assert decide("ack", _alert(), allowed=True) == "acknowledged"
    assert decide("resolve", _alert(), allowed=True) == "resolved"
    assert decide("ack", _alert(resolved=True), allowed=True) == "already_resolved"
    assert decide("resolve", _alert(resolved=True), allowed=True) == "already_resolved"
    assert decide("resolve", _alert(resolved=True), allowed=False) == "other_county"


def _responder(name: str, role: str = "csic", county: str | None = "Kisumu") -> Actor:
    return Actor(responder=ResponderRow(id=1, name=name, role=role, county_code=42 if county else None,
                                        county_name=county, language="en"), via="twilio_sms")


def test_notices_name_who_acted_in_each_language() -> None:
    amina = _responder("Amina")
    assert notice_text(amina, "ack", 12, "en") == "EWS: Amina (CSIC Kisumu) acknowledged A-12."
    assert notice_text(amina, "ack", 12, "sw") == "EWS: Amina (CSIC Kisumu) amethibitisha A-12."
    assert "A-12 is handled" in notice_text(amina, "resolve", 12, "en")
    assert "imeshughulikiwa" in notice_text(amina, "resolve", 12, "sw")
    assert actor_label(_responder("Otieno", "mediator", None), "sw") == "Otieno (Mpatanishi kitaifa)"
    assert actor_label(_responder("Achieng (CSIC Kisumu)"), "en") == "Achieng (CSIC Kisumu)"
    assert actor_label(Actor(name="Wanjiru"), "en") == "Wanjiru (EWS)"


@given(st.text(min_size=1, max_size=300), st.sampled_from(["csic", "mediator", "gender_desk", "analyst", "other"]),
       st.sampled_from(["ack", "resolve"]), st.sampled_from(["en", "sw"]),
       st.integers(min_value=1, max_value=2**63 - 1))
def test_every_notice_fits_two_sms(name: str, role: str, action: str, language: str, alert_id: int) -> None:
    text = notice_text(_responder(name, role, "Elgeyo-Marakwet"), action, alert_id, language)  # type: ignore[arg-type]
    assert sms_segments(text)[0] <= 2


@pytest.mark.parametrize("language", ["en", "sw"])
@pytest.mark.parametrize("action", ["ack", "resolve"])
def test_a_notice_with_a_plain_name_is_one_gsm7_sms(action: str, language: str) -> None:
    text = notice_text(_responder("A" * MAX_NAME_CHARS, "gender_desk", "Elgeyo-Marakwet"), action,  # type: ignore[arg-type]
                       2**63 - 1, language)  # type: ignore[arg-type]
    assert sms_segments(text) == (1, True)


def test_segments_are_counted_as_phones_count_them() -> None:
    assert sms_segments("a" * 160) == (1, True) and sms_segments("a" * 161) == (2, True)
    assert sms_segments("[" * 80) == (1, True) and sms_segments("[" * 81) == (2, True)  # two septets each
    assert sms_segments("\u201c" * 70) == (1, False) and sms_segments("\u201c" * 71) == (2, False)
    assert sms_segments("\U0001f600" * 35) == (1, False)  # two UTF-16 units each


# --- over the channels ------------------------------------------------------------------------------------

async def _alert_sent_to_kisumu(pool: asyncpg.Pool) -> int:
    """An open Kisumu alert whose SMS went to Kisumu's and the national responders (as the test routes say)."""
    await add_responders(pool, DIRECTORY)
    (alert_id,) = await open_and_plan(pool, county=42, level=1, rule="reports_10m",
                                      why=("2 reports in 10 min", "ripoti 2 ndani ya dakika 10"))
    await expand_outbox(pool, served={"twilio_sms": ("sms",)}, now=utcnow())
    await pool.execute("UPDATE deliveries SET status = 'sent', sent_at = now()")
    return alert_id


def _replies(twiml: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]  # noqa: S314 - our own server's output


async def _sms(client: TestClient, text: str, sender: str) -> list[str]:
    response = await post_signed(client, sms_form(text, sid=random_sid(), sender=sender))
    assert response.status == 200
    return _replies(await response.text())


async def _notices(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT r.name, o.body FROM outbox o JOIN responder_contacts c "
                            "ON c.id = o.responder_contact_id JOIN responders r ON r.id = c.responder_id "
                            "WHERE o.kind = 'ack_confirmation' ORDER BY o.id")
    return [(r["name"], r["body"]) for r in rows]


async def test_an_ack_by_sms_is_confirmed_and_told_to_the_alerts_other_recipients(
        client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi) -> None:
    alert_id = await _alert_sent_to_kisumu(pool)
    reply = await _sms(client, f"ack a-{alert_id}.", RESPONDER_PHONES[0])
    assert reply == [f"EWS: alert A-{alert_id} acknowledged. Thank you."]
    row = await pool.fetchrow("SELECT acknowledged_at, acknowledged_by, resolved_at FROM alerts")
    assert row["acknowledged_at"] is not None and row["acknowledged_by"] == 1 and row["resolved_at"] is None
    assert await _notices(pool) == [
        ("Achieng", f"EWS: Amina (CSIC Kisumu) amethibitisha A-{alert_id}."),
        ("Situation room", f"EWS: Amina (CSIC Kisumu) acknowledged A-{alert_id}."),
    ]  # not to Amina herself, not to Nakuru's Peter (he was never sent it)
    messages = await fake_twilio.wait_for(2)
    assert sorted(m.form["To"] for m in messages) == sorted(RESPONDER_PHONES[1:3])
    # A second ACK (another Kisumu responder) changes nothing and tells nobody again; both are audited.
    assert "imethibitishwa" in (await _sms(client, f"SAWA {alert_id}", RESPONDER_PHONES[1]))[0]
    assert await pool.fetchval("SELECT acknowledged_by FROM alerts") == 1
    assert len(await _notices(pool)) == 2
    audited = await pool.fetch("SELECT actor, detail->>'first' AS first FROM audit_log "
                               "WHERE action = 'alert.acknowledged' ORDER BY id")
    assert [(r["actor"], r["first"]) for r in audited] == [("responder:1", "true"), ("responder:2", "false")]
    assert await count_rows(pool, "reports") == 0


async def test_done_resolves_in_the_responders_language_and_a_resolved_alert_takes_no_more(
        client: TestClient, pool: asyncpg.Pool) -> None:
    alert_id = await _alert_sent_to_kisumu(pool)
    # Achieng's directory language is Swahili: she is answered in it, whichever keyword she used.
    reply = await _sms(client, f"DONE {alert_id}", RESPONDER_PHONES[1])
    assert reply == [f"EWS: tahadhari A-{alert_id} imewekwa kuwa imeshughulikiwa. Asante."]
    row = await pool.fetchrow("SELECT resolved_at, resolved_by, acknowledged_at, acknowledged_by, closed_at "
                              "FROM alerts")
    # Resolving acknowledges too (so escalation stops), and leaves the engine's own state alone.
    assert row["resolved_at"] is not None and row["resolved_by"] == 2
    assert row["acknowledged_at"] == row["resolved_at"] and row["acknowledged_by"] == 2
    assert row["closed_at"] is None
    assert [name for name, _ in await _notices(pool)] == ["Amina", "Situation room"]
    assert "Achieng (CSIC Kisumu) says A-" in (await _notices(pool))[0][1]
    for text in (f"ACK {alert_id}", f"imeisha {alert_id}"):
        again = await _sms(client, text, RESPONDER_PHONES[0])
        assert again == [f"EWS: alert A-{alert_id} was already marked handled. Nothing changed."]
    assert await pool.fetchval("SELECT resolved_by FROM alerts") == 2
    assert len(await _notices(pool)) == 2


async def test_another_countys_alert_changes_nothing_and_is_audited(client: TestClient,
                                                                     pool: asyncpg.Pool) -> None:
    alert_id = await _alert_sent_to_kisumu(pool)
    for text in (f"DONE {alert_id}", f"ACK {alert_id}"):
        reply = await _sms(client, text, PETER)
        assert reply == [f"EWS: alert A-{alert_id} is for another county, not one you receive. Nothing changed."]
    row = await pool.fetchrow("SELECT acknowledged_at, resolved_at FROM alerts")
    assert tuple(row.values()) == (None, None)
    assert await _notices(pool) == []
    refused = await pool.fetch("SELECT actor, subject, detail FROM audit_log WHERE action = 'alert.refused'")
    assert [(r["actor"], r["subject"]) for r in refused] == [("responder:4", f"alert:{alert_id}")] * 2
    assert '"other_county"' in refused[0]["detail"]


@pytest.mark.parametrize("text", ["ACK {id}", "DONE {id}", "ack 9999999999999999999", "done 0"])
async def test_a_stranger_learns_nothing_and_is_audited_by_keyed_hash_only(client: TestClient, pool: asyncpg.Pool,
                                                                           text: str) -> None:
    alert_id = await _alert_sent_to_kisumu(pool)
    reply = await _sms(client, text.format(id=alert_id), STRANGER)
    assert reply == ["EWS: we could not match that acknowledgement to an alert for you. Check the number."]
    # A Kisumu responder asking about an alert that does not exist is told the same.
    assert await _sms(client, f"ACK {alert_id + 1}", RESPONDER_PHONES[0]) == reply
    row = await pool.fetchrow("SELECT acknowledged_at, resolved_at FROM alerts")
    assert tuple(row.values()) == (None, None)
    refused = await pool.fetch("SELECT t::text AS row, actor, detail->>'sender_hash' AS hashed FROM audit_log t "
                               "WHERE action = 'alert.refused' ORDER BY id")
    assert [r["actor"] for r in refused] == ["sender:unknown", "responder:1"]
    assert refused[0]["hashed"] == sender_hash(SENDER_KEY, STRANGER)
    for r in refused:
        assert STRANGER not in r["row"] and STRANGER[4:] not in r["row"] and STRANGER[-6:] not in r["row"]
    assert await count_rows(pool, "reports") == 0


async def test_an_ack_over_whatsapp_is_the_same_responder(client: TestClient, pool: asyncpg.Pool) -> None:
    alert_id = await _alert_sent_to_kisumu(pool)
    reply = await _sms(client, f"Sawa A-{alert_id}", f"whatsapp:{RESPONDER_PHONES[2]}")
    assert reply == [f"EWS: alert A-{alert_id} acknowledged. Thank you."]
    assert await pool.fetchval("SELECT acknowledged_by FROM alerts") == 3
    assert await pool.fetchval("SELECT detail->>'via' FROM audit_log WHERE action = 'alert.acknowledged'") \
        == "twilio_whatsapp"


async def test_done_over_africas_talking_is_confirmed_through_at_and_told_to_the_others(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi,
        fake_twilio: FakeTwilioApi) -> None:
    from tests.test_africastalking import SMS, at_form, post_at

    alert_id = await _alert_sent_to_kisumu(pool)
    assert await post_at(at_client, SMS, at_form(f"IMEISHA A-{alert_id}!", sender=RESPONDER_PHONES[0])) == 200
    [confirmation] = await fake_at.wait_for(1)
    assert confirmation["to"] == RESPONDER_PHONES[0]
    assert confirmation["message"] == f"EWS: alert A-{alert_id} marked handled (resolved). Thank you."
    notices = await fake_twilio.wait_for(2)  # the responders' contacts go through the first SMS notifier
    assert {m.form["To"]: m.form["Body"] for m in notices} == {
        RESPONDER_PHONES[1]: f"EWS: Amina (CSIC Kisumu) amesema A-{alert_id} imeshughulikiwa (imekwisha).",
        RESPONDER_PHONES[2]: f"EWS: Amina (CSIC Kisumu) says A-{alert_id} is handled (resolved).",
    }
    assert await pool.fetchval("SELECT resolved_by FROM alerts") == 1
    # Peter (Nakuru) over AT: refused, answered through AT too.
    assert await post_at(at_client, SMS, at_form(f"ack {alert_id}", sender=PETER)) == 200
    refused = (await fake_at.wait_for(2))[1]
    assert refused["to"] == PETER and "another county" in refused["message"]
    await eventually(lambda: _all_sent(pool))
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'alert.refused'") == 1


async def _all_sent(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM deliveries WHERE status <> 'sent'") == 0)


async def test_a_retried_webhook_answers_the_same_and_does_nothing_twice(client: TestClient,
                                                                         pool: asyncpg.Pool) -> None:
    alert_id = await _alert_sent_to_kisumu(pool)
    form = sms_form(f"DONE {alert_id}", sid=random_sid(), sender=RESPONDER_PHONES[1])
    first, again = await post_signed(client, form), await post_signed(client, form)
    assert _replies(await first.text()) == _replies(await again.text())
    assert "imeshughulikiwa" in _replies(await again.text())[0]
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'alert.resolved'") == 1
    assert len(await _notices(pool)) == 2





# --- the API ----------------------------------------------------------------------------------------------

async def test_the_api_acknowledges_then_resolves_and_tells_every_recipient(client: TestClient, pool: asyncpg.Pool,
                                                                          fake_twilio: FakeTwilioApi) -> None:
    alert_id = await _alert_sent_to_kisumu(pool)
    acked = await client.post(f"/api/v1/alerts/{alert_id}/ack", json={"by": " Wanjiru ", "note": "calling CSIC"})
    assert acked.status == 200, await acked.text()
    body = await acked.json()
    assert (body["reference"], body["outcome"], body["first"], body["notified"]) == (
        f"A-{alert_id}", "acknowledged", True, 3)
    assert body["acknowledged_at"] and body["resolved_at"] is None
    assert ("Amina", f"EWS: Wanjiru (EWS) acknowledged A-{alert_id}.") in await _notices(pool)
    assert ("Achieng", f"EWS: Wanjiru (EWS) amethibitisha A-{alert_id}.") in await _notices(pool)
    await fake_twilio.wait_for(3)  # woken at once, not at the next dispatch tick
    again = await (await client.post(f"/api/v1/alerts/{alert_id}/ack", json={"by": "Otieno"})).json()
    assert (again["outcome"], again["first"], again["notified"]) == ("acknowledged", False, 0)
    resolved = await client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"by": "Wanjiru"})
    assert resolved.status == 200 and (await resolved.json())["outcome"] == "resolved"
    row = await pool.fetchrow("SELECT acknowledged_by, acknowledged_by_name, resolved_by, resolved_by_name, "
                              "resolved_at FROM alerts")
    assert tuple(row.values())[:4] == (None, "Wanjiru", None, "Wanjiru") and row["resolved_at"] is not None
    for verb in ("resolve", "ack"):
        conflict = await client.post(f"/api/v1/alerts/{alert_id}/{verb}", json={"by": "Otieno"})
        assert conflict.status == 409
        assert await conflict.json() == {"error": f"alert A-{alert_id} is already resolved"}
    audited = await pool.fetch("SELECT actor, action, detail->>'via' AS via, detail->>'note' AS note "
                               "FROM audit_log WHERE subject = $1 ORDER BY id", f"alert:{alert_id}")
    assert [(r["actor"], r["action"]) for r in audited] == [
        ("api:Wanjiru", "alert.acknowledged"), ("api:Otieno", "alert.acknowledged"), ("api:Wanjiru", "alert.resolved"),
        ("api:Otieno", "alert.refused"), ("api:Otieno", "alert.refused")]
    assert audited[0]["via"] == "api:open" and audited[0]["note"] == "calling CSIC"
    listed = await (await client.get("/api/v1/alerts")).json()
    assert listed["alerts"][0]["resolved_at"] is not None


@pytest.mark.parametrize(("path", "body", "status", "error"), [
    ("/api/v1/alerts/999/ack", {"by": "W"}, 404, "no alert A-999"),
    ("/api/v1/alerts/999/resolve", {"by": "W"}, 404, "no alert A-999"),
    ("/api/v1/alerts/abc/ack", {"by": "W"}, 400, "alert id must be a positive integer"),
    ("/api/v1/alerts/0/ack", {"by": "W"}, 400, "alert id must be a positive integer"),
    ("/api/v1/alerts/99999999999999999999/ack", {"by": "W"}, 400, "alert id must be a positive integer"),
    ("/api/v1/alerts/\u0661/ack", {"by": "W"}, 400, "alert id must be a positive integer"),
    ("/api/v1/alerts/1/ack", {}, 400, "'by' (who acts"),
    ("/api/v1/alerts/1/ack", {"by": "   "}, 400, "'by' (who acts"),
    ("/api/v1/alerts/1/ack", {"by": 7}, 400, "'by' (who acts"),
    ("/api/v1/alerts/1/ack", {"by": "W" * 201}, 400, "'by' (who acts"),
    ("/api/v1/alerts/1/ack", {"by": "W", "note": 5}, 400, "'note' must be text"),
    ("/api/v1/alerts/1/ack", {"by": "W\u0000x"}, 400, "'by' (who acts"),  # PostgreSQL text holds no NUL
    ("/api/v1/alerts/1/ack", {"by": "W\nx"}, 400, "'by' (who acts"),
    ("/api/v1/alerts/1/ack", {"by": "W", "note": "a\u0000"}, 400, "'note' must be text"),
    ("/api/v1/alerts/1/resolve", {"by": "W", "level": 0}, 400, "unknown field(s): level"),
    ("/api/v1/alerts/1/resolve", [1], 400, "body must be a JSON object"),
])
async def test_bad_api_requests_get_a_clear_error(client: TestClient, pool: asyncpg.Pool, path: str, body: object,
                                                  status: int, error: str) -> None:
    await _alert_sent_to_kisumu(pool)
    response = await client.post(path, json=body)
    assert response.status == status
    assert (await response.json())["error"].startswith(error)
    assert await pool.fetchval("SELECT acknowledged_at FROM alerts") is None


async def test_a_lone_surrogate_in_the_name_is_stored_as_a_replacement_mark(client: TestClient,
                                                                           pool: asyncpg.Pool) -> None:
    await _alert_sent_to_kisumu(pool)
    raw = '{"by": "W\\ud800x", "note": "n\\udfffo"}'  # JSON escapes of lone surrogates: valid JSON
    response = await client.post("/api/v1/alerts/1/resolve", data=raw, headers={"Content-Type": "application/json"})
    assert response.status == 200, await response.text()
    assert await pool.fetchval("SELECT resolved_by_name FROM alerts") == "W\ufffdx"
    assert await pool.fetchval("SELECT detail->>'note' FROM audit_log WHERE action = 'alert.resolved'") == "n\ufffdo"


async def test_the_api_wants_json_and_the_token(pool: asyncpg.Pool, settings: Settings) -> None:
    await _alert_sent_to_kisumu(pool)
    async with TestClient(TestServer(create_app(settings.replace(api_token="t" * 32)))) as client:
        assert (await client.post("/api/v1/alerts/1/ack", json={"by": "W"})).status == 401
        bearer = {"Authorization": "Bearer " + "t" * 32}
        plain = await client.post("/api/v1/alerts/1/ack", data="by=W", headers=bearer)
        assert plain.status == 415
        ok = await client.post("/api/v1/alerts/1/ack", json={"by": "W"}, headers=bearer)
        assert ok.status == 200
        assert await pool.fetchval("SELECT detail->>'via' FROM audit_log WHERE action = 'alert.acknowledged'") \
            == "api:api_token"


@pytest.mark.parametrize("reply", ["acknowledged", "resolved", "already_resolved", "ack_other_county", "ack_unknown"])
@pytest.mark.parametrize("language", ["en", "sw"])
def test_every_answer_to_a_reply_is_one_gsm7_sms(reply: str, language: str) -> None:
    from ews.core.models import CommandOutcome
    from ingest.replies import command_reply

    text = command_reply(CommandOutcome("ack", reply, language, 2**63 - 1))  # type: ignore[arg-type]
    assert sms_segments(text) == (1, True), text


async def test_two_replies_at_once_make_one_first_acknowledgement(client: TestClient, pool: asyncpg.Pool) -> None:
    import asyncio

    alert_id = await _alert_sent_to_kisumu(pool)
    replies = await asyncio.gather(*(_sms(client, f"ACK {alert_id}", phone) for phone in RESPONDER_PHONES))
    assert all(("acknowledged" in r[0] or "imethibitishwa" in r[0]) and f"A-{alert_id}" in r[0] for r in replies)
    firsts = await pool.fetch("SELECT actor FROM audit_log WHERE action = 'alert.acknowledged' "
                              "AND detail->>'first' = 'true'")
    assert len(firsts) == 1
    first = int(firsts[0]["actor"].split(":")[1])
    assert await pool.fetchval("SELECT acknowledged_by FROM alerts") == first
    assert len(await _notices(pool)) == 2  # the two others, once


@pytest.mark.parametrize("sql", [
    "UPDATE alerts SET resolved_at = now(), acknowledged_at = now()",  # resolved by nobody
    "UPDATE alerts SET resolved_at = now(), resolved_by = 1, resolved_by_name = 'W', acknowledged_at = now()",
    "UPDATE alerts SET resolved_at = now(), resolved_by = 1",  # resolved but not acknowledged
    "UPDATE alerts SET resolved_by_name = ''",
])
async def test_the_resolution_columns_are_held_by_constraints(pool: asyncpg.Pool, sql: str) -> None:
    await _alert_sent_to_kisumu(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(sql)


async def test_resolve_is_a_command_kind_the_table_takes(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO inbound_commands (source, external_id, channel, kind, sender_hash, received_at, "
                       "outcome) VALUES ('at_sms', 'x', 'at_sms', 'resolve', 'h', now(), 'resolved')")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO inbound_commands (source, external_id, channel, kind, sender_hash, "
                           "received_at, outcome) VALUES ('at_sms', 'y', 'at_sms', 'close', 'h', now(), 'x')")
