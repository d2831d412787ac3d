"""Series from report objects, the replay through the same step, the DETECTORS.md metrics, the truth, and the
default rules meeting issue 14's targets on the synthetic history (all pure: no database)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ews.cli.main import main
from ews.core.models import Level
from rules import backtest as bt
from rules import synthetic
from rules.rulebook import load
from rules.series import EAT, collect, counted, origin, period_index, read_reports, report_weight
from tests.test_rulebook import DEFAULT

D0 = date(2027, 1, 4)  # a Monday


def report(county: int, day: int, kind: str = "physical_assault", hour: int = 12, **extra: Any) -> dict[str, Any]:
    """A report object as `ews export` writes it (the keys the series read)."""
    at = datetime.combine(D0 + timedelta(days=day), datetime.min.time(), EAT) + timedelta(hours=hour)
    return {"id": extra.pop("id", 0), "county_code": county, "incident_type": kind, "casualties": 0,
            "severity": "medium", "occurred_at": at.isoformat(), "received_at": at.isoformat(), "review_status": "new",
            "incident_id": None, "flooding": False, "repeat_of": None, "trust": None, **extra}


def history(days: int = 120, rate: float = 2.0, seed: int = 1, counties: tuple[int, ...] = (1, 2, 3),
            episode: tuple[int, int, int] | None = (2, 80, 86)) -> list[dict[str, Any]]:
    """Poisson violence and tension in a few counties, with one episode (county, first, last day) at 5x."""
    rng = np.random.default_rng(seed)
    found = []
    for day in range(days):
        for county in counties:
            hot = episode is not None and county == episode[0] and episode[1] <= day <= episode[2]
            for _ in range(rng.poisson(rate * (5 if hot else 1))):
                found.append(report(county, day, "physical_assault", int(rng.integers(24))))
            for _ in range(rng.poisson(rate)):
                found.append(report(county, day, "threat_intimidation", int(rng.integers(24))))
    return found


def test_weights_put_verified_above_new_and_count_monitor_trust() -> None:
    assert report_weight("rejected", None) == report_weight("duplicate", 0.9) == 0
    assert report_weight("new", None) == 1 and report_weight(None, None) == 1
    assert report_weight("verified", None) == 1.5 > report_weight("new", None)
    assert report_weight("new", 0.8) == pytest.approx(1.4) and report_weight("verified", 1.0) == pytest.approx(2.25)
    assert report_weight("new", 7) == 1, "a trust outside 0-1 is ignored"


def test_flooding_repeats_duplicates_rejected_and_unplaced_reports_do_not_count() -> None:
    assert counted(report(1, 0)) is not None
    for bad in (report(1, 0, flooding=True), report(1, 0, repeat_of=5), report(1, 0, duplicate_of_report=3),
                report(1, 0, review_status="rejected"), report(1, 0, county_code=None), report(1, 0, county_code=48),
                report(1, 0, incident_type=None), report(1, 0, incident_type="alien"), report(1, 0, occurred_at="x",
                                                                                           received_at=None)):
        assert counted(bad) is None, bad


def test_an_incident_counts_once_with_its_corroboration() -> None:
    c = collect([report(1, 0, incident_id=9), report(1, 1, incident_id=9, review_status="verified"),
                 report(1, 0, incident_id=10)])
    assert len(c.items) == 2
    nine, ten = c.items
    assert nine.weight == 1.5 and nine.candidate.corroborated and nine.at.day == 4, "first report's cell"
    assert ten.weight == 1.0 and not ten.candidate.corroborated


def test_an_incident_is_judged_by_its_gravest_report() -> None:
    c = collect([report(1, 0, "armed_attack", id=1, incident_id=9, severity="high"),
                 report(1, 0, "killing", hour=14, id=2, incident_id=9, severity="critical", casualties=2),
                 report(1, 0, "armed_attack", hour=15, id=3, incident_id=9, severity="critical", casualties=1)])
    (nine,) = c.items
    gravest = nine.candidate
    assert (gravest.ref, gravest.incident_type, gravest.severity, gravest.casualties) == (2, "killing", "critical", 2)
    assert gravest.corroborated and nine.at.hour == 12, "still in its first report's cell"


def test_periods_are_kenyan_days_and_iso_weeks() -> None:
    start = origin("day", D0)
    late = datetime(2027, 1, 4, 22, 30, tzinfo=UTC)  # 01:30 on Tuesday in Nairobi
    assert period_index(late, "day", start) == 1
    assert origin("week", date(2027, 1, 7)) == datetime(2027, 1, 4, tzinfo=EAT)
    assert period_index(late, "hour", start) == 25


def test_reading_reports_names_the_bad_line() -> None:
    assert list(read_reports(['{"id": 1}\n', "\n"])) == [{"id": 1}]
    with pytest.raises(ValueError, match="line 2: not JSON"):
        list(read_reports(['{"id": 1}\n', "{oops\n"]))
    with pytest.raises(ValueError, match="line 1: not a report object"):
        list(read_reports(["[1]\n"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=40, max_size=90), st.integers(5, 39))
def test_no_look_ahead_a_prefix_gives_the_same_signals(counts: list[int], cut: int) -> None:
    book = load(DEFAULT.read_text(encoding="utf-8"))
    for rule in book.rules:
        detector = rule.detector_object
        assert detector.run(counts[:cut]) == detector.run(counts)[:cut], rule.name


def _run(reports: list[dict[str, Any]], rules: str | None = None, last: date | None = None) -> list[bt.RuleRun]:
    book = load(rules or DEFAULT.read_text(encoding="utf-8"))
    c = collect(reports)
    assert c.first is not None and c.last is not None
    return bt.replay(book, bt.build_series(book, c, D0, last or c.last))


def test_no_look_ahead_replaying_less_history_changes_nothing_before_it() -> None:
    cuts = range(60, 119, 4)
    # a killing the day after each cut: what comes next must change nothing up to the cut
    reports = [*history(), *(report(3, cut + 1, "killing", casualties=1) for cut in cuts)]
    full = _run(reports)
    for cut in cuts:
        part = _run(reports, last=D0 + timedelta(days=cut))
        for a, b in zip(full, part, strict=True):
            for county, levels in b.levels.items():
                assert np.array_equal(a.levels[county][:cut + 1], levels), (a.rule.name, county, cut)


def test_the_episode_is_found_and_flooding_is_ignored() -> None:
    reports = history()
    runs = _run(reports)
    truth = bt.Truth((bt.Episode(2, 80, 86),), "day", origin("day", D0))
    m = bt.metrics(runs, truth, 120)
    assert m["pod"] == 1.0 and m["median_delay_periods"] is not None and m["median_delay_periods"] <= 1
    flood = [report(1, 60, "armed_attack", 9, flooding=k > 0) for k in range(40)]
    flooded = bt.metrics(_run(reports + flood), truth, 120)
    assert flooded["false_alarms_per_county_year"] == m["false_alarms_per_county_year"]
    unmarked = bt.metrics(_run(reports + [{**r, "flooding": False} for r in flood]), truth, 120)
    assert unmarked["false_alarms_per_county_year"] > m["false_alarms_per_county_year"], "the flood would alarm"


def test_a_single_killing_raises_its_county_the_same_day_with_its_explanation() -> None:
    reports = [*history(episode=None), report(1, 50, "killing", 8, casualties=2, severity="critical", id=777)]
    runs = _run(reports)
    critical = next(r for r in runs if r.rule.name == "critical-report")
    assert critical.levels[1][50] == Level.ALERT and critical.levels[1][49] == Level.NORMAL
    rows = bt.alert_rows(runs, {1: "Mombasa"}, collect(reports))
    row = next(r for r in rows if r["rule"] == "critical-report")
    assert row["county"] == 1 and row["to"] == "alert" and row["period_start"].startswith("2027-02-23")
    assert row["reports"] == [{"id": 777, "weight": 1.0}], "the contributing report and its weight"
    assert row["why_en"] == "1 critical report of violence in 24 h"
    assert row["why_sw"] == "ripoti 1 ya vurugu hatari ndani ya saa 24"


def test_judge_counts_as_detectors_md_defines() -> None:
    truth = bt.Truth((bt.Episode(1, 20, 24), bt.Episode(1, 60, 62), bt.Episode(2, 30, 35)), "day", origin("day", D0))
    a1 = np.zeros(365, dtype=bool)
    a1[18:23] = True  # two periods before the first onset: lead 2
    a1[100:102] = True  # a false alarm (one start)
    a1[200] = True  # another
    a2 = np.zeros(365, dtype=bool)
    a2[31:33] = True  # delay 1
    m = bt.judge({1: a1, 2: a2}, truth, [1, 2], 365, lead=7)
    assert m["episodes"] == 3 and m["pod"] == pytest.approx(0.6667) and m["pod_first_period"] == pytest.approx(0.3333)
    assert m["median_delay_periods"] == 1.0, "delays -2, 20 (missed: penalty) and 1"
    assert m["share_before_onset"] == pytest.approx(0.3333)
    assert m["false_alarms_per_county_year"] == pytest.approx(2 / (2 * 365 / 365.25), abs=1e-3)
    # periods: truth 5 + 3 + 6 = 14; alarms inside 3 (20-22) + 2 (31-32) = 5; outside 2 (18-19) + 3 = 5
    assert m["sensitivity"] == pytest.approx(5 / 14, abs=1e-4) and m["ppv"] == 0.5
    assert m["specificity"] == pytest.approx((730 - 14 - 5) / (730 - 14), abs=1e-4)


def test_truth_from_fatalities_opens_after_four_quiet_periods_and_closes_after_two() -> None:
    def dead(day: int, n: int) -> dict[str, Any]:
        return report(4, day, "killing", casualties=n)
    reports = [report(4, 0)] + [dead(d, 1) for d in (10, 11, 13, 14, 20, 22, 25, 30)] + [report(4, 40)]
    c = collect(reports)
    truth = bt.truth_from_fatalities(c, 1, "day", D0, D0 + timedelta(days=40))
    assert truth.same_data and "derived" in truth.source
    # 10-14 (one quiet day inside does not end it); 20-22 after 5 quiet days; 25 follows only 2 quiet days
    # after that episode closed (not an onset); 30 follows 4
    assert [(e.onset, e.end) for e in truth.episodes] == [(10, 14), (20, 22), (30, 30)]


def test_read_truth_names_the_bad_line() -> None:
    start = origin("day", D0)
    t = bt.read_truth("county,start,end\n47,2027-01-10,2027-01-12\nNakuru,2027-01-05,2027-01-05\n", "day", start)
    assert [(e.county, e.onset, e.end) for e in t.episodes] == [(47, 6, 8), (32, 1, 1)]
    with pytest.raises(bt.TruthError, match="line 1"):
        bt.read_truth("place,start,end\n", "day", start)
    with pytest.raises(bt.TruthError, match="line 3: county 'Atlantis'"):
        bt.read_truth("county,start,end\n1,2027-01-10,2027-01-12\nAtlantis,2027-01-10,2027-01-12\n", "day", start)
    with pytest.raises(bt.TruthError, match="line 2: end"):
        bt.read_truth("county,start,end\n1,2027-01-10,2027-01-02\n", "day", start)


def test_the_sweep_trades_false_alarms_for_delay() -> None:
    reports = history(days=200, seed=3)
    book = load(DEFAULT.read_text(encoding="utf-8"))
    c = collect(reports)
    series = bt.build_series(book, c, D0, D0 + timedelta(days=199))
    truth = bt.Truth((bt.Episode(2, 80, 86),), "day", origin("day", D0))
    points = bt.sweep(book, series, bt.signals_of(book, series), truth, 200, factors=(0.3, 1.0, 3.0))
    fa = [p["false_alarms_per_county_year"] for p in points]
    assert fa[0] >= fa[1] >= fa[2] and fa[0] > fa[2]
    assert set(points[0]) == {"factor", *bt.METRIC_KEYS}


def test_ews_backtest_writes_alerts_metrics_sweep_and_charts(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports.jsonl"
    reports.write_text("".join(json.dumps(r) + "\n" for r in history()), encoding="utf-8")
    truth = tmp_path / "episodes.csv"
    truth.write_text("county,start,end\n2,2027-03-25,2027-03-31\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["backtest", "--rules", str(DEFAULT), "--reports", str(reports), "--truth", str(truth),
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "detected (POD)" in printed and "false alarms/county-year" in printed and "NOTE" not in printed
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics) == {*bt.METRIC_KEYS, "rules"} and metrics["episodes"] == 1 and metrics["pod"] == 1.0
    assert set(metrics["rules"]) == {r.name for r in load(DEFAULT.read_text(encoding="utf-8")).rules}
    assert all(set(m) == set(bt.METRIC_KEYS) for m in metrics["rules"].values())
    alerts = (out / "alerts.csv").read_text(encoding="utf-8").splitlines()
    assert alerts[0].startswith("rule,version,county,county_name,group,period_start")
    assert json.loads((out / "alerts.json").read_text(encoding="utf-8"))["2"]
    assert len(json.loads((out / "amoc.json").read_text(encoding="utf-8"))) >= 5
    amoc = (out / "amoc.html").read_text(encoding="utf-8")
    chart = (out / "charts" / "02-kwale.html").read_text(encoding="utf-8")
    assert len(list((out / "charts").glob("*.html"))) == 47
    for page in (amoc, chart):
        assert "<svg" in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "<script" not in page
    assert "truth episode" in chart
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["truth"]["same_data"] is False and run["seconds"]["replay"] >= 0


def test_ews_backtest_says_when_the_truth_comes_from_the_same_data(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports.jsonl"
    rows = [*history(episode=None), report(1, 70, "killing", casualties=3)]
    reports.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["backtest", "--rules", str(DEFAULT), "--reports", str(reports), "--truth-from-fatalities", "2",
                 "--out", str(out), "--quiet", "--no-sweep", "--no-charts", "--from", "2027-01-04",
                 "--to", "2027-04-30"]) == 0
    printed = capsys.readouterr().out
    assert "NOTE: the truth was derived from the same reports the rules saw" in printed
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["truth"]["same_data"] is True
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["episodes"] == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--reports", "missing.jsonl"], "cannot read"),
    (["--truth", "bad.csv"], "line 1: the truth CSV needs"),
    (["--rules", "bad.toml"], "unknown detector"),
    (["--from", "2027-05-01", "--to", "2027-01-01"], "is before --from"),
])
def test_ews_backtest_refuses_bad_input_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      args: list[str], message: str) -> None:
    (tmp_path / "reports.jsonl").write_text(json.dumps(report(1, 0)) + "\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text("where,when\n", encoding="utf-8")
    (tmp_path / "bad.toml").write_text('[[rule]]\nname = "a"\ndetector = "x"\n', encoding="utf-8")
    given = {"--rules": str(DEFAULT), "--reports": str(tmp_path / "reports.jsonl"), "--out": str(tmp_path / "o")}
    for flag, value in itertools.pairwise(args):
        if flag.startswith("--") and not value.startswith("--"):
            given[flag] = str(tmp_path / value) if flag in ("--reports", "--truth", "--rules") else value
    argv = ["backtest", "--quiet", *itertools.chain.from_iterable(given.items())]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_default_rules_meet_the_issue_targets_on_the_synthetic_history() -> None:
    """Issue 14's "done": >= 90% of episodes, median delay <= 1 period, < 2 false alarms per county-year."""
    reports, episodes = synthetic.generate(14)
    book = load(DEFAULT.read_text(encoding="utf-8"))
    c = collect(reports)
    first, last = synthetic.START, synthetic.START + timedelta(days=synthetic.DAYS - 1)
    series = bt.build_series(book, c, first, last)
    start = origin("day", first)
    truth = bt.Truth(tuple(bt.Episode(e.county, (e.start - first).days, (e.end - first).days) for e in episodes),
                     "day", start)
    m = bt.metrics(bt.replay(book, series), truth, synthetic.DAYS)
    assert m["episodes"] == 282
    assert m["pod"] >= 0.9 and m["median_delay_periods"] <= 1 and m["false_alarms_per_county_year"] < 2, m


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                  max_size=3), max_leaves=6)
_FIELDS = st.sampled_from(["county_code", "incident_type", "occurred_at", "received_at", "review_status", "trust",
                           "flooding", "repeat_of", "incident_id", "casualties", "severity", "id",
                           "duplicate_of_report"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.dictionaries(_FIELDS, _JSON | st.sampled_from(
    [1, 47, "killing", "armed_attack", "2027-01-05T10:00:00+03:00", "2027-01-05", "verified", 0.5]), max_size=13),
    max_size=6))
