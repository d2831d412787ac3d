"""Issue 10: the gazetteer, place matching, ask-back over Twilio SMS, and place corrections."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import get_args

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from ews.cli.main import main
from ews.cli.places import evaluate, read_rows
from ews.core.clock import utcnow
from ews.core.models import ChannelName, ReportIn
from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from ews.db.repo.monitors import import_monitors
from ews.intake.monitors import parse_monitors
from ews.intake.places import ASKED_REFRESH_SECONDS, PlaceFollowUp
from rules.gazetteer import PlaceHints, resolve_place
from rules.gazetteer.data import admin_units
from rules.gazetteer.index import alias_target, read_aliases
from rules.gazetteer.tokens import tokens_of
from rules.words import words_of
from tests.conftest import AT_TOKEN, CONTACT_KEY, REPORTER_PHONES, SENDER_KEY, quiet_client, random_sid
from tests.helpers import eventually, post_signed, send_report, sms_form
from tests.loopback import FakeAfricasTalkingApi, FakeTwilioApi

_SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "data", Path("/work/shared/data"))
                if p.is_dir()), None)


# --- the gazetteer ------------------------------------------------------------------------------


def test_all_counties_constituencies_and_wards_with_codes_and_points() -> None:
    units = admin_units()
    assert sorted(units.counties) == list(range(1, 48))
    assert sorted(units.constituencies) == list(range(1, 291))
    assert sorted(units.wards) == [f"{n:04d}" for n in range(1, 1451)]
    for unit in [*units.counties.values(), *units.constituencies.values(), *units.wards.values()]:
        assert -5 < unit.lat < 5.5 and 33.5 < unit.lon < 42.5, unit  # inside Kenya
    assert {w.point_from for w in units.wards.values()} == {"constituency"}


def _reference(name: str) -> list[dict[str, str]]:
    if _SHARED is None or not (_SHARED / name).is_file():
        pytest.skip(f"shared/data/{name} is not available here")
    with (_SHARED / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalpha())


def test_constituencies_agree_with_the_reference_file() -> None:
    units = admin_units()
    rows = _reference("kenya_constituencies.csv")
    differ = [r for r in rows if _key(units.constituencies[int(r["const_code"])].name) != _key(r["const_name"])]
    # kenya-data uses the current names of two Homa Bay constituencies (Suba North/South for Mbita/Suba).
    assert {r["const_name"] for r in differ} <= {"Mbita", "Suba"}
    assert all(units.constituencies[int(r["const_code"])].county_code == int(r["county_code"]) for r in rows)


def test_wards_agree_with_the_reference_file() -> None:
    units = admin_units()
    rows = _reference("kenya_wards.csv")
    in_both = [r for r in rows if r["ward_code"] in units.wards]
    assert len(in_both) >= 1440
    same_parent = [r for r in in_both if units.wards[r["ward_code"]].constituency_code == int(r["const_code"])]
    assert len(same_parent) >= 1440


def test_alias_table_is_big_covers_every_county_and_every_row_resolves() -> None:
    rows = read_aliases()
    assert len(rows) >= 600
    units = admin_units()
    targets = [alias_target(row, units) for row in rows]  # raises for a row naming no place
    assert {t.county_code for t in targets} == set(range(1, 48))
    assert all(row.reason for row in rows)


# --- matching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "county", "constituency", "ward"), [
    ("vijana wa Kondele wamewasha moto", 42, 240, "1200"),
    ("kwa Kondele kuna fujo", 42, 240, "1200"),
    ("huko Kondele watu wanapigana", 42, 240, "1200"),
    ("Kaunti ya Nakuru kuna maandamano", 32, None, None),
    ("mtaa wa Mathare vijana wamechoma gari", 47, 290, None),
    ("kayol phase 2 there is fighting", 47, 284, None),  # misspelt estate spanning wards: constituency only
    ("msa town chaos", 1, None, None),
    ("nakru kuna vita", 32, None, None),
    ("huko Kibra youths are fighting", 47, 278, None),  # Kibera spans wards
    ("Eastleigh shops looted", 47, 288, None),
    ("fighting in Laini Saba now", 47, 278, "1386"),
    ("Kisumoni kuna fujo", 42, None, None),  # Swahili locative
    ("Nakuru's market burning", 32, None, None),
    ("Hii ni Kondele, youths wako na pangas", 42, 240, "1200"),  # code-switching
])
def test_places_in_text(text: str, county: int, constituency: int | None, ward: str | None) -> None:
    match = resolve_place(text)
    assert (match.county_code, match.constituency_code, match.ward_code) == (county, constituency, ward)
    assert match.span and match.span in text
    assert 0 < match.confidence <= 1


@pytest.mark.parametrize("text", [
    "", "   ", "?!?! ...", "12345 678", "asdfgh qwerty zxcvb",
    "Leo asubuhi vijana wamebeba mapanga na mawe wamevamia soko la kijiji, watu wengi wamejeruhiwa",
    "Youths armed with machetes attacked traders at the market this morning",
    "Siasa za chuki zinaenea mtaani, wanatukana watu wa kabila lingine kwenye mkutano",
    "Kituo cha polisi kimevamiwa na wahuni usiku",
    "ugomvi sokoni", "maandamano mjini", "there is tension at the hospital",
])
def test_no_place_in_text(text: str) -> None:
    assert resolve_place(text).county_code is None


def test_fled_to_and_roads_do_not_outrank_where_it_happened() -> None:
    assert resolve_place("wamekimbilia Kitale").county_code is None
    fled = resolve_place("Watu wamekimbilia Kitale kutoka Endebess baada ya shambulio")
    assert fled.span == "Endebess" and fled.others == ("Kitale",)
    assert resolve_place("barabara ya Nakuru imefungwa").county_code is None
    assert resolve_place("accident on Mombasa road").county_code == 47  # the alias table: the road is in Nairobi
    assert resolve_place("Mombasa road accident, then a fight at Syokimau").county_code == 16
    road = resolve_place("fighting on Thika road near Roysambu")
    assert road.county_code == 47 and road.span == "Roysambu"
    own = resolve_place("I am in Kisumu but people are fighting in Nakuru")
    assert own.county_code == 32


def test_context_settles_names_in_several_counties() -> None:
    assert resolve_place("Huruma").county_code == 47  # the alias table's first meaning, at low confidence
    assert resolve_place("Huruma").ambiguous
    assert resolve_place("Huruma estate Eldoret").county_code == 27  # another place in the text
    assert resolve_place("fujo Huruma", PlaceHints(home_county=27)).county_code == 27  # registered home
    assert resolve_place("fujo Huruma", PlaceHints(recent_counties=[27])).county_code == 27  # earlier reports
    assert resolve_place("Bura Taita").county_code == 6
    assert resolve_place("Huruma").confidence < resolve_place("Huruma Eldoret").confidence


def test_very_long_text_is_cheap_and_bounded() -> None:
    text = "watu wanapigana " * 2000 + " Kondele"
    assert resolve_place(text).county_code is None  # past the first 4,000 characters nothing is read
    assert resolve_place("Kondele " + "fujo " * 5000).county_code == 42


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_a_consistent_answer(text: str) -> None:
    match = resolve_place(text)
    units = admin_units()
    if match.ward_code is not None:
        assert units.wards[match.ward_code].constituency_code == match.constituency_code
    if match.constituency_code is not None:
        assert units.constituencies[match.constituency_code].county_code == match.county_code
    if match.county_code is not None:
        assert match.span and match.span in text
    else:
        assert match.constituency_code is None and match.ward_code is None


# --- ask-back over Twilio SMS --------------------------------------------------------------------


async def _questions(fake_twilio: FakeTwilioApi) -> list[dict[str, str]]:
    return [m.form for m in fake_twilio.messages if "happen" in m.form["Body"] or "wapi" in m.form["Body"]]


async def test_ask_back_round_trip_over_twilio(client: TestClient, pool: asyncpg.Pool,
                                               fake_twilio: FakeTwilioApi) -> None:
    sender = REPORTER_PHONES[1]
    await send_report(client, "Fighting at the market, please come quickly", sender=sender)
    await eventually(lambda: _has(fake_twilio, 1))
    (question,) = await _questions(fake_twilio)
    assert question["To"] == sender
    assert question["Body"] == "Where did this happen? Reply with the area name. Ref EWS-1"
    # The answer: attached to the same report, not stored as a new one; its place resolved.
    sid = random_sid()
    reply = await post_signed(client, sms_form("Kondele", sender=sender, sid=sid))
    assert reply.status == 200 and "EWS-1" in await reply.text()
    await eventually(lambda: _answers_read(pool, 1))  # read for its place after the commit, as any text is
    row = await pool.fetchrow("SELECT count(*) OVER () AS n, county_code, ward_code, place_source FROM reports")
    assert (row["n"], row["county_code"], row["ward_code"], row["place_source"]) == (1, 42, "1200", "answer")
    # Twilio's retry of the answer changes nothing; a later message is a new report.
    again = await post_signed(client, sms_form("Kondele", sender=sender, sid=sid))
    assert again.status == 200 and await pool.fetchval("SELECT count(*) FROM reports") == 1
    await send_report(client, "Kondele", sender=sender)
    assert await pool.fetchval("SELECT count(*) FROM reports") == 2
    assert await pool.fetchval("SELECT answer_body FROM place_questions WHERE report_id = 1") == "Kondele"


async def _answers_read(pool: asyncpg.Pool, count: int) -> bool:
    return await _count(pool, "SELECT count(*) FROM place_questions WHERE answer_read_at IS NOT NULL", count)


async def _has(fake_twilio: FakeTwilioApi, count: int) -> bool:
    return len(await _questions(fake_twilio)) >= count


async def test_ask_back_in_swahili_once_per_sender_and_none_after_stop(client: TestClient, pool: asyncpg.Pool,
                                                                       fake_twilio: FakeTwilioApi) -> None:
    sender = REPORTER_PHONES[2]
    await send_report(client, "Watu wanapigana sokoni, tafadhali tumeni polisi", sender=sender)
    await send_report(client, "Bado wanapigana sokoni, nyumba zinachomwa moto", sender=sender)
    await eventually(lambda: _has(fake_twilio, 1))
    await eventually(lambda: _count(pool, "SELECT count(*) FROM place_questions", 1))
    assert [q["Body"] for q in await _questions(fake_twilio)] == [
        "Hii ilitokea wapi? Jibu na jina la eneo. Kumb. EWS-1"]
    # A placed report is never asked about; an opted-out sender never is.
    await send_report(client, "Fujo Kondele sasa hivi", sender=REPORTER_PHONES[3])
    await post_signed(client, sms_form("STOP", sender=REPORTER_PHONES[0], sid=random_sid()))
    await send_report(client, "Watu wanapigana sokoni leo", sender=REPORTER_PHONES[0])
    await send_report(client, "and another sender with no place is asked once", sender=REPORTER_PHONES[3])
    await eventually(lambda: _count(pool, "SELECT count(*) FROM reports", 5))
    await eventually(lambda: _count(pool, "SELECT count(*) FROM place_questions", 2))
    assert await pool.fetchval("SELECT count(*) FROM place_questions q JOIN reports r ON r.id = q.report_id "
                               "WHERE r.body LIKE 'Watu wanapigana sokoni leo'") == 0


async def _count(pool: asyncpg.Pool, sql: str, expected: int) -> bool:
    return bool(await pool.fetchval(sql) == expected)


# --- corrections --------------------------------------------------------------------------------


async def test_place_correction_is_stored_audited_and_listed(client: TestClient, pool: asyncpg.Pool) -> None:
    await send_report(client, "Fighting at the market")
    await eventually(lambda: pool.fetchval("SELECT understood FROM reports"))  # shown once its text is read
    none = await (await client.get("/api/v1/reports?county=none")).json()
    assert [r["reference"] for r in none["reports"]] == ["EWS-1"]
    counties = await (await client.get("/api/v1/counties")).json()
    assert counties["unplaced_reports"] == 1
    patched = await client.patch("/api/v1/reports/1", json={"ward_code": "1200", "by": "analyst achieng",
                                                           "note": "caller said Kondele"})
    assert patched.status == 200, await patched.text()
    assert (await patched.json())["county_code"] == 42
    listed = (await (await client.get("/api/v1/reports?county=42")).json())["reports"]
    assert (listed[0]["constituency_code"], listed[0]["ward_code"], listed[0]["place_source"],
            listed[0]["place_confidence"]) == (240, "1200", "correction", 1.0)
    correction = await pool.fetchrow("SELECT * FROM place_corrections")
    assert (correction["corrected_by"], correction["before_county"], correction["after_ward"]) == (
        "analyst achieng", None, "1200")
    assert await pool.fetchval("SELECT actor FROM audit_log WHERE action = 'report.place_corrected'") == \
        "analyst achieng"


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"county_code": 48, "by": "x"}, 400, "no county"),
    ({"ward_code": "9999", "by": "x"}, 400, "no ward"),
    ({"ward_code": 1200, "by": "x"}, 400, "ward_code"),
    ({"ward_code": "1200", "county_code": 1, "by": "x"}, 400, "is in constituency"),
    ({"constituency_code": 240, "county_code": 1, "by": "x"}, 400, "is in county"),
    ({"county_code": 42}, 400, "'by'"),
    ({"by": "x"}, 400, "nothing to change"),
    ([1, 2], 400, "JSON object"),
    ({"county_code": True, "by": "x"}, 400, "integer"),
])
async def test_bad_corrections_say_what_is_wrong(client: TestClient, body: object, status: int,
                                                 says: str) -> None:
    await send_report(client, "Fighting at the market")
    response = await client.patch("/api/v1/reports/1", json=body)
    assert response.status == status
    assert says in (await response.json())["error"]


async def test_correcting_unknown_or_malformed_ids(client: TestClient) -> None:
    assert (await client.patch("/api/v1/reports/77", json={"county_code": 1, "by": "x"})).status == 404
    assert (await client.patch("/api/v1/reports/abc", json={"county_code": 1, "by": "x"})).status == 400
    bad = await client.patch("/api/v1/reports/1", data=b"\xff\xfe", headers={"Content-Type": "application/json"})
    assert bad.status == 400
    huge = await client.patch("/api/v1/reports/1", data=b"{" + b" " * 70_000 + b"}")
    assert huge.status == 413


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=200))
def test_tokens_are_words_of_words_and_numbers_with_their_offsets(text: str) -> None:
    tokens = tokens_of(text)
    assert [t.word for t in tokens if not t.word.isdigit()] == words_of(text)
    for token in tokens:
        assert 0 <= token.start < token.end <= len(text)


async def test_an_answer_reaching_another_process_is_attached(client: TestClient, pool: asyncpg.Pool) -> None:
    sender = REPORTER_PHONES[1]
    await send_report(client, "Fighting at the market, please come quickly", sender=sender)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM place_questions", 1))
    other = PlaceFollowUp(pool, sender_key=SENDER_KEY, cipher=ContactCipher(CONTACT_KEY), window=3600)
    stranger = ReportIn(channel="twilio_sms", external_id=random_sid(), body="Kondele", sender=REPORTER_PHONES[4],
                        received_at=utcnow())
    assert await other.answer(stranger) is None  # nobody asked them
    answer = ReportIn(channel="twilio_sms", external_id=random_sid(), body="huko Kondele", sender=sender,
                      received_at=utcnow())
    assert other.may_answer(answer)
    result = await other.answer(answer)
    # Attached before the 200; read for its place after the commit (by whichever process gets to it first).
    assert result is not None and (result.report_id, result.created) == (1, False)
    await other.read_answers()
    await eventually(lambda: _answers_read(pool, 1))
    assert await pool.fetchval("SELECT county_code FROM reports WHERE id = 1") == 42
    long = ReportIn(channel="twilio_sms", external_id=random_sid(), body="x" * 200, sender=sender,
                    received_at=utcnow())
    web = ReportIn(channel="web_form", external_id=random_sid(), body="Kondele", sender="", received_at=utcnow())
    assert not other.may_answer(long) and not other.may_answer(web)
    await other.stop()


# --- evaluation ---------------------------------------------------------------------------------

_DEV = Path(__file__).resolve().parent / "data" / "places_dev.csv"


def test_development_set_meets_the_targets() -> None:
    # Written by the alias table's author and tuned on (a regression guard, not the held-out figure).
    scores, misses = evaluate(read_rows(_DEV))
    assert all(score.met for score in scores if score.target), (scores, misses)


def test_places_evaluate_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["places", "evaluate", "--file", str(_DEV)]) == 0
    out = capsys.readouterr().out
    assert "county correct" in out and "ward correct" in out and "no county given" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("text,county_code\nKondele,42\n", encoding="utf-8")
    assert main(["places", "evaluate", "--file", str(bad)]) == 2
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("text,county_code,constituency_code,ward_code\nKondele,1,,\n", encoding="utf-8")
    assert main(["places", "evaluate", "--file", str(wrong), "--misses"]) == 1
    assert "miss: want" in capsys.readouterr().out


async def test_corrections_export_as_an_evaluation_file(client: TestClient, pool: asyncpg.Pool,
                                                        database_url: str, tmp_path: Path) -> None:
    from tests.test_cli import cli_env, run

    await send_report(client, "Fighting at the market")
    # Not a text the classifier (issue 11) hides from this uncleared client: the test hides it below.
    await send_report(client, "Houses were burnt near the well")
    await send_report(client, "Youths gathering with pangas")
    for report_id, body in ((1, {"county_code": 1}), (1, {"ward_code": "1200"}), (2, {"county_code": 47})):
        assert (await client.patch(f"/api/v1/reports/{report_id}", json={**body, "by": "analyst"})).status == 200
    await pool.execute("UPDATE reports SET sensitive = true WHERE id = 2")  # issue 11's flag: never exported
    out = tmp_path / "corrections.csv"
    result = run("places", "corrections", "--out", str(out), env=cli_env(database_url, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "1 corrected reports written" in result.stdout
    rows = read_rows(out)
    assert rows == [{"text": "Fighting at the market", "county_code": "42", "constituency_code": "240",
                     "ward_code": "1200"}]


async def test_no_question_for_a_sensitive_or_flooding_report(pool: asyncpg.Pool) -> None:
    from ews.db.repo import places as repo

    now = utcnow()
    async with pool.acquire() as conn:
        contact = await conn.fetchval(
            "INSERT INTO reporter_contacts (sender_hash, channel, address_enc, language, created_at, updated_at) "
            "VALUES ('h1', 'sms', '\\x00', 'en', $1, $1) RETURNING id", now)
        for flag in ("sensitive", "flooding", "none"):
            report_id = await conn.fetchval(
                "INSERT INTO reports (source, external_id, channel, body, sender_hash, language, received_at) "
                "VALUES ('t', $1, 'twilio_sms', 'x', $2, 'en', $3) RETURNING id", flag, f"h-{flag}", now)
            await conn.execute("UPDATE reports SET sensitive = ($2 = 'sensitive'), flooding = ($2 = 'flooding') "
                               "WHERE id = $1", report_id, flag)
            asked = await repo.record_question(conn, report_id=report_id, sender_hash=f"h-{flag}",
                                               contact_id=contact, now=now, expires_at=now)
            assert asked == (flag == "none"), flag


async def test_a_message_id_that_already_answered_one_question_answers_no_other(client: TestClient,
                                                                                pool: asyncpg.Pool) -> None:
    """Found by schemathesis: a reused (forged) message id from a second asked sender made the answer's
    UPDATE break the one-answer-per-message constraint, and the gateway got a 503 for ever."""
    first, second = REPORTER_PHONES[1], REPORTER_PHONES[2]
    await send_report(client, "Fighting at the market, please come quickly", sender=first)
    await send_report(client, "Shots fired near the school, come quickly", sender=second)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM place_questions", 2))
    follow_up = PlaceFollowUp(pool, sender_key=SENDER_KEY, cipher=ContactCipher(CONTACT_KEY), window=3600)
    reused = random_sid()
    answered = await follow_up.answer(ReportIn(channel="twilio_sms", external_id=reused, body="huko Kondele",
                                               sender=first, received_at=utcnow()))
    assert answered is not None and answered.report_id == 1
    again = await follow_up.answer(ReportIn(channel="twilio_sms", external_id=reused, body="Kibra",
                                            sender=second, received_at=utcnow()))
    assert again is None  # not an answer: intake gets it and keeps one report per message id
    assert await pool.fetchval("SELECT answered_at FROM place_questions WHERE report_id = 2") is None
    await follow_up.stop()


async def test_ask_back_round_trip_over_africas_talking(at_client: TestClient, pool: asyncpg.Pool,
                                                        fake_at: FakeAfricasTalkingApi) -> None:
    sender = REPORTER_PHONES[1]
    token = f"?token={AT_TOKEN}"
    form = {"from": sender, "to": "40123", "text": "Fighting at the market, please come quickly",
            "date": "2026-12-01 10:00:00", "id": "ATXid_" + random_sid(), "networkCode": "63902"}
    assert (await at_client.post("/ingest/africastalking/sms" + token, data=form)).status == 200
    sent = await fake_at.wait_for(2)  # the receipt and the question, both through AT's messaging API
    questions = [m for m in sent if "Where did this happen" in m["message"]]
    assert len(questions) == 1 and questions[0]["to"] == sender
    answer = {**form, "text": "huko Kondele", "id": "ATXid_" + random_sid()}
    assert (await at_client.post("/ingest/africastalking/sms" + token, data=answer)).status == 200
    await eventually(lambda: _answers_read(pool, 1))
    row = await pool.fetchrow("SELECT count(*) OVER () AS n, county_code, ward_code, place_source FROM reports")
    assert (row["n"], row["county_code"], row["ward_code"], row["place_source"]) == (1, 42, "1200", "answer")
    # AT's retry of the answer changes nothing.
    assert (await at_client.post("/ingest/africastalking/sms" + token, data=answer)).status == 200
    assert await pool.fetchval("SELECT count(*) FROM reports") == 1


async def test_a_monitors_registered_home_settles_an_ambiguous_name(at_client: TestClient, pool: asyncpg.Pool) -> None:
    """Huruma is a ward in Nairobi and in Uasin Gishu: a monitor registered in Uasin Gishu means Eldoret's."""
    monitor = REPORTER_PHONES[5]
    entries = parse_monitors("name,phone,county,ward,organisation,language\n"
                             f"Kiprop,{monitor},Uasin Gishu,,Eldoret Peace Committee,sw\n", fmt="csv")
    await import_monitors(pool, entries, hash_key=SENDER_KEY, cipher=ContactCipher(CONTACT_KEY))
    form = {"from": monitor, "to": "40123", "text": "Vijana wanapigana Huruma sasa hivi",
            "date": "2026-12-01 10:00:00", "id": "ATXid_" + random_sid()}
    assert (await at_client.post(f"/ingest/africastalking/sms?token={AT_TOKEN}", data=form)).status == 200
    # Screening files the report under the monitor's home county at once; the ward comes with the text.
    await eventually(lambda: _count(pool, "SELECT count(*) FROM reports WHERE county_code = 27 "
                                          "AND ward_code IS NOT NULL", 1))
    assert await pool.fetchval("SELECT ward_code FROM reports") == "0713"


