"""What every detector returns, the `Detector` protocol, and the rolling baselines they share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


class Baseline(NamedTuple):
    """The periods a statistic was compared against, so an alarm can be explained.

    `start` and `stop` index the monitored counts (stop exclusive); negative indices are periods of the
    history passed before them. `n` is the number of periods with a count (missing ones are left out).
    """

    start: int
    stop: int
    n: int
    mean: float
    sd: float


class Signal(NamedTuple):
    """One monitored period: its statistic against its threshold, whether it alarms, and why.

    `statistic` and `threshold` are None where the baseline is too short or the count is missing (then
    `alarm` is False). `bound` is the count above which the period would alarm, where the method has one.
    `level` is the EWMA's tier (red, yellow, blue, grey); None for the other methods. (Named tuples, not
    dataclasses: a year of daily counts for 47 counties makes 50,000 of them, and a tuple is built fastest.)
    """

    period: int
    observed: float | None  # the period's count; None when missing
    statistic: float | None
    threshold: float | None
    alarm: bool
    baseline: Baseline | None = None
    bound: float | None = None
    level: str | None = None


class Detector(Protocol):
    """A pure detector: counts per period (and the history before them) in, one Signal per period out."""

    name: ClassVar[str]

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`; `history` only feeds baselines and never alarms."""
        ...


def as_series(counts: Sequence[float], history: Sequence[float] = ()) -> Array:
    """History and counts as one float array; NaN (or None) marks a missing period.

    Raises ValueError naming the first negative or infinite count: a count is never below zero.
    """
    series = np.array([math.nan if c is None else c for c in (*history, *counts)], dtype=np.float64)
    bad = np.flatnonzero(np.isinf(series) | (series < 0))
    if bad.size:
        at = int(bad[0]) - len(history)
        where = f"history period {int(bad[0])}" if at < 0 else f"period {at}"
        raise ValueError(f"{where}: count {series[bad[0]]} is not a non-negative number")
    return series


@dataclass(frozen=True, slots=True)
class Rolling:
    """Per period t of a series: mean, sample sd and number of counts over t-guard-size .. t-guard-1."""

    mean: Array
    sd: Array
    n: npt.NDArray[np.int64]
    size: int
    guard: int

    def baselines(self, offset: int) -> list[Baseline | None]:
        """The Baseline of each period from `offset` on (None where too short), indexed from `offset`."""
        size, guard = self.size, self.guard
        rows = zip(self.mean[offset:].tolist(), self.sd[offset:].tolist(), self.n[offset:].tolist(), strict=True)
        return [None if math.isnan(mean) else Baseline(max(i - guard - size, -offset), i - guard, n, mean, sd)
                for i, (mean, sd, n) in enumerate(rows)]


def rolling(series: Array, size: int, guard: int = 0, min_periods: int | None = None) -> Rolling:
    """Rolling baselines of `size` periods ending `guard` periods before each period; NaN where too short.

    Missing periods (NaN) are left out of a window; a window needs `min_periods` counts (default: all of
    `size`) for a mean, and at least two for a standard deviation.
    """
    need = size if min_periods is None else min_periods
    padded = np.concatenate([np.full(size + guard, np.nan), series])
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)[: len(series)]
    present = ~np.isnan(windows)
    n = present.sum(axis=1)
    filled = np.where(present, windows, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=1) / n
        dev = np.where(present, windows - mean[:, None], 0.0)
        sd = np.sqrt((dev * dev).sum(axis=1) / (n - 1))
    short = n < max(need, 1)
    mean[short] = np.nan
    sd[short | (n < 2)] = np.nan
    return Rolling(mean=mean, sd=sd, n=n.astype(np.int64), size=size, guard=guard)


def count_or_none(value: float) -> float | None:
    """A period's count for its Signal: None when it is missing."""
    return None if math.isnan(value) else float(value)


def finite_or_none(value: float) -> float | None:
    """A statistic for its Signal: None for NaN (no statistic), infinities kept (a zero-sd baseline)."""
    return None if math.isnan(value) else float(value)
