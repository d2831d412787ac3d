"""Counts per county x incident-type group x period, by when reports happened, from any iterator of reports.

A report is an API report object (one line of the `ews` export format, or a row the database variant reads
as the same dict). Flooding senders, repeats, duplicates and rejected reports are left out; an incident is
counted once (at its first report, with its reports' highest weight, corroborated when it has two or more);
the rest count with `report_weight`. Periods are Kenya time (EAT, UTC+3,
no daylight saving): hours, days from midnight, ISO weeks from Monday.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from ews.core.models import KENYA_TIME as EAT
from rules.detectors import Candidate, ImmediateRule
from rules.severity import SEVERITIES
from rules.vocabulary import ALL, GROUPS, Group, group_of

LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
VERIFIED_WEIGHT = 1.5  # an analyst checked it
MONITOR_BONUS = 0.5  # times the monitor's trust (0-1): a trained monitor's report counts up to 1.5


class ReportsError(ValueError):
    """A reports file line that is not a report object; the message names the line."""


def report_weight(review_status: str | None, trust: float | None) -> float:
    """How much one report counts: 0 when rejected or a duplicate, 1 new, 1.5 verified, more from a monitor."""
    if review_status in ("rejected", "duplicate"):
        return 0.0
    weight = VERIFIED_WEIGHT if review_status == "verified" else 1.0
    if trust is not None and 0 < trust <= 1:
        weight *= 1 + MONITOR_BONUS * trust
    return weight


@dataclass(frozen=True, slots=True)
class Counted:
    """What one report adds to the series: where, which group, when, how much (and what the immediate rules
    need to know of it)."""

    county: int
    group: Group
    at: datetime
    weight: float
    candidate: Candidate
    incident: int | str | None = None


def graver(a: Candidate, b: Candidate) -> bool:
    """Whether report `b` is graver than `a` (severity, then people hurt or killed): an incident is judged by
    its gravest report, so a killing reported after the first stones makes the incident critical."""
    def rank(c: Candidate) -> tuple[int, int]:
        return (SEVERITIES.index(c.severity) + 1 if c.severity in SEVERITIES else 0, c.casualties or 0)

    return rank(b) > rank(a)


def counted(report: Mapping[str, Any]) -> Counted | None:
    """The contribution of one report, or None when it does not count (flooding, a repeat, a duplicate,
    rejected, no county, no known type or no time). Incidents are merged by `collect`."""
    if report.get("flooding") or report.get("repeat_of") is not None or report.get("duplicate_of_report"):
        return None
    weight = report_weight(report.get("review_status"), _trust(report.get("trust")))
    county, code = report.get("county_code"), report.get("incident_type")
    if weight <= 0 or not isinstance(county, int) or isinstance(county, bool) or not 1 <= county <= 47:
        return None
    try:
        group = group_of(code) if isinstance(code, str) else None
    except KeyError:
        group = None
    if group is None:
        return None
    at = _when(report.get("occurred_at")) or _when(report.get("received_at"))
    if at is None:
        return None
    incident = report.get("incident_id")
    if not isinstance(incident, int | str):
        incident = None  # only an id groups reports (anything else in the field is not one)
    casualties = report.get("casualties")
    candidate = Candidate(report.get("id", 0), code, report.get("severity"),
                          casualties if isinstance(casualties, int) else None,
                          verified=report.get("review_status") == "verified")
    return Counted(county, group, at, weight, candidate, incident)


def _trust(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        parsed.astimezone(EAT)  # a moment near year 1 or 9999 has no Kenyan date: not a usable time
    except (ValueError, OverflowError):
        return None
    return parsed


def origin(period: str, first_day: date) -> datetime:
    """The start of the period that holds `first_day`'s Kenyan midnight (weeks start on Monday)."""
    day = first_day - timedelta(days=first_day.weekday()) if period == "week" else first_day
    return datetime.combine(day, time(), EAT)


def period_start(at: datetime, period: str) -> datetime:
    """The start of the period (Kenya time: hours, days from midnight, ISO weeks from Monday) holding `at`."""
    local = at.astimezone(EAT)
    if period == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    return origin(period, local.date())


