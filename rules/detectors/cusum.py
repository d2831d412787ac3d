"""CUSUM for sustained rises (Page 1954; R `surveillance::algo.cusum`; Fricker et al. 2008).

S_t = max(0, S_{t-1} + x_t - k), alarm when S_t >= h. `Cusum` sums standardised counts
x_t = (y_t - m) / sqrt(m) (R's "standard" transform, m the history's mean), or with `baseline` set the
standardised forecast errors of a rolling baseline, (y_t - mean) / max(sd, min_sigma), which Fricker found
beats EARS (k 0.5, h 4 to 5). `PoissonCusum` sums raw counts against k = (mu1 - mu0) / (ln mu1 - ln mu0).
`reset` starts the sum again at 0 after an alarm, so one rise gives one alarm run, not an endless one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rules.detectors.base import Array, Baseline, Signal, as_series, count_or_none, rolling


def _path(x: Array, k: float, h: float, reset: bool) -> tuple[list[float | None], list[float], list[bool]]:
    """The CUSUM over x (NaN: a missing period leaves the sum as it was): S_t, S_{t-1}, alarms."""
    s = 0.0
    sums: list[float | None] = []
    before: list[float] = []
    alarms: list[bool] = []
    for value in x.tolist():
        before.append(s)
        if math.isnan(value):
            sums.append(None)
            alarms.append(False)
            continue
        s = max(0.0, s + value - k)
        alarm = s >= h
        sums.append(s)
        alarms.append(alarm)
        if alarm and reset:
            s = 0.0
    return sums, before, alarms


def _reference(series: Array, offset: int, given: float | None) -> Baseline:
    """The in-control mean: `given`, else the mean of the history's counts."""
    hist = series[:offset]
    present = hist[~np.isnan(hist)]
    if given is not None:
        if not (math.isfinite(given) and given > 0):
            raise ValueError(f"the reference mean must be a positive number, not {given}")
        return Baseline(-offset, 0, int(present.size), float(given), math.sqrt(given))
    if present.size == 0:
        raise ValueError("CUSUM needs history (or a reference mean) to know the in-control mean")
    m = float(present.mean())
    if m <= 0:
        raise ValueError("the history's mean is 0: give a reference mean above 0 (e.g. 0.1)")
    return Baseline(-offset, 0, int(present.size), m, float(present.std(ddof=1)) if present.size > 1 else 0.0)


@dataclass(frozen=True, slots=True)
class Cusum:
    """Standardised CUSUM; R's defaults k 1.04, h 2.26, m = the history's mean (or `reference_mean`)."""

    k: float = 1.04
    h: float = 2.26
    reference_mean: float | None = None
    reset: bool = False
    baseline: int | None = None  # set: a rolling baseline of this many periods instead of a fixed m
    guard: int = 0
    min_sigma: float = 0.5
    name: ClassVar[str] = "cusum"

    def __post_init__(self) -> None:
        if not (self.k >= 0 and self.h > 0):
            raise ValueError(f"CUSUM needs k >= 0 and h > 0, not k={self.k}, h={self.h}")
        if self.baseline is not None and self.baseline < 3:
            raise ValueError(f"a rolling CUSUM baseline needs at least 3 periods, not {self.baseline}")

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`: S_t against h, and the reference it was standardised by."""
        series = as_series(counts, history)
        offset = len(history)
        monitored = series[offset:]
        if self.baseline is None:
            ref = _reference(series, offset, self.reference_mean)
            x = (monitored - ref.mean) / math.sqrt(ref.mean)
            baselines: list[Baseline | None] = [ref] * len(monitored)
            scale = np.full(len(monitored), math.sqrt(ref.mean))
            centre = np.full(len(monitored), ref.mean)
        else:
            base = rolling(series, self.baseline, self.guard)
            sigma = np.maximum(base.sd, self.min_sigma)[offset:]
            centre = base.mean[offset:]
            x = (monitored - centre) / sigma  # NaN where the baseline is short: the sum waits
            scale = sigma
            baselines = base.baselines(offset)
        sums, before, alarms = _path(x, self.k, self.h, self.reset)
        # The count that would take S to h from where it stood (R's upperbound, before its ceiling).
        bounds = (centre + scale * (self.h + self.k - np.array(before))).tolist()
        rows = zip(monitored.tolist(), sums, alarms, baselines, bounds, strict=True)
        return [Signal(i, count_or_none(y), None, None, False) if value is None else
                Signal(i, y, value, self.h, alarm, b, bound) for i, (y, value, alarm, b, bound) in enumerate(rows)]


@dataclass(frozen=True, slots=True)
class PoissonCusum:
    """Poisson CUSUM on raw counts: in control mu0 (the history's mean or `reference_mean`), rise to mu1.

    `shift` sets mu1 = shift * mu0 (default: a doubling) unless `mu1` is given.
    """

    h: float = 4.0
    reference_mean: float | None = None
    mu1: float | None = None
    shift: float = 2.0
    reset: bool = False
    name: ClassVar[str] = "cusum-poisson"

    def __post_init__(self) -> None:
        if self.h <= 0 or self.shift <= 1:
            raise ValueError(f"Poisson CUSUM needs h > 0 and shift > 1, not h={self.h}, shift={self.shift}")

    def k_for(self, mu0: float) -> float:
        """The reference value k = (mu1 - mu0) / (ln mu1 - ln mu0)."""
        mu1 = self.mu1 if self.mu1 is not None else self.shift * mu0
        if not mu1 > mu0 > 0:
            raise ValueError(f"Poisson CUSUM needs mu1 > mu0 > 0, not mu0={mu0}, mu1={mu1}")
        return (mu1 - mu0) / (math.log(mu1) - math.log(mu0))

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`: S_t against h."""
        series = as_series(counts, history)
        offset = len(history)
        ref = _reference(series, offset, self.reference_mean)
        k = self.k_for(ref.mean)
        monitored = series[offset:]
        sums, before, alarms = _path(monitored, k, self.h, self.reset)
        rows = zip(monitored.tolist(), sums, alarms, before, strict=True)
        return [Signal(i, count_or_none(y), None, None, False) if value is None else
                Signal(i, y, value, self.h, alarm, ref, k + self.h - s) for i, (y, value, alarm, s) in enumerate(rows)]
