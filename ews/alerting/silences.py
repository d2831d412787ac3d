"""Silences (pure), with Alertmanager's semantics: a silence mutes every alert all of whose labels its
matchers match, from starts_at (inclusive) to ends_at (exclusive). Silences are never deleted, only expired:
expiring sets ends_at to that moment, so the record of who muted what, and why, stays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ews.alerting.routes import Matcher, parse_matcher
from ews.alerting.routes_file import label_matcher

State = Literal["pending", "active", "expired"]


@dataclass(frozen=True, slots=True)
class Silence:
    """One silence: what it matches, when it mutes, who made it and why (and who expired it, if anyone)."""

    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    author: str
    reason: str
    created_at: datetime
    expired_by: str | None = None
    expired_at: datetime | None = None

    def state(self, now: datetime) -> State:
        """pending before starts_at, active until ends_at, expired from then on."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether this silence mutes an alert with `labels` at `now`."""
        return self.state(now) == "active" and all(m.matches(labels) for m in self.matchers)


def silenced_by(labels: Mapping[str, str], silences: Iterable[Silence], now: datetime) -> Silence | None:
    """The first silence (lowest id) muting an alert with `labels` at `now`, or None."""
    return next((s for s in sorted(silences, key=lambda s: s.id) if s.mutes(labels, now)), None)


def is_silenced(labels: Mapping[str, str], silences: Iterable[Silence], now: datetime) -> bool:
    """Whether any silence mutes an alert with `labels` at `now`."""
    return silenced_by(labels, silences, now) is not None


def parse_matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    """Matchers for a silence, checked as the routing file checks them (county names accepted and stored as
    codes); ValueError naming what is wrong. A silence needs at least one matcher (none would mute all)."""
    if not texts:
        raise ValueError("a silence needs at least one matcher, e.g. county=Kisumu")
    return tuple(label_matcher(text) for text in texts)


def matchers_json(matchers: Iterable[Matcher]) -> list[dict[str, str]]:
    """The matchers as stored (silences.matchers)."""
    return [{"label": m.label, "op": m.op, "value": m.value} for m in matchers]


def matchers_from_json(raw: Iterable[Mapping[str, Any]]) -> tuple[Matcher, ...]:
    """Matchers read back from their stored form (not checked again: they were checked when stored)."""
    return tuple(parse_matcher(f"{m['label']} {m['op']} {m['value']}") for m in raw)


class SilenceEnded(ValueError):
    """The silence has already ended: there is nothing to expire."""


def expired(silence: Silence, *, by: str, now: datetime) -> Silence:
    """The silence expired at `now` by `by` (a pending one never starts); SilenceEnded if it already ended."""
    if silence.state(now) == "expired":
        raise SilenceEnded(f"silence {silence.id} has already ended at {silence.ends_at.isoformat()}")
    starts = min(silence.starts_at, now)
    return Silence(silence.id, silence.matchers, starts, now, silence.author, silence.reason, silence.created_at,
                   by, now)
