"""The live series in PostgreSQL: counted as the backtest counts an export, moved by every later change in the
same transaction, imported history kept apart from what the live engine judges."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ews.db.repo.export import ExportFilter, stream_reports
from ews.engine.series import apply_pending
from rules.series import EAT, SeriesSpec, build, collect

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)  # noon in Kenya, a Monday
_ids = itertools.count(1)

_INSERT = """
INSERT INTO reports (source, external_id, channel, body, sender_hash, language, received_at, occurred_at,
                     county_code, incident_type, review_status, trust, flooding, incident_id)
VALUES ('test', $1, $2, 'a report', $3, 'en', $4, $4, $5, $6, $7, $8, $9, $10) RETURNING id
"""


async def add(conn: asyncpg.Connection | asyncpg.Pool, county: int | None = 42, kind: str | None = "physical_assault",
              at: datetime = T0, *, status: str = "new", trust: float | None = None, flooding: bool = False,
              incident: int | None = None, channel: str = "twilio_sms") -> int:
    """One report, straight into the table (as any intake path leaves it)."""
    n = next(_ids)
    return int(await conn.fetchval(_INSERT, f"x{n}", channel, f"{n:064x}", at, county, kind, status, trust,
                                   flooding, incident))


async def apply(pool: asyncpg.Pool) -> set[int]:
    async with pool.acquire() as conn, conn.transaction():
        return set(await apply_pending(conn))


Cells = dict[tuple[int, str, datetime], float]


async def cells(pool: asyncpg.Pool, period: str = "day", *, imported: bool | None = None,
                with_all: bool = False) -> Cells:
    """The cells of one period kind (without the every-report series "all" unless asked for)."""
    rows = await pool.fetch("SELECT county_code, grp, period_start, imported, weight FROM series_cells "
                            "WHERE period = $1", period)
    found: dict[tuple[int, str, datetime], float] = {}
    for r in rows:
        if (imported is None or r["imported"] == imported) and (with_all or r["grp"] != "all"):
            key = (r["county_code"], r["grp"], r["period_start"])
            found[key] = found.get(key, 0.0) + r["weight"]
    return {k: round(v, 9) for k, v in found.items() if abs(v) > 1e-9}


async def backtest_cells(pool: asyncpg.Pool, period: str = "day") -> dict[tuple[int, str, datetime], float]:
    """The same cells as the backtest computes them from the database's export."""
    async with pool.acquire() as conn:
        exported = [r async for r in stream_reports(conn, ExportFilter(include_sensitive=True), actor="test",
                                                    now=T0)]
    collected = collect(exported)
    if collected.first is None or collected.last is None:
        return {}
    series = build(collected, [SeriesSpec(period)], collected.first, collected.last)[SeriesSpec(period)]
    found = {}
    for (county, group), counts in series.counts.items():
        for i in np.flatnonzero(counts):
            found[(county, group, series.period_start(int(i)))] = round(float(counts[i]), 9)
    return found


async def test_a_new_report_counts_in_its_own_cells_once_and_untyped_ones_do_not(pool: asyncpg.Pool) -> None:
    await add(pool)
    await add(pool, kind=None)  # not typed yet: nowhere
    await add(pool, county=None)  # not placed yet: nowhere
    async with pool.acquire() as conn, conn.transaction():
        assert await apply_pending(conn) == {42: {"violence", "all"}}, "the county, and the groups that moved"
    day = datetime(2027, 3, 1, tzinfo=EAT)
    assert await cells(pool) == {(42, "violence", day): 1.0}
    assert await cells(pool, with_all=True) == {(42, "violence", day): 1.0, (42, "all", day): 1.0}
    assert await cells(pool, "hour") == {(42, "violence", datetime(2027, 3, 1, 12, tzinfo=EAT)): 1.0}
    assert await cells(pool, "week") == {(42, "violence", day): 1.0}  # 1 March 2027 is a Monday
    assert await apply(pool) == set(), "nothing pending: nothing moves"


async def test_every_later_change_moves_the_cells_in_its_own_transaction(pool: asyncpg.Pool) -> None:
    first = await add(pool)
    second = await add(pool, kind=None, county=None)
    await apply(pool)
    day = datetime(2027, 3, 1, tzinfo=EAT)

    async def change(sql: str, *args: Any) -> dict[tuple[int, str, datetime], float]:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(sql, *args)
            await apply_pending(conn)
        return await cells(pool)

    # Classified, then placed: counted from then on.
    assert await change("UPDATE reports SET incident_type = 'threat_intimidation' WHERE id = $1", second) == {
        (42, "violence", day): 1.0}
    assert await change("UPDATE reports SET county_code = 1 WHERE id = $1", second) == {
        (42, "violence", day): 1.0, (1, "tension", day): 1.0}
    # Re-typed by an analyst, verified, then rejected.
    assert await change("UPDATE reports SET incident_type = 'killing' WHERE id = $1", second) == {
        (42, "violence", day): 1.0, (1, "violence", day): 1.0}
    assert await change("UPDATE reports SET review_status = 'verified' WHERE id = $1", second) == {
        (42, "violence", day): 1.0, (1, "violence", day): 1.5}
    assert await change("UPDATE reports SET review_status = 'rejected' WHERE id = $1", second) == {
        (42, "violence", day): 1.0}
    # Its sender marked as flooding; a moved time.
    assert await change("UPDATE reports SET flooding = true WHERE id = $1", first) == {}
    assert await change("UPDATE reports SET flooding = false, occurred_at = $2 WHERE id = $1", first,
                        T0 + timedelta(days=1)) == {(42, "violence", day + timedelta(days=1)): 1.0}
    assert await cells(pool, with_all=True) == await backtest_cells(pool)


