"""Read a routing file (TOML) into a RoutingTree, reporting every problem with its line and a hint (pure).

    [[receiver]]                      # who, reached how
    name = "county-csic"
    roles = ["csic"]                  # empty or left out: every role
    county = "alert"                  # the alert's county (default), "national", or a county name/code
    channel = "sms"                   # sms | email | webhook

    [route]                           # the root: every alert enters here; needs a receiver, no matchers
    receiver = "analysts"

    [[route.routes]]                  # children, tried in order; the first match wins unless continue
    matchers = ["group = sgbv"]       # label op value, op one of = != =~ !~ (regexes are anchored)
    receiver = "gender-desk"

    group_by = ["county"]             # grouping, on any route, inherited by its children (these are the
    group_wait = "30s"                # defaults): wait before a new group's first message ("0s": at once),
    group_interval = "5m"             # between messages about a changed group,
    repeat_interval = "4h"            # before an unchanged group is said again
    policy = "county-escalation"      # the escalation policy of alerts this route sends (inherited)

    [[inhibit]]                       # more inhibit rules (ALERT mutes WATCH/WARNING per county is built in)
    source = ["group = violence", "level = ALERT"]
    target = ["group = tension"]
    equal = ["county"]

    [[policy]]                        # an escalation policy: tiers in order, the whole `repeat` more times
    name = "county-escalation"
    repeat = 1
    [[policy.tier]]
    receivers = ["county-csic"]
    timeout = "15m"                   # nobody acknowledges within this: the next tier

TOML has no positions for values, so lines come from the headers: routes are numbered in the order their
`[route]` / `[[route.routes...]]` headers are written (which TOML makes the tree's depth-first order) and a
key's line is the one that sets it under that header.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ews.alerting.directory import ROLES
from ews.alerting.durations import parse_duration
from ews.alerting.escalation import MAX_REPEAT, Policy, Tier
from ews.alerting.routes import (
    DEFAULT_INHIBIT,
    LABELS,
    InhibitRule,
    Matcher,
    Receiver,
    Route,
    RoutingTree,
    parse_matcher,
    walk,
)
from ews.core.models import Level
from rules.gazetteer import county_by_code, county_by_name
from rules.vocabulary import RULE_GROUPS

CHANNELS = ("sms", "email", "webhook")
ROUTE_KEYS = ("matchers", "receiver", "continue", "routes", "group_by", "group_wait", "group_interval",
              "repeat_interval", "policy")
RECEIVER_KEYS = ("name", "roles", "county", "channel")
TOP_KEYS = ("receiver", "route", "inhibit", "policy")
INHIBIT_KEYS = ("source", "target", "equal")
POLICY_KEYS = ("name", "repeat", "tier")
TIER_KEYS = ("receivers", "timeout")
MIN_REPEAT_INTERVAL = parse_duration("1m")
# The values a label can take, where they are a closed set (county is checked through the gazetteer).
VALUES: dict[str, tuple[str, ...]] = {"level": tuple(level.name for level in Level), "group": RULE_GROUPS,
                                      "sensitive": ("true", "false")}
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_AT_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a routing file: where, what, and how to fix it."""

    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")


