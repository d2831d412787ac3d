"""The wording of grouped alert messages (firing, resolved, escalation) by SMS and email: pure, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ews.alerting.acknowledgements import sms_segments
from ews.core.models import Language, Level
from notifiers.render import _GROUP_LONG, AlertLine, GroupMessage, render_email, render_sms
from rules.escalation import GROUP_WORDS

OPENED = datetime(2026, 12, 1, 11, 5, tzinfo=UTC)  # 14:05 in Nairobi
KISUMU = AlertLine(alert_id=12, county_name="Kisumu", level=Level.WARNING, group="violence",
                   why_en="12 reports of armed attack in 24 h; usual 1-2",
                   why_sw="ripoti 12 za shambulio la silaha ndani ya saa 24; kawaida 1-2",
                   opened_at=OPENED, sensitive=False)
TENSION = AlertLine(alert_id=13, county_name="Kisumu", level=Level.WATCH, group="tension",
                    why_en="4 reports of threats or hate speech in 24 h; usual 0-1",
                    why_sw="ripoti 4 za vitisho au matamshi ya chuki ndani ya saa 24; kawaida 0-1",
                    opened_at=OPENED, sensitive=False)
SGBV = AlertLine(alert_id=15, county_name="Nakuru", level=Level.WARNING, group="sgbv",
                 why_en="3 reports of sexual or gender-based violence in 24 h; usual 0",
                 why_sw="ripoti 3 za dhuluma ya kingono au kijinsia ndani ya saa 24; kawaida 0",
                 opened_at=OPENED, sensitive=True)
LANGUAGES: tuple[Language, ...] = ("en", "sw")
ACK = {"en": "Reply ACK {n} to acknowledge.", "sw": "Jibu NDIO {n} kuthibitisha."}


def fits(text: str) -> bool:
    """At most two segments, GSM-7."""
    segments, gsm = sms_segments(text)
    return segments <= 2 and gsm


# --- one alert: exact wording --------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "previous", "expected"), [
    ("en", None, "EWS WARNING: Kisumu county. 12 reports of armed attack in 24 h; usual 1-2. Alert A-12 since "
                 "14:05 1 Dec. Reply ACK 12 to acknowledge."),
    ("sw", None, "EWS ONYO: Kaunti ya Kisumu. Ripoti 12 za shambulio la silaha ndani ya saa 24; kawaida 1-2. "
                 "Tahadhari A-12 tangu 14:05 1 Des. Jibu NDIO 12 kuthibitisha."),
    ("en", Level.WATCH, "EWS WARNING (raised): Kisumu county. 12 reports of armed attack in 24 h; usual 1-2. "
                        "Alert A-12 since 14:05 1 Dec. Reply ACK 12 to acknowledge."),
    ("sw", Level.WATCH, "EWS ONYO (imepanda): Kaunti ya Kisumu. Ripoti 12 za shambulio la silaha ndani ya saa 24; "
                        "kawaida 1-2. Tahadhari A-12 tangu 14:05 1 Des. Jibu NDIO 12 kuthibitisha."),
    ("en", Level.ALERT, "EWS WARNING (lowered): Kisumu county. 12 reports of armed attack in 24 h; usual 1-2. "
                        "Alert A-12 since 14:05 1 Dec. Reply ACK 12 to acknowledge."),
    ("sw", Level.ALERT, "EWS ONYO (imeshuka): Kaunti ya Kisumu. Ripoti 12 za shambulio la silaha ndani ya saa 24; "
                        "kawaida 1-2. Tahadhari A-12 tangu 14:05 1 Des. Jibu NDIO 12 kuthibitisha."),
    ("en", Level.WARNING, "EWS WARNING: Kisumu county. 12 reports of armed attack in 24 h; usual 1-2. Alert A-12 "
                          "since 14:05 1 Dec. Reply ACK 12 to acknowledge."),  # a repeat: no change to tell
])
def test_one_firing_alert(language: Language, previous: Level | None, expected: str) -> None:
    message = GroupMessage("firing", (replace(KISUMU, previous_level=previous),))
    text = render_sms(message, language, cleared=False)
    assert text == expected
    assert fits(text)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "EWS: Kisumu county back to normal. A-12 closed. Opened 14:05 1 Dec: 12 reports of armed attack in "
           "24 h; usual 1-2."),
    ("sw", "EWS: Kaunti ya Kisumu imerudi kawaida. Tahadhari A-12 imefungwa. Ilianza 14:05 1 Des: ripoti 12 za "
           "shambulio la silaha ndani ya saa 24; kawaida 1-2."),
])
def test_one_resolved_alert(language: Language, expected: str) -> None:
    closed = replace(KISUMU, level=Level.NORMAL, previous_level=Level.WARNING)
    text = render_sms(GroupMessage("resolved", (closed,)), language, cleared=False)
    assert text == expected
    assert fits(text) and "ACK" not in text and "NDIO" not in text


@pytest.mark.parametrize(("language", "waited", "expected"), [
    ("en", timedelta(minutes=15), "EWS ESCALATION (tier 2): A-12 WARNING Kisumu county not acknowledged for 15 min. "
                                  "12 reports of armed attack in 24 h; usual 1-2. Open since 14:05 1 Dec. "
                                  "Reply ACK 12 to acknowledge."),
    ("sw", timedelta(minutes=15), "EWS KUPANDISHWA (ngazi 2): A-12 ONYO Kaunti ya Kisumu haijathibitishwa kwa dakika "
                                  "15. Ripoti 12 za shambulio la silaha ndani ya saa 24; kawaida 1-2. Tangu 14:05 1 "
                                  "Des. Jibu NDIO 12 kuthibitisha."),
    ("en", timedelta(minutes=90), "EWS ESCALATION (tier 2): A-12 WARNING Kisumu county not acknowledged for 1 h 30 "
                                  "min. 12 reports of armed attack in 24 h; usual 1-2. Open since 14:05 1 Dec. "
                                  "Reply ACK 12 to acknowledge."),
    ("sw", None, "EWS KUPANDISHWA (ngazi 2): A-12 ONYO Kaunti ya Kisumu haijathibitishwa kwa wakati. Ripoti 12 za "
                 "shambulio la silaha ndani ya saa 24; kawaida 1-2. Tangu 14:05 1 Des. Jibu NDIO 12 kuthibitisha."),
])
def test_one_escalated_alert(language: Language, waited: timedelta | None, expected: str) -> None:
    text = render_sms(GroupMessage("escalation", (KISUMU,), tier=2, waited=waited), language, cleared=False)
    assert text == expected
    assert fits(text)


def test_the_time_is_east_africa_time_with_its_day() -> None:
    late = replace(KISUMU, opened_at=datetime(2026, 12, 31, 22, 30, tzinfo=UTC))  # 01:30 on 1 January in Nairobi
    assert "since 01:30 1 Jan." in render_sms(GroupMessage("firing", (late,)), "en", cleared=False)
    august = replace(KISUMU, opened_at=datetime(2026, 8, 3, 6, 0, tzinfo=UTC))
    assert "tangu 09:00 3 Ago." in render_sms(GroupMessage("firing", (august,)), "sw", cleared=False)


# --- sensitive alerts -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "expected"), [
    ("en", "EWS WARNING: Nakuru county. A sensitive report (details to cleared staff). Alert A-15 since 14:05 1 Dec. "
           "Reply ACK 15 to acknowledge."),
    ("sw", "EWS ONYO: Kaunti ya Nakuru. Ripoti nyeti (maelezo kwa walioidhinishwa). Tahadhari A-15 tangu 14:05 1 "
           "Des. Jibu NDIO 15 kuthibitisha."),
])
def test_a_sensitive_alert_hides_its_why_from_the_uncleared(language: Language, expected: str) -> None:
    message = GroupMessage("firing", (SGBV,))
    assert render_sms(message, language, cleared=False) == expected
    cleared = render_sms(message, language, cleared=True)
    assert (SGBV.why_sw if language == "sw" else SGBV.why_en).capitalize()[:20] in cleared


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["firing", "resolved", "escalation"])
def test_uncleared_never_see_a_sensitive_why_or_group(language: Language, kind: str) -> None:
    message = GroupMessage(kind, (KISUMU, TENSION, SGBV), tier=2, waited=timedelta(minutes=20))  # type: ignore[arg-type]
    hidden = ("sexual", "gender", "GBV", "kingono", "kijinsia", "3 reports", "ripoti 3")
    for text in (render_sms(message, language, cleared=False), *render_email(message, language, cleared=False)):
        assert not [word for word in hidden if word in text], text
        assert "A-15" in text
    body = render_email(message, language, cleared=True)[1]
    assert (SGBV.why_sw if language == "sw" else SGBV.why_en) in body


def test_a_sensitive_alert_in_the_list_shows_only_that_it_is_sensitive() -> None:
    top = replace(KISUMU, level=Level.ALERT)
    text = render_sms(GroupMessage("firing", (SGBV, top)), "en", cleared=False)
    assert "Also A-15 WARNING Nakuru sensitive." in text
    assert "Also A-15 WARNING Nakuru GBV." in render_sms(GroupMessage("firing", (SGBV, top)), "en", cleared=True)
    assert "Pia A-15 ONYO Nakuru nyeti." in render_sms(GroupMessage("firing", (SGBV, top)), "sw", cleared=False)


# --- several alerts ---------------------------------------------------------------------------------------------

def test_several_alerts_lead_with_the_most_severe() -> None:
    alert = replace(TENSION, alert_id=30, level=Level.ALERT)
    message = GroupMessage("firing", (TENSION, KISUMU, alert))
    text = render_sms(message, "en", cleared=True)
    assert text == ("EWS ALERT: Kisumu county, 3 alerts. 4 reports of threats or hate speech in 24 h; usual 0-1. "
                    "Alert A-30 since 14:05 1 Dec. Also A-12 WARNING violence, A-13 WATCH tension. "
                    "Reply ACK 30 to acknowledge.")
    assert fits(text)
    assert render_sms(message, "sw", cleared=True) == (
        "EWS HATARI: Kaunti ya Kisumu, tahadhari 3. Ripoti 4 za vitisho au matamshi ya chuki ndani ya saa 24; "
        "kawaida 0-1. Tahadhari A-30 tangu 14:05 1 Des. Pia A-12 ONYO vurugu, A-13 UANGALIZI vitisho. "
        "Jibu NDIO 30 kuthibitisha.")


def test_equal_levels_go_by_the_older_alert() -> None:
    text = render_sms(GroupMessage("firing", (SGBV, KISUMU)), "en", cleared=True)
    assert text.index("A-12") < text.index("A-15") and "ACK 12" in text


def test_alerts_of_several_counties_say_how_many_and_name_each() -> None:
    text = render_sms(GroupMessage("firing", (KISUMU, replace(TENSION, county_name="Migori"), SGBV)), "en",
                      cleared=True)
    assert text.startswith("EWS WARNING: 3 counties, 3 alerts. Kisumu county: 12 reports of armed attack")
    assert "Also A-15 WARNING Nakuru GBV, A-13 WATCH Migori tension." in text
    sw = render_sms(GroupMessage("firing", (KISUMU, SGBV)), "sw", cleared=True)
    assert sw.startswith("EWS ONYO: kaunti 2, tahadhari 2. Kaunti ya Kisumu: ripoti 12 za shambulio")


def test_a_raised_alert_in_the_list_says_so() -> None:
    raised = replace(TENSION, previous_level=Level.NORMAL)
    assert "Also A-13 WATCH tension (raised)." in render_sms(GroupMessage("firing", (KISUMU, raised)), "en",
                                                              cleared=True)
    assert "Pia A-13 UANGALIZI vitisho (imepanda)." in render_sms(GroupMessage("firing", (KISUMU, raised)), "sw",
                                                                   cleared=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_more_alerts_than_room_end_in_a_count(language: Language) -> None:
    many = tuple(replace(TENSION, alert_id=100 + i) for i in range(25))
    text = render_sms(GroupMessage("firing", (KISUMU, *many)), language, cleared=True)
    assert fits(text)
    listed = sum(f"A-{100 + i} " in text for i in range(25))
    assert 0 < listed < 25
    assert ("+{} more." if language == "en" else "+{} zaidi.").format(25 - listed) in text
    assert text.endswith(ACK[language].format(n=12))


def test_several_resolved_alerts_list_their_references() -> None:
    closed = (replace(KISUMU, level=Level.NORMAL), replace(TENSION, level=Level.NORMAL))
    assert render_sms(GroupMessage("resolved", closed), "en", cleared=False) == (
        "EWS: Kisumu county back to normal. A-12, A-13 closed. A-12 opened 14:05 1 Dec: 12 reports of armed attack "
        "in 24 h; usual 1-2.")
    assert render_sms(GroupMessage("resolved", closed), "sw", cleared=False) == (
        "EWS: Kaunti ya Kisumu imerudi kawaida. Tahadhari A-12, A-13 zimefungwa. A-12 ilianza 14:05 1 Des: ripoti 12 "
        "za shambulio la silaha ndani ya saa 24; kawaida 1-2.")
    many = tuple(replace(TENSION, alert_id=100 + i, level=Level.NORMAL, county_name=f"County{i}") for i in range(30))
    text = render_sms(GroupMessage("resolved", many), "en", cleared=False)
    assert fits(text) and text.startswith("EWS: 30 counties back to normal. A-100 County0, ")
    assert " more closed." in text


def test_several_escalated_alerts() -> None:
    message = GroupMessage("escalation", (TENSION, KISUMU), tier=3, waited=timedelta(hours=3))
    assert render_sms(message, "en", cleared=True) == (
        "EWS ESCALATION (tier 3): 2 alerts not acknowledged for 3 h. A-12 WARNING Kisumu county: 12 reports of "
        "armed attack in 24 h; usual 1-2. Open since 14:05 1 Dec. Also A-13 WATCH tension. Reply ACK 12 to "
        "acknowledge.")
    assert render_sms(message, "sw", cleared=True).startswith(
        "EWS KUPANDISHWA (ngazi 3): tahadhari 2 hazijathibitishwa kwa saa 3. A-12 ONYO Kaunti ya Kisumu: ripoti 12")


# --- odd text ---------------------------------------------------------------------------------------------------

def test_curly_quotes_and_dashes_are_folded_so_the_sms_stays_gsm7() -> None:
    odd = replace(KISUMU, county_name="Murang’a", why_en="12 “armed” reports – usual 1–2…\u200b\u202e")
    text = render_sms(GroupMessage("firing", (odd,)), "en", cleared=False)
    assert text.startswith("EWS WARNING: Murang'a county. 12 \"armed\" reports - usual 1-2. Alert A-12")
    assert fits(text)


def test_a_line_break_in_outside_text_does_not_reach_the_sms_or_the_subject() -> None:
    odd = replace(KISUMU, county_name="Kisumu\r\nBcc: x@example.org", why_en="a\nb")
    text = render_sms(GroupMessage("firing", (odd,)), "en", cleared=False)
    subject, _ = render_email(GroupMessage("firing", (odd,)), "en", cleared=False)
    assert "\n" not in text and "\r" not in text and "\n" not in subject and "\r" not in subject


def test_no_alerts_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="at least one"):
        render_sms(GroupMessage("firing", ()), "en", cleared=False)
    with pytest.raises(ValueError, match="at least one"):
        render_email(GroupMessage("firing", ()), "en", cleared=False)


# --- email ------------------------------------------------------------------------------------------------------

EXPLANATION = {"rule": "violence-c1", "version": "V3", "detector": "surge", "statistic": 4.2134, "threshold": 3,
               "observed": 12, "baseline": {"periods": 28, "mean": 1.4, "sd": 0.5},
               "why": {"en": KISUMU.why_en, "sw": KISUMU.why_sw}}


def test_email_of_one_firing_alert() -> None:
    subject, body = render_email(GroupMessage("firing", (KISUMU,)), "en", cleared=False,
                                 explanations={12: EXPLANATION})
    assert subject == "EWS WARNING: Kisumu county (A-12)"
    assert body == (
        "EWS WARNING: Kisumu county.\n\n"
        "This alert is open:\n\n"
        "A-12: WARNING, Kisumu county, violence.\n"
        "What happened: 12 reports of armed attack in 24 h; usual 1-2.\n"
        "Open since 14:05 EAT, 1 Dec 2026.\n"
        "How it was decided: Rule violence-c1, version V3, detector surge; statistic 4.21 against threshold 3; "
        "observed count 12; baseline mean 1.4, sd 0.5 over 28 periods.\n\n"
        "Reply ACK 12 by SMS to acknowledge A-12.\n")


def test_email_in_swahili() -> None:
    subject, body = render_email(GroupMessage("firing", (replace(KISUMU, previous_level=Level.WATCH),)), "sw",
                                 cleared=False, explanations={12: EXPLANATION})
    assert subject == "EWS ONYO (imepanda): Kaunti ya Kisumu (A-12)"
    assert "A-12: ONYO (imepanda kutoka UANGALIZI), Kaunti ya Kisumu, vurugu.\n" in body
    assert "Kilichotokea: ripoti 12 za shambulio la silaha ndani ya saa 24; kawaida 1-2.\n" in body
    assert "Tangu 14:05 EAT, 1 Des 2026.\n" in body
    assert ("Jinsi ilivyoamuliwa: Kanuni violence-c1, toleo V3, kigunduzi surge; takwimu 4.21 dhidi ya kizingiti 3; "
            "idadi iliyoonekana 12; kawaida: wastani 1.4, mkengeuko sanifu 0.5 katika vipindi 28.") in body
    assert "Jibu NDIO 12 kwa SMS kuthibitisha A-12." in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_email_of_a_group_lists_every_alert(language: Language) -> None:
    many = tuple(replace(TENSION, alert_id=100 + i) for i in range(8))
    subject, body = render_email(GroupMessage("firing", (*many, KISUMU)), language, cleared=True)
    assert subject.endswith("(A-12, A-100, A-101, A-102, A-103, " + ("+4 more)" if language == "en" else "+4 zaidi)"))
    assert all(f"A-{100 + i}: " in body for i in range(8))
    assert body.index("A-12: ") < body.index("A-100: ")


def test_email_of_a_resolved_and_an_escalated_group() -> None:
    closed = replace(KISUMU, level=Level.NORMAL, previous_level=Level.WARNING)
    subject, body = render_email(GroupMessage("resolved", (closed,)), "en", cleared=False)
    assert subject == "EWS: Kisumu county back to normal (A-12)"
    assert "A-12: NORMAL (was WARNING), Kisumu county, violence.\n" in body
    assert "Opened 14:05 EAT, 1 Dec 2026." in body and "No reply is needed." in body and "ACK" not in body
    subject, body = render_email(GroupMessage("resolved", (closed,)), "sw", cleared=False)
    assert subject == "EWS: Kaunti ya Kisumu imerudi kawaida (A-12)" and "Hakuna haja ya kujibu." in body
    escalation = GroupMessage("escalation", (KISUMU,), tier=2, waited=timedelta(minutes=15))
    subject, body = render_email(escalation, "en", cleared=False)
    assert subject == "EWS ESCALATION (tier 2): WARNING, Kisumu county (A-12)"
    assert ("A-12 has not been acknowledged for 15 min, so it is escalated to you (tier 2 of its escalation "
            "policy):") in body
    subject, body = render_email(escalation, "sw", cleared=False)
    assert subject == "EWS KUPANDISHWA (ngazi 2): ONYO, Kaunti ya Kisumu (A-12)"
    assert "A-12 haijathibitishwa kwa dakika 15, kwa hiyo imepandishwa kwako (ngazi 2" in body


def test_email_hides_a_sensitive_explanation_from_the_uncleared() -> None:
    explanation = {**EXPLANATION, "rule": "sgbv-c1", "contributing": [{"unit": "r:7", "report": "R-7"}],
                   "contributing_count": 3}
    _, body = render_email(GroupMessage("firing", (SGBV,)), "en", cleared=False, explanations={15: explanation})
    assert "sgbv-c1" not in body and "R-7" not in body and "How it was decided" not in body
    assert "A-15: WARNING, Nakuru county.\nWhat happened: a sensitive report (details to cleared staff).\n" in body
    _, body = render_email(GroupMessage("firing", (SGBV,)), "en", cleared=True, explanations={15: explanation})
    assert "Rule sgbv-c1" in body and "contributing units (3): R-7." in body and "sexual or gender-based" in body


@pytest.mark.parametrize("explanation", [
    {}, {"rule": None}, {"baseline": None}, {"baseline": {}}, {"statistic": "odd", "threshold": float("nan")},
    {"units": "not a list"}, {"units": [1, None, {"x": 1}]}, {"baseline": [1, 2]}, {"why": None},
])
def test_email_tolerates_any_explanation(explanation: dict[str, object]) -> None:
    _, body = render_email(GroupMessage("firing", (KISUMU,)), "en", cleared=True, explanations={12: explanation})
    assert "A-12: WARNING, Kisumu county, violence." in body


def test_email_takes_the_evaluators_rules_version() -> None:
    explanation = {"rule": "violence-c1", "rules_version": "V7"}
    _, body = render_email(GroupMessage("firing", (KISUMU,)), "en", cleared=True, explanations={12: explanation})
    assert "How it was decided: Rule violence-c1, version V7." in body


def test_the_emails_group_words_are_the_engines() -> None:
    assert {group: (_GROUP_LONG["en"][group], _GROUP_LONG["sw"][group]) for group in GROUP_WORDS} == GROUP_WORDS


# --- properties -------------------------------------------------------------------------------------------------

SECRET = "QZXSECRET"  # a sensitive alert's why carries it: an uncleared receiver must never see it

odd_text = st.text(max_size=120) | st.text(st.characters(codec="ascii"), max_size=40) | st.sampled_from(
    ["Kisumu", "Elgeyo-Marakwet", "Murang’a", "😀" * 40, "ك" * 80, "\u202e\u200d" * 30, "€" * 90])


@st.composite
def alert_lines(draw: st.DrawFn, alert_id: int) -> AlertLine:
    """One alert with arbitrary text; a sensitive one's why lines carry SECRET."""
    sensitive = draw(st.booleans())
    why_en, why_sw = draw(odd_text), draw(odd_text)
    if sensitive:
        why_en, why_sw = f"{why_en[:20]}{SECRET}{why_en[20:]}", f"{SECRET}{why_sw}"
    return AlertLine(
        alert_id=alert_id, county_name=draw(odd_text), level=draw(st.sampled_from(list(Level))),
        group=draw(st.sampled_from(["violence", "sgbv", "tension", "communal", "election", "peace", "none", "all"])
                   | odd_text),
        why_en=why_en, why_sw=why_sw,
        opened_at=draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                                    timezones=st.just(UTC))),
        sensitive=sensitive, previous_level=draw(st.none() | st.sampled_from(list(Level))))


