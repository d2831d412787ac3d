"""Escalation policies (pure), after PagerDuty and Grafana OnCall: ordered tiers, each with receivers and a
timeout. When an alert opens, its policy is frozen (copied) onto the alert's escalation and tier 1 is told;
when nobody acknowledges within the tier's timeout, the next tier is told; after the last tier the policy
starts again from tier 1, `repeat` more times, then stops ("exhausted"). An acknowledgement or the alert's
resolution stops it. An alert whose every delivery to the current tier failed moves on at once, without
waiting for the timeout (nobody was reached, so nobody can answer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from ews.alerting.durations import format_duration, parse_duration

StopReason = Literal["acknowledged", "resolved", "exhausted"]
MAX_REPEAT = 10


@dataclass(frozen=True, slots=True)
class Tier:
    """One step of a policy: who is told, and how long they have to acknowledge."""

    receivers: tuple[str, ...]
    timeout: timedelta


@dataclass(frozen=True, slots=True)
class Policy:
    """An escalation policy: its tiers in order, and how many times it loops after the first pass."""

    name: str
    tiers: tuple[Tier, ...]
    repeat: int = 0
    line: int = 0  # where it is written in the routing file (0: not from a file)

    def to_json(self) -> dict[str, Any]:
        """The policy as frozen onto an escalation (alert_escalations.policy)."""
        return {"name": self.name, "repeat": self.repeat,
                "tiers": [{"receivers": list(t.receivers), "timeout": format_duration(t.timeout)}
                          for t in self.tiers]}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Policy:
        """A policy read back from its frozen copy."""
        return cls(name=str(raw["name"]), repeat=int(raw["repeat"]),
                   tiers=tuple(Tier(tuple(t["receivers"]), parse_duration(t["timeout"])) for t in raw["tiers"]))


@dataclass(frozen=True, slots=True)
class Escalation:
    """Where one alert's escalation stands: its frozen policy, the tier and loop told last, when that tier was
    told, when it next moves, and whether (and why) it stopped."""

    alert_id: int
    policy: Policy
    tier: int
    loop: int
    notified_at: datetime
    next_at: datetime
    stopped_at: datetime | None = None
    stop_reason: StopReason | None = None

    @property
    def receivers(self) -> tuple[str, ...]:
        """The receivers of the current tier."""
        return self.policy.tiers[self.tier].receivers


def start(alert_id: int, policy: Policy, now: datetime) -> tuple[Escalation, tuple[str, ...]]:
    """The escalation of an alert opening now, and the receivers of tier 1 to tell."""
    first = policy.tiers[0]
    return Escalation(alert_id, policy, 0, 0, now, now + first.timeout), first.receivers


def next_step(escalation: Escalation, now: datetime, acked: bool, all_deliveries_failed: bool, *,
              resolved: bool = False) -> tuple[Escalation, tuple[str, ...] | None]:
    """The escalation after `now` and the receivers to tell now (None: nobody). An ack or a resolution stops
    it; a due timeout, or every delivery to the current tier failed, moves to the next tier (or loop)."""
    if escalation.stopped_at is not None:
        return escalation, None
    if acked or resolved:
        return replace(escalation, stopped_at=now, stop_reason="acknowledged" if acked else "resolved"), None
    if now < escalation.next_at and not all_deliveries_failed:
        return escalation, None
    tier, loop = escalation.tier + 1, escalation.loop
    if tier == len(escalation.policy.tiers):
        tier, loop = 0, loop + 1
        if loop > escalation.policy.repeat:
            return replace(escalation, stopped_at=now, stop_reason="exhausted"), None
    step = escalation.policy.tiers[tier]
    return replace(escalation, tier=tier, loop=loop, notified_at=now, next_at=now + step.timeout), step.receivers