async def test_an_incident_counts_once_with_its_highest_weight(pool: asyncpg.Pool) -> None:
    incident = await pool.fetchval(
        "INSERT INTO incidents (type_group, place_level, place_code, county_code, first_at, last_at) "
        "VALUES ('violence', 'county', '42', 42, $1, $1) RETURNING id", T0)
    a = await add(pool)
    b = await add(pool, at=T0 + timedelta(hours=1))
    await apply(pool)
    day = datetime(2027, 3, 1, tzinfo=EAT)
    assert await cells(pool) == {(42, "violence", day): 2.0}
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE reports SET incident_id = $1 WHERE id = ANY($2::bigint[])", incident, [a, b])
        await conn.execute("UPDATE reports SET review_status = 'verified' WHERE id = $1", b)
        await apply_pending(conn)
    assert await cells(pool) == {(42, "violence", day): 1.5}
    unit = await pool.fetchrow("SELECT report_id, reports, corroborated FROM series_units")
    assert tuple(unit) == (a, 2, True)
    # One report leaves the incident: both count again, each on its own.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE reports SET incident_id = NULL WHERE id = $1", a)
        await apply_pending(conn)
    assert await cells(pool) == {(42, "violence", day): 2.5}
    assert await cells(pool, with_all=True) == await backtest_cells(pool)


async def test_imported_history_is_counted_apart(pool: asyncpg.Pool) -> None:
    await add(pool, channel="import")
    await add(pool)
    await apply(pool)
    day = datetime(2027, 3, 1, tzinfo=EAT)
    assert await cells(pool, imported=True) == {(42, "violence", day): 1.0}
    assert await cells(pool, imported=False) == {(42, "violence", day): 1.0}


async def test_a_change_rolled_back_leaves_the_cells_as_they_were(pool: asyncpg.Pool) -> None:
    report = await add(pool)
    await apply(pool)
    before = await cells(pool)
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("UPDATE reports SET county_code = 1 WHERE id = $1", report)
            await apply_pending(conn)
            raise RuntimeError("the change failed after counting")
    assert await cells(pool) == before
    assert await apply(pool) == set(), "the mark was rolled back with the change"


_KINDS = ("physical_assault", "threat_intimidation", "killing", "cattle_raiding", "not_incident", None)
_step = st.tuples(st.sampled_from(("add", "type", "county", "status", "flood", "join", "leave", "time")),
                  st.integers(0, 50), st.integers(0, 5))


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_step, min_size=1, max_size=25))
async def test_any_sequence_of_changes_leaves_the_cells_the_backtest_computes(pool: asyncpg.Pool,
                                                                             steps: list[tuple[str, int, int]]) -> None:
    await pool.execute("TRUNCATE reports, incidents, series_units, series_cells, series_pending "
                       "RESTART IDENTITY CASCADE")
    incident = await pool.fetchval(
        "INSERT INTO incidents (type_group, place_level, place_code, county_code, first_at, last_at) "
        "VALUES ('violence', 'county', '42', 42, $1, $1) RETURNING id", T0)
    ids: list[int] = []
    for what, a, b in steps:
        async with pool.acquire() as conn, conn.transaction():
            if what == "add" or not ids:
                ids.append(await add(conn, county=(None, 1, 42, 47)[b % 4], kind=_KINDS[a % len(_KINDS)],
                                     at=T0 + timedelta(hours=a), channel="import" if b == 5 else "twilio_sms"))
            else:
                r = ids[a % len(ids)]
                sql, arg = {
                    "type": ("UPDATE reports SET incident_type = $2 WHERE id = $1", _KINDS[b]),
                    "county": ("UPDATE reports SET county_code = $2 WHERE id = $1", (None, 1, 42, 47, 3, 30)[b]),
                    "status": ("UPDATE reports SET review_status = $2 WHERE id = $1",
                               ("new", "verified", "rejected", "duplicate", "new", "verified")[b]),
                    "flood": ("UPDATE reports SET flooding = $2 WHERE id = $1", b % 2 == 1),
                    "join": ("UPDATE reports SET incident_id = $2 WHERE id = $1", incident),
                    "leave": ("UPDATE reports SET incident_id = NULL WHERE id = $1 AND $2::int IS NOT NULL", b),
                    "time": ("UPDATE reports SET occurred_at = $2 WHERE id = $1", T0 + timedelta(hours=7 * b)),
                }[what]
                await conn.execute(sql, r, arg)
            await apply_pending(conn)
    for period in ("hour", "day", "week"):
        assert await cells(pool, period, with_all=True) == await backtest_cells(pool, period)


def test_kenyan_periods_start_at_kenyan_midnight_and_monday() -> None:
    from rules.series import period_start

    late = datetime(2027, 3, 3, 22, 30, tzinfo=UTC)  # 01:30 on Thursday 4 March in Kenya
    assert period_start(late, "hour") == datetime(2027, 3, 4, 1, tzinfo=EAT)
    assert period_start(late, "day") == datetime(2027, 3, 4, tzinfo=EAT)
    assert period_start(late, "week") == datetime(2027, 3, 1, tzinfo=EAT)
    assert period_start(late, "week").date() == date(2027, 3, 1)
