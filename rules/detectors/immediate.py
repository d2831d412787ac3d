"""Immediate alerts (WHO EWARN's "single case"): one report of a critical kind raises at once.

Two forms: `immediate_triggers` looks at reports or incidents one by one and says which qualify and why;
`Immediate` is the same rule as a detector over the count of qualifying reports per period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rules.detectors.base import Signal, as_series, count_or_none

Requirement = Literal["none", "verified", "corroborated"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the rule needs to know of one report or incident."""

    ref: int | str
    incident_type: str | None
    severity: str | None = None
    casualties: int | None = None
    verified: bool = False
    corroborated: bool = False


@dataclass(frozen=True, slots=True)
class ImmediateRule:
    """Which reports raise at once, whatever the baseline.

    `types` always do; `types_with_casualties` when someone was hurt or killed; any report whose severity
    is in `severities` does. `require` can hold them back until an analyst verified the report, or until
    it is corroborated (part of an incident with more than one independent report).
    """

    types: tuple[str, ...] = ("killing",)
    types_with_casualties: tuple[str, ...] = ("armed_attack",)
    severities: tuple[str, ...] = ("critical",)
    require: Requirement = "none"

    def __post_init__(self) -> None:
        if self.require not in ("none", "verified", "corroborated"):
            raise ValueError(f"require must be none, verified or corroborated, not {self.require!r}")

    def reason(self, c: Candidate) -> str | None:
        """Why `c` raises an immediate alert, or None when it does not."""
        if self.require == "verified" and not c.verified:
            return None
        if self.require == "corroborated" and not (c.corroborated or c.verified):
            return None
        if c.incident_type in self.types:
            return f"type {c.incident_type}"
        if c.incident_type in self.types_with_casualties and (c.casualties or 0) > 0:
            return f"{c.incident_type} with {c.casualties} hurt or killed"
        if c.severity in self.severities:
            return f"severity {c.severity}"
        return None


@dataclass(frozen=True, slots=True)
class Trigger:
    """A report that raises an immediate alert, and why (for the alert's explanation)."""

    ref: int | str
    reason: str


def immediate_triggers(rule: ImmediateRule, candidates: Iterable[Candidate]) -> list[Trigger]:
    """The candidates that raise an immediate alert under `rule`, in their order."""
    return [Trigger(c.ref, why) for c in candidates if (why := rule.reason(c)) is not None]


@dataclass(frozen=True, slots=True)
class Immediate:
    """Over counts of qualifying reports per period: alarm as soon as one period has `min_count` of them."""

    min_count: float = 1.0
    name: ClassVar[str] = "immediate"

    def __post_init__(self) -> None:
        if not self.min_count > 0:
            raise ValueError(f"immediate needs min_count > 0, not {self.min_count}")

    def run(self, counts: Sequence[float], history: Sequence[float] = ()) -> list[Signal]:
        """One Signal per period: the count itself against `min_count` (history is not needed)."""
        series = as_series(counts, history)[len(history):]
        return [Signal(i, None, None, None, False) if math.isnan(y) else
                Signal(i, count_or_none(y), y, self.min_count, y >= self.min_count, bound=self.min_count)
                for i, y in enumerate(series.tolist())]
