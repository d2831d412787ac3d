"""Pure detectors over counts per period: immediate, surge, EARS C1/C2/C3, CUSUM, EWMA and quiet county.

Each takes the monitored counts and the history before them and returns one `Signal` per period
(statistic, threshold, alarm and the baseline used). No database, network or clock.
"""

from __future__ import annotations

from rules.detectors.base import Baseline, Detector, Signal
from rules.detectors.cusum import Cusum, PoissonCusum
from rules.detectors.ears import EarsC1, EarsC2, EarsC3
from rules.detectors.ewma import Ewma
from rules.detectors.immediate import Candidate, Immediate, ImmediateRule, Trigger, immediate_triggers
from rules.detectors.quiet import QuietCounty
from rules.detectors.surge import Surge

DETECTORS: dict[str, type[Detector]] = {d.name: d for d in (
    EarsC1, EarsC2, EarsC3, Cusum, PoissonCusum, Ewma, Surge, QuietCounty, Immediate)}
"""Every detector by its name (the names `ews detect --method` and rules files use)."""

__all__ = ["DETECTORS", "Baseline", "Candidate", "Cusum", "Detector", "EarsC1", "EarsC2", "EarsC3", "Ewma",
           "Immediate", "ImmediateRule", "PoissonCusum", "QuietCounty", "Signal", "Surge", "Trigger",
           "immediate_triggers"]
