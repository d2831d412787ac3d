"""Pure decision code: the window rule with hysteresis, the rules file, language detection, SMS text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ews.core.models import Level
from ingest.replies import receipt
from notifiers.render import AlertEvent, render_alert
from rules.config import RulesError, parse_rules
from rules.language import detect_language
from rules.window_count import RuleState, WindowCountRule, report_can_move, step

T0 = datetime(2027, 8, 9, 6, 0, tzinfo=UTC)
RULE = WindowCountRule("r", window=timedelta(minutes=60), watch=3, warning=6, alert=10,
                       hold_down=timedelta(minutes=30))


@pytest.mark.parametrize(("count", "level"), [(0, Level.NORMAL), (2, Level.NORMAL), (3, Level.WATCH),
                                              (5, Level.WATCH), (6, Level.WARNING), (9, Level.WARNING),
                                              (10, Level.ALERT), (500, Level.ALERT)])
def test_level_for_count(count: int, level: Level) -> None:
    assert RULE.level_for(count) == level


def test_rises_at_once_and_can_skip_levels() -> None:
    state = step(RULE, RuleState(), 11, T0)
    assert state == RuleState(Level.ALERT, since=T0, calm_since=None)


def test_steps_down_only_after_the_hold_down() -> None:
    state = step(RULE, RuleState(), 6, T0)
    calmer = step(RULE, state, 1, T0 + timedelta(minutes=1))
    assert calmer.level == Level.WARNING and calmer.calm_since == T0 + timedelta(minutes=1)
    still = step(RULE, calmer, 2, T0 + timedelta(minutes=30))
    assert still.level == Level.WARNING, "29 minutes of calm is not enough"
    down = step(RULE, still, 2, T0 + timedelta(minutes=31))
    assert down == RuleState(Level.NORMAL, since=T0 + timedelta(minutes=31), calm_since=None)


def test_a_flare_up_during_the_hold_down_restarts_it() -> None:
    state = step(RULE, RuleState(), 6, T0)
    calmer = step(RULE, state, 1, T0 + timedelta(minutes=5))
    flare = step(RULE, calmer, 7, T0 + timedelta(minutes=20))
    assert flare.level == Level.WARNING and flare.calm_since is None and flare.since == T0
    again = step(RULE, flare, 1, T0 + timedelta(minutes=40))
    assert again.level == Level.WARNING, "the calm clock restarted at minute 40"


def test_steps_down_to_the_level_the_count_supports() -> None:
    state = step(RULE, RuleState(), 12, T0)
    calmer = step(RULE, state, 4, T0 + timedelta(minutes=1))
    down = step(RULE, calmer, 4, T0 + timedelta(minutes=32))
    assert down.level == Level.WATCH


def test_zero_hold_down_drops_immediately() -> None:
    rule = WindowCountRule("z", timedelta(minutes=5), 1, 2, 3, hold_down=timedelta(0))
    assert step(rule, RuleState(Level.WATCH, T0), 0, T0 + timedelta(seconds=1)).level == Level.NORMAL


def test_rules_file_parses() -> None:
    (rule,) = parse_rules('[[rule]]\nname="a"\nwindow_minutes=15\nwatch=1\nwarning=2\nalert=4\n')
    assert rule.window == timedelta(minutes=15) and rule.hold_down == timedelta(minutes=30)
    assert rule.unit == "senders", "flood-resistant counting is the default"


def test_shipped_rules_file_parses() -> None:
    from pathlib import Path

    rules = parse_rules((Path(__file__).parent.parent / "rules.toml").read_text())
    assert [r.name for r in rules] == ["reports_1h"]


@pytest.mark.parametrize(("text", "message"), [
    ("not toml [", "not valid TOML"),
    ("x = 1", r"no \[\[rule\]\]"),
    ('[[rule]]\nname="a"\nwatch=1\nwarning=2\nalert=3', "missing window_minutes"),
    ('[[rule]]\nname="a"\nwindow_minutes=5\nwatch=3\nwarning=2\nalert=4', "watch <= warning"),
    ('[[rule]]\nname="a"\nwindow_minutes="5"\nwatch=1\nwarning=2\nalert=3', "must be a number"),
    ('[[rule]]\nname="a"\nkind="ewma"\nwindow_minutes=5\nwatch=1\nwarning=2\nalert=3', "unknown kind"),
    ('[[rule]]\nname="a"\nwindow_minutes=5\nwatch=1\nwarning=2\nalert=3\n' * 2, "unique"),
    ('[[rule]]\nname="a"\ncount="votes"\nwindow_minutes=5\nwatch=1\nwarning=2\nalert=3', "'senders' or"),
])
def test_bad_rules_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules(text)


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


@pytest.mark.parametrize("language", ["en", "sw"])
@pytest.mark.parametrize("event", ["raised", "escalated", "resolved"])
def test_alert_sms_is_short_gsm7_and_complete(language: str, event: str) -> None:
    level = Level.NORMAL if event == "resolved" else Level.WARNING
    text = render_alert(AlertEvent(alert_id=123, event=event, county_name="Elgeyo-Marakwet", level=level,
                                   trigger_count=17, window_seconds=3600, threshold=6), language)  # type: ignore[arg-type]
    assert set(text) <= GSM7, set(text) - GSM7
    assert len(text) <= 2 * 153, "an alert must fit in two SMS segments"
    assert "Elgeyo-Marakwet" in text and "17" in text and "A-123" in text
    if event != "resolved":
        assert ("ACK 123" if language == "en" else "NDIO 123") in text
        assert ("WARNING" if language == "en" else "ONYO") in text


@pytest.mark.parametrize("language", ["en", "sw"])
def test_receipt_is_one_gsm7_segment(language: str) -> None:
    text = receipt("EWS-123456", language)  # type: ignore[arg-type]
    assert len(text) <= 160 and set(text) <= GSM7 and "EWS-123456" in text


@pytest.mark.parametrize(("count", "unit", "seconds", "language", "phrase"), [
    (1, "senders", 3600, "en", "1 person reported incidents in the last 1 hour"),
    (2, "senders", 7200, "en", "2 people reported incidents in the last 2 hours"),
    (1, "reports", 900, "en", "1 incident report in the last 15 min"),
    (0, "reports", 15, "en", "0 incident reports in the last 15 sec"),
    (1, "senders", 3600, "sw", "Mtu 1 ameripoti matukio katika saa 1 zilizopita"),
    (5, "senders", 1800, "sw", "Watu 5 wameripoti matukio katika dakika 30 zilizopita"),
    (1, "reports", 30, "sw", "Ripoti 1 ya tukio katika sekunde 30 zilizopita"),
])
def test_counts_and_windows_read_naturally(count: int, unit: str, seconds: int, language: str,
                                           phrase: str) -> None:
    event = AlertEvent(alert_id=9, event="raised", county_name="Kisumu", level=Level.WATCH,
                       trigger_count=count, window_seconds=seconds, threshold=1, count_unit=unit)
    assert phrase in render_alert(event, language)  # type: ignore[arg-type]


def test_a_report_can_move_every_state_but_a_settled_top_level() -> None:
    assert report_can_move(RuleState())
    assert report_can_move(step(RULE, RuleState(), 6, T0)), "WARNING can still rise"
    top = step(RULE, RuleState(), 10, T0)
    assert not report_can_move(top)
    calming = step(RULE, top, 2, T0 + timedelta(minutes=1))
    assert calming.level == Level.ALERT and report_can_move(calming), "a report may end the calm"


@pytest.mark.parametrize("count", [10, 11, 50, 10_000])
def test_a_state_a_report_cannot_move_stays_put_for_any_higher_count(count: int) -> None:
    top = step(RULE, RuleState(), 10, T0)
    assert not report_can_move(top)
    assert step(RULE, top, count, T0 + timedelta(minutes=7)) == top