class RoutesFileError(ValueError):
    """A routing file has problems; `problems` lists every one."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


def parse_routes(text: str) -> RoutingTree:
    """The routing tree in `text`; RoutesFileError listing every problem."""
    tree, problems = _read(text)
    if problems or tree is None:
        raise RoutesFileError(problems)
    return tree


def check_routes(text: str) -> list[Problem]:
    """Every problem in a routing file (empty: it is fine), in line order."""
    return _read(text)[1]


def unused_receivers(tree: RoutingTree) -> list[str]:
    """Receivers no route or policy names (not an error: they may be kept for later)."""
    named = {node.receiver for node in walk(tree.root)}
    named |= {name for policy in tree.policies.values() for tier in policy.tiers for name in tier.receivers}
    return [name for name in tree.receivers if name not in named]


def _similar(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


@dataclass
class _Lines:
    """Where each route and receiver header is, and where keys under a header are set."""

    lines: list[str]
    routes: list[int] = field(default_factory=list)
    receivers: list[int] = field(default_factory=list)
    inhibits: list[int] = field(default_factory=list)
    policies: list[int] = field(default_factory=list)
    tiers: list[list[int]] = field(default_factory=list)  # per policy, its [[policy.tier]] headers
    headers: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> _Lines:
        found = cls(text.splitlines())
        for number, line in enumerate(found.lines, start=1):
            header = _HEADER.match(line)
            if header is None:
                continue
            found.headers.append(number)
            name = re.sub(r"\s+", "", header.group(2))
            if name == "route" or re.fullmatch(r"route(\.routes)+", name):
                found.routes.append(number)
            elif name == "receiver":
                found.receivers.append(number)
            elif name == "inhibit":
                found.inhibits.append(number)
            elif name == "policy":
                found.policies.append(number)
                found.tiers.append([])
            elif name == "policy.tier" and found.tiers:
                found.tiers[-1].append(number)
        return found

    def key(self, header: int, key: str) -> int:
        """The line under `header` that sets `key` (the header's own line if none does)."""
        end = next((h for h in self.headers if h > header), len(self.lines) + 1)
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        return next((n for n in range(header + 1, end) if pattern.match(self.lines[n - 1])), header)


def _read(text: str) -> tuple[RoutingTree | None, list[Problem]]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = _AT_LINE.search(str(exc))
        return None, [Problem(int(at.group(1)) if at else 1, f"not valid TOML: {exc}",
                              "check quotes, brackets and `key = value` pairs on that line")]
    lines = _Lines.of(text)
    problems: list[Problem] = []
    for key in document:
        if key not in TOP_KEYS:
            problems.append(Problem(1, f"unknown top-level key {key!r}", _similar(key, TOP_KEYS) or
                                    "a file has [[receiver]], [route], and may have [[inhibit]] and [[policy]]"))
    receivers = _receivers(document.get("receiver", []), lines, problems)
    inhibit = _inhibits(document.get("inhibit", []), lines, problems)
    policies = _policies(document.get("policy", []), lines, problems, receivers)
    raw_root = document.get("route")
    if not isinstance(raw_root, dict):
        problems.append(Problem(1, "no [route] table", "add [route] with the receiver for alerts no child matches"))
        return None, sorted(problems, key=lambda p: p.line)
    root = _route(raw_root, lines, [], problems, receivers, policies)
    if len(list(walk(root))) != len(lines.routes):
        problems.append(Problem(lines.routes[0] if lines.routes else 1,
                                "routes written inline (routes = [...]) cannot be given lines",
                                "write each child as its own [[route.routes]] table"))
    first = lines.routes[0] if lines.routes else 1
    if root.receiver is None and "receiver" not in raw_root:  # a wrong name is reported already
        problems.append(Problem(first, "the root route has no receiver",
                                "alerts that match no child go to the root's receiver; set receiver = ..."))
    if root.matchers:
        problems.append(Problem(lines.key(first, "matchers"), "the root route has matchers",
                                "every alert enters at the root; put the matchers on a [[route.routes]] child"))
    if root.continue_:
        problems.append(Problem(lines.key(first, "continue"), "the root route has continue",
                                "continue belongs on children: it lets later siblings match too"))
    if problems:
        return None, sorted(problems, key=lambda p: p.line)
    return RoutingTree(root=root, receivers=receivers, inhibit=(DEFAULT_INHIBIT, *inhibit), policies=policies), []


def _receivers(raw: Any, lines: _Lines, problems: list[Problem]) -> dict[str, Receiver]:
    found: dict[str, Receiver] = {}
    if not isinstance(raw, list):
        problems.append(Problem(1, "receiver must be an array of tables", "write each as [[receiver]]"))
        return found
    for index, entry in enumerate(raw):
        line = lines.receivers[index] if index < len(lines.receivers) else 1
        if not isinstance(entry, dict):
            problems.append(Problem(line, "a receiver must be a table", "write it as [[receiver]]"))
            continue
        for key in entry:
            if key not in RECEIVER_KEYS:
                problems.append(Problem(lines.key(line, key), f"receiver: unknown key {key!r}",
                                        _similar(key, RECEIVER_KEYS) or f"keys are {', '.join(RECEIVER_KEYS)}"))
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(line, "receiver has no name", 'add name = "county-csic"'))
            continue
        name = name.strip()
        if name in found:
            problems.append(Problem(lines.key(line, "name"), f"receiver {name!r} is defined twice",
                                    "give each receiver its own name"))
        channel = entry.get("channel")
        if channel not in CHANNELS:
            problems.append(Problem(lines.key(line, "channel"), f"receiver {name!r}: channel {channel!r} unknown",
                                    f"one of {', '.join(CHANNELS)}"))
        roles = entry.get("roles", [])
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            problems.append(Problem(lines.key(line, "roles"), f"receiver {name!r}: roles must be a list of names",
                                    f'e.g. roles = ["csic"]; roles are {", ".join(ROLES)}'))
            roles = []
        for role in roles:
            if role not in ROLES:
                problems.append(Problem(lines.key(line, "roles"), f"receiver {name!r}: unknown role {role!r}",
                                        _similar(role, ROLES) or f"roles are {', '.join(ROLES)}"))
        county = _receiver_county(entry.get("county", "alert"))
        if county is None:
            problems.append(Problem(lines.key(line, "county"), f"receiver {name!r}: unknown county "
                                    f"{entry.get('county')!r}", '"alert" (the alert\'s county), "national", '
                                    "or a county name or code 1-47"))
        found[name] = Receiver(name=name, channel=str(channel), roles=tuple(roles), county=county or "alert")
    return found


