"""The state machine (rules/escalation.py): rise only after hold_for, fall only after keep_for, no flapping
around a threshold, minimum counts, immediate rules at once, and the explanation of each change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ews.core.models import Level
from rules.detectors.base import Baseline, Signal
from rules.escalation import QUIET, Reading, State, Transition, step
from rules.rulebook import Levels, Rule

T0 = datetime(2027, 8, 1, tzinfo=UTC)
DAY = timedelta(days=1)
BASE = Baseline(-7, 0, 7, 1.4, 0.5)


def rule(hold_for: int = 0, keep_for: int = 0, min_count: float = 0, detector: str = "ears-c1") -> Rule:
    return Rule("r", detector, ("violence",), (1,), "day", Levels(watch=3, warning=5, alert=8), hold_for, keep_for,
                min_count, version="v7")


def replay(r: Rule, stats: Sequence[float | None], counts: Sequence[float] | None = None,
           state: State = QUIET) -> tuple[list[Level], list[Transition]]:
    """The level after each period, and the transitions, for statistics given per day."""
    levels, changes = [], []
    for i, stat in enumerate(stats):
        observed = counts[i] if counts is not None else 10.0
        reading = Reading(1, "violence", T0 + i * DAY, Signal(i, observed, stat, 3.09, bool(stat and stat > 3.09),
                                                              BASE))
        state, change = step(r, state, reading, T0 + (i + 1) * DAY)
        levels.append(state.level)
        if change:
            changes.append(change)
    return levels, changes


N, W, WR, A = Level.NORMAL, Level.WATCH, Level.WARNING, Level.ALERT


def test_without_hysteresis_the_level_follows_the_statistic() -> None:
    levels, changes = replay(rule(), [0, 4, 6, 9, 1])
    assert levels == [N, W, WR, A, N]
    assert [(c.before, c.after) for c in changes] == [(N, W), (W, WR), (WR, A), (A, N)]


def test_rises_only_after_hold_for_periods() -> None:
    levels, _ = replay(rule(hold_for=2), [4, 4, 4, 4])
    assert levels == [N, N, W, W], "pending on day 0, firing on day 2"
    levels, _ = replay(rule(hold_for=2), [4, 4, 0, 4, 4, 4])
    assert levels == [N, N, N, N, N, W], "a calm period restarts the pending clock"


def test_a_rise_after_hold_for_goes_to_the_lowest_level_held() -> None:
    levels, _ = replay(rule(hold_for=1), [9, 4, 9, 9])
    assert levels == [N, W, W, A]


def test_falls_only_after_keep_for_periods() -> None:
    levels, changes = replay(rule(keep_for=2), [9, 0, 0, 0, 0])
    assert levels == [A, A, A, N, N]
    assert changes[-1].after == N and changes[-1].period_start == T0 + 3 * DAY


def test_no_flapping_around_a_threshold() -> None:
    hovering = [3.2, 2.9, 3.1, 2.8, 3.3, 2.9, 3.0, 2.7] * 3
    _, plain = replay(rule(), hovering)
    _, damped = replay(rule(keep_for=2), hovering)
    assert len(plain) == len(hovering), "without keep_for every crossing is a change"
    assert len(damped) == 1, "with keep_for the county rises once and stays"


def test_the_minimum_count_holds_a_high_statistic_back() -> None:
    levels, _ = replay(rule(min_count=3), [9, 9, 9], counts=[1, 2, 3])
    assert levels == [N, N, A]


def test_an_immediate_rule_raises_within_the_same_period() -> None:
    r = Rule("critical", "immediate", ("violence",), (1,), "day", Levels(alert=1), keep_for=1, version="v1")
    now = T0 + timedelta(hours=9, seconds=2)  # a live evaluation seconds after the report, mid-period
    reading = Reading(1, "violence", T0, Signal(0, 1.0, 1.0, 1.0, True, bound=1.0))
    state, change = step(r, QUIET, reading, now)
    assert state.level == A and change is not None and change.at == now
    again, none = step(r, state, reading, now + timedelta(seconds=5))
    assert again.level == A and none is None, "the same period again changes nothing"


def test_several_evaluations_in_one_period_do_not_count_as_several_periods() -> None:
    r = rule(hold_for=1)
    state = QUIET
    for minutes in (1, 5, 30, 600):
        reading = Reading(1, "violence", T0, Signal(0, 10.0, 4.0, 3.09, True, BASE))
        state, change = step(r, state, reading, T0 + timedelta(minutes=minutes))
        assert change is None and state.level == N
    state, change = step(r, state, Reading(1, "violence", T0 + DAY, Signal(1, 10.0, 4.0, 3.09, True, BASE)),
                         T0 + DAY + timedelta(minutes=1))
    assert change is not None and state.level == W


def test_each_change_carries_its_explanation_in_both_languages() -> None:
    _, changes = replay(rule(), [0, 9], counts=[1, 12])
    e = changes[0].explanation
    assert (e.rule, e.version, e.detector, e.statistic, e.threshold, e.observed) == ("r", "v7", "ears-c1", 9, 8, 12)
    assert (e.baseline_periods, e.baseline_mean, e.baseline_sd) == (7, 1.4, 0.5)
    assert e.why_en == "12 reports of violence in 24 h; usual 1-2"
    assert e.why_sw == "ripoti 12 za vurugu ndani ya saa 24; kawaida 1-2"
    assert e.as_dict()["baseline"] == {"periods": 7, "mean": 1.4, "sd": 0.5}


def test_a_quiet_county_is_explained_as_silence() -> None:
    r = Rule("q", "quiet", ("none",), (1,), "day", Levels(on_alarm=W), version="v")
    reading = Reading(1, "none", T0, Signal(0, 0.0, 6.0, 5.2, True, Baseline(-28, -6, 22, 3.1, 1.2)))
    _, change = step(r, QUIET, reading, T0)
    assert change is not None
    assert change.explanation.why_en == "no reports for 6 days; usually 2-4 a day"
    assert change.explanation.why_sw.startswith("hakuna ripoti kwa vipindi 6")


def test_a_partial_period_can_raise_but_never_starts_a_fall() -> None:
    r = rule(keep_for=0)
    risen, _ = step(r, QUIET, Reading(1, "violence", T0, Signal(0, 10.0, 9.0, 3.09, True, BASE)), T0)
    assert risen.level == A
    early = Reading(1, "violence", T0 + DAY, Signal(1, 0.0, 0.0, 3.09, False, BASE))
    held, change = step(r, risen, early, T0 + DAY + timedelta(minutes=5), partial=True)
    assert held.level == A and change is None, "five minutes into a day, its count is always low"
    done, change = step(r, held, early, T0 + 2 * DAY)
    assert done.level == N and change is not None, "the complete period lowers it"


def test_evaluating_period_by_period_live_gives_the_replay_levels() -> None:
    import numpy as np

    from rules import backtest as bt
    from rules.escalation import evaluate
    from rules.rulebook import load
    from rules.series import Series
    from tests.test_rulebook import DEFAULT

    rng = np.random.default_rng(5)
    counts = rng.poisson(2, 120).astype(float)
    counts[70:78] *= 5
    book = load(DEFAULT.read_text(encoding="utf-8"))
    for r in book.rules:
        series = {bt.spec_of(r): Series(T0, 120, "day", {(1, g): counts for g in r.groups})}
        single = type(book)(book.version, (r,))
        replayed = bt.replay(single, series)[0].levels[1]
        state = QUIET
        live = []
        for i in range(120):
            # several evaluations inside the period (partial), then the one after it ends (complete)
            for minutes in (5, 600):
                state, _, _ = evaluate(r, 1, r.groups[0], counts[: i + 1].tolist(), T0 + i * DAY, state,
                                       T0 + i * DAY + timedelta(minutes=minutes), partial=True)
            state, _, _ = evaluate(r, 1, r.groups[0], counts[: i + 1].tolist(), T0 + i * DAY, state,
                                   T0 + (i + 1) * DAY, partial=False)
            live.append(int(state.level))
        assert live == replayed.tolist(), r.name
