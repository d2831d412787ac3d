"""Each detector over 47 counties x 3 years of daily counts: seconds per pass, against a plain-Python C1.

The data is made the same way on every run (seeded): each county's daily counts are Poisson around its
own level (0.2 to 8 reports a day, a weekly rhythm), with a few planted surges and a silent week, so every
detector has alarms to raise. Each county's first 28 days are its history; the other 1,067 are scored.
Times are CPU seconds of the bench process (the machine is shared; wall time would count waiting for
a core). The baseline, timed in the same run, is EARS C1 written the obvious way (`statistics.mean`/`stdev` per
window in a Python loop), checked to give the same alarms as ours; the ratio is detector / that baseline.

    .venv/bin/python bench/detectors.py        (also phase 0 of `make bench`)
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, run as a script

from rules.detectors import (
    Cusum,
    Detector,
    EarsC1,
    EarsC2,
    EarsC3,
    Ewma,
    Immediate,
    PoissonCusum,
    QuietCounty,
    Surge,
)

COUNTIES, DAYS, HISTORY_DAYS = 47, 3 * 365, 28
TARGET_S = 0.5  # "well under a second" for all 47 counties
DETECTORS: tuple[tuple[str, Detector], ...] = (
    ("EARS C1", EarsC1()), ("EARS C2", EarsC2()), ("EARS C3 classic", EarsC3()),
    ("EARS C3 R variant", EarsC3(variant="r")), ("CUSUM standardised", Cusum()),
    ("CUSUM rolling baseline (k 0.5, h 4, reset)", Cusum(k=0.5, h=4, baseline=28, reset=True)),
    ("CUSUM Poisson", PoissonCusum()), ("EWMA (ESSENCE)", Ewma()), ("Surge (ACLED)", Surge()),
    ("Quiet county", QuietCounty()), ("Immediate", Immediate()),
)


@dataclass(frozen=True, slots=True)
class Timing:
    """One detector's best pass over every county."""

    name: str
    seconds: float
    alarms: int
    ratio: float  # seconds / the plain-Python C1's seconds

    @property
    def ok(self) -> bool:
        """Within the target."""
        return self.seconds < TARGET_S


@dataclass(frozen=True, slots=True)
class DetectorResult:
    """Every detector's timing and the baseline's."""

    timings: list[Timing]
    baseline_seconds: float
    periods: int

    @property
    def slowest(self) -> Timing:
        """The detector that took longest."""
        return max(self.timings, key=lambda t: t.seconds)

    @property
    def ok(self) -> bool:
        """Every detector within the target."""
        return all(t.ok for t in self.timings)


def series() -> list[list[float]]:
    """The fixed data: 47 counties x 1,095 days."""
    rng = np.random.default_rng(47)
    days = np.arange(DAYS)
    out = []
    for county in range(COUNTIES):
        level = 0.2 + 7.8 * county / (COUNTIES - 1)
        counts = rng.poisson(level * (1 + 0.3 * np.sin(2 * np.pi * days / 7))).astype(float)
        for start in rng.choice(DAYS - 10, 3, replace=False):
            counts[start:start + 4] += rng.poisson(3 * level + 3, 4)
        silent = int(rng.integers(HISTORY_DAYS + 30, DAYS - 10))
        counts[silent:silent + 7] = 0
        out.append(counts.tolist())
    return out


def plain_c1(counts: list[float], history: list[float], baseline: int = 7, z: float = 3.090232306167813) -> list[bool]:
    """EARS C1 without numpy: the obvious loop, as the reference cost."""
    y = history + counts
    alarms = []
    for t in range(len(history), len(y)):
        window = y[t - baseline:t]
        if len(window) < baseline:
            alarms.append(False)
            continue
        alarms.append(y[t] > statistics.mean(window) + z * statistics.stdev(window))
    return alarms


def _best(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    best, result = math.inf, 0
    for _ in range(repeats):
        started = time.process_time()
        result = run()
        best = min(best, time.process_time() - started)
    return best, result


def measure(repeats: int = 5) -> DetectorResult:
    """Time every detector over every county (best of `repeats`), and the plain-Python baseline."""
    data = [(s[HISTORY_DAYS:], s[:HISTORY_DAYS]) for s in series()]
    ours = [[sig.alarm for sig in EarsC1().run(c, h)] for c, h in data]
    if ours != [plain_c1(c, h) for c, h in data]:
        raise AssertionError("EarsC1 and the plain-Python C1 disagree: the baseline would not be comparable")
    base_s, _ = _best(lambda: sum(sum(plain_c1(c, h)) for c, h in data), repeats)
    timings = []
    for name, detector in DETECTORS:
        seconds, alarms = _best(lambda d=detector: sum(s.alarm for c, h in data for s in d.run(c, h)), repeats)
        timings.append(Timing(name, seconds, alarms, seconds / base_s))
    return DetectorResult(timings, base_s, sum(len(c) for c, _ in data))


def section(result: DetectorResult) -> list[str]:
    """The RESULTS.md section."""
    return [
        "## Detectors",
        "",
        f"Each detector of `rules/detectors` over {COUNTIES} counties x {DAYS:,} days of counts "
        f"({result.periods:,} periods scored; the first {HISTORY_DAYS} days of each county are its history), "
        "CPU seconds, best of 5 passes, in the bench process (`bench/detectors.py`). Baseline in the same run: "
        f"EARS C1 written as a plain Python loop with `statistics`, {result.baseline_seconds * 1000:.0f} ms, "
        f"checked to raise the same alarms. Target: under {TARGET_S:g} s each.",
        "",
        "| Detector | CPU seconds, all counties | / plain-Python C1 | Alarms | |",
        "|---|---:|---:|---:|---|",
        *(f"| {t.name} | {t.seconds:.3f} | {t.ratio:.2f}x | {t.alarms:,} | {'PASS' if t.ok else '**FAIL**'} |"
          for t in result.timings),
        "",
    ]


def main() -> int:
    """Print the section; exit 1 when a detector misses the target."""
    result = measure()
    print("\n".join(section(result)))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