def _receiver_county(raw: Any) -> str | None:
    text = str(raw).strip()
    if text.lower() in ("alert", "national"):
        return text.lower()
    code = county_code(text)
    return str(code) if code is not None else None


def county_code(text: str) -> int | None:
    """The code of a county written as a name or a code 1-47; None if it is neither."""
    if text.isdigit():
        try:
            return county_by_code(int(text)).code
        except KeyError:
            return None
    county = county_by_name(text)
    return county.code if county else None


def _route(raw: Mapping[str, Any], lines: _Lines, seen: list[int], problems: list[Problem],
           receivers: Mapping[str, Receiver], policies: Mapping[str, Policy]) -> Route:
    index = len(seen)  # routes are met in the order their headers are written
    line = lines.routes[index] if index < len(lines.routes) else 1
    seen.append(line)
    path = "the root route" if index == 0 else f"route at line {line}"
    for key in raw:
        if key not in ROUTE_KEYS:
            problems.append(Problem(lines.key(line, key), f"{path}: unknown key {key!r}",
                                    _similar(key, ROUTE_KEYS) or f"keys are {', '.join(ROUTE_KEYS)}"))
    matchers = _matchers(raw.get("matchers", []), lines.key(line, "matchers"), path, problems)
    receiver = raw.get("receiver")
    if receiver is not None and (not isinstance(receiver, str) or receiver not in receivers):
        problems.append(Problem(lines.key(line, "receiver"), f"{path}: receiver {receiver!r} is not defined",
                                _similar(str(receiver), receivers) or
                                f"define it as a [[receiver]]; defined: {', '.join(receivers) or 'none'}"))
        receiver = None
    continue_ = raw.get("continue", False)
    if not isinstance(continue_, bool):
        problems.append(Problem(lines.key(line, "continue"), f"{path}: continue must be true or false",
                                "continue = true lets later siblings match too"))
        continue_ = False
    children_raw = raw.get("routes", [])
    children: list[Route] = []
    if not isinstance(children_raw, list):
        problems.append(Problem(line, f"{path}: routes must be an array of tables", "write [[route.routes]]"))
    else:
        for number, child in enumerate(children_raw, start=1):
            if isinstance(child, dict):
                children.append(_route(child, lines, seen, problems, receivers, policies))
            else:
                problems.append(Problem(line, f"{path}: child {number} is not a table", "write [[route.routes]]"))
    group_by = _labels(raw.get("group_by"), lines.key(line, "group_by"), f"{path}: group_by", problems)
    wait, interval, repeat = (_duration(raw.get(key), lines.key(line, key), f"{path}: {key}", problems)
                              for key in ("group_wait", "group_interval", "repeat_interval"))
    if repeat is not None and repeat < MIN_REPEAT_INTERVAL:
        problems.append(Problem(lines.key(line, "repeat_interval"), f"{path}: repeat_interval under 1m",
                                "an unchanged group is said again after this; e.g. 4h"))
        repeat = None
    policy = raw.get("policy")
    if policy is not None and (not isinstance(policy, str) or policy not in policies):
        problems.append(Problem(lines.key(line, "policy"), f"{path}: policy {policy!r} is not defined",
                                _similar(str(policy), policies) or
                                f"define it as a [[policy]]; defined: {', '.join(policies) or 'none'}"))
        policy = None
    return Route(matchers=tuple(matchers), receiver=receiver, routes=tuple(children), continue_=continue_,
                 line=line, group_by=group_by, group_wait=wait, group_interval=interval, repeat_interval=repeat,
                 policy=policy)


