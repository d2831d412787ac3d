"""Channel seams: the shared vocabulary, structured report fields, commands routed before intake, mounting."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from ews.core.models import CHANNELS, ReportIn
from ews.core.registry import Registry
from ews.core.settings import Settings
from ews.intake.enrich import understand
from ews.web.app import create_app
from ingest.base import Channel
from ingest.commands import ParsedCommand, parse_command
from ingest.registry import build_configured
from rules.vocabulary import GROUPS, INCIDENT_TYPES, group_of, incident_type_by_number
from tests.conftest import RESPONDER_PHONES, SENDER_KEY, random_sid
from tests.helpers import SMS_PATH, add_responders, count_rows, post_signed, send_report, sms_form

THE_14 = ("killing", "physical_assault", "armed_attack", "arson_property", "sgbv", "threat_intimidation",
          "hate_speech_incitement", "intercommunal_resource_conflict", "cattle_raiding", "election_malpractice",
          "protest_demonstration", "displacement", "peace_activity", "not_incident")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_14_incident_types_have_fixed_numbers_groups_and_both_languages() -> None:
    assert tuple(t.code for t in INCIDENT_TYPES) == THE_14
    assert [t.number for t in INCIDENT_TYPES] == list(range(1, 15))
    assert incident_type_by_number(9).code == "cattle_raiding"
    groups = {code: group_of(code) for code in THE_14}
    assert {c for c, g in groups.items() if g == "violence"} == {"killing", "physical_assault", "armed_attack",
                                                                  "arson_property"}
    assert {c for c, g in groups.items() if g == "tension"} == {"threat_intimidation", "hate_speech_incitement"}
    assert {c for c, g in groups.items() if g == "communal"} == {"intercommunal_resource_conflict",
                                                                  "cattle_raiding", "displacement"}
    assert {c for c, g in groups.items() if g == "election"} == {"election_malpractice", "protest_demonstration"}
    assert (groups["sgbv"], groups["peace_activity"], groups["not_incident"]) == ("sgbv", "peace", "none")
    assert set(groups.values()) == set(GROUPS)
    for t in INCIDENT_TYPES:
        assert t.label("en") and t.label("sw") and t.label("en") != t.label("sw")


_INSERT = """
INSERT INTO reports (source, external_id, channel, body, sender_hash, language, received_at, incident_type,
                     ward_code, constituency_code, casualties)
