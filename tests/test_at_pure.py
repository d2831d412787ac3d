"""Pure parts of issue 8: AT forms, delivery reports, statusCodes, flood and repeat decisions, monitor SMS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ews.core.models import Command, DeliveryStatus, Outgoing, ReportIn, StoredReport
from ews.intake.flood import FloodLimit, is_flooding, normalise, repeat_of
from ews.intake.screen import IntakePolicy, MonitorHome, SenderHistory, apply_monitor, screen
from ingest.africastalking_sms import DELIVERY_RANKS, parse_delivery_report, parse_opt_out, parse_sms
from ingest.base import Rejected
from ingest.commands import parse_command
from notifiers.africastalking_sms import AfricasTalkingSmsNotifier, by_http_status, classify
from rules.monitor_format import COUNTY_ABBREVIATIONS, format_help, parse_monitor_sms

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LIMIT = FloodLimit(10, timedelta(minutes=10))
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")


# --- flood control -------------------------------------------------------------------------------------------

def test_the_eleventh_report_in_ten_minutes_is_flooding_and_the_tenth_is_not() -> None:
    nine = [NOW - timedelta(minutes=1)] * 9
    assert not is_flooding(nine, NOW, LIMIT)
    assert is_flooding([*nine, NOW], NOW, LIMIT)


def test_reports_older_than_the_window_do_not_count() -> None:
    old = [NOW - timedelta(minutes=10), NOW - timedelta(hours=1)] * 10
    assert not is_flooding(old, NOW, LIMIT)


@given(st.lists(st.integers(min_value=-3600, max_value=0), max_size=40), st.integers(1, 20), st.integers(1, 1200))
def test_flooding_is_exactly_max_reports_earlier_within_the_window(offsets: list[int], most: int,
                                                                   window: int) -> None:
    limit = FloodLimit(most, timedelta(seconds=window))
    earlier = [NOW + timedelta(seconds=o) for o in offsets]
    inside = sum(1 for o in offsets if -window < o <= 0)
    assert is_flooding(earlier, NOW, limit) == (inside >= most)
    # One more report can only keep or make a sender flooding, never calm it.
    assert is_flooding([*earlier, NOW], NOW, limit) >= is_flooding(earlier, NOW, limit)


# --- near-duplicates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "same"), [
    ("Men with pangas at Kibuye market!", "men with PANGAS at kibuye   market", True),
    ("Watu wanapigana Kondele.", "watu wanapigana kondele", True),
    ("Watu wanapigana Kondele", "Watu wanapigana Kondele sasa hivi", False),
    ("Two houses burnt in Nyalenda", "Police arrived in Nyalenda", False),
    ("Kisumu 1", "Kisumu 2", False),
])
def test_repeats_are_judged_after_normalising_case_spacing_and_punctuation(a: str, b: str, same: bool) -> None:
    assert (repeat_of(b, [(1, normalise(a))], similarity=90.0) == 1) is same


def test_the_oldest_matching_original_is_the_one_linked() -> None:
    earlier = [(5, normalise("Fire at the market")), (9, normalise("fire at the market!"))]
    assert repeat_of("FIRE at the market", earlier, similarity=90.0) == 5


@given(st.text(max_size=200))
def test_normalise_is_idempotent_and_a_text_always_repeats_itself(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)
    assert repeat_of(text.upper() + " !", [(1, normalise(text))], similarity=90.0) in (1, None)
    assert repeat_of(text, [(1, normalise(text))], similarity=100.0) == 1


# --- screening a batch ---------------------------------------------------------------------------------------

def _stored(body: str, *, sender: str = "h1", at: datetime = NOW, county: int | None = None) -> StoredReport:
    return StoredReport(source="at_sms", external_id=body + sender + at.isoformat(), channel="at_sms", body=body,
                        sender_hash=sender, county_code=county, language="sw", received_at=at)


def test_a_burst_inside_one_batch_is_judged_like_one_spread_over_many() -> None:
    reports = [_stored(f"ripoti {i} kuhusu jambo {i * 7919}", at=NOW + timedelta(seconds=i)) for i in range(15)]
    done = screen(reports, list(range(100, 115)), {}, IntakePolicy())
    assert [s.report.flooding for s in done] == [False] * 10 + [True] * 5
    assert [s.receipt for s in done] == [True] * 10 + [False] * 5
    # ... and split across two batches, with the first one's rows as history, the same.
    first = screen(reports[:6], list(range(100, 106)), {}, IntakePolicy())
    history = {"h1": SenderHistory(recent=tuple(s.report.received_at for s in first))}
    second = screen(reports[6:], list(range(106, 115)), history, IntakePolicy())
    assert [s.report.flooding for s in first + second] == [s.report.flooding for s in done]


def test_repeats_link_to_the_first_original_in_the_batch_or_in_the_database() -> None:
    reports = [_stored("Fire at the market!"), _stored("fire at the market"), _stored("Fire at the market",
                                                                                      sender="h2")]
    done = screen(reports, [7, 8, 9], {}, IntakePolicy())
    assert [s.report.repeat_of for s in done] == [None, 7, None]
    history = {"h2": SenderHistory(originals=((3, "FIRE at the market", NOW - timedelta(minutes=5)),))}
    assert screen(reports[2:], [9], history, IntakePolicy())[0].report.repeat_of == 3
    stale = {"h2": SenderHistory(originals=((3, "FIRE at the market", NOW - timedelta(hours=2)),))}
    assert screen(reports[2:], [9], stale, IntakePolicy())[0].report.repeat_of is None


def test_anonymous_reports_are_never_flooding_or_repeats_of_each_other() -> None:
    reports = [_stored("same text", sender="anon") for _ in range(20)]
    done = screen(reports, list(range(20)), {}, IntakePolicy(), anonymous="anon")
    assert not any(s.report.flooding or s.report.repeat_of for s in done)


def test_an_opted_out_sender_is_stored_without_receipt() -> None:
    done = screen([_stored("Kisumu")], [1], {"h1": SenderHistory(opted_out=True)}, IntakePolicy())
    assert done[0].receipt is False and not done[0].report.flooding


def test_a_monitors_report_takes_the_structured_fields_or_the_home_place_and_the_trust_mark() -> None:
    home = MonitorHome(id=4, county_code=42, ward_code="0217")
    structured = apply_monitor(_stored("43 3 watu 40 na mapanga"), home)
    assert (structured.county_code, structured.incident_type, structured.ward_code) == (43, "armed_attack", None)
    plain = apply_monitor(_stored("hali ni tulivu"), home)
    assert (plain.county_code, plain.ward_code, plain.trust, plain.monitor_id) == (42, "0217", 1.0, 4)
    named = apply_monitor(_stored("vita Nakuru", county=32), home)
    assert (named.county_code, named.ward_code) == (32, None)  # a place the text names wins over home


# --- the monitor SMS format ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "county", "kind", "rest"), [
    ("42 3 watu 40 wamekusanyika na mapanga", 42, "armed_attack", "watu 40 wamekusanyika na mapanga"),
    ("KSM 3 watu", 42, "armed_attack", "watu"),
    ("msa 11 maandamano", 1, "protest_demonstration", "maandamano"),
    ("Homa Bay 9 ng'ombe 30", 43, "cattle_raiding", "ng'ombe 30"),
    ("homa-bay 9", 43, "cattle_raiding", ""),
    ("nairobi 7 matamshi ya chuki", 47, "hate_speech_incitement", "matamshi ya chuki"),
    ("  47   14  ", 47, "not_incident", ""),
])
def test_monitor_sms_in_the_format(text: str, county: int, kind: str, rest: str) -> None:
    parsed = parse_monitor_sms(text)
    assert parsed is not None and (parsed.county_code, parsed.incident_type, parsed.text) == (county, kind, rest)


@pytest.mark.parametrize("text", ["3 people killed in Kisumu", "48 3 no such county", "42 15 no such type",
                                  "42 0 x", "Kisumu is calm", "42", "", "٤٢ ٣ arabic digits", "KSM three"])
def test_texts_not_in_the_format_are_free_text(text: str) -> None:
    assert parse_monitor_sms(text) is None


@given(st.integers(1, 47), st.integers(1, 14), st.text(alphabet=st.characters(codec="utf-8"), max_size=100),
       st.sampled_from(["code", "abbreviation"]))
def test_every_county_and_type_written_in_the_format_parses_back(county: int, kind: int, text: str,
                                                                 how: str) -> None:
    written = str(county) if how == "code" else next(a for a, c in COUNTY_ABBREVIATIONS.items() if c == county)
    parsed = parse_monitor_sms(f"{written} {kind} {text}")
    assert parsed is not None and parsed.county_code == county
    assert parsed.text == text.strip() or parsed.text == " ".join(text.split(None, 0)).strip()


@given(st.text(max_size=300))
def test_the_monitor_parser_never_raises(text: str) -> None:
    parsed = parse_monitor_sms(text)
    assert parsed is None or 1 <= parsed.county_code <= 47


@pytest.mark.parametrize("language", ["en", "sw"])
def test_help_gives_the_format_and_all_14_types_in_two_gsm7_sms(language: str) -> None:
    messages = format_help(language)
    assert len(messages) <= 2 and all(len(m) <= 153 for m in messages)
    assert all(set(m) <= GSM7 for m in messages)
    joined = " ".join(messages)
    assert all(f"{n} " in joined for n in range(1, 15))


# --- AT forms ------------------------------------------------------------------------------------------------

def test_an_at_sms_form_becomes_a_report_or_a_command() -> None:
    form = {"from": "+254712345678", "to": "40123", "text": " Kisumu fire ", "date": "2026-12-01", "id": "abc",
            "linkId": "L1", "networkCode": "63902", "extra": "ignored"}
    [report] = parse_sms(form, NOW)
    assert isinstance(report, ReportIn) and (report.body, report.external_id, report.link_id) == (
        "Kisumu fire", "abc", "L1")
    [command] = parse_sms({**form, "text": "ONDOKA"}, NOW)
    assert isinstance(command, Command) and (command.kind, command.language) == ("stop", "sw")


@pytest.mark.parametrize("word", ["STOP", "stopall", "UNSUBSCRIBE", "cancel", "END", "quit", "ACHA", "ondoka",
                                  "Toka", "Toka."])
def test_every_opt_out_word_is_a_stop(word: str) -> None:
    command = parse_command(word)
    assert command is not None and command.kind == "stop"


@pytest.mark.parametrize("word", ["START", "anza", "unstop"])
def test_start_words_resume(word: str) -> None:
    command = parse_command(word)
    assert command is not None and command.kind == "start"


_FORM_VALUES = st.one_of(st.text(max_size=50), st.text(alphabet="0123456789+", max_size=20))


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["from", "to", "text", "date", "id", "linkId", "networkCode", "x"]),
                       _FORM_VALUES))
def test_the_at_sms_parser_only_ever_returns_one_item_or_rejects_with_a_4xx(form: dict[str, str]) -> None:
    try:
        items = parse_sms(form, NOW)
    except Rejected as exc:
        assert 400 <= exc.status < 500 and exc.reason
    else:
        assert len(items) == 1 and items[0].external_id


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["id", "status", "phoneNumber", "failureReason", "networkCode",
                                        "retryCount"]),
                       st.one_of(st.sampled_from([*DELIVERY_RANKS, "UserInBlackList"]), st.text(max_size=30))))
def test_the_delivery_report_parser_only_ever_returns_a_report_or_rejects(form: dict[str, str]) -> None:
    try:
        report = parse_delivery_report(form)
    except Rejected as exc:
        assert exc.status == 400
    else:
        assert report.rank == DELIVERY_RANKS[report.status] and report.provider_id
        assert report.opted_out == (form.get("failureReason", "").strip() == "UserInBlackList")


def test_delivery_states_rank_forward_and_the_final_ones_alike() -> None:
    assert DELIVERY_RANKS["Sent"] < DELIVERY_RANKS["Submitted"] < DELIVERY_RANKS["Buffered"] < DELIVERY_RANKS[
        "Success"] == DELIVERY_RANKS["Failed"] == DELIVERY_RANKS["Rejected"]


def test_an_opt_out_notice_needs_its_number() -> None:
    assert parse_opt_out({"senderId": "EWS", "phoneNumber": "+254712345678"}) == "+254712345678"
    with pytest.raises(Rejected):
        parse_opt_out({"senderId": "EWS"})


# --- AT's sending API ----------------------------------------------------------------------------------------

def _answer(code: Any, message_id: str = "ATXid_1") -> dict[str, Any]:
    return {"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [
        {"statusCode": code, "number": "+254712345678", "status": "x", "cost": "KES 0.8", "messageId": message_id}]}}


@pytest.mark.parametrize(("code", "status"), [
    (100, DeliveryStatus.OK), (101, DeliveryStatus.OK), (102, DeliveryStatus.OK), ("101", DeliveryStatus.OK),
    (401, DeliveryStatus.RETRYABLE), (405, DeliveryStatus.RETRYABLE), (500, DeliveryStatus.RETRYABLE),
    (501, DeliveryStatus.RETRYABLE), (502, DeliveryStatus.RETRYABLE), (402, DeliveryStatus.PERMANENT),
    (403, DeliveryStatus.PERMANENT), (404, DeliveryStatus.PERMANENT), (406, DeliveryStatus.PERMANENT),
    (407, DeliveryStatus.PERMANENT), (409, DeliveryStatus.PERMANENT), (999, DeliveryStatus.RETRYABLE),
])
def test_the_per_recipient_status_code_decides_not_the_http_status(code: Any, status: DeliveryStatus) -> None:
    outcome = classify(_answer(code))
    assert outcome.status is status
    assert (outcome.provider_id == "ATXid_1") is (status is DeliveryStatus.OK)
    assert "+254" not in outcome.reason


def test_an_answer_naming_no_recipient_is_permanent_and_http_failures_by_status() -> None:
    assert classify({"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}).status is \
        DeliveryStatus.PERMANENT
    assert by_http_status(401).status is DeliveryStatus.PERMANENT
    assert by_http_status(500).status is DeliveryStatus.RETRYABLE
    assert by_http_status(429).status is DeliveryStatus.RETRYABLE


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["SMSMessageData", "Recipients", "statusCode", "messageId", "Message"]),
                        inner, max_size=4), max_leaves=12))
def test_classify_never_raises_on_any_json(body: Any) -> None:
    classify(body if isinstance(body, dict) else {"SMSMessageData": body})


def test_the_notifier_form_is_the_sdks_and_a_link_id_makes_it_a_premium_reply() -> None:
    notifier = AfricasTalkingSmsNotifier(username="sandbox", api_key="k", sender="40123")
    message = Outgoing(to="+254712345678", body="Asante", recipient_label="reporter", language="sw", reference="EWS-1")
    assert notifier.form(message) == {"username": "sandbox", "to": "+254712345678", "message": "Asante",
                                      "bulkSMSMode": "1", "from": "40123"}
    premium = notifier.form(Outgoing(to="+254712345678", body="x", recipient_label="r", language="sw",
                                     reference="EWS-1", link_id="L9"))
    assert premium["linkId"] == "L9" and premium["bulkSMSMode"] == "0" and "keyword" not in premium
    shared = AfricasTalkingSmsNotifier(username="sandbox", api_key="k", sender="22384", keyword="AMANI")
    assert shared.form(Outgoing(to="+254712345678", body="x", recipient_label="r", language="sw",
                                reference="EWS-1", link_id="L9"))["keyword"] == "AMANI"
    assert "keyword" not in shared.form(message)  # a bulk send (no linkId) names no keyword


def test_the_keyword_setting_reaches_the_notifier_built_from_settings() -> None:
    from ews.core.settings import Settings
    from notifiers.registry import build_all

    configured = Settings.from_env({"EWS_NOTIFIERS": "africastalking_sms", "EWS_AT_USERNAME": "sandbox",
                                    "EWS_AT_API_KEY": "k", "EWS_AT_KEYWORD": "AMANI"})
    notifier = next(n for n in build_all(configured) if isinstance(n, AfricasTalkingSmsNotifier))
    reply = Outgoing(to="+254712345678", body="x", recipient_label="r", language="sw", reference="EWS-1", link_id="L")
    assert notifier.form(reply)["keyword"] == "AMANI"
