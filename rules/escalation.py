"""The escalation state machine: one pure step per (rule, county, type group) and period, with hysteresis.

Prometheus' pending -> firing semantics in periods: a level above the current one is *pending* from the
first period its statistic reaches it, and the level rises once it has held for `hold_for` periods more
(0: at once). A calmer statistic lowers the level only after it stayed calmer for `keep_for` periods more.
A period whose count is below the rule's `min_count` reads as calm. The live engine calls `step` after each
report and on its timer (several times in one period: the pending clock runs on period starts, not on
calls); the backtest calls it once per period. Every level change carries its explanation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ews.core.models import Level
from rules.detectors.base import Baseline, Signal
from rules.rulebook import Rule
from rules.vocabulary import Group

PERIOD_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}

# What a group's reports are called in a "why" line, in English and Swahili.
GROUP_WORDS: dict[str, tuple[str, str]] = {
    "violence": ("violence", "vurugu"),
    "sgbv": ("sexual or gender-based violence", "dhuluma ya kingono au kijinsia"),
    "tension": ("threats or hate speech", "vitisho au matamshi ya chuki"),
    "communal": ("communal clashes", "mizozo ya kijamii"),
    "election": ("election incidents", "matukio ya uchaguzi"),
    "peace": ("peace activities", "shughuli za amani"),
    "none": ("reports", "ripoti"),
    "all": ("incidents", "matukio"),
}
_SPAN = {"hour": ("1 h", "saa 1"), "day": ("24 h", "saa 24"), "week": ("7 days", "siku 7")}
LEVEL_WORDS = {Level.NORMAL: ("normal", "kawaida"), Level.WATCH: ("watch", "tahadhari"),
               Level.WARNING: ("warning", "onyo"), Level.ALERT: ("alert", "hatari")}


@dataclass(frozen=True, slots=True)
class Reading:
    """A detector's Signal for one period of one county and type group, with that period's start."""

    county: int
    group: Group
    period_start: datetime
    signal: Signal


@dataclass(frozen=True, slots=True)
class State:
    """Where one (rule, county, type group) stands.

    `pending_since` / `pending_level`: since which period start a higher level has been reached, and the
    lowest level reached in that run (what the rise will be to). `calm_since` / `calm_level`: the same for
    a calmer run (the highest level in it, what the fall will be to).
    """

    level: Level = Level.NORMAL
    since: datetime | None = None
    pending_since: datetime | None = None
    pending_level: Level = Level.NORMAL
    calm_since: datetime | None = None
    calm_level: Level = Level.NORMAL


QUIET = State()
"""The state of a rule that has never raised (NORMAL, nothing pending)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a level changed: the rule and its version, the detector's figures, and a line in both languages."""

    rule: str
    version: str
    detector: str
    statistic: float | None
    threshold: float | None
    observed: float | None
    baseline_periods: int | None
    baseline_mean: float | None
    baseline_sd: float | None
    why_en: str
    why_sw: str

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict (for alerts files and the API)."""
        return {"rule": self.rule, "version": self.version, "detector": self.detector,
                "statistic": self.statistic, "threshold": self.threshold, "observed": self.observed,
                "baseline": None if self.baseline_periods is None else {
                    "periods": self.baseline_periods, "mean": self.baseline_mean, "sd": self.baseline_sd},
                "why": {"en": self.why_en, "sw": self.why_sw}}


@dataclass(frozen=True, slots=True)
class Transition:
    """One level change of one (rule, county, type group), at `at`, for the period starting `period_start`."""

    rule: str
    county: int
    group: Group
    before: Level
    after: Level
    at: datetime
    period_start: datetime
    explanation: Explanation


def target_level(rule: Rule, signal: Signal) -> Level:
    """The level one period's Signal reaches under `rule` (NORMAL below its minimum count)."""
    if rule.min_count > 0 and (signal.observed is None or signal.observed < rule.min_count):
        return Level.NORMAL
    return rule.levels.level_for(signal.statistic, signal.alarm)


def step(rule: Rule, state: State, reading: Reading, now: datetime, *,
         partial: bool = False) -> tuple[State, Transition | None]:
    """The next state after one reading at `now`, and the level change it makes (None: no change).

    `rule` is the rule as it applies in the reading's county (`Rule.for_county`). `partial`: the reading's
    period is still running (a live evaluation after a report); it may raise the level but never starts a
    fall, since a period that has just begun always looks calm. Pure.
    """
    target = target_level(rule, reading.signal)
    if partial and target < state.level:
        return state, None  # judged calmer only once the period is complete (and a calm run goes on)
    at = reading.period_start
    if target == state.level:
        if state.pending_since is None and state.calm_since is None:
            return state, None  # the common case (quiet and staying quiet): no new object
        return State(state.level, state.since), None
    length = PERIOD_LENGTH[rule.period]
    if target > state.level:
        since = state.pending_since or at
        lowest = min(state.pending_level, target) if state.pending_since is not None else target
        if at - since >= rule.hold_for * length:
            return State(lowest, now), _transition(rule, reading, state.level, lowest, now)
        return State(state.level, state.since, since, lowest), None
    since = state.calm_since or at
    highest = max(state.calm_level, target) if state.calm_since is not None else target
    if at - since >= rule.keep_for * length:
        return State(highest, now), _transition(rule, reading, state.level, highest, now)
    return State(state.level, state.since, calm_since=since, calm_level=highest), None


