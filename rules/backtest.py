"""Replay a rulebook over series with no look-ahead, through the same `step` as the live engine, and judge it.

Each rule's detector runs over a county's whole series at once; that is the same as running it period by
period because every detector's statistic for period t uses only periods up to t (rolling baselines, forward
smoothers and sums; a test checks prefixes give the same signals). The state machine then steps through the
periods in order, at each period's end (when its count is complete). Metrics follow DETECTORS.md:

- an alarm is a period at or above `alarm_level` (default WATCH) of any rule in any of its groups;
- per episode: detected when an alarm falls between onset - `lead` and the end; delay = first such alarm
  - onset (negative: lead time), a missed episode counts `penalty` periods (R's algo.quality: 20);
- false alarms: alarms that *start* (the county was calm the period before) outside every episode's window
  onset - lead .. end, per county-year (what committees receive);
- per period: sensitivity, specificity and PPV against the episodes' periods onset .. end.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from ews.core.models import Level
from rules.detectors.base import Signal
from rules.escalation import QUIET, Reading, State, Transition, step
from rules.gazetteer.counties import county_by_name
from rules.rulebook import Levels, Rule, Rulebook
from rules.series import EAT, LENGTH, Collected, Series, SeriesSpec, build, origin, period_index

__all__ = ["LENGTH", "METRIC_KEYS", "Episode", "RuleRun", "Truth", "TruthError", "alert_rows", "build_series",
           "judge", "metrics", "on_grid", "origin", "overall_levels", "read_truth", "replay", "scaled", "signals_of",
           "spec_of", "specs", "sweep", "truth_from_fatalities"]

METRIC_KEYS = ("episodes", "pod", "pod_first_period", "median_delay_periods", "share_before_onset",
               "false_alarms_per_county_year", "sensitivity", "specificity", "ppv")
PENALTY = 20
Progress = Callable[[int], None]


class TruthError(ValueError):
    """A truth file that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class Episode:
    """One episode of the truth, in periods of the truth's grid (end inclusive)."""

    county: int
    onset: int
    end: int


@dataclass(frozen=True, slots=True)
class Truth:
    """Episodes on a grid of `period`s starting at `start`; `same_data` when derived from the replayed reports."""

    episodes: tuple[Episode, ...]
    period: str
    start: datetime
    same_data: bool = False
    source: str = ""


def spec_of(rule: Rule) -> SeriesSpec:
    """The kind of series a rule reads."""
    return SeriesSpec(rule.period, rule.immediate_filter)


def specs(book: Rulebook) -> list[SeriesSpec]:
    """Every kind of series the rulebook's rules read."""
    return list(dict.fromkeys(spec_of(r) for r in book.rules))


@dataclass
class RuleRun:
    """One rule replayed: its level per county and period (the highest of its groups) and its transitions."""

    rule: Rule
    series: Series
    levels: dict[int, np.ndarray] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)


Signals = dict[tuple[str, int, str], list[Signal]]


def signals_of(book: Rulebook, series: Mapping[SeriesSpec, Series], progress: Progress | None = None) -> Signals:
    """Every (rule, county, group)'s detector signals (they depend on the parameters, not on the levels)."""
    found: Signals = {}
    for rule in book.rules:
        s = series[spec_of(rule)]
        for county in rule.counties:
            detector = rule.for_county(county).detector_object
            for group in rule.groups:
                found[(rule.name, county, group)] = detector.run(s.of(county, group).tolist())
            if progress:
                progress(1)
    return found


def replay(book: Rulebook, series: Mapping[SeriesSpec, Series], signals: Signals | None = None,
           progress: Progress | None = None) -> list[RuleRun]:
    """Every rule stepped through every period of its series, in order, as the live engine would have."""
    signals = signals if signals is not None else signals_of(book, series)
    runs = []
    for rule in book.rules:
        s = series[spec_of(rule)]
        run = RuleRun(rule, s)
        length = LENGTH[rule.period]
        starts = [s.start + i * length for i in range(s.periods)]
        for county in rule.counties:
            resolved = rule.for_county(county)
            top = np.zeros(s.periods, dtype=np.int8)
            for group in rule.groups:
                state: State = QUIET
                levels = np.zeros(s.periods, dtype=np.int8)
                for i, signal in enumerate(signals[(rule.name, county, group)]):
                    state, change = step(resolved, state, Reading(county, group, starts[i], signal),
                                         starts[i] + length)
                    if change is not None:
                        run.transitions.append(change)
                    levels[i] = state.level
                np.maximum(top, levels, out=top)
            run.levels[county] = top
            if progress:
                progress(1)
        runs.append(run)
    return runs


