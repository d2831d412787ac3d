"""The few distribution functions the detectors need: normal quantiles and Student's t for whole df.

Kept here (not scipy) so `rules/` depends on numpy alone; the t CDF is the closed form for integer
degrees of freedom (Abramowitz and Stegun 26.7.3-4), which is all a baseline of n periods needs.
"""

from __future__ import annotations

import math
from functools import cache
from statistics import NormalDist

import numpy as np

from rules.detectors.base import Array


def z_quantile(alpha: float) -> float:
    """z_{1-alpha}: the standard normal quantile an upper tail of `alpha` starts at."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    return NormalDist().inv_cdf(1 - alpha)


def t_cdf(t: Array, df: int) -> Array:
    """P(T <= t) for Student's t with `df` (a whole number >= 1) degrees of freedom, elementwise."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {df}")
    theta = np.arctan(np.asarray(t, dtype=np.float64) / math.sqrt(df))
    sin, cos2 = np.sin(theta), np.cos(theta) ** 2
    if df % 2:  # odd: 2/pi (theta + sin cos (1 + 2/3 cos^2 + 2.4/3.5 cos^4 + ...))
        total, term = np.zeros_like(theta), np.ones_like(theta)
        if df > 1:
            total = term.copy()
            for j in range(1, (df - 3) // 2 + 1):
                term = term * cos2 * (2 * j) / (2 * j + 1)
                total = total + term
        a = 2 / math.pi * (theta + sin * np.cos(theta) * total)
    else:  # even: sin (1 + 1/2 cos^2 + 1.3/2.4 cos^4 + ...)
        total, term = np.ones_like(theta), np.ones_like(theta)
        for j in range(1, (df - 2) // 2 + 1):
            term = term * cos2 * (2 * j - 1) / (2 * j)
            total = total + term
        a = sin * total
    result: Array = 0.5 + 0.5 * a
    return result


@cache
def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t with `df` degrees of freedom (bisection on t_cdf)."""
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1, not {p}")
    lo, hi = -1e3, 1e3
    for _ in range(100):  # halves 2,000 down to 2e-27: past double precision
        mid = (lo + hi) / 2
        if t_cdf(np.array([mid]), df)[0] < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
