"""The routing tree (pure): which receivers an alert goes to, from its labels.

Semantics are Prometheus Alertmanager's route tree (dispatch/route.go, `Route.Match`): an alert enters at
the root; a node matches when all its matchers do; its children are tried in order, depth first, and the
first child that matches ends the search at that level unless it says `continue`; a node none of whose
children match is itself the match. A node without a receiver uses its parent's. Regexes are anchored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from ews.alerting.escalation import Policy

# The labels an alert carries (values are strings: county is the code "1".."47", level WATCH/WARNING/ALERT,
# group an incident-type group, sensitive "true"/"false").
LABELS = ("county", "level", "rule", "group", "sensitive")
OPERATORS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on a label: `=` and `!=` compare, `=~` and `!~` match a whole-value regex."""

    label: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfy this matcher (a missing label reads as the empty string)."""
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.label} {self.op} {self.value}"


@dataclass(frozen=True, slots=True)
class Receiver:
    """A group of responders, chosen by role and county, reached on one channel."""

    name: str
    channel: str  # sms | email | webhook
    roles: tuple[str, ...] = ()  # empty: every role
    county: str = "alert"  # "alert": the alert's own county; "national": responders of no county; or a code


@dataclass(frozen=True, slots=True)
class Route:
    """One node of the tree: matchers, the receiver (None: the parent's), children, and `continue`."""

    matchers: tuple[Matcher, ...] = ()
    receiver: str | None = None
    routes: tuple[Route, ...] = ()
    continue_: bool = False
    line: int = 0  # where it starts in the file, for messages
    # Grouping and escalation; None: the parent's (the root's None: the defaults in `Timing`).
    group_by: tuple[str, ...] | None = None
    group_wait: timedelta | None = None
    group_interval: timedelta | None = None
    repeat_interval: timedelta | None = None
    policy: str | None = None

    def match(self, labels: Mapping[str, str], inherited: str | None = None) -> list[str]:
        """The receivers of the nodes that match, in tree order (Alertmanager's Route.Match)."""
        if not all(m.matches(labels) for m in self.matchers):
            return []
        receiver = self.receiver or inherited
        found: list[str] = []
        for child in self.routes:
            matched = child.match(labels, receiver)
            found += matched
            if matched and not child.continue_:
                break
        if not found and receiver is not None:
            found.append(receiver)
        return found


@dataclass(frozen=True, slots=True)
class Timing:
    """How a route groups its alerts (Alertmanager's defaults, grouped per county): wait `group_wait` before
    a new group's first message, `group_interval` between messages about a changed group, `repeat_interval`
    before saying an unchanged group again."""

    group_by: tuple[str, ...] = ("county",)
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class Match:
    """One receiver an alert goes to, with the grouping and the escalation policy of the route that sent it."""

    receiver: str
    timing: Timing
    policy: str | None
    line: int


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Alertmanager's inhibit_rules: an alert matching `target` is muted while one matching `source`, with
    the same values of the `equal` labels, is firing."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ("county",)
    line: int = 0  # 0: built in


def _m(label: str, op: str, value: str) -> Matcher:
    return Matcher(label, op, value, re.compile(value) if op in ("=~", "!~") else None)


# Built in, always on: an ALERT in a county mutes that county's WARNING and WATCH (for the receivers the
# ALERT itself reaches, see ews/alerting/inhibit.py).
DEFAULT_INHIBIT = InhibitRule(source=(_m("level", "=", "ALERT"),), target=(_m("level", "=~", "WATCH|WARNING"),),
                              equal=("county",))


@dataclass(frozen=True, slots=True)
class RoutingTree:
    """A checked routing file: the root route, the receivers it names, inhibit rules and escalation policies."""

    root: Route
    receivers: Mapping[str, Receiver]
    inhibit: tuple[InhibitRule, ...] = (DEFAULT_INHIBIT,)
    policies: Mapping[str, Policy] = field(default_factory=dict)


def matches(tree: RoutingTree, labels: Mapping[str, str]) -> list[Match]:
    """The receivers an alert goes to, each once (its first route wins), with their timing and policy."""
    found: dict[str, Match] = {}
    for match in _matches(tree.root, labels, None, Timing(), None):
        found.setdefault(match.receiver, match)
    return list(found.values())


def _matches(node: Route, labels: Mapping[str, str], receiver: str | None, parent: Timing,
             policy: str | None) -> list[Match]:
    """Route.match, carrying each node's settings down to its children (Alertmanager's inheritance)."""
    if not all(m.matches(labels) for m in node.matchers):
        return []
    receiver = node.receiver or receiver
    timing = Timing(group_by=parent.group_by if node.group_by is None else node.group_by,
                    group_wait=parent.group_wait if node.group_wait is None else node.group_wait,
                    group_interval=parent.group_interval if node.group_interval is None else node.group_interval,
                    repeat_interval=parent.repeat_interval if node.repeat_interval is None else node.repeat_interval)
    policy = node.policy or policy
    found: list[Match] = []
    for child in node.routes:
        matched = _matches(child, labels, receiver, timing, policy)
        found += matched
        if matched and not child.continue_:
            break
    if not found and receiver is not None:
        found.append(Match(receiver, timing, policy, node.line))
    return found


def route(tree: RoutingTree, labels: Mapping[str, str]) -> list[str]:
    """The names of the receivers an alert with `labels` goes to, in order, each once."""
    return list(dict.fromkeys(tree.root.match(labels)))


_MATCHER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*")


def parse_matcher(text: str) -> Matcher:
    """A matcher from `label op value` ("level =~ WARNING|ALERT"); ValueError saying what is wrong."""
    found = _MATCHER.fullmatch(text)
    if found is None:
        raise ValueError(f"matcher {text!r} is not `label op value` with op one of =, !=, =~, !~")
    label, op, value = found.group(1), found.group(2), found.group(3)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    pattern = None
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"matcher {text!r}: bad regex ({exc})") from None
    return Matcher(label, op, value, pattern)


def walk(node: Route) -> Sequence[Route]:
    """Every node of the tree, depth first (the order they are written in a file)."""
    nodes = [node]
    for child in node.routes:
        nodes += walk(child)
    return nodes