VALUES ('t', $1, $2, 'x', 'h', 'en', now(), $3, $4, $5, $6)
"""


async def test_the_database_accepts_exactly_the_shared_vocabulary(pool: asyncpg.Pool) -> None:
    for i, code in enumerate(THE_14):
        await pool.execute(_INSERT, f"ok-{i}", CHANNELS[i % len(CHANNELS)], code, "0217", 290, 0)
    bad = [("bad-type", "twilio_sms", "riot", None, None, None), ("bad-channel", "fax", None, None, None, None),
           ("short-ward", "at_sms", None, "217", None, None), ("high-ward", "at_sms", None, "1451", None, None),
           ("constituency", "at_ussd", None, None, 291, None), ("casualties", "web_form", None, None, None, -1)]
    for row in bad:
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(_INSERT, *row)


def test_what_the_channel_knows_is_kept_and_the_rest_is_read_from_the_text() -> None:
    given_by_menu = ReportIn(channel="at_ussd", external_id="s1", body="fujo Kisumu", sender="+254712345678",
                             received_at=NOW, county_code=3, constituency_code=12, ward_code="0061",
                             incident_type="cattle_raiding", casualties=2, occurred_at=NOW, language="en")
    stored = understand(given_by_menu, sender_key=SENDER_KEY)
    assert (stored.county_code, stored.language, stored.channel, stored.source) == (3, "en", "at_ussd", "at_ussd")
    assert (stored.constituency_code, stored.ward_code, stored.incident_type, stored.casualties) == (
        12, "0061", "cattle_raiding", 2)
    from_text = understand(ReportIn(channel="twilio_sms", external_id="s2", body="watu wanapigana Kisumu",
                                    sender="+254712345678", received_at=NOW, source="partner:ncic"),
                           sender_key=SENDER_KEY)
    assert (from_text.county_code, from_text.language, from_text.source) == (42, "sw", "partner:ncic")


async def test_structured_fields_reach_the_row(client: TestClient, pool: asyncpg.Pool) -> None:
    from ews.web.appkeys import INTAKE

    writer = client.server.app[INTAKE]
    await writer.submit(ReportIn(channel="web_form", external_id="f1", body="Kuna vita", sender="",
                                 received_at=NOW, county_code=32, ward_code="0900", incident_type="killing",
                                 casualties=3, occurred_at=NOW))
    row = await pool.fetchrow("SELECT channel, county_code, ward_code, incident_type, casualties, occurred_at "
                              "FROM reports")
    assert dict(row) == {"channel": "web_form", "county_code": 32, "ward_code": "0900", "incident_type": "killing",
                         "casualties": 3, "occurred_at": NOW}


@pytest.mark.parametrize(("text", "expected"), [
    ("STOP", ParsedCommand("stop", "", "en")), (" stop. ", ParsedCommand("stop", "", "en")),
    ("Acha", ParsedCommand("stop", "", "sw")), ("SIMAMA!", ParsedCommand("stop", "", "sw")),
    ("start", ParsedCommand("start", "", "en")), ("ANZA", ParsedCommand("start", "", "sw")),
    ("HELP", ParsedCommand("help", "", "en")), ("msaada", ParsedCommand("help", "", "sw")),
    ("ACK 12", ParsedCommand("ack", "12", "en")), ("ack12", ParsedCommand("ack", "12", "en")),
    ("Ack A-12.", ParsedCommand("ack", "12", "en")), ("NDIO 0012", ParsedCommand("ack", "12", "sw")),
    ("ndio #7", ParsedCommand("ack", "7", "sw")),
])
def test_a_message_that_is_only_a_command_is_a_command(text: str, expected: ParsedCommand) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", [
    "stop the fighting in Kondele", "Help! men with pangas at the market", "msaada watu wanapigana Kisumu",
    "ACK", "ack twelve", "12", "NDIO wamechoma nyumba", "acha vita", "start of trouble at Kibra",
    "OK 12", "",
])
def test_a_report_that_merely_contains_a_keyword_stays_a_report(text: str) -> None:
    assert parse_command(text) is None


_KEYWORDS = st.sampled_from(["stop", "STOP", "help", "acha", "msaada", "ack 12", "ndio 3", "start", "anza"])
_WORD = st.text(alphabet=st.characters(categories=("L",)), min_size=1, max_size=12)


@given(_KEYWORDS, st.lists(_WORD, min_size=1, max_size=6))
def test_any_words_around_a_keyword_make_it_a_report(keyword: str, words: list[str]) -> None:
    assert parse_command(f"{keyword} {' '.join(words)}") is None
    assert parse_command(f"{' '.join(words)} {keyword}") is None


@given(st.text(max_size=200))
def test_the_command_parser_takes_any_text(text: str) -> None:
    parsed = parse_command(text)
    assert parsed is None or parsed.kind in ("stop", "start", "help", "ack")
    if parsed is not None and parsed.kind == "ack":
        assert parsed.argument.isdigit()


def _replies(twiml: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]  # noqa: S314 - our own server's output


async def test_help_is_answered_in_the_keywords_language_and_stores_no_report(client: TestClient,
                                                                              pool: asyncpg.Pool) -> None:
    english = _replies(await send_report(client, "HELP"))
    swahili = _replies(await send_report(client, "msaada"))
    assert "STOP" in english[0] and "ACHA" in swahili[0]
    assert await count_rows(pool, "reports") == 0
    assert await pool.fetchval("SELECT count(*) FROM inbound_commands WHERE kind = 'help'") == 2


async def test_stop_and_start_keep_the_opt_out_list_and_a_gateway_retry_does_nothing_twice(
        client: TestClient, pool: asyncpg.Pool) -> None:
    form = sms_form("STOP", sid=random_sid(), sender="+254711222333")
    first, again = await post_signed(client, form), await post_signed(client, form)
    assert first.status == again.status == 200
    assert _replies(await first.text()) == _replies(await again.text())
    assert "START" in _replies(await first.text())[0]
    assert await count_rows(pool, "opt_outs") == 1 and await count_rows(pool, "inbound_commands") == 1
    stored = await pool.fetchval("SELECT t::text FROM opt_outs t")
    assert "711222333" not in stored  # only the keyed hash
    await send_report(client, "ANZA", sender="+254711222333")
    assert await count_rows(pool, "opt_outs") == 0
    assert await count_rows(pool, "reports") == 0


async def _open_alert(pool: asyncpg.Pool) -> int:
    alert_id: int = await pool.fetchval(
        "INSERT INTO alerts (rule, county_code, level, peak_level, trigger_count, opened_at, updated_at) "
        "VALUES ('reports_10m', 42, 1, 1, 2, now(), now()) RETURNING id")
    return alert_id


async def test_a_responder_acknowledges_an_alert_by_sms_and_a_stranger_cannot(client: TestClient,
                                                                              pool: asyncpg.Pool) -> None:
    await add_responders(pool, f"name,phone,county,role,language\nAchieng,{RESPONDER_PHONES[0]},Kisumu,csic,sw\n")
    alert_id = await _open_alert(pool)
    stranger = _replies(await send_report(client, f"ACK {alert_id}", sender="+254722000111"))
    assert "could not match" in stranger[0]
    assert await pool.fetchval("SELECT acknowledged_at FROM alerts") is None
    unknown = _replies(await send_report(client, f"NDIO {alert_id + 1}", sender=RESPONDER_PHONES[0]))
    assert "hatukuweza" in unknown[0]
    answer = _replies(await send_report(client, f"NDIO {alert_id}", sender=RESPONDER_PHONES[0]))
    assert f"A-{alert_id}" in answer[0] and "imethibitishwa" in answer[0]
    row = await pool.fetchrow("SELECT acknowledged_at, acknowledged_by FROM alerts")
    assert row["acknowledged_at"] is not None and row["acknowledged_by"] == 1
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'alert.acknowledged'") == 1
    assert await count_rows(pool, "reports") == 0


class _Quiet:
    """A channel with one route, for the mounting tests."""

    name = "web_form"

    def __init__(self, authenticated: bool) -> None:
        self._authenticated = authenticated

    @property
    def authenticated(self) -> bool:
        return self._authenticated

    def routes(self, inbox: object) -> list[object]:
        return []


def test_only_configured_channels_are_built_and_the_others_are_named() -> None:
    registry: Registry[Channel] = Registry("channel")
    registry.register("configured", lambda _s: _Quiet(True))  # type: ignore[arg-type,return-value]
    registry.register("unconfigured", lambda _s: None)
    mounted, left_out = build_configured(Settings(), registry)
    assert len(mounted) == 1 and left_out == ["unconfigured"]
    with pytest.raises(ValueError, match="already registered"):
        registry.register("configured", lambda _s: None)


async def test_twilio_without_a_token_is_mounted_only_for_a_trial_on_loopback(
        pool: asyncpg.Pool, settings: Settings) -> None:
    public = settings.replace(twilio_auth_token=None, notifiers="console", host="0.0.0.0",  # noqa: S104
                              api_token="an-api-token-for-this-test")
    async with TestClient(TestServer(create_app(public))) as exposed:
        response = await exposed.post(SMS_PATH, data=sms_form("Fujo Kisumu", sid=random_sid()))
        assert response.status == 404
    assert await count_rows(pool, "reports") == 0
