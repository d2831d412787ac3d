"""The Twilio WhatsApp parser (pure): text, media, shared locations, commands, hostile fields, and a property."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ews.core.models import Command, ReportIn
from ews.core.privacy import sender_hash
from ingest.base import Rejected
from ingest.twilio_message import MAX_MEDIA, POINT_DECIMALS, UNKNOWN_CONTENT_TYPE, parse_message
from tests.conftest import REPORTER_PHONES, SENDER_KEY

NOW = datetime(2027, 8, 9, 12, 0, tzinfo=UTC)
PHONE = REPORTER_PHONES[0]


def form(**fields: str | None) -> dict[str, str]:
    """A WhatsApp message as Twilio posts it, with `fields` added or replaced (None drops a field)."""
    base: dict[str, str | None] = {
        "MessageSid": "SM" + "b" * 32, "AccountSid": "AC" + "0" * 32, "From": "whatsapp:" + PHONE,
        "To": "whatsapp:+14155238886", "Body": "Vijana wanapigana Kondele", "NumMedia": "0",
        "ProfileName": "Achieng", "WaId": PHONE[1:]}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def one_report(payload: dict[str, Any]) -> ReportIn:
    items = parse_message(payload, NOW)
    assert len(items) == 1 and isinstance(items[0], ReportIn), items
    return items[0]


def test_a_text_message_is_a_whatsapp_report_from_the_number_without_its_prefix() -> None:
    report = one_report(form())
    assert (report.channel, report.body, report.media_count, report.latitude) == (
        "twilio_whatsapp", "Vijana wanapigana Kondele", 0, None)
    assert sender_hash(SENDER_KEY, report.sender) == sender_hash(SENDER_KEY, PHONE)
    assert "Achieng" not in repr(report) and PHONE[1:] not in repr(report)  # ProfileName and WaId are not read


def test_the_same_message_posted_as_sms_is_an_sms_report() -> None:
    report = one_report(form(From=PHONE))
    assert report.channel == "twilio_sms"
    assert one_report(form(From=PHONE, Body=None, NumMedia="1", MediaContentType0="image/gif")).media_count == 1


def test_a_shared_place_with_no_text_is_a_report_worded_by_its_label_and_address() -> None:
    report = one_report(form(Body="", Latitude="-0.09171234", Longitude="34.76812", Label="Kondele Market",
                             Address="Kisumu-Kakamega Rd,  Kisumu"))
    assert report.body == "Kondele Market, Kisumu-Kakamega Rd, Kisumu"
    assert (report.latitude, report.longitude) == (-0.092, 34.768)  # kept to about 110 m


def test_a_bare_pin_has_no_text_and_is_still_a_report() -> None:
    report = one_report(form(Body="", Latitude="-0.0917", Longitude="34.768"))
    assert report.body == "" and report.latitude == -0.092


def test_media_are_counted_and_typed_never_their_urls() -> None:
    report = one_report(form(Body="", NumMedia="2", MediaContentType0="image/JPEG",
                             MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                             MediaContentType1="audio/ogg; codecs=opus", MediaUrl1="https://api.twilio.com/x"))
    assert (report.media_count, report.media_types, report.body) == (2, ("image/jpeg", "audio/ogg"), "")
    assert "twilio.com" not in repr(report)


def test_a_media_type_twilio_left_out_is_counted_as_unknown() -> None:
    report = one_report(form(NumMedia="1"))
    assert report.media_types == (UNKNOWN_CONTENT_TYPE,)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"Forwarded": "true"}, "forwarded"), ({"FrequentlyForwarded": "true", "Forwarded": "true"},
                                           "frequently_forwarded"),
    ({"Forwarded": "false"}, None), ({"Forwarded": "yes please"}, None)])
def test_forwarded_messages_are_marked(fields: dict[str, str | None], expected: str | None) -> None:
    assert one_report(form(**fields)).forwarded == expected


def test_stop_over_whatsapp_is_a_command_but_not_with_a_photo_or_when_forwarded() -> None:
    items = parse_message(form(Body="ACHA"), NOW)
    assert isinstance(items[0], Command) and (items[0].kind, items[0].language, items[0].channel) == (
        "stop", "sw", "twilio_whatsapp")
    assert isinstance(parse_message(form(Body="STOP", NumMedia="1", MediaContentType0="image/png"), NOW)[0],
                      ReportIn)
    assert isinstance(parse_message(form(Body="STOP", Forwarded="true"), NOW)[0], ReportIn)


HOSTILE = [
    ("no From", {"From": ""}, "From"),
    ("From with no number", {"From": "whatsapp:  "}, "From"),
    ("no MessageSid", {"MessageSid": ""}, "MessageSid"),
    ("nothing to report", {"Body": "  "}, "Body"),
    ("Body over 1600", {"Body": "x" * 1601}, "1600"),
    ("Latitude abc", {"Latitude": "abc", "Longitude": "34.7"}, "Latitude"),
    ("Latitude 200", {"Latitude": "200", "Longitude": "34.7"}, "Latitude"),
    ("Latitude NaN", {"Latitude": "NaN", "Longitude": "34.7"}, "Latitude"),
    ("Latitude inf", {"Latitude": "-inf", "Longitude": "34.7"}, "Latitude"),
    ("Latitude 1e999", {"Latitude": "1e999", "Longitude": "34.7"}, "Latitude"),
    ("Latitude 10 kB of digits", {"Latitude": "1" * 10_000, "Longitude": "34.7"}, "Latitude"),
    ("Latitude in exponent form", {"Latitude": "-9e-2", "Longitude": "34.7"}, "Latitude"),
    ("Latitude with spaces", {"Latitude": " -0.09", "Longitude": "34.7"}, "Latitude"),
    ("Latitude empty", {"Latitude": "", "Longitude": "34.7"}, "Latitude"),
    ("Longitude 181", {"Latitude": "-0.09", "Longitude": "181"}, "Longitude"),
    ("Longitude in Arabic digits", {"Latitude": "-0.09", "Longitude": "٣٤.٧"}, "Longitude"),
    ("Latitude alone", {"Latitude": "-0.09"}, "together"),
    ("Longitude alone", {"Longitude": "34.7"}, "together"),
    ("NumMedia abc", {"NumMedia": "abc"}, "NumMedia"),
    ("NumMedia huge", {"NumMedia": "99999999999999999999"}, "NumMedia"),
    ("NumMedia 11", {"NumMedia": "11"}, "NumMedia"),
    ("NumMedia negative", {"NumMedia": "-1"}, "NumMedia"),
    ("NumMedia superscript", {"NumMedia": "²"}, "NumMedia"),
    ("MediaContentType of 10 kB", {"NumMedia": "1", "MediaContentType0": "image/" + "j" * 10_000},
     "MediaContentType0"),
    ("MediaContentType no type", {"NumMedia": "1", "MediaContentType0": "<script>"}, "MediaContentType0"),
    ("Label over 400 on a bare pin", {"Body": "", "Latitude": "-0.09", "Longitude": "34.7", "Label": "K" * 401},
     "Label"),
    ("Address over 400", {"Address": "K" * 401}, "Address"),
    ("MediaContentType beyond NumMedia malformed", {"MediaContentType3": "not a type"}, "MediaContentType3"),
]


@pytest.mark.parametrize(("name", "fields", "reason"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_fields_are_refused_with_a_400_naming_the_field(name: str, fields: dict[str, str | None],
                                                                 reason: str) -> None:
    with pytest.raises(Rejected) as refused:
        parse_message(form(**fields), NOW)
    assert refused.value.status == 400 and reason in refused.value.reason, name


def test_a_point_outside_kenya_is_kept_for_intake_to_leave_unplaced() -> None:
    report = one_report(form(Latitude="51.5007", Longitude="-0.1246"))  # Westminster: valid, not Kenya
    assert (report.latitude, report.longitude) == (51.501, -0.125)


_KEYS = ("MessageSid", "From", "Body", "NumMedia", "MediaContentType0", "MediaContentType1", "Latitude",
         "Longitude", "Label", "Address", "Forwarded", "FrequentlyForwarded", "ProfileName", "WaId", "ButtonText")


@given(st.dictionaries(st.sampled_from(_KEYS), st.one_of(
    st.text(max_size=40), st.sampled_from(["whatsapp:+254712345678", "0", "1", "2", "10", "image/jpeg", "-0.09",
                                           "34.7", "nan", "1e400", "true", "STOP", ""]))))
def test_any_form_is_one_inbound_item_or_a_400_never_an_exception(payload: dict[str, str]) -> None:
    try:
        items = parse_message(payload, NOW)
    except Rejected as refused:
        assert refused.status == 400 and refused.reason
        return
    assert len(items) == 1
    item = items[0]
    assert item.external_id == payload["MessageSid"]
    assert item.sender in (payload["From"], payload["From"].strip())
    if isinstance(item, ReportIn):
        assert item.media_count == len(item.media_types) <= MAX_MEDIA
        assert (item.latitude is None) == (item.longitude is None)
        if item.latitude is not None and item.longitude is not None:
            assert math.isfinite(item.latitude) and -90 <= item.latitude <= 90 and -180 <= item.longitude <= 180
        assert item.channel in ("twilio_sms", "twilio_whatsapp")
        assert item.body or item.media_count or item.latitude is not None


@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180), caption=st.text(max_size=200),
       types=st.lists(st.sampled_from(["image/jpeg", "image/png", "audio/ogg", "video/mp4", "application/pdf",
                                       "text/vcard"]), max_size=MAX_MEDIA))
def test_a_valid_whatsapp_message_round_trips(lat: float, lon: float, caption: str, types: list[str]) -> None:
    payload = form(Body=caption, Latitude=f"{lat:.7f}", Longitude=f"{lon:.7f}", NumMedia=str(len(types)),
                   **{f"MediaContentType{i}": t for i, t in enumerate(types)})
    report = one_report(payload)
    assert report.channel == "twilio_whatsapp"
    assert report.latitude is not None and report.longitude is not None
    assert abs(report.latitude - lat) <= 0.5 * 10 ** -POINT_DECIMALS + 1e-12
    assert abs(report.longitude - lon) <= 0.5 * 10 ** -POINT_DECIMALS + 1e-12
    assert report.media_types == tuple(types)
    assert report.body == caption.strip() or (not caption.strip() and report.body == "")


@pytest.mark.parametrize("written", ["whatsapp:+254712345678", "WhatsApp:+254712345678", "+254712345678",
                                     "254712345678", "0712345678", "whatsapp: +254 712 345 678"])
def test_one_phone_is_one_sender_however_the_gateway_writes_it(written: str) -> None:
    # Twilio SMS and AT write +254..., Twilio WhatsApp whatsapp:+254..., AT USSD's phoneNumber +254...
    assert sender_hash(SENDER_KEY, written) == sender_hash(SENDER_KEY, "+254712345678")


def test_a_report_without_words_is_always_reviewed() -> None:
    # A photo or a pin sent alone: the model's confident "not_incident" is a guess from nothing.
    from rules.classify.decide import decide
    from rules.classify.model import Prediction

    sure = Prediction("not_incident", 0.95, 0.01)
    assert decide(sure, words=[], text="", given_type=None, casualties=None, sensitive=False,
                  review_below=0.5).needs_review
    assert not decide(sure, words=["amani"], text="amani", given_type=None, casualties=None, sensitive=False,
                      review_below=0.5).needs_review