def _labels(raw: Any, line: int, what: str, problems: list[Problem]) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        problems.append(Problem(line, f"{what} must be a list of labels", 'e.g. ["county"]'))
        return None
    for label in raw:
        if label not in LABELS:
            problems.append(Problem(line, f"{what}: unknown label {label!r}",
                                    _similar(label, LABELS) or f"labels are {', '.join(LABELS)}"))
    return tuple(dict.fromkeys(label for label in raw if label in LABELS))


def _duration(raw: Any, line: int, what: str, problems: list[Problem]) -> timedelta | None:
    if raw is None:
        return None
    try:
        return parse_duration(raw if isinstance(raw, str) else "")
    except ValueError:
        problems.append(Problem(line, f"{what}: {raw!r} is not a duration", 'e.g. "0s", "30s", "5m", "4h", "1d"'))
        return None


def _tables(raw: Any, name: str, problems: list[Problem]) -> list[Any]:
    if isinstance(raw, list):
        return raw
    problems.append(Problem(1, f"{name} must be an array of tables", f"write each as [[{name}]]"))
    return []


def _inhibits(raw: Any, lines: _Lines, problems: list[Problem]) -> list[InhibitRule]:
    found = []
    for index, entry in enumerate(_tables(raw, "inhibit", problems)):
        line = lines.inhibits[index] if index < len(lines.inhibits) else 1
        if not isinstance(entry, dict):
            problems.append(Problem(line, "an inhibit rule must be a table", "write it as [[inhibit]]"))
            continue
        what = f"inhibit rule at line {line}"
        for key in entry:
            if key not in INHIBIT_KEYS:
                problems.append(Problem(lines.key(line, key), f"{what}: unknown key {key!r}",
                                        _similar(key, INHIBIT_KEYS) or f"keys are {', '.join(INHIBIT_KEYS)}"))
        sides = []
        for side in ("source", "target"):
            if not entry.get(side):
                problems.append(Problem(line, f"{what}: no {side} matchers",
                                        f'e.g. {side} = ["level = {"ALERT" if side == "source" else "WATCH"}"]'))
            sides.append(_matchers(entry.get(side, []), lines.key(line, side), f"{what}: {side}", problems))
        equal = _labels(entry.get("equal", ["county"]), lines.key(line, "equal"), f"{what}: equal", problems)
        found.append(InhibitRule(source=tuple(sides[0]), target=tuple(sides[1]), equal=equal or (), line=line))
    return found


def _policies(raw: Any, lines: _Lines, problems: list[Problem],
              receivers: Mapping[str, Receiver]) -> dict[str, Policy]:
    found: dict[str, Policy] = {}
    for index, entry in enumerate(_tables(raw, "policy", problems)):
        line = lines.policies[index] if index < len(lines.policies) else 1
        tier_lines = lines.tiers[index] if index < len(lines.tiers) else []
        if not isinstance(entry, dict):
            problems.append(Problem(line, "a policy must be a table", "write it as [[policy]]"))
            continue
        for key in entry:
            if key not in POLICY_KEYS:
                problems.append(Problem(lines.key(line, key), f"policy: unknown key {key!r}",
                                        _similar(key, POLICY_KEYS) or f"keys are {', '.join(POLICY_KEYS)}"))
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(line, "policy has no name", 'add name = "county-escalation"'))
            continue
        name = name.strip()
        if name in found:
            problems.append(Problem(lines.key(line, "name"), f"policy {name!r} is defined twice",
                                    "give each policy its own name"))
        repeat = entry.get("repeat", 0)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or not 0 <= repeat <= MAX_REPEAT:
            problems.append(Problem(lines.key(line, "repeat"), f"policy {name!r}: repeat must be 0 to {MAX_REPEAT}",
                                    "how many more times the tiers run after the first pass"))
            repeat = 0
        raw_tiers = entry.get("tier", [])
        if not isinstance(raw_tiers, list) or not raw_tiers:
            problems.append(Problem(line, f"policy {name!r} has no tiers", "add [[policy.tier]] with receivers "
                                    'and timeout, e.g. receivers = ["county-csic"] and timeout = "15m"'))
            continue
        tiers = []
        for number, tier in enumerate(raw_tiers):
            at = tier_lines[number] if number < len(tier_lines) else line
            tiers.append(_tier(tier, at, f"policy {name!r} tier {number + 1}", lines, problems, receivers))
        found[name] = Policy(name=name, tiers=tuple(t for t in tiers if t is not None), repeat=repeat, line=line)
    return found