def scaled(book: Rulebook, factor: float) -> Rulebook:
    """The rulebook with every statistical rule's level thresholds multiplied by `factor` (the sweep).

    Immediate rules keep theirs: their threshold is "one qualifying report", and 1.2 reports would mean two.
    """
    def times(v: float | None) -> float | None:
        return None if v is None else v * factor

    def levels(lv: Levels) -> Levels:
        return Levels(times(lv.watch), times(lv.warning), times(lv.alert), lv.on_alarm)

    rules = []
    for r in book.rules:
        if r.detector == "immediate":
            rules.append(r)
            continue
        overrides = tuple(dataclasses.replace(o, levels=levels(o.levels) if o.levels else None) for o in r.overrides)
        rules.append(dataclasses.replace(r, levels=levels(r.levels), overrides=overrides))
    return dataclasses.replace(book, rules=tuple(rules))


# --- truth ----------------------------------------------------------------------------------------------------

def _parse_day(text: str) -> date:
    return datetime.fromisoformat(text).astimezone(EAT).date() if "T" in text else date.fromisoformat(text)


def read_truth(text: str, period: str, start: datetime, source: str = "") -> Truth:
    """Episodes from a CSV with a header naming county (a code 1-47 or a name), start and end (dates)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return Truth(tuple(_episodes(reader, period, start)), period, start, source=source)
    except csv.Error as exc:
        raise TruthError(f"line {reader.line_num}: not valid CSV ({exc})") from None


def _episodes(reader: csv.DictReader[str], period: str, start: datetime) -> Iterable[Episode]:
    names = [n.strip() for n in reader.fieldnames or []]
    missing = [n for n in ("county", "start", "end") if n not in names]
    if missing:
        raise TruthError(f"line 1: the truth CSV needs columns county, start, end (missing {', '.join(missing)})")
    for row in reader:
        line = reader.line_num
        raw = (row.get("county") or "").strip()
        county = int(raw) if raw.isascii() and raw.isdigit() else (c.code if (c := county_by_name(raw)) else None)
        if county is None or not 1 <= county <= 47:
            raise TruthError(f"line {line}: county {raw[:40]!r} is not a code 1-47 or a county name")
        try:
            first, last = _parse_day((row.get("start") or "").strip()), _parse_day((row.get("end") or "").strip())
        except (ValueError, OverflowError):
            raise TruthError(f"line {line}: start and end must be dates (2027-08-09)") from None
        if last < first:
            raise TruthError(f"line {line}: end {last} is before start {first}")
        onset = period_index(datetime.combine(first, datetime.min.time(), EAT), period, start)
        end = period_index(datetime.combine(last, datetime.min.time(), EAT), period, start)
        yield Episode(county, onset, end)


def truth_from_fatalities(collected: Collected, deaths: int, period: str, first: date, last: date,
                          quiet_before: int = 4, quiet_after: int = 2) -> Truth:
    """Episodes where county-periods had at least `deaths` deaths: an episode starts at the first such period
    after `quiet_before` quiet ones and ends after `quiet_after` quiet ones (DETECTORS.md)."""
    start = origin(period, first)
    end_at = datetime.combine(last + timedelta(days=1), datetime.min.time(), EAT)
    periods = max(1, math.ceil((end_at - start) / LENGTH[period]))
    dead: dict[int, np.ndarray] = {}
    for c in collected.items:
        n = c.candidate.casualties or 0
        if n and c.group in ("violence", "communal"):  # deaths in violent or communal incidents
            i = period_index(c.at, period, start)
            if 0 <= i < periods:
                dead.setdefault(c.county, np.zeros(periods))[i] += n
    found = []
    for county, per in sorted(dead.items()):
        hot = per >= deaths
        quiet_run, open_at, last_hot = quiet_before, None, None
        for i, h in enumerate(hot.tolist()):
            if h:
                if open_at is None and quiet_run >= quiet_before:
                    open_at = i
                if open_at is not None:
                    last_hot = i
                quiet_run = 0
            else:
                quiet_run += 1
                if open_at is not None and quiet_run >= quiet_after:
                    found.append(Episode(county, open_at, last_hot if last_hot is not None else open_at))
                    open_at = None
        if open_at is not None:
            found.append(Episode(county, open_at, last_hot if last_hot is not None else open_at))
    return Truth(tuple(found), period, start, same_data=True, source=f"derived: >= {deaths} deaths per {period}")


# --- metrics --------------------------------------------------------------------------------------------------

def on_grid(levels: np.ndarray, series: Series, truth: Truth, periods: int) -> np.ndarray:
    """A rule's levels moved onto the truth's grid with no look-ahead: each truth period takes the level of
    the latest rule period that had ended by the end of that truth period (finer rules: their highest)."""
    rule_len, truth_len = LENGTH[series.period], LENGTH[truth.period]
    if rule_len == truth_len and series.start == truth.start:
        out = np.zeros(periods, dtype=np.int8)
        n = min(periods, len(levels))
        out[:n] = levels[:n]
        return out
    out = np.zeros(periods, dtype=np.int8)
    for j in range(periods):
        t0 = truth.start + j * truth_len
        t1 = t0 + truth_len
        hi = math.floor((t1 - series.start) / rule_len) - 1  # the last rule period ended by t1
        lo = max(0, math.floor((t0 - series.start) / rule_len)) if rule_len < truth_len else hi
        if hi >= 0:
            out[j] = levels[max(lo, 0):min(hi, len(levels) - 1) + 1].max(initial=0)
    return out


def judge(alarm: Mapping[int, np.ndarray], truth: Truth, counties: Sequence[int], periods: int,
          lead: int = 7, penalty: int = PENALTY) -> dict[str, Any]:
    """The DETECTORS.md figures for boolean alarms per county over `periods` periods of the truth's grid."""
    episodes = [e for e in truth.episodes if e.county in counties and 0 <= e.onset < periods]
    delays: list[int] = []
    detected = first = before = 0
    window = {c: np.zeros(periods, dtype=bool) for c in counties}
    inside = {c: np.zeros(periods, dtype=bool) for c in counties}
    for e in episodes:
        lo, hi = max(0, e.onset - lead), min(periods - 1, e.end)
        window[e.county][lo:hi + 1] = True
        inside[e.county][e.onset:hi + 1] = True
        a = alarm.get(e.county)
        hits = np.flatnonzero(a[lo:hi + 1]) if a is not None else np.array([], dtype=np.int64)
        if hits.size:
            delay = int(lo + hits[0]) - e.onset
            detected += 1
            first += delay <= 0
            before += delay < 0
            delays.append(delay)
        else:
            delays.append(penalty)
    false_alarms = tp = fp = fn = tn = 0
    for c in counties:
        a = alarm.get(c, np.zeros(periods, dtype=bool))[:periods]
        starts = a & ~np.concatenate([[False], a[:-1]])
        false_alarms += int((starts & ~window[c]).sum())
        tp += int((a & inside[c]).sum())
        fp += int((a & ~inside[c]).sum())
        fn += int((~a & inside[c]).sum())
        tn += int((~a & ~inside[c]).sum())
    county_years = len(counties) * periods * (LENGTH[truth.period] / timedelta(days=365.25))
    n = len(episodes)
    return {"episodes": n, "pod": _ratio(detected, n), "pod_first_period": _ratio(first, n),
            "median_delay_periods": float(statistics.median(delays)) if delays else None,
            "share_before_onset": _ratio(before, n),
            "false_alarms_per_county_year": round(false_alarms / county_years, 4) if county_years else None,
            "sensitivity": _ratio(tp, tp + fn), "specificity": _ratio(tn, tn + fp), "ppv": _ratio(tp, tp + fp)}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def metrics(runs: Sequence[RuleRun], truth: Truth, periods: int, alarm_level: Level = Level.WATCH,
            lead: int = 7) -> dict[str, Any]:
    """metrics.json: the overall figures (any rule's alarm), and each rule's under `rules`."""
    overall: dict[int, np.ndarray] = {}
    per_rule: dict[str, Any] = {}
    for run in runs:
        alarms = {c: on_grid(lv, run.series, truth, periods) >= alarm_level for c, lv in run.levels.items()}
        per_rule[run.rule.name] = judge(alarms, truth, run.rule.counties, periods, lead)
        for c, a in alarms.items():
            overall[c] = overall[c] | a if c in overall else a
    counties = sorted({c for run in runs for c in run.rule.counties})
    return {**judge(overall, truth, counties, periods, lead), "rules": per_rule}


