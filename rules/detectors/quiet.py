"""Quiet county: a normally active county or channel goes silent (a network shutdown, or intimidation).

Silence is judged against the county's own past: p0 is the share of periods with no report in the
`baseline` periods before the silent run began (with one added to each side, so no silence is ever called
impossible); a run of L empty periods happens by chance with probability about p0^L. Alarm when that is
below `alpha` and the county averaged at least `min_mean` reports a period, so a county that rarely
reports never raises it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rules.detectors.base import Baseline, Signal, as_series


@dataclass(frozen=True, slots=True)
class QuietCounty:
    """Statistic: the periods silent so far; threshold: the run length whose chance falls below alpha."""

    baseline: int = 28
    min_baseline: int = 14
    alpha: float = 0.001
    min_mean: float = 1.0
    name: ClassVar[str] = "quiet"

    def __post_init__(self) -> None:
        if not 2 <= self.min_baseline <= self.baseline:
            raise ValueError(f"quiet needs 2 <= min_baseline <= baseline, not {self.min_baseline}, {self.baseline}")
        if not 0 < self.alpha < 1 or not self.min_mean > 0:
            raise ValueError(f"quiet needs 0 < alpha < 1 and min_mean > 0, not {self.alpha}, {self.min_mean}")

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`: how long the county has been silent, against the limit."""
        series = as_series(counts, history)
        present = ~np.isnan(series)
        # Prefix sums over present periods, so each run's baseline costs O(1) wherever the run began.
        n_sum = np.concatenate([[0], np.cumsum(present)])
        zero_sum = np.concatenate([[0], np.cumsum(present & (series == 0))])
        total = np.concatenate([[0.0], np.cumsum(np.where(present, series, 0.0))])
        squares = np.concatenate([[0.0], np.cumsum(np.where(present, series * series, 0.0))])
        offset = len(history)
        run, run_start, signals = 0, 0, []
        for t in range(len(series)):
            y = float(series[t])
            if math.isnan(y):
                if t >= offset:  # missing is not silence: the run neither grows nor ends
                    signals.append(Signal(t - offset, None, None, None, False))
                continue
            if y > 0:
                run = 0
            else:
                if run == 0:
                    run_start = t
                run += 1
            if t < offset:
                continue
            start, stop = max(0, (run_start if run else t) - self.baseline), run_start if run else t
            n = int(n_sum[stop] - n_sum[start])
            if n < self.min_baseline:
                signals.append(Signal(t - offset, y, None, None, False))
                continue
            mean = float(total[stop] - total[start]) / n
            var = max(0.0, (float(squares[stop] - squares[start]) - n * mean * mean) / (n - 1))
            baseline = Baseline(start - offset, stop - offset, n, mean, math.sqrt(var))
            p0 = (float(zero_sum[stop] - zero_sum[start]) + 1) / (n + 2)
            limit = math.log(self.alpha) / math.log(p0)
            signals.append(Signal(t - offset, y, float(run), limit,
                                  bool(run > limit and mean >= self.min_mean), baseline))
        return signals