def _tier(raw: Any, line: int, what: str, lines: _Lines, problems: list[Problem],
          receivers: Mapping[str, Receiver]) -> Tier | None:
    if not isinstance(raw, dict):
        problems.append(Problem(line, f"{what} is not a table", "write it as [[policy.tier]]"))
        return None
    for key in raw:
        if key not in TIER_KEYS:
            problems.append(Problem(lines.key(line, key), f"{what}: unknown key {key!r}",
                                    _similar(key, TIER_KEYS) or f"keys are {', '.join(TIER_KEYS)}"))
    names = raw.get("receivers")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        problems.append(Problem(lines.key(line, "receivers"), f"{what}: receivers must be a list of receiver names",
                                'e.g. receivers = ["county-csic"]'))
        names = []
    for receiver in names:
        if receiver not in receivers:
            problems.append(Problem(lines.key(line, "receivers"), f"{what}: receiver {receiver!r} is not defined",
                                    _similar(receiver, receivers) or "define it as a [[receiver]]"))
    timeout = _duration(raw.get("timeout", ""), lines.key(line, "timeout"), f"{what}: timeout", problems)
    if timeout is not None and timeout <= timedelta(0):
        problems.append(Problem(lines.key(line, "timeout"), f"{what}: timeout must be over 0s",
                                "how long this tier has to acknowledge, e.g. 15m"))
    if timeout is None or timeout <= timedelta(0) or not names:
        return None
    return Tier(tuple(names), timeout)


def _matchers(raw: Any, line: int, path: str, problems: list[Problem]) -> list[Matcher]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
        problems.append(Problem(line, f"{path}: matchers must be a list of strings",
                                'e.g. matchers = ["level =~ WARNING|ALERT", "group != sgbv"]'))
        return []
    found = []
    for text in raw:
        try:
            found.append(label_matcher(text))
        except MatcherError as exc:
            problems.append(Problem(line, f"{path}: {exc.message}", exc.hint))
    return found


class MatcherError(ValueError):
    """A matcher that cannot be used: what is wrong (`message`) and how to fix it (`hint`)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message} (hint: {hint})" if hint else message)
        self.message, self.hint = message, hint


def label_matcher(text: str) -> Matcher:
    """A matcher on alert labels, checked as routing files check them (known label, known value, a county
    by name or code, stored as its code); MatcherError saying what is wrong and how to fix it."""
    try:
        matcher = parse_matcher(text)
    except ValueError as exc:
        raise MatcherError(str(exc), 'e.g. "county = Kisumu" or "level =~ WARNING|ALERT"') from None
    problem = _check_matcher(matcher)
    if problem is not None:
        raise MatcherError(*problem)
    if matcher.label == "county" and matcher.op in ("=", "!="):
        matcher = Matcher(matcher.label, matcher.op, str(county_code(matcher.value)))  # labels carry the code
    return matcher


def _check_matcher(matcher: Matcher) -> tuple[str, str] | None:
    if matcher.label not in LABELS:
        return (f"unknown label {matcher.label!r}",
                _similar(matcher.label, LABELS) or f"labels are {', '.join(LABELS)}")
    if matcher.label == "county" and matcher.op in ("=", "!=") and county_code(matcher.value) is None:
        return f"unknown county {matcher.value!r}", "a county name (Kisumu) or code 1-47"
    known = VALUES.get(matcher.label)
    if known is None:
        return None
    if matcher.op in ("=", "!=") and matcher.value not in known:
        return (f"{matcher.label} is never {matcher.value!r}",
                _similar(matcher.value, known) or f"{matcher.label} is one of {', '.join(known)}")
    if matcher.op in ("=~", "!~") and matcher.pattern is not None and \
            not any(matcher.pattern.fullmatch(value) for value in known):
        return (f"{matcher} matches no {matcher.label} there is",
                f"{matcher.label} is one of {', '.join(known)} (the regex must match a whole value)")
    return None
