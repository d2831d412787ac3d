"""EARS C1, C2 and C3 (Hutwagner et al. 2003; R `surveillance::earsC`): short-baseline z-scores.

C1 compares a period with the `baseline` periods just before it; C2 leaves a guard of two periods between
them, so an outbreak's first days do not hide in its own baseline; C3 adds up C2's excess over 1 across
three periods. `min_sigma` stands in for a zero or tiny sd (sparse county counts: 0.5 to 1).
`min_baseline` (default: all of `baseline`, as R) lets a baseline with missing periods still count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from rules.detectors.base import Array, Rolling, Signal, as_series, count_or_none, finite_or_none, rolling
from rules.detectors.stats import z_quantile


def _check(baseline: int, min_sigma: float, alpha: float, min_baseline: int | None) -> None:
    if baseline < 3:
        raise ValueError(f"EARS needs a baseline of at least 3 periods, not {baseline}")
    if min_baseline is not None and not 2 <= min_baseline <= baseline:
        raise ValueError(f"EARS needs 2 <= min_baseline <= baseline, not {min_baseline}")
    if min_sigma < 0 or not math.isfinite(min_sigma):
        raise ValueError(f"min_sigma must be 0 or more, not {min_sigma}")
    z_quantile(alpha)  # raises on an alpha outside (0, 1)


def _zscores(series: Array, base: Rolling, min_sigma: float) -> tuple[Array, Array]:
    """(y - mean) / max(sd, min_sigma), and that divisor; a zero divisor gives +-inf, or 0 when y == mean."""
    sigma = np.maximum(base.sd, min_sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (series - base.mean) / sigma
    z[(series == base.mean) & (sigma == 0)] = 0.0
    return z, sigma


def _shift(values: Array, by: int) -> Array:
    """values moved `by` periods later, NaN in front: lag `by`."""
    out = np.full_like(values, np.nan)
    if len(values) > by:
        out[by:] = values[:-by]
    return out


@dataclass(frozen=True, slots=True)
class _Shewhart:
    """C1 (guard 0) and C2 (guard 2): alarm when y > mean + z_{1-alpha} * max(sd, min_sigma)."""

    baseline: int = 7
    alpha: float = 0.001
    min_sigma: float = 0.0
    min_baseline: int | None = None
    guard: ClassVar[int] = 0

    def __post_init__(self) -> None:
        _check(self.baseline, self.min_sigma, self.alpha, self.min_baseline)

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`: the z-score, z_{1-alpha} and the baseline's mean and sd."""
        series = as_series(counts, history)
        base = rolling(series, self.baseline, self.guard, self.min_baseline)
        z, sigma = _zscores(series, base, self.min_sigma)
        threshold = z_quantile(self.alpha)
        # The bound in counts, as R computes it, so the alarm is R's comparison and not a rounded z.
        bound = base.mean + threshold * sigma
        offset = len(history)
        alarm = (series > bound).tolist()
        rows = zip(series[offset:].tolist(), z[offset:].tolist(), bound[offset:].tolist(), alarm[offset:],
                   base.baselines(offset), strict=True)
        return [Signal(i, count_or_none(y), None, None, False) if math.isnan(zt) else
                Signal(i, y, zt, threshold, a, b, ub) for i, (y, zt, ub, a, b) in enumerate(rows)]


@dataclass(frozen=True, slots=True)
class EarsC1(_Shewhart):
    """EARS C1: the period against the `baseline` periods just before it."""

    name: ClassVar[str] = "ears-c1"
    guard: ClassVar[int] = 0


@dataclass(frozen=True, slots=True)
class EarsC2(_Shewhart):
    """EARS C2: like C1 with two guard periods between the baseline and the period."""

    name: ClassVar[str] = "ears-c2"
    guard: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class EarsC3:
    """EARS C3: sum over t-2..t of max(0, C2 - 1), against z_{1-alpha}.

    variant "classic" is Hutwagner's C3 (today's C2 counts). variant "r" is R `surveillance`'s: its bound
    y_t + max(sd, min_sigma) * (z - p1 - p2), floored at 0, with p1, p2 the excesses at t-1 and t-2, so
    today's count does not change the decision (kept for parity with R; its statistic is p1 + p2).
    """

    baseline: int = 7
    alpha: float = 0.001
    min_sigma: float = 0.0
    variant: Literal["classic", "r"] = "classic"
    min_baseline: int | None = None
    name: ClassVar[str] = "ears-c3"

    def __post_init__(self) -> None:
        _check(self.baseline, self.min_sigma, self.alpha, self.min_baseline)
        if self.variant not in ("classic", "r"):
            raise ValueError(f"C3 variant must be 'classic' or 'r', not {self.variant!r}")

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period of `counts`: C3 (or R's p1 + p2), z_{1-alpha} and C2's baseline."""
        series = as_series(counts, history)
        base = rolling(series, self.baseline, 2, self.min_baseline)
        threshold = z_quantile(self.alpha)
        sigma = np.maximum(base.sd, self.min_sigma)
        if self.variant == "r":
            # R's arithmetic exactly: 0/0 is NaN (no alarm), y/0 is +inf.
            with np.errstate(invalid="ignore", divide="ignore"):
                c2 = (series - base.mean) / sigma
        else:
            c2, _ = _zscores(series, base, self.min_sigma)
        excess = np.maximum(0.0, c2 - 1)  # NaN stays NaN: no C2, no C3
        lag1, lag2 = _shift(excess, 1), _shift(excess, 2)
        with np.errstate(invalid="ignore"):
            if self.variant == "r":
                stat = lag1 + lag2
                stat[np.isnan(sigma)] = np.nan  # R's bound needs today's C2 baseline too
                bound = np.maximum(0.0, series + sigma * (threshold - stat))  # NaN stays NaN: no alarm
                alarm = series > bound
            else:
                stat = excess + lag1 + lag2
                bound = np.full_like(series, np.nan)
                alarm = stat > threshold
        offset = len(history)
        rows = zip(series[offset:].tolist(), stat[offset:].tolist(), bound[offset:].tolist(), alarm[offset:].tolist(),
                   base.baselines(offset), strict=True)
        return [Signal(i, count_or_none(y), None, None, False) if math.isnan(c3) or math.isnan(y) else
                Signal(i, y, c3, threshold, a, b, finite_or_none(ub)) for i, (y, c3, ub, a, b) in enumerate(rows)]
