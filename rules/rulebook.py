"""Rules files, version 2: a rule is a detector over a series, its levels, hysteresis and per-county overrides.

```toml
version = "2027-07-01"            # optional; otherwise the text's sha256
[[rule]]
name = "violence-c2"
detector = "ears-c2"              # window_count, immediate, surge, ears-c1/c2/c3, cusum, ewma, quiet
groups = ["violence"]             # rules.vocabulary groups; each group is its own series and state
counties = "all"                  # or a list of official codes 1-47 and county names
period = "day"                    # hour, day, week
hold_for = 0                      # periods the level must hold before it rises (0: at once)
keep_for = 2                      # calm periods before it falls (0: at once)
min_count = 3                     # the period's count needed to raise at all
[rule.params]                     # the detector's own parameters
min_sigma = 1.0
[rule.levels]                     # the statistic's thresholds (and/or on_alarm = "watch")
watch = 3.09
[[rule.override]]                 # per-county changes of params, levels, hold_for, keep_for, min_count
counties = ["Nairobi"]
min_count = 6
```

`check(text)` reads a file and returns the rulebook or EVERY error at once with its line and a hint. Pure:
no file access (the CLI reads the file), no clock.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from ews.core.models import Level
from rules.detectors import Cusum, Detector, EarsC1, EarsC2, EarsC3, Ewma, Immediate, ImmediateRule, QuietCounty, Surge
from rules.detectors.window import WindowCount
from rules.gazetteer.counties import COUNTIES, county_by_name
from rules.vocabulary import INCIDENT_TYPES, RULE_GROUPS, Group

Period = Literal["hour", "day", "week"]
PERIODS: tuple[Period, ...] = ("hour", "day", "week")

DETECTOR_KINDS: dict[str, type[Any]] = {
    "window_count": WindowCount, "immediate": Immediate, "surge": Surge, "ears-c1": EarsC1, "ears-c2": EarsC2,
    "ears-c3": EarsC3, "cusum": Cusum, "ewma": Ewma, "quiet": QuietCounty}
"""Every detector a rule can name, by its name in the file."""

# Which reports an immediate rule counts: the ImmediateRule's fields, given among its params.
_IMMEDIATE_FILTER = ("types", "types_with_casualties", "severities", "require")
_RULE_KEYS = ("name", "detector", "groups", "counties", "period", "hold_for", "keep_for", "min_count", "params",
              "levels", "override", "description")
_V1_KEYS = ("kind", "window_minutes", "watch", "warning", "alert", "hold_down_minutes", "count")
_OVERRIDE_KEYS = ("counties", "params", "levels", "hold_for", "keep_for", "min_count")
_LEVEL_KEYS = ("watch", "warning", "alert", "on_alarm")
_LEVEL_NAMES = {"watch": Level.WATCH, "warning": Level.WARNING, "alert": Level.ALERT}
ALL_COUNTIES: tuple[int, ...] = tuple(c.code for c in COUNTIES)
_TYPE_CODES = tuple(t.code for t in INCIDENT_TYPES)


@dataclass(frozen=True, slots=True)
class RuleError:
    """One problem in a rules file: where (1-based line, None when unknown), what, and how to fix it."""

    line: int | None
    message: str
    hint: str = ""

    def format(self, filename: str = "rules.toml") -> str:
        """`file:line: message (hint)`, the way compilers print it."""
        where = f"{filename}:{self.line}" if self.line else filename
        return f"{where}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")


class RulebookError(ValueError):
    """A rules file with errors; `errors` holds every one of them."""

    def __init__(self, errors: list[RuleError], filename: str = "rules.toml") -> None:
        self.errors = errors
        super().__init__("\n".join(e.format(filename) for e in errors))


@dataclass(frozen=True, slots=True)
class Levels:
    """How a statistic maps to a level: thresholds per level, and the level the detector's own alarm gives."""

    watch: float | None = None
    warning: float | None = None
    alert: float | None = None
    on_alarm: Level | None = None

    def level_for(self, statistic: float | None, alarm: bool) -> Level:
        """The highest level whose threshold the statistic reaches (at least `on_alarm` when it alarms)."""
        level = self.on_alarm if alarm and self.on_alarm is not None else Level.NORMAL
        if statistic is None:
            return level
        for name, threshold in ((Level.ALERT, self.alert), (Level.WARNING, self.warning), (Level.WATCH, self.watch)):
            if threshold is not None and statistic >= threshold:
                return max(level, name)
        return level

    def threshold(self, level: Level) -> float | None:
        """The statistic at which `level` starts (None: the level is reached only by the detector's alarm)."""
        return {Level.WATCH: self.watch, Level.WARNING: self.warning, Level.ALERT: self.alert}.get(level)


