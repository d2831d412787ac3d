"""EWMA as CDC's ESSENCE runs it (Rnssp `alert_ewma`): two smoothers, Student-t p-values, tiers.

Z_t = w y_t + (1 - w) Z_{t-1} for w1 = 0.4 (gradual rises) and w2 = 0.9 (sudden ones), each against the
mean and sd of the counts t-g-B .. t-g-1 (B up to 28, at least 11, g = 2 guard periods), with ESSENCE's
corrected sigma. The smoother with the smaller p decides: red below `red` (the alarm), yellow below
`yellow`, else blue; grey where the baseline is too short. A smoother that crosses t_.99 is pulled back
to mean +- t_.99 sigma so one spike does not poison the following days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rules.detectors.base import Signal, as_series, count_or_none, rolling
from rules.detectors.stats import t_cdf, t_quantile


@dataclass(frozen=True, slots=True)
class _Limits:
    """What ESSENCE derives from the baseline's length n for one smoother."""

    correction: float
    constant: float
    min_sigma: float
    clip: float


@dataclass(frozen=True, slots=True)
class Ewma:
    """ESSENCE's two-smoother EWMA: alarm (red) when the smaller p-value is below `red`."""

    baseline: int = 28
    guard: int = 2
    w1: float = 0.4
    w2: float = 0.9
    min_baseline: int = 11
    red: float = 0.01
    yellow: float = 0.05
    name: ClassVar[str] = "ewma"

    def __post_init__(self) -> None:
        if not 0 < self.w1 < 1 or not 0 < self.w2 < 1:
            raise ValueError(f"EWMA weights must be between 0 and 1, not {self.w1}, {self.w2}")
        if not 3 <= self.min_baseline <= self.baseline or self.guard < 0:
            raise ValueError(f"EWMA needs 3 <= min_baseline <= baseline and guard >= 0, not "
                             f"{self.min_baseline}, {self.baseline}, {self.guard}")
        if not 0 < self.red <= self.yellow < 1:
            raise ValueError(f"EWMA needs 0 < red <= yellow < 1, not {self.red}, {self.yellow}")

    def limits(self, w: float, n: int) -> _Limits:
        """ESSENCE's sigma correction, additive constant, sigma floor and clipping limit for n periods."""
        g = self.guard
        correction = math.sqrt(w / (2 - w) + 1 / n - 2 * (1 - w) ** (g + 1) * (1 - (1 - w) ** n) / n)
        # ESSENCE rounds its t limits to 5 decimals; kept so the tiers match theirs.
        warning = round(t_quantile(0.95, n - 1), 5)
        constant = (0.1289 - (0.2414 - 0.1826 * (1 - w) ** 4) * math.log(10 * 0.05)) * (w / warning)
        floor = (w / warning) * (1 + 0.5 * (1 - w) ** 2)
        return _Limits(correction, constant, floor, round(t_quantile(0.99, n - 1), 5))

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`: the deciding smoother's t statistic against t_{1-red}."""
        series = as_series(counts, history)
        base = rolling(series, self.baseline, self.guard, self.min_baseline)
        weights = (self.w1, self.w2)
        means, ns = base.mean.tolist(), base.n.tolist()
        lengths = sorted(n for n in set(ns) if n >= self.min_baseline)
        # Each period's sigma and clipping limit per smoother, worked out for all periods at once.
        sigmas, clips = [], []
        for w in weights:
            table = {n: self.limits(w, n) for n in lengths}
            pick = np.array([n if n in table else 0 for n in ns], dtype=np.int64)
            lookup = np.zeros((4, max(lengths, default=0) + 1))
            for n, lim in table.items():
                lookup[:, n] = (lim.correction, lim.constant, lim.min_sigma, lim.clip)
            sigmas.append(np.maximum(lookup[2, pick], base.sd * lookup[0, pick] + lookup[1, pick]).tolist())
            clips.append(lookup[3, pick].tolist())
        offset = len(history)
        z = [math.nan, math.nan]
        stats = [[math.nan] * len(series), [math.nan] * len(series)]
        for t, y in enumerate(series.tolist()):
            if math.isnan(y):
                continue  # a missing period: the smoothers wait
            for j, w in enumerate(weights):
                z[j] = y if math.isnan(z[j]) else w * y + (1 - w) * z[j]
            mean = means[t]
            if t < offset or math.isnan(mean):
                continue
            for j in (0, 1):
                sigma, clip = sigmas[j][t], clips[j][t]
                stat = (z[j] - mean) / sigma
                stats[j][t] = stat
                if abs(stat) > clip:
                    z[j] = mean + math.copysign(clip * sigma, stat)
        tstat = np.array(stats)
        p = np.full_like(tstat, np.nan)
        for n in set(ns[offset:]):
            cols = (base.n == n) & ~np.isnan(tstat[0])
            if n >= self.min_baseline and cols.any():
                p[:, cols] = 1 - t_cdf(tstat[:, cols], n - 1)
        thresholds = {n: t_quantile(1 - self.red, n - 1) for n in lengths}
        signals = []
        rows = zip(series[offset:].tolist(), p[0, offset:].tolist(), p[1, offset:].tolist(), stats[0][offset:],
                   stats[1][offset:], ns[offset:], base.baselines(offset), strict=True)
        for i, (y, p1, p2, s1, s2, n, baseline) in enumerate(rows):
            if math.isnan(p1):
                signals.append(Signal(i, count_or_none(y), None, None, False, level="grey"))
                continue
            pick, stat = (p1, s1) if p1 < p2 else (p2, s2)
            level = "red" if pick < self.red else "yellow" if pick < self.yellow else "blue"
            signals.append(Signal(i, y, stat, thresholds[n], level == "red", baseline, level=level))
        return signals
