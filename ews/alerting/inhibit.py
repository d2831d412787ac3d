"""Inhibition (pure), Alertmanager's inhibit_rules: an alert matching a rule's target matchers is muted
while another alert matching its source matchers, with equal values of the rule's `equal` labels, is
firing. Built in: an ALERT in a county mutes that county's WARNING and WATCH.

One refinement over Alertmanager, for people on phones: a target is muted only for the receivers the
source alert itself reaches (the caller passes, per receiver, the alerts routed to it). The gender desk,
which never hears of a county's violence ALERT, still hears of its sgbv WARNING."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ews.alerting.routes import InhibitRule


@dataclass(frozen=True, slots=True)
class Firing:
    """An alert that may inhibit others: its id and labels."""

    id: int
    labels: Mapping[str, str]


def inhibited_by(labels: Mapping[str, str], alert_id: int, sources: Iterable[Firing],
                 rules: Iterable[InhibitRule]) -> Firing | None:
    """The firing alert that mutes alert `alert_id` (with `labels`) under one of `rules`, or None. An alert
    never inhibits itself."""
    candidates = [s for s in sources if s.id != alert_id]
    for rule in rules:
        if not all(m.matches(labels) for m in rule.target):
            continue
        for source in candidates:
            if all(m.matches(source.labels) for m in rule.source) and \
                    all(source.labels.get(e, "") == labels.get(e, "") for e in rule.equal):
                return source
    return None