@dataclass(frozen=True, slots=True)
class Override:
    """Changes of one rule for some counties; only what is set (not None) changes."""

    counties: tuple[int, ...]
    params: tuple[tuple[str, Any], ...] = ()
    levels: Levels | None = None
    hold_for: int | None = None
    keep_for: int | None = None
    min_count: float | None = None


@dataclass(frozen=True)
class Rule:
    """One rule of a rules file (with its overrides), or resolved for one county by `for_county`."""

    name: str
    detector: str
    groups: tuple[Group, ...]
    counties: tuple[int, ...]
    period: Period
    levels: Levels
    hold_for: int = 0
    keep_for: int = 0
    min_count: float = 0.0
    params: tuple[tuple[str, Any], ...] = ()
    overrides: tuple[Override, ...] = ()
    version: str = ""
    description: str = ""

    def for_county(self, county: int) -> Rule:
        """This rule as it applies in `county`: its overrides for that county applied in file order."""
        rule = dataclasses.replace(self, overrides=())
        for o in self.overrides:
            if county not in o.counties:
                continue
            params = {**dict(rule.params), **dict(o.params)}
            rule = dataclasses.replace(
                rule, params=tuple(params.items()), levels=o.levels or rule.levels,
                hold_for=rule.hold_for if o.hold_for is None else o.hold_for,
                keep_for=rule.keep_for if o.keep_for is None else o.keep_for,
                min_count=rule.min_count if o.min_count is None else o.min_count)
        return rule

    @cached_property
    def detector_object(self) -> Detector:
        """The detector with this rule's parameters (the immediate filter left out)."""
        kwargs = {k: v for k, v in self.params if k not in _IMMEDIATE_FILTER}
        built: Detector = DETECTOR_KINDS[self.detector](**kwargs)
        return built

    @cached_property
    def immediate_filter(self) -> ImmediateRule | None:
        """For an immediate rule, which reports it counts; None for any other detector."""
        if self.detector != "immediate":
            return None
        given = {k: (tuple(v) if isinstance(v, list) else v) for k, v in self.params if k in _IMMEDIATE_FILTER}
        return ImmediateRule(**given)  # type: ignore[arg-type]  # checked by the checker


@dataclass(frozen=True, slots=True)
class Rulebook:
    """Every rule of one rules file and the file's version."""

    version: str
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def rule(self, name: str) -> Rule:
        """The rule with this name; KeyError for any other."""
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)


# --- where things are in the text (tomllib gives no line numbers for values) ---------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*([A-Za-z0-9_.\-"' ]+?)\s*=""")


def line_index(text: str) -> dict[tuple[str | int, ...], int]:
    """The line of every table header and `key =` line, by its path (`("rule", 0, "params", "alpha")`).

    Arrays of tables get their index (0-based, as tomllib's lists), so the checker can point at the line
    of the n-th `[[rule]]`'s key. The first occurrence of a path wins (a duplicate is tomllib's error).
    """
    index: dict[tuple[str | int, ...], int] = {}
    counts: dict[tuple[str, ...], int] = {}
    current: tuple[str | int, ...] = ()
    in_multiline = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.count('"""') % 2 or raw.count("'''") % 2:
            in_multiline = not in_multiline
            continue
        if in_multiline:
            continue
        header = _HEADER.match(raw)
        if header and not _KEY.match(raw):
            names = tuple(p.strip().strip('"') for p in header.group(2).split("."))
            if header.group(1) == "[[":
                counts[names] = counts.get(names, -1) + 1
                for other in list(counts):  # a new [[rule]] restarts the numbering of its [[rule.override]]s
                    if len(other) > len(names) and other[: len(names)] == names:
                        del counts[other]
            path: list[str | int] = []
            for depth in range(len(names)):
                path.append(names[depth])
                if names[: depth + 1] in counts:
                    path.append(counts[names[: depth + 1]])
            current = tuple(path)
            index.setdefault(current, number)
            continue
        key = _KEY.match(raw)
        if key:
            parts = tuple(p.strip().strip("\"'") for p in key.group(1).split("."))
            index.setdefault((*current, *parts), number)
    return index


def _line(index: Mapping[tuple[str | int, ...], int], path: tuple[str | int, ...]) -> int | None:
    """The line of `path`, else of its nearest enclosing table or key that has one."""
    for end in range(len(path), 0, -1):
        if path[:end] in index:
            return index[path[:end]]
    return None


# --- the checker ------------------------------------------------------------------------------------------------

