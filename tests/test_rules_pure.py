"""Pure decision code: language detection and the alert and receipt SMS text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ews.core.models import Level
from ingest.replies import receipt
from notifiers.render import AlertLine, GroupMessage, render_sms
from rules.language import detect_language

# The engine's longest kind of why line (rules.escalation.why), in both languages.
WHY = ("17 critical reports of sexual or gender-based violence in 24 h; usual 10-12",
       "ripoti 17 za dhuluma ya kingono au kijinsia hatari ndani ya saa 24; kawaida 10-12")


@pytest.mark.parametrize(("text", "language"), [
    ("Men with pangas are gathering at the market", "en"),
    ("Vijana wamebeba mapanga sokoni", "sw"),
    ("Watu wanapigana Kisumu sasa hivi", "sw"),
    ("Kuna fujo kubwa hapa Kondele, tafadhali tuma polisi", "sw"),
    ("Police are here now in Nakuru", "en"),
    ("Kisumu", "en"),
    ("", "en"),
])
def test_language_detection(text: str, language: str) -> None:
    assert detect_language(text) == language


GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
           "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def _message(kind: str, alert_id: int = 123, county: str = "Elgeyo-Marakwet", level: Level = Level.WARNING,
             why: tuple[str, str] = WHY) -> GroupMessage:
    line = AlertLine(alert_id=alert_id, county_name=county, level=Level.NORMAL if kind == "resolved" else level,
                     group="violence", why_en=why[0], why_sw=why[1], opened_at=datetime(2027, 8, 9, 11, 5, tzinfo=UTC),
                     sensitive=False)
    return GroupMessage(kind=kind, alerts=(line,))  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["en", "sw"])
@pytest.mark.parametrize("kind", ["firing", "escalation", "resolved"])
def test_alert_sms_is_short_gsm7_and_complete(language: str, kind: str) -> None:
    text = render_sms(_message(kind), language, cleared=False)  # type: ignore[arg-type]
    assert set(text) <= GSM7, set(text) - GSM7
    assert len(text) <= 2 * 153, "an alert must fit in two SMS segments"
    assert "Elgeyo-Marakwet" in text and "17" in text and "A-123" in text
    if kind != "resolved":
        assert ("ACK 123" if language == "en" else "NDIO 123") in text
        assert ("WARNING" if language == "en" else "ONYO") in text


@pytest.mark.parametrize("language", ["en", "sw"])
def test_receipt_is_one_gsm7_segment(language: str) -> None:
    text = receipt("EWS-123456", language)  # type: ignore[arg-type]
    assert len(text) <= 160 and set(text) <= GSM7 and "EWS-123456" in text


@pytest.mark.parametrize(("language", "phrase"), [
    ("en", "EWS WATCH: Kisumu county. 3 reports of violence in 24 h; usual 0-1. Alert A-9"),
    ("sw", "EWS UANGALIZI: Kaunti ya Kisumu. Ripoti 3 za vurugu ndani ya saa 24; kawaida 0-1. Tahadhari A-9"),
])
def test_the_why_line_reads_as_a_sentence_of_the_alert(language: str, phrase: str) -> None:
    message = _message("firing", alert_id=9, county="Kisumu", level=Level.WATCH,
                       why=("3 reports of violence in 24 h; usual 0-1",
                            "ripoti 3 za vurugu ndani ya saa 24; kawaida 0-1"))
    assert phrase in render_sms(message, language, cleared=False)  # type: ignore[arg-type]