@st.composite
def group_messages(draw: st.DrawFn) -> GroupMessage:
    """A group of 1-30 alerts of any kind."""
    ids = draw(st.lists(st.integers(1, 2**63 - 1) | st.integers(1, 99_999), min_size=1, max_size=30, unique=True))
    alerts = tuple(draw(alert_lines(alert_id)) for alert_id in ids)
    return GroupMessage(kind=draw(st.sampled_from(["firing", "resolved", "escalation"])), alerts=alerts,
                        tier=draw(st.integers(1, 9)),
                        waited=draw(st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))))


def top_of(message: GroupMessage) -> AlertLine:
    """The most severe alert (level, then the lower id)."""
    return min(message.alerts, key=lambda a: (-a.level, a.alert_id))


@given(group_messages(), st.sampled_from(LANGUAGES), st.booleans())
def test_any_group_gives_at_most_two_segments_with_its_reference_and_ack(
        message: GroupMessage, language: Language, cleared: bool) -> None:
    text = render_sms(message, language, cleared=cleared)
    assert sms_segments(text)[0] <= 2, text
    top = top_of(message)
    assert f"A-{top.alert_id}" in text
    if message.kind != "resolved":
        assert ("ACK {}" if language == "en" else "NDIO {}").format(top.alert_id) in text
    if not cleared:
        assert SECRET not in text
    assert not any(ch in text for ch in "\r\n\t\x00")


@given(group_messages(), st.sampled_from(LANGUAGES))
def test_any_group_by_email_lists_every_alert_and_hides_what_it_must(message: GroupMessage,
                                                                     language: Language) -> None:
    explanations = {a.alert_id: {"rule": a.why_en, "why": {"en": a.why_en}} for a in message.alerts}
    subject, body = render_email(message, language, cleared=False, explanations=explanations)
    assert SECRET not in subject and SECRET not in body
    assert "\n" not in subject and "\r" not in subject
    assert all(f"A-{a.alert_id}: " in body for a in message.alerts)
    assert f"A-{top_of(message).alert_id}" in subject


@given(st.lists(st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=60), min_size=2,
                max_size=2), st.sampled_from(LANGUAGES), st.sampled_from(["firing", "resolved", "escalation"]))
def test_ascii_text_gives_a_gsm7_sms(words: list[str], language: Language, kind: str) -> None:
    alert = replace(KISUMU, county_name=words[0], why_en=words[1], why_sw=words[1])
    text = render_sms(GroupMessage(kind, (alert, TENSION)), language, cleared=True)  # type: ignore[arg-type]
    assert fits(text), text