def overall_levels(runs: Sequence[RuleRun], truth: Truth, periods: int) -> dict[int, np.ndarray]:
    """The highest level of any rule per county and truth period (what the county showed)."""
    top: dict[int, np.ndarray] = {}
    for run in runs:
        for c, lv in run.levels.items():
            g = on_grid(lv, run.series, truth, periods)
            top[c] = np.maximum(top[c], g) if c in top else g
    return top


def sweep(book: Rulebook, series: Mapping[SeriesSpec, Series], signals: Signals, truth: Truth, periods: int,
          factors: Iterable[float] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0),
          alarm_level: Level = Level.WATCH, lead: int = 7) -> list[dict[str, Any]]:
    """The AMOC curve: for each factor on every level threshold, false alarms per county-year against delay."""
    points = []
    for f in factors:
        runs = replay(scaled(book, f), series, signals)
        m = metrics(runs, truth, periods, alarm_level, lead)
        points.append({"factor": f, **{k: m[k] for k in METRIC_KEYS}})
    return points


def build_series(book: Rulebook, collected: Collected, first: date, last: date) -> dict[SeriesSpec, Series]:
    """The series every rule of the book reads, over the days first .. last."""
    return build(collected, specs(book), first, last)


def alert_rows(runs: Sequence[RuleRun], names: Mapping[int, str],
               collected: Collected | None = None) -> list[dict[str, Any]]:
    """One row per level change of every rule, in time order, for alerts.csv and alerts.json; with the
    collected reports, each rise lists the reports that made its period's count (id and weight)."""
    found = _contributions(runs, collected) if collected is not None else {}
    rows = []
    for run in runs:
        for t in run.transitions:
            e = t.explanation
            rows.append({"rule": t.rule, "version": e.version, "county": t.county,
                         "county_name": names.get(t.county, ""),
                         "group": t.group, "period_start": t.period_start.isoformat(), "at": t.at.isoformat(),
                         "from": t.before.name.lower(), "to": t.after.name.lower(), "detector": e.detector,
                         "statistic": _num(e.statistic), "threshold": _num(e.threshold), "observed": _num(e.observed),
                         "baseline_periods": e.baseline_periods, "baseline_mean": _num(e.baseline_mean),
                         "baseline_sd": _num(e.baseline_sd), "why_en": e.why_en, "why_sw": e.why_sw,
                         "reports": found.get((run.rule.name, t.county, t.group, t.period_start), [])
                         if t.after > t.before else []})
    rows.sort(key=lambda r: (r["at"], r["county"], r["rule"]))
    return rows