# --- ask-back: after the commit, the channel's own way back, the window, the channels asked -------------


async def test_an_answer_is_attached_before_the_200_and_read_for_its_place_only_after(
        client: TestClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    import ews.intake.places as follow_ups

    sender = REPORTER_PHONES[1]
    await send_report(client, "Fighting at the market, please come quickly", sender=sender)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM place_questions", 1))
    other = PlaceFollowUp(pool, sender_key=SENDER_KEY, cipher=ContactCipher(CONTACT_KEY), window=3600)

    def no_matching_here(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the place matcher ran on the request path")

    monkeypatch.setattr(follow_ups, "resolve_place", no_matching_here)
    monkeypatch.setattr(other, "read_answers_soon", lambda: None)  # its background read: checked below
    result = await other.answer(ReportIn(channel="twilio_sms", external_id=random_sid(), body="huko Kondele",
                                         sender=sender, received_at=utcnow()))
    assert result is not None and result.report_id == 1
    assert await pool.fetchval("SELECT answer_read_at FROM place_questions") is None
    monkeypatch.undo()
    assert await other.read_answers() == 1  # after the commit (here a later pass, as the scheduler's sweep)
    assert await pool.fetchval("SELECT county_code FROM reports WHERE id = 1") == 42
    assert await other.read_answers() == 0


async def test_the_question_goes_back_through_the_gateway_the_report_came_by(
        pool: asyncpg.Pool, at_settings: Settings, fake_twilio: FakeTwilioApi, fake_at: FakeAfricasTalkingApi) -> None:
    # AT is the first SMS notifier here, as in Kenya; a report that came in over Twilio is asked over Twilio.
    async with quiet_client(at_settings.replace(notifiers="africastalking_sms,twilio_sms")) as client:
        await send_report(client, "Fighting at the market, please come quickly", sender=REPORTER_PHONES[1])
        await eventually(lambda: _has(fake_twilio, 1))
    assert [m["to"] for m in fake_at.messages] == []
    assert (await _questions(fake_twilio))[0]["To"] == REPORTER_PHONES[1]


async def test_an_answer_after_the_window_is_a_new_report(client: TestClient, pool: asyncpg.Pool) -> None:
    sender = REPORTER_PHONES[1]
    await send_report(client, "Fighting at the market, please come quickly", sender=sender)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM place_questions", 1))
    await pool.execute("UPDATE place_questions SET expires_at = now() - interval '1 second'")
    await asyncio.sleep(ASKED_REFRESH_SECONDS + 0.1)  # the list of open questions is re-read
    await send_report(client, "Kondele", sender=sender)
    assert await pool.fetchval("SELECT count(*) FROM reports") == 2
    assert await pool.fetchval("SELECT answered_at FROM place_questions") is None


@pytest.mark.parametrize("channel", get_args(ChannelName))
def test_only_sms_reporters_are_ever_asked_where(channel: str) -> None:
    follow_up = PlaceFollowUp(None, sender_key=SENDER_KEY, cipher=ContactCipher(CONTACT_KEY),  # type: ignore[arg-type]
                              window=3600)
    report = ReportIn(channel=channel, external_id="x", body="Fighting at the market", sender=REPORTER_PHONES[1],  # type: ignore[arg-type]
                      received_at=utcnow())
    # USSD and the web form pick their place in a menu or a field; WhatsApp, partners and imports are not asked.
    assert follow_up._may_ask(report) == (channel in ("twilio_sms", "at_sms"))


@pytest.mark.parametrize(("text", "county", "ward"), [
    ("vijana wa Kondelle wamewasha moto", 42, "1200"),      # a doubled letter
    ("fujo huko Kondel sokoni", 42, "1200"),                 # a letter short
    ("maandamano mtaa wa Mathre", 47, None),                 # a letter dropped from an estate
    ("Kaunti ya Nakurru: vijana wanakusanyika", 32, None),   # the county misspelt after "Kaunti ya"
])
def test_misspelt_places_in_a_report_are_found_by_the_fuzzy_matcher(text: str, county: int, ward: str | None) -> None:
    match = resolve_place(text)
    assert match.county_code == county, match
    if ward is not None:
        assert match.ward_code == ward, match


async def test_a_flooding_sender_is_not_asked_where(pool: asyncpg.Pool, settings: Settings,
                                                   fake_twilio: FakeTwilioApi) -> None:
    # Two reports an hour at most; the third, naming no place, comes from a flooding sender and is not asked
    # back (the first two name Kisumu, so no question is open for them either).
    sender = REPORTER_PHONES[3]
    async with quiet_client(settings.replace(flood_max_reports=2, flood_window_minutes=60)) as client:
        for text in ("Fighting in Kisumu town", "More fighting in Kisumu town",
                     "Fighting at the market, please come quickly"):
            await send_report(client, text, sender=sender)
        await eventually(lambda: _count(pool, "SELECT count(*) FROM reports WHERE understood", 3))
        await eventually(lambda: _count(pool, "SELECT count(*) FROM reports WHERE flooding", 1))
        # A sender who is not flooding, with the same text, is asked: the check above can fail.
        await send_report(client, "Fighting at the market, please come quickly", sender=REPORTER_PHONES[4])
        await eventually(lambda: _has(fake_twilio, 1))
    questions = await _questions(fake_twilio)
    assert [q["To"] for q in questions] == [REPORTER_PHONES[4]]
    assert await pool.fetchval("SELECT count(*) FROM place_questions") == 1
