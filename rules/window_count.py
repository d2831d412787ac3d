"""The first, transparent escalation rule: reports in a sliding window against three thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ews.core.models import Level


@dataclass(frozen=True, slots=True)
class WindowCountRule:
    """Count a county's reports over `window`; raise at once, lower only after `hold_down` of calm.

    `unit` is what is counted: "senders" (distinct phones, so one person flooding cannot raise a county
    alone) or "reports" (every report).
    """

    name: str
    window: timedelta
    watch: int
    warning: int
    alert: int
    hold_down: timedelta
    unit: Literal["senders", "reports"] = "senders"

    def __post_init__(self) -> None:
        if not 0 < self.watch <= self.warning <= self.alert:
            raise ValueError(f"rule {self.name}: need 0 < watch <= warning <= alert")
        if self.window <= timedelta(0) or self.hold_down < timedelta(0):
            raise ValueError(f"rule {self.name}: window must be positive and hold_down not negative")
        if self.unit not in ("senders", "reports"):
            raise ValueError(f"rule {self.name}: count must be 'senders' or 'reports', not {self.unit!r}")

    def threshold(self, level: Level) -> int:
        """The count at which `level` starts."""
        return {Level.NORMAL: 0, Level.WATCH: self.watch, Level.WARNING: self.warning,
                Level.ALERT: self.alert}[level]

    def level_for(self, count: int) -> Level:
        """The highest level whose threshold `count` reaches."""
        for level in (Level.ALERT, Level.WARNING, Level.WATCH):
            if count >= self.threshold(level):
                return level
        return Level.NORMAL


@dataclass(frozen=True, slots=True)
class RuleState:
    """Where one (rule, county) stands: its level, since when, and since when it has been calmer."""

    level: Level = Level.NORMAL
    since: datetime | None = None
    calm_since: datetime | None = None


def step(rule: WindowCountRule, state: RuleState, count: int, now: datetime) -> RuleState:
    """The next state given the count in the window at `now` (pure; hysteresis by hold-down time)."""
    target = rule.level_for(count)
    if target > state.level:
        return RuleState(level=target, since=now, calm_since=None)
    if target == state.level:
        return RuleState(level=state.level, since=state.since, calm_since=None)
    # Calmer than the current level: only step down once it has stayed calmer for the whole hold-down,
    # so a county hovering around a threshold does not flap and page committees again and again.
    calm_since = state.calm_since or now
    if now - calm_since >= rule.hold_down:
        return RuleState(level=target, since=now, calm_since=None)
    return RuleState(level=state.level, since=state.since, calm_since=calm_since)


def report_can_move(state: RuleState) -> bool:
    """Whether one more report in the window could change `state` (pure).

    A report only raises the count. At the top level, and not calming down, a higher count changes
    nothing: such a county is left to the scheduled pass, which also notices the window emptying
    as time goes by (as it does for every county that gets no reports at all).
    """
    return state.level != Level.ALERT or state.calm_since is not None
