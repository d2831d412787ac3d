"""Grouping classified reports into incidents, a batch at a time, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ews.db.repo.classification import create_incidents, incidents_near, link_reports, lock_places, recount_incidents
from ews.db.repo.reports import Connection
from rules.incidents import assign


@dataclass(frozen=True, slots=True)
class Placed:
    """A classified report to group: its type group and place key."""

    report_id: int
    type_group: str
    place_level: str
    place_code: str
    county_code: int | None
    received_at: datetime

    @property
    def key(self) -> tuple[str, str, str]:
        """(type group, place level, place code)."""
        return self.type_group, self.place_level, self.place_code


async def plan_incidents(conn: Connection, reports: Sequence[Placed], *, window: timedelta) -> dict[int, int]:
    """The incident each report joins (report id -> incident id): the one of its group and place within
    `window`, or a new one, created here. Links nothing; the places stay locked until the transaction ends."""
    if not reports:
        return {}
    keys = sorted({r.key for r in reports})
    await lock_places(conn, keys)
    times = [r.received_at for r in reports]
    known = await incidents_near(conn, keys, min(times), max(times), window)
    joined, created = assign([(r.report_id, r.key, r.received_at) for r in reports], known, window=window)
    if created:
        await create_incidents(conn, created, {r.key: r.county_code for r in reports})
    return {report_id: span.id for report_id, span in joined.items() if span.id is not None}


async def group_into_incidents(conn: Connection, reports: Sequence[Placed], *, window: timedelta) -> list[int]:
    """Link reports (which may have been linked before, as an analyst's re-typing does) to their incidents;
    the incidents touched, recounted from their links."""
    links = await plan_incidents(conn, reports, window=window)
    await link_reports(conn, list(links.items()))
    touched = sorted(set(links.values()))
    await recount_incidents(conn, touched)
    return touched
