"""R `surveillance`'s earsC and algo.cusum, transcribed line by line, against ours on a series we write.

The reference series of ../shared stays outside the project (`make parity` checks it); here the same
formulas run on weekly counts made up for the test: a seasonal Poisson history, then test weeks with two
planted outbreaks, zero-variance stretches and repeats, so C1, C2, C3 (R's variant) and CUSUM each alarm
and each stay quiet somewhere.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from rules.detectors import Cusum, EarsC1, EarsC2, EarsC3
from rules.detectors.stats import z_quantile


def _series() -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(2027)
    weeks = np.arange(300)
    history = rng.poisson(3 + 2 * np.sin(2 * np.pi * weeks / 52)).astype(float)
    test = rng.poisson(3, 104).astype(float)
    test[20:24] += [5, 9, 14, 6]  # a sharp outbreak
    test[60:72] += 2  # a sustained rise (CUSUM's kind)
    test[80:92] = 2  # a flat stretch: zero-variance baselines
    test[92] = 5
    return history.tolist(), test.tolist()


def _r_ears(y: list[float], start: int, method: str, baseline: int = 7, alpha: float = 0.001,
            min_sigma: float = 0.0) -> list[bool]:
    """earsC's upperbound and `observed > upperbound`, one week at a time (R's NaN rules: no alarm)."""
    z = z_quantile(alpha)

    def ref(t: int) -> list[float]:
        lag = 0 if method == "C1" else 2
        return y[t - baseline - lag: t - lag]

    def c2(t: int) -> float:
        vals = ref(t)
        sigma = max(statistics.stdev(vals), min_sigma)
        diff = y[t] - statistics.mean(vals)
        return math.nan if sigma == 0 and diff == 0 else (math.copysign(math.inf, diff) if sigma == 0 else diff / sigma)

    alarms = []
    for t in range(start, len(y)):
        if method in ("C1", "C2"):
            bound = statistics.mean(ref(t)) + z * max(statistics.stdev(ref(t)), min_sigma)
        else:
            p2, p1 = max(0.0, c2(t - 2) - 1), max(0.0, c2(t - 1) - 1)  # R's pmax(0, NaN) is NaN
            if math.isnan(c2(t - 2)) or math.isnan(c2(t - 1)):
                p2 = p1 = math.nan
            bound = y[t] + max(statistics.stdev(ref(t)), min_sigma) * (z - (p2 + p1))
            bound = math.nan if math.isnan(bound) else max(0.0, bound)
        alarms.append(not math.isnan(bound) and y[t] > bound)
    return alarms


def _r_cusum(y: list[float], start: int, k: float = 1.04, h: float = 2.26) -> tuple[list[float], list[bool]]:
    """algo.cusum with trans = "standard" and m = mean(observed[1:(timePoint-1)])."""
    m = statistics.mean(y[:start])
    s, sums, alarms = 0.0, [], []
    for x in y[start:]:
        s = max(0.0, s + (x - m) / math.sqrt(m) - k)
        sums.append(s)
        alarms.append(s >= h)
    return sums, alarms


@pytest.mark.parametrize(("detector", "method"), [(EarsC1(), "C1"), (EarsC2(), "C2"), (EarsC3(variant="r"), "C3")])
def test_ears_gives_r_s_alarms_week_for_week(detector: EarsC1 | EarsC2 | EarsC3, method: str) -> None:
    history, test = _series()
    ours = [s.alarm for s in detector.run(test, history)]
    theirs = _r_ears(history + test, len(history), method)
    assert ours == theirs
    assert 2 <= sum(theirs) < len(theirs) // 2  # the case exercises both answers


def test_ears_with_min_sigma_gives_r_s_alarms() -> None:
    history, test = _series()
    for detector, method in ((EarsC1(min_sigma=1), "C1"), (EarsC2(min_sigma=1), "C2"),
                             (EarsC3(variant="r", min_sigma=1), "C3")):
        ours = [s.alarm for s in detector.run(test, history)]
        assert ours == _r_ears(history + test, len(history), method, min_sigma=1)


def test_cusum_gives_r_s_sums_and_alarms() -> None:
    history, test = _series()
    signals = Cusum().run(test, history)
    sums, alarms = _r_cusum(history + test, len(history))
    assert [s.statistic for s in signals] == pytest.approx(sums)
    assert [s.alarm for s in signals] == alarms
    assert any(alarms[60:72]) and not all(alarms)