def _transition(rule: Rule, reading: Reading, before: Level, after: Level, now: datetime) -> Transition:
    return Transition(rule.name, reading.county, reading.group, before, after, now, reading.period_start,
                      explain(rule, reading, after if after > before else before))


def explain(rule: Rule, reading: Reading, level: Level) -> Explanation:
    """The explanation of a change to (or from) `level` on this reading."""
    s = reading.signal
    threshold = rule.levels.threshold(level)
    if threshold is None:
        threshold = s.threshold
    b: Baseline | None = s.baseline
    en, sw = why(rule, reading.group, s)
    return Explanation(rule.name, rule.version, rule.detector, s.statistic, threshold, s.observed,
                       b.n if b else None, b.mean if b else None, b.sd if b else None, en, sw)


def _count(value: float) -> str:
    """A weighted count as a reader counts reports: whole (verified and monitors' reports weigh more)."""
    return str(max(1, round(value)) if value > 0 else 0)


def why(rule: Rule, group: str, signal: Signal) -> tuple[str, str]:
    """A short line saying why, in English and Swahili: "12 reports of violence in 24 h; usual 1-2"."""
    words_en, words_sw = GROUP_WORDS.get(group, (group, group))
    span_en, span_sw = _SPAN[rule.period]
    if rule.detector == "window_count":
        window = dict(rule.params).get("window", 1)
        n = int(window) * {"hour": 1, "day": 24, "week": 168}[rule.period]
        span_en, span_sw = (f"{n} h", f"saa {n}") if n < 168 * 2 else (f"{n // 24} days", f"siku {n // 24}")
    observed = signal.statistic if rule.detector == "window_count" else signal.observed
    count = _count(observed or 0.0)
    if rule.detector == "quiet":
        silent = _count(signal.statistic or 0.0)
        return (f"no reports for {silent} {rule.period}s; usually {_usual(signal)} a {rule.period}",
                f"hakuna ripoti kwa vipindi {silent}; kawaida {_usual(signal)} kwa kipindi")
    one = count == "1"
    critical = rule.detector == "immediate"  # a killing, casualties or a critical severity: say so
    en = f"{count} {'critical ' if critical else ''}report{'' if one else 's'} of {words_en} in {span_en}"
    sw = (f"ripoti {count} {'ya' if one else 'za'} {words_sw}{' hatari' if critical else ''} "
          f"ndani ya {span_sw}")
    if signal.baseline is not None:
        usual = _usual(signal)
        en += f"; usual {usual}"
        sw += f"; kawaida {usual}"
    return en, sw


def _usual(signal: Signal) -> str:
    """The baseline's usual range, mean +- sd rounded to whole reports ("1-2", or "0" when none)."""
    b = signal.baseline
    if b is None:
        return "?"
    low, high = max(0, round(b.mean - b.sd)), max(0, round(b.mean + b.sd))
    return str(low) if low == high else f"{low}-{high}"


def evaluate(rule: Rule, county: int, group: Group, counts: Sequence[float], period_start: datetime, state: State,
             now: datetime, *, partial: bool = True) -> tuple[State, Transition | None, Signal]:
    """One live evaluation: the rule's detector over a county's counts up to the current period (the last
    count), then `step` on that period's reading. The backtest replays the same detector and step."""
    resolved = rule.for_county(county)
    signal = resolved.detector_object.run(counts)[-1]
    new, change = step(resolved, state, Reading(county, group, period_start, signal), now, partial=partial)
    return new, change, signal


LIVE_RUN = 28
"""Periods the live engine replays before the ones it judges, beyond what a detector's baseline needs, so a
CUSUM or EWMA has run in (a backtest runs it over the whole history)."""


def lookback(rule: Rule) -> int:
    """How many periods before the current one the live engine reads for `rule`."""
    params = dict(rule.params)
    need = sum(int(params.get(key, 0)) for key in ("baseline", "guard", "window"))
    if rule.detector in ("ears-c2", "ears-c3"):
        need += 2  # their guard is fixed, not a parameter
    return need + LIVE_RUN


def advance(rule: Rule, county: int, group: Group, counts: Sequence[float], current_start: datetime,
            state: State, judged_through: datetime | None, now: datetime, *,
            complete: Sequence[float] | None = None) -> tuple[State, list[Transition], Signal, datetime]:
    """One live evaluation of one (rule, county, group): the last count is the running period (starting at
    `current_start`), the one before it the last complete period. `complete`, when given, is the series the
    complete period is judged on (ending with it; by default `counts` without its last period).

    The complete period is stepped once, as the backtest steps it (`judged_through` says whether it was);
    periods before it that no evaluation saw (the service was down) are not stepped again, so an outage
    never replays stale changes. Then the running period may raise the level at once (a critical report
    does not wait for the period to end). Returns the new state, its changes, the running period's Signal
    and the start of the last complete period stepped. Pure.
    """
    resolved = rule.for_county(county)
    detector = resolved.detector_object
    previous = current_start - PERIOD_LENGTH[rule.period]
    changes: list[Transition] = []
    if len(counts) >= 2 and (judged_through is None or judged_through < previous):
        judged = detector.run(complete if complete is not None else counts[:-1])[-1]
        state, change = step(resolved, state, Reading(county, group, previous, judged), now)
        changes += [change] if change is not None else []
    running = detector.run(counts)[-1]
    state, change = step(resolved, state, Reading(county, group, current_start, running), now, partial=True)
    changes += [change] if change is not None else []
    return state, changes, running, max(previous, judged_through) if judged_through else previous
