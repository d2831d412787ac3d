"""Keep the live series counted: recount the units a change marked, with the backtest's own counting.

Called at the end of every transaction that changes what a report counts (the classification stage, place
answers, corrections, reviews) and by the evaluator before each pass, which catches up whatever else
marked units (an import, a manual UPDATE).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ews.db.repo.reports import Connection
from ews.db.repo.series import counted_units, incident_firsts, save_units, single_reports, take_pending
from rules.detectors import Candidate
from rules.series import MONITOR_BONUS, VERIFIED_WEIGHT, Counted, counted, period_start
from rules.vocabulary import ALL, INCIDENT_TYPES

PERIODS = ("hour", "day", "week")


def unit_key(report: Mapping[str, Any]) -> str:
    """The unit a report counts in: its incident's, or its own."""
    incident = report.get("incident_id")
    return f"i{incident}" if incident is not None else f"r{report['id']}"


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one unit adds: as `rules.series.collect` counts it, how many of its reports count, and whether
    they all came from `ews import`."""

    counted: Counted
    reports: int
    imported: bool


Cell = tuple[int, str, str, datetime, bool]  # county, period, group, period start, imported


def deltas(before: Mapping[str, Any], after: Mapping[str, Contribution],
           units: Sequence[str]) -> dict[Cell, float]:
    """How each cell moves when `units` go from `before` (rows: county_code, grp, at, weight) to `after`."""
    moved: dict[Cell, float] = {}

    def add(county: int, group: str, at: datetime, imported: bool, weight: float) -> None:
        for period in PERIODS:
            for cell_group in (group, ALL):  # its group's series, and every report's
                key = (county, period, cell_group, period_start(at, period), imported)
                moved[key] = moved.get(key, 0.0) + weight

    for unit in units:
        old, new = before.get(unit), after.get(unit)
        if old is not None:
            add(old["county_code"], old["grp"], old["at"], old["imported"], -old["weight"])
        if new is not None:
            c = new.counted
            add(c.county, c.group, c.at, new.imported, c.weight)
    return {k: v for k, v in moved.items() if not math.isclose(v, 0.0, abs_tol=1e-12)}


async def apply_pending(conn: Connection) -> dict[int, set[str]]:
    """Recount every marked unit in the caller's transaction; the counties whose cells moved, each with the
    type groups that moved (and "all"): only rules on those groups can have changed."""
    units = await take_pending(conn)
    if not units:
        return {}
    before = await counted_units(conn, units)
    after: dict[str, Contribution] = {}
    for report in await single_reports(conn, units):  # a lone report counts as `rules.series.counted` says
        if (alone := counted(report)) is not None:
            after[unit_key(report)] = Contribution(alone, 1, report.get("channel") == "import")
    firsts = await incident_firsts(conn, units, types=[t.code for t in INCIDENT_TYPES],
                                   verified_weight=VERIFIED_WEIGHT, monitor_bonus=MONITOR_BONUS)
    for unit in firsts:
        found = counted(unit.first)
        if found is not None:  # the SQL said it counts; counted() places it, types it, and says when
            # Judged by its gravest report (rules.series.graver), as the backtest judges it.
            gravest = Candidate(unit.gravest_id, unit.gravest_type, unit.gravest_severity, unit.gravest_casualties,
                                verified=unit.verified, corroborated=unit.reports > 1)
            c = dataclasses.replace(found, weight=unit.weight, candidate=gravest)
            after[unit_key(unit.first)] = Contribution(c, unit.reports, unit.imported)
    rows = [(u, f.counted.county, f.counted.group, f.counted.at, f.counted.weight, int(f.counted.candidate.ref),
             f.reports, f.counted.candidate.incident_type, f.counted.candidate.severity,
             f.counted.candidate.casualties, f.counted.candidate.verified, f.counted.candidate.corroborated,
             f.imported) for u, f in after.items()]
    moved = deltas(before, after, units)
    await save_units(conn, units, rows, [(*k, v) for k, v in moved.items()])
    changed: dict[int, set[str]] = {}
    for county, _period, group, _start, _imported in moved:
        changed.setdefault(county, set()).add(group)
    # A unit can grow graver without moving a cell (a killing joins an incident of the same weight): an
    # immediate rule reads the units, so the engine must look again.
    for key, new in after.items():
        old = before.get(key)
        if old is None or _gravity(new.counted.candidate) != (old["incident_type"], old["severity"],
                                                               old["casualties"], old["verified"],
                                                               old["corroborated"]):
            changed.setdefault(new.counted.county, set()).update((new.counted.group, ALL))
    return changed


def _gravity(c: Candidate) -> tuple[object, ...]:
    return (c.incident_type, c.severity, c.casualties, c.verified, c.corroborated)
