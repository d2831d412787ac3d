"""Pure decision code of issue 11: corpus format, metrics, severity, sensitivity, language, review."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.classify.corpus import CorpusError, Labelled, format_corpus, parse_corpus
from rules.classify.decide import decide
from rules.classify.metrics import evaluate, render
from rules.classify.model import MAX_CHARS, Prediction, normalise
from rules.incidents import incident_group, place_key
from rules.language import reply_language, variety_of_words
from rules.review import ReviewChange, ReviewError, ReviewState, parse_review, reviewed
from rules.sensitive import looks_sensitive
from rules.severity import severity
from rules.words import words_of


def test_corpus_round_trip_and_errors() -> None:
    rows = [Labelled("killing", "sw", "mtu ameuawa Kondele"), Labelled("not_incident", "sheng", "niaje\tmsee")]
    parsed = parse_corpus(format_corpus(rows))
    assert parsed == [rows[0], Labelled("not_incident", "sheng", "niaje msee")]
    with pytest.raises(CorpusError, match="corpus:2: unknown incident type 'fight'"):
        parse_corpus("type\tlanguage\ttext\nfight\ten\tx")
    with pytest.raises(CorpusError, match="language must be one of"):
        parse_corpus("killing\tfr\tx")
    with pytest.raises(CorpusError, match="expected 3"):
        parse_corpus("killing\ten")
    with pytest.raises(CorpusError, match="empty text"):
        parse_corpus("killing\ten\t  ")


@given(st.text(max_size=300))
def test_corpus_parser_fails_only_with_corpus_error(text: str) -> None:
    try:
        rows = parse_corpus(text)
    except CorpusError:
        return
    assert all(r.text for r in rows)


@given(st.lists(st.tuples(st.sampled_from(["killing", "sgbv", "peace_activity"]),
                          st.sampled_from(["en", "sw", "sheng", "mixed"]),
                          st.text(min_size=1, max_size=40).filter(lambda t: t.strip())), max_size=10))
def test_format_then_parse_keeps_every_row(rows: list[tuple[str, str, str]]) -> None:
    labelled = [Labelled(k, lang, t) for k, lang, t in rows]
    assert [(r.type, r.language) for r in parse_corpus(format_corpus(labelled))] == [(k, lang) for k, lang, _ in rows]


def test_metrics_per_type_macro_and_confusion() -> None:
    result = evaluate(["killing", "killing", "sgbv", "sgbv"], ["killing", "sgbv", "sgbv", "sgbv"])
    scores = {s.type: s for s in result.per_type}
    assert scores["killing"].precision == 1.0 and scores["killing"].recall == 0.5
    assert scores["sgbv"].precision == pytest.approx(2 / 3) and scores["sgbv"].recall == 1.0
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)  # only types present in the truth count
    assert result.confusion[0][0] == 1 and result.confusion[0][4] == 1 and result.confusion[4][4] == 2
    text = render(result, title="t")
    assert "macro-F1: 0.733" in text and "confusion" in text


def test_normalise_bounds_and_numbers() -> None:
    assert normalise("Watu 50 WAMEUAWA") == "watu  0  wameuawa"
    assert len(normalise("x" * 10_000)) == MAX_CHARS


@pytest.mark.parametrize(("kind", "text", "casualties", "expected"), [
    ("killing", "a man was killed", None, "critical"),
    (None, "kuna maiti hapa sokoni", None, "critical"),  # deaths, before any type is known
    ("armed_attack", "watu wenye bunduki wamejeruhi watu watatu", None, "critical"),  # armed and wounding
    ("armed_attack", "vijana 50 wamebeba mapanga", None, "high"),  # armed, nobody hurt yet
    ("physical_assault", "mtoto amepigwa shuleni", None, "high"),  # children raise it
    ("threat_intimidation", "they threatened us", None, "medium"),
    ("threat_intimidation", "watu 50 wanatishia wafanyabiashara", None, "high"),  # a large crowd
    ("protest_demonstration", "peaceful march in town", None, "low"),
    ("arson_property", "wamechoma nyumba", None, "high"),
    ("armed_attack", "maiti tatu", 0, "high"),  # the channel's count wins over the text
    ("armed_attack", "shambulio", 2, "critical"),
    ("peace_activity", "peace meeting after the killing", None, "low"),  # cues in a peace report raise nothing
    ("not_incident", "", None, "low"),
])
def test_severity(kind: str | None, text: str, casualties: int | None, expected: str) -> None:
    assert severity(kind, words_of(text), text=text, casualties=casualties) == expected


@pytest.mark.parametrize(("text", "sensitive"), [
    ("msichana amebakwa Kondele", True), ("a girl was raped near the river", True),
    ("wamembaka mama sokoni", True), ("FGM ceremony today", True), ("ukeketaji unaendelea", True),
    ("mtoi amechafuliwa na jirani", True), ("my husband beats me every night", True),
    ("mwanaume anampiga mkewe", True), ("women sexually harassed at the polling station", True),
    ("men fighting at the market", False), ("wamechoma nyumba Molo", False), ("", False),
    ("mpaka kesho", False), ("vijana wanapigana", False),
])
def test_keyword_check(text: str, sensitive: bool) -> None:
    assert looks_sensitive(words_of(text)) is sensitive


@pytest.mark.parametrize(("text", "variety", "reply"), [
    ("The youths are burning houses at the market", "en", "en"),
    ("Vijana wanachoma nyumba sokoni leo", "sw", "sw"),
    ("maze wasee wamezimwa na karao", "sheng", "sw"),
    ("pls help watu wameuawa at the market now", "mixed", None),
])
def test_language_variety_and_reply(text: str, variety: str, reply: str | None) -> None:
    words = words_of(text)
    assert variety_of_words(words) == variety
    assert reply_language(variety_of_words(words), words) in (("en", "sw") if reply is None else (reply,))


def test_decide_review_threshold_and_sensitivity() -> None:
    words = words_of("x")
    sure = Prediction("killing", 0.9, 0.01)
    unsure = Prediction("killing", 0.4, 0.01)
    assert decide(sure, words=words, text="x", given_type=None, casualties=None, sensitive=False,
                  review_below=0.6).needs_review is False
    assert decide(unsure, words=words, text="x", given_type=None, casualties=None, sensitive=False,
                  review_below=0.6).needs_review is True
    # A keyword-flagged report is cleared only when the model is sure it is something else.
    assert decide(sure, words=words, text="x", given_type=None, casualties=None, sensitive=True,
                  review_below=0.6).sensitive is False
    assert decide(unsure, words=words, text="x", given_type=None, casualties=None, sensitive=True,
                  review_below=0.6).sensitive is True
    assert decide(Prediction("physical_assault", 0.7, 0.35), words=words, text="x", given_type=None,
                  casualties=None, sensitive=False, review_below=0.6).sensitive is True
    given_type = decide(sure, words=words, text="x", given_type="sgbv", casualties=None, sensitive=False,
                        review_below=0.6)
    assert given_type.incident_type == "sgbv" and given_type.sensitive and given_type.type_confidence is None


def test_incident_place_and_group() -> None:
    assert place_key("0217", 12, 42) == ("ward", "0217")
    assert place_key(None, 12, 42) == ("constituency", "12")
    assert place_key(None, None, 42) == ("county", "42")
    assert place_key(None, None, None) is None
    assert incident_group("not_incident") is None and incident_group("cattle_raiding") == "communal"


def test_parse_review() -> None:
    assert parse_review({"review_status": "verified", "reviewer": " Amina "}) == ReviewChange(
        "verified", reviewer="Amina")
    assert parse_review({"incident_type": 9}).incident_type == "cattle_raiding"
    assert parse_review({"duplicate_of": 4}).review_status == "duplicate"
    for body, message in [({"review_status": "maybe"}, "review_status"), ({"incident_type": "fight"}, "14 type"),
                          ({"incident_type": 15}, "1-14"), ({"sensitive": "no"}, "true or false"),
                          ({"review_status": "duplicate"}, "needs duplicate_of"),
                          ({"review_status": "verified", "duplicate_of": 3}, "go with"),
                          ({"duplicate_of": -1}, "positive"), ({"reviewer": ""}, "1-100"),
                          ({"incident_type": True}, "14 type")]:
        with pytest.raises(ReviewError, match=message):
            parse_review(body)


@given(st.dictionaries(st.sampled_from(sorted(["review_status", "incident_type", "sensitive", "duplicate_of",
                                               "duplicate_of_incident", "reviewer"])),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                                 st.lists(st.integers(), max_size=2))))
def test_parse_review_never_fails_otherwise(body: dict[str, object]) -> None:
    with contextlib.suppress(ReviewError):
        parse_review(body)


def _state(**changes: object) -> ReviewState:
    base = {"review_status": "new", "incident_type": "physical_assault", "type_source": "model",
            "type_confidence": 0.5, "needs_review": True, "sensitive": False, "severity": "medium",
            "duplicate_of_report": None, "duplicate_of_incident": None, "incident_id": 7}
    return ReviewState(**{**base, **changes})  # type: ignore[arg-type]


def test_reviewed_retype_and_reject() -> None:
    state, changes = reviewed(_state(), ReviewChange(incident_type="sgbv"), body="x", casualties=None)
    assert state.incident_type == "sgbv" and state.type_source == "analyst" and state.type_confidence is None
    assert state.sensitive is True and state.incident_id is None and not state.needs_review
    assert ("incident_type", "physical_assault", "sgbv") in changes and ("sensitive", "false", "true") in changes
    state, changes = reviewed(_state(), ReviewChange(review_status="rejected"), body="x", casualties=None)
    assert state.incident_id is None and changes == [("review_status", "new", "rejected")]
    state, _ = reviewed(_state(), ReviewChange(review_status="verified"), body="x", casualties=None)
    assert state.incident_id == 7  # a verified report keeps corroborating
    # An sgbv report stays sensitive even when asked otherwise: only a re-type makes it visible.
    state, _ = reviewed(_state(incident_type="sgbv", sensitive=True), ReviewChange(sensitive=False), body="x",
                        casualties=None)
    assert state.sensitive is True


def test_assign_groups_by_key_and_window() -> None:
    from datetime import UTC, datetime, timedelta

    from rules.incidents import Span, assign

    t0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
    key, other = ("violence", "ward", "0217"), ("violence", "ward", "0218")
    known = [Span(key, t0, t0 + timedelta(minutes=30), id=5)]
    joined, created = assign([(1, key, t0 + timedelta(hours=2)),  # within 2 h of the known span's end
                              (2, key, t0 + timedelta(hours=5)),  # too late for it: a new incident
                              (3, key, t0 + timedelta(hours=6)),  # joins the new one
                              (4, other, t0)], known, window=timedelta(hours=2))
    assert joined[1].id == 5 and joined[1].last_at == t0 + timedelta(hours=2)
    assert joined[2] is joined[3] and joined[2].id is None and joined[2] in created
    assert joined[4].key == other and len(created) == 2