def test_no_report_object_makes_the_series_raise(reports: list[dict[str, Any]]) -> None:
    c = collect(reports)
    assert all(1 <= item.county <= 47 and item.weight > 0 for item in c.items)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_reports_file_text_raises_anything_but_a_reports_error(text: str) -> None:
    try:
        list(read_reports(text.splitlines(keepends=True)))
    except ValueError as exc:
        assert "line " in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.lists(st.sampled_from(["county", "start", "end", ",", "\n", "1", "47", "Nakuru",
                                                          "2027-01-05", "2027-13-40", "²", '"', "T10:00"]),
                                        max_size=30).map("".join))
def test_no_truth_file_text_raises_anything_but_a_truth_error(text: str) -> None:
    try:
        bt.read_truth("county,start,end\n" + text, "day", origin("day", D0))
    except bt.TruthError as exc:
        assert str(exc).startswith("line ")


def test_the_sweep_leaves_immediate_rules_alone_and_scales_the_others() -> None:
    book = load(DEFAULT.read_text(encoding="utf-8"))
    doubled = bt.scaled(book, 2.0)
    assert doubled.rule("critical-report") == book.rule("critical-report")
    assert doubled.rule("violence-c1").levels.watch == 2 * (book.rule("violence-c1").levels.watch or 0)