Cell = tuple[str, int, str, datetime]


def _contributions(runs: Sequence[RuleRun], collected: Collected) -> dict[Cell, list[dict[str, Any]]]:
    """The counted reports of every period in which a rule rose (the window's periods for window_count)."""
    found: dict[Cell, list[dict[str, Any]]] = {}
    for run in runs:
        rule, s = run.rule, run.series
        width = int(dict(rule.params).get("window", 1)) if rule.detector == "window_count" else 1
        wanted: dict[tuple[int, str, int], list[datetime]] = {}
        for t in run.transitions:
            if t.after > t.before:
                i = period_index(t.period_start, s.period, s.start)
                for j in range(i - width + 1, i + 1):
                    wanted.setdefault((t.county, t.group, j), []).append(t.period_start)
        if not wanted:
            continue
        only = rule.immediate_filter
        for c in collected.items:
            starts = wanted.get((c.county, c.group, period_index(c.at, s.period, s.start)))
            if starts and (only is None or only.reason(c.candidate) is not None):
                for start in starts:
                    found.setdefault((rule.name, c.county, c.group, start), []).append(
                        {"id": c.candidate.ref, "weight": c.weight})
    return found


def _num(value: float | None) -> float | str | None:
    """Rounded for the files; an infinite statistic (a zero-sd baseline) as "inf", which JSON cannot hold."""
    if value is None or math.isnan(value):
        return None
    return ("inf" if value > 0 else "-inf") if math.isinf(value) else round(value, 4)