def period_index(at: datetime, period: str, start: datetime) -> int:
    """Which period (0 = the one starting at `start`) the moment `at` falls in."""
    return math.floor((at - start) / LENGTH[period])


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """One kind of series: its period, and for an immediate rule which reports it counts."""

    period: str
    immediate: ImmediateRule | None = None


@dataclass
class Series:
    """Counts per (county, group) and period from `start` for `periods` periods, for each spec."""

    start: datetime
    periods: int
    period: str
    counts: dict[tuple[int, str], np.ndarray]

    def of(self, county: int, group: str) -> np.ndarray:
        """The counts of one county and group (zeros when it had no report)."""
        found = self.counts.get((county, group))
        return found if found is not None else np.zeros(self.periods)

    def period_start(self, i: int) -> datetime:
        """When period `i` starts."""
        return self.start + i * LENGTH[self.period]


@dataclass
class Collected:
    """Every counting report of a source, kept compactly until the range is known."""

    items: list[Counted]
    first: date | None
    last: date | None


def collect(reports: Iterable[Mapping[str, Any]]) -> Collected:
    """One pass over a source of reports: what counts, and the first and last day (Kenya time) seen.

    An incident counts once, in the cell of its first report, with the highest weight of its reports, and is
    judged by its gravest report (`graver`; verified if any is); with two or more counted reports it is
    corroborated (what an immediate rule may require).
    """
    items: list[Counted] = []
    first_of: dict[int | str, int] = {}  # incident -> index of its item
    reports_of: dict[int | str, int] = {}
    first = last = None
    for report in reports:
        c = counted(report)
        if c is None:
            continue
        if c.incident is not None:
            at = first_of.get(c.incident)
            reports_of[c.incident] = reports_of.get(c.incident, 0) + 1
            if at is not None:
                if c.weight > items[at].weight:
                    items[at] = dataclasses.replace(items[at], weight=c.weight)
                kept = items[at].candidate
                if graver(kept, c.candidate):
                    items[at] = dataclasses.replace(items[at], candidate=dataclasses.replace(
                        c.candidate, verified=kept.verified or c.candidate.verified))
                elif c.candidate.verified and not kept.verified:
                    items[at] = dataclasses.replace(items[at], candidate=dataclasses.replace(kept, verified=True))
                continue
            first_of[c.incident] = len(items)
        items.append(c)
        day = c.at.astimezone(EAT).date()
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
    for incident, at in first_of.items():
        if reports_of[incident] > 1:
            items[at] = dataclasses.replace(items[at], candidate=dataclasses.replace(items[at].candidate,
                                                                                     corroborated=True))
    return Collected(items, first, last)


def build(collected: Collected, specs: Sequence[SeriesSpec], first: date, last: date) -> dict[SeriesSpec, Series]:
    """The series of each spec over the days `first` .. `last` (Kenya time, inclusive)."""
    found: dict[SeriesSpec, Series] = {}
    end = datetime.combine(last + timedelta(days=1), time(), EAT)
    for spec in dict.fromkeys(specs):
        start = origin(spec.period, first)
        periods = max(1, math.ceil((end - start) / LENGTH[spec.period]))
        cells: dict[tuple[int, str], np.ndarray] = {}
        for c in collected.items:
            if spec.immediate is not None and spec.immediate.reason(c.candidate) is None:
                continue
            i = period_index(c.at, spec.period, start)
            if 0 <= i < periods:
                for group in (c.group, ALL):
                    cell = cells.get((c.county, group))
                    if cell is None:
                        cell = cells[(c.county, group)] = np.zeros(periods)
                    cell[i] += c.weight
        found[spec] = Series(start, periods, spec.period, cells)
    return found


def read_reports(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Report objects from the lines of an `ews` export (JSON lines); ReportsError naming a bad line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            report = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReportsError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(report, dict):
            raise ReportsError(f"line {number}: not a report object")
        yield report


__all__ = ["EAT", "GROUPS", "Collected", "Counted", "ReportsError", "Series", "SeriesSpec", "build", "collect",
           "counted", "origin", "period_index", "period_start", "read_reports", "report_weight"]
