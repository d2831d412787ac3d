"""The live series' rows: units marked for recounting, what each unit adds, and the cells per period.

A unit is an incident, or a report in none. The engine (ews/engine/series.py) computes a unit's
contribution with the backtest's own code and hands the differences back here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ews.db.repo.export import COLUMNS, report_object
from ews.db.repo.reports import Connection

# One recount at a time: two transactions recounting the same unit must not both add its difference.
SERIES_LOCK = 7_214_001
# The lock is taken by the first row deleted (a recount with nothing to do takes none); everything after
# this statement runs under it.
_TAKE_PENDING = "DELETE FROM series_pending WHERE pg_advisory_xact_lock($1) IS NOT NULL RETURNING unit"
_OLD = """
SELECT unit, county_code, grp, at, weight, imported, incident_type, severity, casualties, verified, corroborated
FROM series_units WHERE unit = ANY($1::text[])
"""
_SINGLES = f"""
SELECT {COLUMNS} FROM reports r LEFT JOIN counties c ON c.code = r.county_code
WHERE r.id = ANY($1::bigint[]) AND r.incident_id IS NULL
"""  # noqa: S608 - built from constants only
# An incident of thousands of reports (a riot everyone texts about) is not read whole after each batch: its
# first counted report comes back as a report object, with the incident's highest weight, how many of its
# reports count and whether all were imported, summed here. `counts` and `weight` are rules.series.counted
# and report_weight in SQL (the engine passes the types and weights; tests/test_series_live.py checks that
# any sequence of changes leaves the cells the backtest computes).
_INCIDENTS = f"""
WITH members AS (
    SELECT r.id, r.incident_id, r.channel, r.review_status = 'verified' AS verified,
           CASE r.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1
                ELSE 0 END AS grade, coalesce(r.casualties, 0) AS hurt,
           (NOT r.flooding AND r.repeat_of IS NULL AND r.duplicate_of_report IS NULL
            AND r.review_status IS DISTINCT FROM 'rejected' AND r.review_status IS DISTINCT FROM 'duplicate'
            AND r.county_code BETWEEN 1 AND 47 AND r.incident_type = ANY($2::text[])) AS counts,
           CASE WHEN r.review_status = 'verified' THEN $3::float8 ELSE 1.0 END
           * CASE WHEN r.trust > 0 AND r.trust <= 1 THEN 1 + $4::float8 * r.trust ELSE 1.0 END AS weight
    FROM reports r WHERE r.incident_id = ANY($1::bigint[])
), units AS (
    SELECT incident_id, min(id) FILTER (WHERE counts) AS first_id, max(weight) FILTER (WHERE counts) AS weight,
           count(*) FILTER (WHERE counts) AS counted, bool_and(channel = 'import') AS imported,
           -- judged by its gravest report, as rules.series.graver says (the earliest among equals)
           (array_agg(id ORDER BY grade DESC, hurt DESC, id) FILTER (WHERE counts))[1] AS gravest_id,
           coalesce(bool_or(verified) FILTER (WHERE counts), false) AS any_verified
    FROM members GROUP BY incident_id
)
SELECT {COLUMNS}, u.weight AS unit_weight, u.counted AS unit_reports, u.imported AS unit_imported,
       g.id AS gravest_id, g.incident_type AS gravest_type, g.severity AS gravest_severity,
       g.casualties AS gravest_casualties, u.any_verified
