"""The window count as a detector: the sum of the last `window` periods, compared by the rule's levels.

The first escalation rule counted raw reports in a sliding window; in a rules file it is one detector kind
among the others (`detector = "window_count"`), with no baseline: the levels are counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rules.detectors.base import Signal, as_series, count_or_none


@dataclass(frozen=True, slots=True)
class WindowCount:
    """Statistic: the counts of this period and the `window - 1` before it (missing periods count 0)."""

    window: int = 1
    threshold: float = 1.0
    name: ClassVar[str] = "window_count"

    def __post_init__(self) -> None:
        if self.window < 1 or not self.threshold > 0:
            raise ValueError(f"window_count needs window >= 1 and threshold > 0, not {self.window}, {self.threshold}")

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`: the window's sum against `threshold`."""
        series = as_series(counts, history)
        filled = np.nan_to_num(series, nan=0.0)
        sums = np.convolve(filled, np.ones(self.window))[: len(series)]
        offset = len(history)
        return [Signal(i, None, None, None, False) if math.isnan(y) else
                Signal(i, count_or_none(y), s, self.threshold, s >= self.threshold, bound=self.threshold)
                for i, (y, s) in enumerate(zip(series[offset:].tolist(), sums[offset:].tolist(), strict=True))]