def test_levels_move_onto_a_coarser_or_finer_truth_grid_without_look_ahead() -> None:
    start = origin("day", D0)  # a Monday
    daily = bt.Series(start, 21, "day", {})
    levels = np.zeros(21, dtype=np.int8)
    levels[9] = 2  # Wednesday of the second week
    weekly = bt.on_grid(levels, daily, bt.Truth((), "week", start), 3)
    assert weekly.tolist() == [0, 2, 0], "a week shows the highest of its days"
    weeks = bt.Series(start, 3, "week", {})
    back = bt.on_grid(np.array([0, 3, 0], dtype=np.int8), weeks, bt.Truth((), "day", start), 21)
    assert back[:13].max() == 0 and back[13] == 3 and back[14:20].max() == 3 and back[20] == 0, (
        "a weekly level is known only from the week's last day")


def test_a_county_override_applies_in_the_replay_to_that_county_only() -> None:
    rules = """\
[[rule]]
name = "v"
detector = "ears-c1"
groups = ["violence"]
keep_for = 1
min_count = 3
[rule.params]
min_sigma = 1.0
[rule.levels]
watch = 3.09
[[rule.override]]
counties = [2]
min_count = 1000
"""
    reports = history(episode=(2, 80, 86)) + [r for r in history(seed=9, episode=(1, 80, 86)) if r["county_code"] == 1]
    run = _run(reports, rules)[0]
    assert run.levels[2].max() == 0, "county 2's override holds its episode back"
    assert run.levels[1][80:88].max() >= Level.WATCH, "county 1 keeps the rule's own minimum"