FROM units u JOIN reports r ON r.id = u.first_id JOIN reports g ON g.id = u.gravest_id
LEFT JOIN counties c ON c.code = r.county_code
"""  # noqa: S608 - built from constants only
# One statement: the units that no longer count go, the others are written, and the cells move by the
# differences. (A sum that came back to zero stays as a zero: it reads as no reports.)
_SAVE = """
WITH gone AS (
    DELETE FROM series_units WHERE unit = ANY($1::text[]) AND NOT (unit = ANY($2::text[]))
), saved AS (
    INSERT INTO series_units AS u (unit, county_code, grp, at, weight, report_id, reports, incident_type, severity,
                                   casualties, verified, corroborated, imported)
    SELECT * FROM unnest($2::text[], $3::smallint[], $4::text[], $5::timestamptz[], $6::float8[], $7::bigint[],
                         $8::integer[], $9::text[], $10::text[], $11::integer[], $12::bool[], $13::bool[],
                         $14::bool[])
    ON CONFLICT (unit) DO UPDATE SET county_code = excluded.county_code, grp = excluded.grp, at = excluded.at,
        weight = excluded.weight, report_id = excluded.report_id, reports = excluded.reports,
        incident_type = excluded.incident_type, severity = excluded.severity, casualties = excluded.casualties,
        verified = excluded.verified, corroborated = excluded.corroborated, imported = excluded.imported
)
INSERT INTO series_cells AS s (county_code, period, grp, period_start, imported, weight)
SELECT * FROM unnest($15::smallint[], $16::text[], $17::text[], $18::timestamptz[], $19::bool[], $20::float8[])
ON CONFLICT (county_code, period, grp, period_start, imported) DO UPDATE SET weight = s.weight + excluded.weight
"""


async def take_pending(conn: Connection) -> list[str]:
    """Take every unit marked since the last recount (sorted), locking the series for this transaction."""
    return sorted({r["unit"] for r in await conn.fetch(_TAKE_PENDING, SERIES_LOCK)})


async def counted_units(conn: Connection, units: Sequence[str]) -> dict[str, asyncpg.Record]:
    """What each of these units adds now (county_code, grp, at, weight) and how grave it is (its candidate's
    type, severity, casualties, verified, corroborated), for those that count."""
    return {r["unit"]: r for r in await conn.fetch(_OLD, list(units))}


async def single_reports(conn: Connection, units: Sequence[str]) -> list[dict[str, object]]:
    """The reports of these lone-report units ('r<id>') as `ews export` writes them."""
    singles = [int(u[1:]) for u in units if u[0] == "r"]
    return [report_object(r) for r in await conn.fetch(_SINGLES, singles)] if singles else []


@dataclass(frozen=True, slots=True)
class IncidentFirst:
    """An incident unit as SQL sums it: its first counted report (as `ews export` writes it: where and when
    it counts), the highest weight, how many count, whether all were imported, and its gravest report."""

    first: dict[str, object]
    weight: float
    reports: int
    imported: bool
    gravest_id: int
    gravest_type: str | None
    gravest_severity: str | None
    gravest_casualties: int | None
    verified: bool


async def incident_firsts(conn: Connection, units: Sequence[str], *, types: Sequence[str], verified_weight: float,
                          monitor_bonus: float) -> list[IncidentFirst]:
    """Each incident unit ('i<id>') with a counted report, summed in SQL."""
    incidents = [int(u[1:]) for u in units if u[0] == "i"]
    if not incidents:
        return []
    rows = await conn.fetch(_INCIDENTS, incidents, list(types), verified_weight, monitor_bonus)
    return [IncidentFirst(report_object(r), r["unit_weight"], r["unit_reports"], r["unit_imported"], r["gravest_id"],
                          r["gravest_type"], r["gravest_severity"], r["gravest_casualties"], r["any_verified"])
            for r in rows]


async def save_units(conn: Connection, units: Sequence[str], rows: Sequence[tuple[object, ...]],
                     deltas: Sequence[tuple[int, str, str, datetime, bool, float]]) -> None:
    """Replace these units' rows by `rows`; move the cells by `deltas` (county, period, group, start, imported, w)."""
    await conn.execute(_SAVE, list(units), *_columns(rows, 13), *_columns(deltas, 6))


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


_CELLS = """
SELECT period, grp, period_start, imported, weight FROM series_cells
WHERE county_code = $1 AND period = ANY($2::text[]) AND period_start >= $3 AND period_start <= $4
"""


async def county_cells(conn: Connection | asyncpg.Pool, county: int, periods: Sequence[str], since: datetime,
                       until: datetime) -> dict[tuple[str, str], dict[datetime, tuple[float, float]]]:
    """One county's sums per (period, group) and period start, from `since` to `until` (inclusive): the
    live reports' sum and the imported ones'."""
    cells: dict[tuple[str, str], dict[datetime, tuple[float, float]]] = {}
    for r in await conn.fetch(_CELLS, county, list(periods), since, until):
        cell = cells.setdefault((r["period"], r["grp"]), {})
        live, imported = cell.get(r["period_start"], (0.0, 0.0))
        cell[r["period_start"]] = (live, imported + r["weight"]) if r["imported"] else (live + r["weight"], imported)
    return cells


_UNIT_COLUMNS = """
unit, grp, at, weight, report_id, reports, incident_type, severity, casualties, verified, corroborated, imported
"""
# Only the live units an immediate rule could count (a flood of ordinary reports is not read back).
_CRITICAL_UNITS = f"""
SELECT {_UNIT_COLUMNS} FROM series_units
WHERE county_code = $1 AND at >= $2 AND at < $3 AND NOT imported
  AND (incident_type = ANY($4::text[]) OR severity = ANY($5::text[])
       OR (incident_type = ANY($6::text[]) AND casualties > 0))
ORDER BY at
"""  # noqa: S608 - built from constants only


async def critical_units(conn: Connection, county: int, since: datetime, until: datetime, *,
                         types: Sequence[str], severities: Sequence[str],
                         types_with_casualties: Sequence[str]) -> list[asyncpg.Record]:
    """The live units of one county in [since, until) of these types, severities, or types with someone hurt
    or killed, oldest first."""
    return list(await conn.fetch(_CRITICAL_UNITS, county, since, until, list(types), list(severities),
                                 list(types_with_casualties)))


_LATEST_UNITS = f"""
SELECT {_UNIT_COLUMNS}, count(*) OVER () AS total FROM series_units
WHERE county_code = $1 AND ($2::text IS NULL OR grp = $2) AND at >= $3 AND at < $4 AND NOT imported
ORDER BY at DESC
LIMIT $5
"""  # noqa: S608 - built from constants only


async def latest_units(conn: Connection, county: int, group: str | None, since: datetime, until: datetime,
                       limit: int) -> tuple[list[asyncpg.Record], int]:
    """The latest `limit` live units of one county (and group; None: any) in [since, until), newest first,
    and how many there are in all."""
    rows = list(await conn.fetch(_LATEST_UNITS, county, group, since, until, limit))
    return rows, rows[0]["total"] if rows else 0