class _Checker:
    """Collects every error of one file instead of stopping at the first."""

    def __init__(self, text: str) -> None:
        self.index = line_index(text)
        self.errors: list[RuleError] = []

    def error(self, path: tuple[str | int, ...], message: str, hint: str = "") -> None:
        self.errors.append(RuleError(_line(self.index, path), message, hint))

    def unknown_keys(self, path: tuple[str | int, ...], table: Mapping[str, Any], known: tuple[str, ...],
                     what: str) -> None:
        for key in table:
            if key in _V1_KEYS and path[:1] == ("rule",) and len(path) == 2:
                self.error((*path, key), f"{what}: {key!r} is a key of the first rules file (window counts)",
                           'in v2: detector = "window_count", params.window in periods, levels watch/warning/'
                           "alert, keep_for in periods")
            elif key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                self.error((*path, key), f"{what}: unknown key {key!r}",
                           f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}")

    def periods(self, path: tuple[str | int, ...], value: Any, key: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.error(path, f"{key} must be a whole number of periods, 0 or more, not {value!r}",
                       f"{key} = 2 waits two periods; 0 acts at once")
            return None
        return value

    def count(self, path: tuple[str | int, ...], value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            self.error(path, f"min_count must be a number, 0 or more, not {value!r}",
                       "the period's (weighted) count needed before the rule raises, e.g. 3")
            return None
        return float(value)

    def counties(self, path: tuple[str | int, ...], value: Any) -> tuple[int, ...] | None:
        if value == "all":
            return ALL_COUNTIES
        if not isinstance(value, list) or not value:
            self.error(path, f"counties must be \"all\" or a non-empty list, not {value!r}",
                       'counties = "all" or counties = [47, "Nakuru"]')
            return None
        codes: list[int] = []
        bad = False
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 47:
                codes.append(item)
            elif isinstance(item, str) and (county := county_by_name(item)) is not None:
                codes.append(county.code)
            else:
                names = [c.name for c in COUNTIES]
                close = difflib.get_close_matches(str(item), names, n=1) if isinstance(item, str) else []
                self.error(path, f"counties: {item!r} is not a county code 1-47 or an official county name",
                           f"did you mean {close[0]!r}?" if close else "e.g. 47 or \"Nairobi\"")
                bad = True
        return None if bad else tuple(dict.fromkeys(codes))

    def levels(self, path: tuple[str | int, ...], value: Any, detector: str | None) -> Levels | None:
        if not isinstance(value, dict):
            self.error(path, "levels must be a table", "[rule.levels] with watch, warning, alert and/or on_alarm")
            return None
        before = len(self.errors)
        self.unknown_keys(path, value, _LEVEL_KEYS, "levels")
        numbers: dict[str, float] = {}
        for key in ("watch", "warning", "alert"):
            if key in value:
                v = value[key]
                if isinstance(v, bool) or not isinstance(v, int | float):
                    self.error((*path, key), f"levels.{key} must be a number, not {v!r}",
                               "the statistic at which the level starts")
                else:
                    numbers[key] = float(v)
        on_alarm = value.get("on_alarm")
        if on_alarm is not None and (not isinstance(on_alarm, str) or on_alarm not in _LEVEL_NAMES):
            self.error((*path, "on_alarm"), f"levels.on_alarm must be watch, warning or alert, not {on_alarm!r}",
                       "the level the detector's own alarm raises")
        if not numbers and on_alarm is None:
            self.error(path, "levels gives no threshold", "set at least one of watch, warning, alert or on_alarm")
        given = [numbers[k] for k in ("watch", "warning", "alert") if k in numbers]
        if any(a > b for a, b in itertools.pairwise(given)):
            self.error(path, f"levels must not decrease from watch to warning to alert: {given}",
                       "e.g. watch = 3, warning = 5, alert = 8")
        if detector == "quiet" and numbers and on_alarm is None:
            self.error(path, "a quiet rule's statistic is the silent periods; its limit changes with the baseline",
                       'use on_alarm = "watch" for quiet rules')
        if len(self.errors) > before:
            return None
        return Levels(numbers.get("watch"), numbers.get("warning"), numbers.get("alert"),
                      _LEVEL_NAMES[on_alarm] if on_alarm else None)

    def params(self, path: tuple[str | int, ...], value: Any, detector: str | None,
               base: Mapping[str, Any] | None = None) -> tuple[tuple[str, Any], ...] | None:
        if not isinstance(value, dict):
            self.error(path, "params must be a table", "[rule.params] with the detector's parameters")
            return None
        if detector is None:
            return None
        cls = DETECTOR_KINDS[detector]
        fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        known = tuple(fields) + (_IMMEDIATE_FILTER if detector == "immediate" else ())
        before = len(self.errors)
        self.unknown_keys(path, value, known, f"params of {detector}")
        usable: dict[str, Any] = {}  # the parameters that are known and well typed, to build the detector with
        for key, v in value.items():
            start = len(self.errors)
            if key in _IMMEDIATE_FILTER and key in known:
                self._immediate_param((*path, key), key, v)
            elif key in fields and not _fits(fields[key], v):
                self.error((*path, key), f"params.{key} of {detector} must be {_describe(fields[key])}, not {v!r}")
            if key in known and len(self.errors) == start:
                usable[key] = v
        if base is not None and not value:
            return ()  # an override that changes no parameter: the rule's own were checked already
        merged = {**(base or {}), **usable}
        if detector == "cusum" and merged.get("baseline") is None and merged.get("reference_mean") is None:
            # Without either, its in-control mean is "the history's", and a live rule has no fixed history.
            self.error(path, "a cusum rule needs params.baseline (periods of a rolling baseline) or "
                       "params.reference_mean", "e.g. baseline = 28 with k = 0.5, h = 5 (Fricker 2008)")
            return None
        try:
            trial = Rule("check", detector, ("violence",), (1,), "day", Levels(watch=1.0), params=tuple(merged.items()))
            _ = trial.detector_object, trial.immediate_filter  # built to check the parameters
        except (ValueError, TypeError) as exc:
            named = [k for k in value if k in str(exc)]  # point at the parameter the message names
            self.error((*path, named[0]) if named else path, f"params of {detector}: {exc}",
                       "see the detector's parameters in the README")
            return None
        return None if len(self.errors) > before else tuple(value.items())

    def _immediate_param(self, path: tuple[str | int, ...], key: str, value: Any) -> None:
        if key == "require":
            if value not in ("none", "verified", "corroborated"):
                self.error(path, f"params.require must be none, verified or corroborated, not {value!r}")
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(path, f"params.{key} must be a list of strings, not {value!r}")
            return
        allowed = _TYPE_CODES if key != "severities" else ("low", "medium", "high", "critical")
        for v in value:
            if v not in allowed:
                close = difflib.get_close_matches(v, allowed, n=1)
                self.error(path, f"params.{key}: unknown {v!r}",
                           f"did you mean {close[0]!r}?" if close else f"one of {', '.join(allowed)}")

    def rule(self, i: int, entry: Any, version: str) -> Rule | None:
        path: tuple[str | int, ...] = ("rule", i)
        if not isinstance(entry, dict):
            self.error(path, "each rule must be a [[rule]] table")
            return None
        before = len(self.errors)
        self.unknown_keys(path, entry, _RULE_KEYS, f"rule #{i + 1}")
        name = entry.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_.\-]{0,63}", name):
            self.error((*path, "name"), f"rule #{i + 1}: name must be 1-64 lower-case letters, digits, _ . -, "
                       f"not {name!r}", 'name = "violence-c2"')
        detector = entry.get("detector")
        if not isinstance(detector, str) or detector not in DETECTOR_KINDS:
            close = difflib.get_close_matches(str(detector), list(DETECTOR_KINDS), n=1)
            self.error((*path, "detector"), f"rule #{i + 1}: unknown detector {detector!r}",
                       f"did you mean {close[0]!r}?" if close else f"one of {', '.join(DETECTOR_KINDS)}")
            detector = None
        groups = entry.get("groups")
        if not isinstance(groups, list) or not groups or any(g not in RULE_GROUPS for g in groups):
            self.error((*path, "groups"), f"rule #{i + 1}: groups must be a non-empty list of type groups, "
                       f"not {groups!r}", f"groups from: {', '.join(RULE_GROUPS)}")
        counties = self.counties((*path, "counties"), entry.get("counties", "all"))
        period = entry.get("period", "day")
        if period not in PERIODS:
            self.error((*path, "period"), f"rule #{i + 1}: period must be hour, day or week, not {period!r}")
        hold_for = self.periods((*path, "hold_for"), entry.get("hold_for", 0), "hold_for")
        keep_for = self.periods((*path, "keep_for"), entry.get("keep_for", 0), "keep_for")
        min_count = self.count((*path, "min_count"), entry.get("min_count", 0))
        if detector == "quiet" and "min_count" in entry:
            self.error((*path, "min_count"), "min_count does not apply to a quiet rule (its count is 0)",
                       "use the quiet detector's params.min_mean")
        if "levels" not in entry:
            self.error(path, f"rule #{i + 1}: no levels", "add [rule.levels] with watch, warning, alert or on_alarm")
            levels = None
        else:
            levels = self.levels((*path, "levels"), entry["levels"], detector)
        raw_params = entry.get("params", {})
        params = self.params((*path, "params"), raw_params, detector)
        overrides = self.overrides(path, entry.get("override", []), detector,
                                   raw_params if isinstance(raw_params, dict) else {})
        description = entry.get("description", "")
        if not isinstance(description, str):
            self.error((*path, "description"), "description must be text")
        if len(self.errors) > before:
            return None
        assert detector and levels and counties is not None and params is not None and overrides is not None
        assert hold_for is not None and keep_for is not None and min_count is not None
        assert isinstance(groups, list)
        return Rule(str(name), detector, tuple(groups), counties, period, levels, hold_for, keep_for, min_count,
                    params, overrides, version, str(description))

    def overrides(self, path: tuple[str | int, ...], value: Any, detector: str | None,
                  base_params: Mapping[str, Any]) -> tuple[Override, ...] | None:
        if not isinstance(value, list):
            self.error((*path, "override"), "override must be [[rule.override]] tables")
            return None
        found: list[Override] = []
        before = len(self.errors)
        for j, entry in enumerate(value):
            at: tuple[str | int, ...] = (*path, "override", j)
            if not isinstance(entry, dict):
                self.error(at, "each override must be a table")
                continue
            self.unknown_keys(at, entry, _OVERRIDE_KEYS, f"override #{j + 1}")
            if "counties" not in entry:
                self.error(at, f"override #{j + 1} names no counties", 'counties = ["Nakuru", 32]')
                continue
            counties = self.counties((*at, "counties"), entry["counties"])
            params = self.params((*at, "params"), entry.get("params", {}), detector, base_params)
            levels = self.levels((*at, "levels"), entry["levels"], detector) if "levels" in entry else None
            hold = self.periods((*at, "hold_for"), entry["hold_for"], "hold_for") if "hold_for" in entry else None
            keep = self.periods((*at, "keep_for"), entry["keep_for"], "keep_for") if "keep_for" in entry else None
            minimum = self.count((*at, "min_count"), entry["min_count"]) if "min_count" in entry else None
            if counties is not None and params is not None:
                found.append(Override(counties, params, levels, hold, keep, minimum))
        return None if len(self.errors) > before else tuple(found)


def _fits(kind: str, value: Any) -> bool:
    """Whether a TOML value fits a detector field's annotation (as text, e.g. 'int | None')."""
    if isinstance(value, bool):
        return "bool" in kind
    if isinstance(value, int):
        return "int" in kind or "float" in kind
    if isinstance(value, float):
        return "float" in kind
    if isinstance(value, str):
        return "Literal" in kind or "str" in kind
    return False


def _describe(kind: str) -> str:
    return {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(
        kind.replace(" | None", ""), kind)


_DECODE_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def check(text: str) -> tuple[Rulebook | None, list[RuleError]]:
    """The rulebook of a rules file's text and no errors, or None and every error found (never raises)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _DECODE_LINE.search(str(exc))
        line = int(found.group(1)) if found else (max(1, len(text.splitlines())) if "end of document" in str(exc)
                                                 else None)
        message = _DECODE_LINE.sub("", str(exc)).replace("(at end of document)", "at the end of the file").strip()
        return None, [RuleError(line, f"not valid TOML: {message}",
                                "check quotes, brackets and that each key appears once per table")]
    checker = _Checker(text)
    checker.unknown_keys((), document, ("version", "rule"), "rules file")
    version = document.get("version")
    if version is not None and (not isinstance(version, str) or not version.strip()):
        checker.error(("version",), f"version must be text, not {version!r}", 'version = "2027-07-01"')
        version = None
    if version is None:
        version = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    entries = document.get("rule")
    if not isinstance(entries, list) or not entries:
        checker.error(("rule",), "the rules file defines no [[rule]]", "start a rule with a [[rule]] line")
        return None, checker.errors
    rules = [checker.rule(i, entry, version) for i, entry in enumerate(entries)]
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str):
            if name in seen:
                checker.error(("rule", i, "name"), f"rule name {name!r} is used twice",
                              f"the first is rule #{seen[name] + 1}; names must be unique")
            seen.setdefault(name, i)
    if checker.errors:
        return None, sorted(checker.errors, key=lambda e: (e.line is None, e.line or 0))
    return Rulebook(version, tuple(r for r in rules if r is not None)), []


def load(text: str, filename: str = "rules.toml") -> Rulebook:
    """The rulebook of `text`; RulebookError listing every error."""
    book, errors = check(text)
    if book is None:
        raise RulebookError(errors, filename)
    return book
