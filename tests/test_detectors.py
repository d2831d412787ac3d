"""The detectors in rules/detectors: hand-computed cases, edge cases and properties (pure, no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.detectors import (
    DETECTORS,
    Candidate,
    Cusum,
    EarsC1,
    EarsC2,
    EarsC3,
    Ewma,
    Immediate,
    ImmediateRule,
    PoissonCusum,
    QuietCounty,
    Surge,
    immediate_triggers,
)
from rules.detectors.base import as_series, rolling
from rules.detectors.stats import t_cdf, t_quantile, z_quantile

SD_1_TO_7 = math.sqrt(28 / 6)  # the sample sd of 1..7 (mean 4)


# --- EARS ------------------------------------------------------------------------------------------------

def test_c1_by_hand() -> None:
    high, low = EarsC1().run([12, 10], history=[1, 2, 3, 4, 5, 6, 7])[0], None
    assert high.statistic == pytest.approx(8 / SD_1_TO_7)  # 3.703
    assert high.threshold == pytest.approx(3.090232)
    assert high.alarm and high.bound == pytest.approx(4 + 3.090232 * SD_1_TO_7)
    assert high.baseline is not None
    assert (high.baseline.start, high.baseline.stop, high.baseline.n) == (-7, 0, 7)
    assert (high.baseline.mean, high.baseline.sd) == (pytest.approx(4), pytest.approx(SD_1_TO_7))
    # The second period's baseline is 2..7 and 12: mean 39/7.
    low = EarsC1().run([12, 10], history=[1, 2, 3, 4, 5, 6, 7])[1]
    window = [2, 3, 4, 5, 6, 7, 12]
    assert low.statistic == pytest.approx((10 - np.mean(window)) / np.std(window, ddof=1))
    assert not low.alarm


def test_c1_alpha_sets_the_threshold() -> None:
    signal = EarsC1(alpha=0.025).run([10], history=[1, 2, 3, 4, 5, 6, 7])[0]
    assert signal.threshold == pytest.approx(1.959964)
    assert signal.alarm  # 6 / 2.16 = 2.78 > 1.96, though not > 3.09
    assert not EarsC1().run([10], history=[1, 2, 3, 4, 5, 6, 7])[0].alarm


def test_c2_leaves_two_guard_periods_out_of_its_baseline() -> None:
    # The spikes at t-1 and t-2 are not in C2's baseline (1..7), so 12 still stands out.
    signal = EarsC2().run([12], history=[1, 2, 3, 4, 5, 6, 7, 100, 100])[0]
    assert signal.statistic == pytest.approx(8 / SD_1_TO_7)
    assert signal.alarm
    assert signal.baseline is not None and (signal.baseline.start, signal.baseline.stop) == (-9, -2)
    # C1's baseline takes the spikes in and misses it.
    assert not EarsC1().run([12], history=[1, 2, 3, 4, 5, 6, 7, 100, 100])[0].alarm


def test_zero_variance_baseline() -> None:
    flat = [2] * 7
    above, same, below = EarsC1().run([3, 2, 1], history=flat)[0], None, None
    assert above.statistic == math.inf and above.alarm  # R: the bound is the mean itself
    same = EarsC1().run([2], history=flat)[0]
    assert same.statistic == 0 and not same.alarm
    below = EarsC1().run([1], history=flat)[0]
    assert below.statistic == -math.inf and not below.alarm
    # min_sigma stands in for the zero sd: 3 is 2 sigma above, 4 is 4.
    assert EarsC1(min_sigma=0.5).run([3], history=flat)[0].statistic == pytest.approx(2.0)
    assert not EarsC1(min_sigma=0.5).run([3], history=flat)[0].alarm
    assert EarsC1(min_sigma=0.5).run([4], history=flat)[0].alarm


def test_c3_classic_adds_three_c2_excesses() -> None:
    rng = np.random.default_rng(3)
    history = rng.poisson(3, 20).tolist()
    counts = [3, 9, 11, 14, 4]
    c2 = EarsC2().run(counts, history)
    c3 = EarsC3().run(counts, history)
    for t in range(2, len(counts)):
        expected = sum(max(0.0, c2[t - i].statistic - 1) for i in range(3))  # type: ignore[operator]
        assert c3[t].statistic == pytest.approx(expected)
        assert c3[t].alarm == (expected > z_quantile(0.001))


def test_c3_r_variant_ignores_todays_count() -> None:
    history = [1, 2, 3, 4, 5, 6, 7, 4, 4, 15, 16]
    r_high = EarsC3(variant="r").run([20], history)[0]
    r_low = EarsC3(variant="r").run([1], history)[0]
    # R's statistic is the two previous excesses only, whatever today's count.
    assert r_high.statistic == pytest.approx(r_low.statistic)
    assert r_high.alarm and r_low.alarm
    assert r_high.statistic is not None and r_high.statistic > 3.09
    # The classic form lets today's small count in: the sum still exceeds 3.09 because of t-1 and t-2.
    assert EarsC3().run([1], history)[0].statistic == pytest.approx(r_low.statistic)
    # With nothing today and an R bound floored at 0, R raises nothing.
    assert not EarsC3(variant="r").run([0], history)[0].alarm


def test_short_history_gives_no_statistic_until_the_baseline_is_full() -> None:
    signals = EarsC1().run([1, 2, 3, 4, 5, 6, 7, 30])
    assert [s.statistic for s in signals[:7]] == [None] * 7
    assert not any(s.alarm for s in signals[:7])
    assert signals[7].alarm
    assert all(s.statistic is None for s in EarsC2().run([1, 2, 3, 4, 5, 6, 7, 8, 9]))
    assert EarsC2().run([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])[9].statistic is not None
    assert all(s.statistic is None for s in EarsC3().run(list(range(11))))
    assert EarsC3().run(list(range(12)))[11].statistic is not None


def test_missing_periods() -> None:
    history = [1, 2, 3, 4, 5, 6, 7]
    gap = EarsC1().run([math.nan, 12], history)
    assert gap[0].observed is None and gap[0].statistic is None and not gap[0].alarm
    assert gap[1].statistic is None  # its baseline lacks one of 7 periods
    lenient = EarsC1(min_baseline=6).run([math.nan, 12], history)[1]
    window = [2, 3, 4, 5, 6, 7]
    assert lenient.baseline is not None and lenient.baseline.n == 6
    assert lenient.statistic == pytest.approx((12 - np.mean(window)) / np.std(window, ddof=1))


def test_bad_parameters_and_counts_are_refused() -> None:
    for make in (lambda: EarsC1(baseline=2), lambda: EarsC2(alpha=0), lambda: EarsC3(min_sigma=-1),
                 lambda: EarsC3(variant="x"),  # type: ignore[arg-type]
                 lambda: Cusum(h=0), lambda: Ewma(w1=1.5), lambda: Surge(window=0), lambda: QuietCounty(alpha=2),
                 lambda: PoissonCusum(shift=1), lambda: Immediate(min_count=0), lambda: EarsC1(min_baseline=9)):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError, match="period 1: count -1"):
        EarsC1().run([1, -1])
    with pytest.raises(ValueError, match="history period 0"):
        EarsC1().run([1], history=[math.inf])


# --- CUSUM -----------------------------------------------------------------------------------------------

def test_cusum_standardised_by_hand() -> None:
    # m = 4, sqrt(m) = 2: z = 0, 2, 2, 0; S = 0, 0.96, 1.92, 0.88 with k = 1.04.
    signals = Cusum(h=1.5).run([4, 8, 8, 4], history=[4, 4, 4, 4])
    assert [s.statistic for s in signals] == pytest.approx([0, 0.96, 1.92, 0.88])
    assert [s.alarm for s in signals] == [False, False, True, False]
    assert signals[0].threshold == 1.5
    assert signals[0].baseline is not None and signals[0].baseline.mean == 4
    # The bound is the count that would take S from where it stood to h: m + sqrt(m) (h + k - S_{t-1}).
    assert signals[2].bound == pytest.approx(4 + 2 * (1.5 + 1.04 - 0.96))


def test_cusum_alarms_at_h_itself_and_resets_when_asked() -> None:
    # R alarms when S >= h.
    assert Cusum(k=0, h=2).run([8], history=[4])[0].alarm
    kept = Cusum(h=1.5).run([8, 8, 8, 4], history=[4, 4])
    reset = Cusum(h=1.5, reset=True).run([8, 8, 8, 4], history=[4, 4])
    assert [s.alarm for s in kept] == [False, True, True, True]
    assert [s.alarm for s in reset] == [False, True, False, False]  # 0.96, 1.92 -> 0, 0.96, 0
    assert reset[1].statistic == pytest.approx(1.92)  # the alarm shows the sum that crossed h


def test_cusum_reference_mean() -> None:
    assert Cusum(reference_mean=1).run([3])[0].statistic == pytest.approx(2 - 1.04)
    with pytest.raises(ValueError, match="needs history"):
        Cusum().run([3])
    with pytest.raises(ValueError, match="mean is 0"):
        Cusum().run([3], history=[0, 0])
    with pytest.raises(ValueError, match="positive"):
        Cusum(reference_mean=0).run([3])


def test_cusum_missing_period_leaves_the_sum() -> None:
    signals = Cusum(h=9).run([8, math.nan, 8], history=[4])
    assert signals[1].statistic is None and not signals[1].alarm
    assert signals[2].statistic == pytest.approx(2 * 0.96)


def test_cusum_on_a_rolling_baseline() -> None:
    history = [2, 4, 2, 4, 2, 4, 2]  # mean 20/7, sample sd
    signal = Cusum(k=0.5, h=4, baseline=7).run([10], history)[0]
    sd = float(np.std(history, ddof=1))
    assert signal.statistic == pytest.approx((10 - 20 / 7) / sd - 0.5)
    assert signal.alarm == (signal.statistic >= 4)  # type: ignore[operator]
    assert signal.baseline is not None and signal.baseline.n == 7
    assert Cusum(baseline=7).run([1, 2, 3])[0].statistic is None


def test_poisson_cusum_by_hand() -> None:
    detector = PoissonCusum(h=4)
    k = 2 / math.log(2)  # mu0 = 2, mu1 = 4
    assert detector.k_for(2) == pytest.approx(k)
    signals = detector.run([5, 5, 0], history=[2, 2])
    assert [s.statistic for s in signals] == pytest.approx([5 - k, 10 - 2 * k, max(0, 10 - 3 * k)])
    assert [s.alarm for s in signals] == [False, True, False]
    with pytest.raises(ValueError, match="mu1 > mu0"):
        PoissonCusum(mu1=1).run([1], history=[2])


# --- EWMA ------------------------------------------------------------------------------------------------

def _rnssp(y: list[float], w1: float = 0.4, w2: float = 0.9, g: int = 2) -> list[tuple[float, float] | None]:
    """Rnssp's ewma_loop transcribed loop by loop (with scipy's t), to check ours against: (stat, p)."""
    from scipy import stats

    out: list[tuple[float, float] | None] = [None] * len(y)
    z = {w1: y[0], w2: y[0]}
    for i in range(1, 13):
        for w in (w1, w2):
            z[w] = w * y[i] + (1 - w) * z[w]
    first = 13
    for i in range(first, len(y)):
        base = y[max(0, i - g - 28): i - g]
        n = len(base)
        mean, sd = float(np.mean(base)), float(np.std(base, ddof=1))
        alert, warning = round(stats.t.ppf(0.99, n - 1), 5), round(stats.t.ppf(0.95, n - 1), 5)
        best = None
        for w in (w1, w2):
            corr = math.sqrt(w / (2 - w) + 1 / n - 2 * (1 - w) ** (g + 1) * (1 - (1 - w) ** n) / n)
            const = (0.1289 - (0.2414 - 0.1826 * (1 - w) ** 4) * math.log(0.5)) * (w / warning)
            sigma = max((w / warning) * (1 + 0.5 * (1 - w) ** 2), sd * corr + const)
            z[w] = w * y[i] + (1 - w) * z[w]
            stat = (z[w] - mean) / sigma
            if abs(stat) > alert:
                z[w] = mean + math.copysign(alert * sigma, stat)
            p = 1 - stats.t.cdf(stat, n - 1)
            if best is None or not best[1] < p:
                best = (stat, p)
        out[i] = best
    return out


def test_ewma_matches_essence_on_a_written_series() -> None:
    rng = np.random.default_rng(11)
    series = rng.poisson(2, 80).astype(float)
    series[50:53] += [6, 9, 12]  # a planted rise
    series[60] += 20  # and a lone spike, clipped afterwards
    ours = Ewma().run(series.tolist())
    reference = _rnssp(series.tolist())
    for s, ref in zip(ours, reference, strict=True):
        if ref is None:
            assert s.statistic is None and s.level == "grey" and not s.alarm
            continue
        stat, p = ref
        assert s.statistic == pytest.approx(stat, abs=1e-9)
        assert s.level == ("red" if p < 0.01 else "yellow" if p < 0.05 else "blue")
        assert s.alarm == (p < 0.01)
    assert any(s.alarm for s in ours[50:53]) and ours[60].alarm


def test_ewma_zero_variance_baseline_and_tiers() -> None:
    flat = Ewma().run([3.0] * 40)
    assert all(s.level == "grey" for s in flat[:13])
    assert all(s.level == "blue" and s.statistic == pytest.approx(0) for s in flat[13:])
    spiked = Ewma().run([3.0] * 40 + [9.0])[-1]
    assert spiked.level == "red" and spiked.alarm and math.isfinite(spiked.statistic or math.nan)


def test_ewma_baseline_grows_to_b_and_stops() -> None:
    signals = Ewma().run([float(i % 5) for i in range(60)])
    assert signals[13].baseline is not None and signals[13].baseline.n == 11
    assert signals[40].baseline is not None and signals[40].baseline.n == 28
    assert (signals[40].baseline.start, signals[40].baseline.stop) == (10, 38)


# --- surge, quiet, immediate -----------------------------------------------------------------------------

def test_surge_by_hand() -> None:
    assert Surge().run([2], history=[1, 1, 1, 1])[0].alarm  # 2 >= 2 x 1, at the limit
    assert Surge().run([2], history=[1, 1, 1, 1])[0].statistic == pytest.approx(2)
    assert not Surge().run([3], history=[2, 2, 2, 2])[0].alarm
    quiet_before = Surge().run([2], history=[0, 0, 0, 1])[0]  # mean 0.25: below the floor of 1
    assert quiet_before.statistic == pytest.approx(8) and not quiet_before.alarm
    zero = Surge().run([1], history=[0, 0, 0, 0])[0]
    assert zero.statistic == math.inf and not zero.alarm
    assert Surge().run([1, 2, 3, 4, 9])[:4] == [s for s in Surge().run([1, 2, 3, 4, 9])[:4] if s.statistic is None]


def test_quiet_county_by_hand() -> None:
    busy = [3.0] * 28  # no silent day in 28: p0 = 1/30, 0.001 is passed after ln(1000)/ln(30) = 2.03 days
    signals = QuietCounty().run([0, 0, 0, 0, 5], history=busy)
    assert [s.statistic for s in signals] == [1, 2, 3, 4, 0]
    assert signals[0].threshold == pytest.approx(math.log(1000) / math.log(30))
    assert [s.alarm for s in signals] == [False, False, True, True, False]
    # The baseline is the 28 days before the silence began, not diluted by it.
    assert signals[3].baseline is not None and signals[3].baseline.mean == 3
    assert (signals[3].baseline.start, signals[3].baseline.stop) == (-28, 0)


def test_quiet_county_judges_silence_by_the_county_s_own_past() -> None:
    patchy = [0.0, 2.0] * 14  # half the days silent: p0 = 15/30, needs more than 9.97 silent days
    signals = QuietCounty().run([0.0] * 11, history=patchy)
    assert [s.alarm for s in signals] == [False] * 9 + [True, True]
    rare = [0.0, 0.0, 0.0, 1.0] * 7  # a mean of 0.25: never "normally active"
    assert not any(s.alarm for s in QuietCounty().run([0.0] * 60, history=rare))
    # A missing day neither extends nor breaks the silence.
    gap = QuietCounty().run([0, math.nan, 0, 0], history=[3.0] * 28)
    assert [s.statistic for s in gap] == [1, None, 2, 3]
    assert QuietCounty().run([0.0], history=[3.0] * 5)[0].statistic is None  # too little past


def test_immediate_rule() -> None:
    rule = ImmediateRule()
    reports = [Candidate(1, "killing"), Candidate(2, "armed_attack"), Candidate(3, "armed_attack", casualties=2),
               Candidate(4, "threat_intimidation", severity="critical"), Candidate(5, "physical_assault", "high"),
               Candidate(6, None)]
    assert [(t.ref, t.reason) for t in immediate_triggers(rule, reports)] == [
        (1, "type killing"), (3, "armed_attack with 2 hurt or killed"), (4, "severity critical")]
    verified = ImmediateRule(require="verified")
    assert immediate_triggers(verified, [Candidate(1, "killing"), Candidate(2, "killing", verified=True)]) == [
        immediate_triggers(rule, [Candidate(2, "killing")])[0]]
    corroborated = ImmediateRule(require="corroborated")
    assert [t.ref for t in immediate_triggers(corroborated, [
        Candidate(1, "killing"), Candidate(2, "killing", corroborated=True), Candidate(3, "killing", verified=True)])
    ] == [2, 3]
    with pytest.raises(ValueError):
        ImmediateRule(require="maybe")  # type: ignore[arg-type]
    signals = Immediate().run([0, 1, 0, 3])
    assert [s.alarm for s in signals] == [False, True, False, True]


# --- shared pieces and properties ------------------------------------------------------------------------

def test_student_t_matches_scipy() -> None:
    from scipy import stats

    x = np.linspace(-12, 12, 241)
    for df in range(1, 40):
        assert np.allclose(t_cdf(x, df), stats.t.cdf(x, df), atol=1e-12, rtol=0)
        assert t_quantile(0.99, df) == pytest.approx(stats.t.ppf(0.99, df), abs=1e-9)
    with pytest.raises(ValueError):
        t_cdf(x, 0)


def test_rolling_baseline_windows() -> None:
    base = rolling(as_series([1, 2, 3, 4, 5]), 3, guard=1)
    assert np.isnan(base.mean[:4]).all()
    assert base.mean[4] == pytest.approx(2) and base.sd[4] == pytest.approx(1) and base.n[4] == 3


def test_every_detector_is_registered_by_its_name() -> None:
    assert set(DETECTORS) == {"ears-c1", "ears-c2", "ears-c3", "cusum", "cusum-poisson", "ewma", "surge", "quiet",
                              "immediate"}
    assert all(cls.name == name for name, cls in DETECTORS.items())


DETECTOR_CASES = [EarsC1(), EarsC2(), EarsC3(), EarsC3(variant="r"), EarsC1(min_sigma=0.5, min_baseline=3),
                  Cusum(reference_mean=1.5), Cusum(reference_mean=0.2, reset=True), Cusum(baseline=7, k=0.5, h=4),
                  PoissonCusum(reference_mean=1.0), Ewma(), Surge(), QuietCounty(min_baseline=3), Immediate()]
counts_strategy = st.lists(st.one_of(st.integers(0, 10_000).map(float), st.floats(0, 1e6), st.just(math.nan)),
                           max_size=60)


@pytest.mark.parametrize("detector", DETECTOR_CASES, ids=lambda d: repr(d))
@settings(max_examples=150, deadline=None)
@given(counts=counts_strategy, history=counts_strategy)
def test_no_exception_and_no_nan_on_any_non_negative_series(detector: object, counts: list[float],
                                                            history: list[float]) -> None:
    signals = detector.run(counts, history)  # type: ignore[attr-defined]
    assert [s.period for s in signals] == list(range(len(counts)))
    for s, y in zip(signals, counts, strict=True):
        assert s.statistic is None or not math.isnan(s.statistic)
        assert s.threshold is None or math.isfinite(s.threshold)
        assert s.bound is None or not math.isnan(s.bound)
        if s.alarm:
            assert s.statistic is not None and s.threshold is not None and not math.isnan(y)
        if math.isnan(y):
            assert s.observed is None and not s.alarm
        if s.baseline is not None:
            assert not math.isnan(s.baseline.mean) and s.baseline.start <= s.baseline.stop <= s.period + 1


def test_detectors_import_only_numpy_the_standard_library_and_the_models() -> None:
    import ast
    import sys
    from pathlib import Path

    allowed = {"numpy", "ews.core.models"}
    for path in sorted((Path(__file__).resolve().parents[1] / "rules" / "detectors").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert (top in sys.stdlib_module_names or top == "__future__" or name.startswith("rules.")
                        or any(name == a or name.startswith(a + ".") for a in allowed)), f"{path.name}: {name}"
