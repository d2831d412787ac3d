"""ACLED's surge rule: this period has at least twice the mean of the four before it (a mean of 1+)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rules.detectors.base import Signal, as_series, count_or_none, rolling


@dataclass(frozen=True, slots=True)
class Surge:
    """Alarm when y_t >= factor * mean(y_{t-window} .. y_{t-1}) and that mean is at least `min_mean`.

    The statistic is y_t / mean (inf when the mean is 0), the threshold `factor`. `min_mean` keeps one
    report after a quiet month from counting as a surge.
    """

    window: int = 4
    factor: float = 2.0
    min_mean: float = 1.0
    name: ClassVar[str] = "surge"

    def __post_init__(self) -> None:
        if self.window < 1 or not self.factor > 0 or not self.min_mean >= 0:
            raise ValueError(f"surge needs window >= 1, factor > 0 and min_mean >= 0, not "
                             f"{self.window}, {self.factor}, {self.min_mean}")

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`: the ratio to the recent mean against `factor`."""
        series = as_series(counts, history)
        base = rolling(series, self.window)
        mean = base.mean
        offset = len(history)
        signals = []
        rows = zip(series[offset:].tolist(), mean[offset:].tolist(), base.baselines(offset), strict=True)
        for i, (y, m, baseline) in enumerate(rows):
            if math.isnan(y) or math.isnan(m):
                signals.append(Signal(i, count_or_none(y), None, None, False))
                continue
            ratio = y / m if m > 0 else (math.inf if y > 0 else 0.0)
            alarm = y >= self.factor * m and m >= self.min_mean
            signals.append(Signal(i, y, ratio, self.factor, alarm, baseline, self.factor * m))
        return signals
