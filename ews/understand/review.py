"""Applying an analyst's review to a report, in one transaction: state, incident links, record, audit."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from ews.db.repo.reports import Connection
from ews.db.repo.review import (
    Locked,
    incident_exists,
    lock_report,
    recount_incident,
    report_exists,
    save_review,
    unlink_report,
)
from ews.engine.series import apply_pending
from ews.understand.incidents import Placed, group_into_incidents
from rules.incidents import incident_group, place_key
from rules.review import ReviewChange, reviewed


class ReviewConflict(ValueError):
    """The review names a report or incident that does not exist, or the report itself as its duplicate."""


async def review_report(pool: asyncpg.Pool, report_id: int, change: ReviewChange, *, actor: str, via: str,
                        cleared: bool, window: timedelta, now: datetime) -> bool:
    """Apply a review; False when there is no such report for this caller (sensitive ones are not there
    for uncleared callers)."""
    async with pool.acquire() as conn, conn.transaction():
        found = await review_in(conn, report_id, change, actor=actor, via=via, cleared=cleared, window=window,
                                now=now)
        await apply_pending(conn)  # the series move with the review, in its transaction
        return found


async def review_in(conn: Connection, report_id: int, change: ReviewChange, *, actor: str, via: str,
                    cleared: bool, window: timedelta, now: datetime) -> bool:
    """review_report inside the caller's transaction (so a place correction in the same PATCH commits with
    it, or not at all)."""
    locked = await lock_report(conn, report_id)
    if locked is None or (locked.state.sensitive and not cleared):
        return False
    if change.duplicate_of is not None and (change.duplicate_of == report_id
                                            or not await report_exists(conn, change.duplicate_of)):
        raise ReviewConflict(f"duplicate_of: no other report {change.duplicate_of}")
    if change.duplicate_of_incident is not None and not await incident_exists(conn, change.duplicate_of_incident):
        raise ReviewConflict(f"duplicate_of_incident: no incident {change.duplicate_of_incident}")
    state, changes = reviewed(locked.state, change, body=locked.body, casualties=locked.casualties)
    await save_review(conn, report_id, state, changes, actor=actor, via=via, now=now)
    left = locked.state.incident_id
    if left is not None and left != state.incident_id:
        await recount_incident(conn, left)
    # Re-typed and still counted: grouped again under the new type.
    retyped = locked.state.incident_type != state.incident_type and state.incident_type is not None
    if retyped and locked.classified and state.review_status not in ("rejected", "duplicate"):
        assert state.incident_type is not None
        await _group_where_it_is(conn, report_id, locked, state.incident_type, window=window)
    return True


async def _group_where_it_is(conn: Connection, report_id: int, locked: Locked, incident_type: str, *,
                             window: timedelta) -> list[int]:
    """Link the report to the incident of its type group at its place; the incidents touched (none when the
    type is no incident or the report has no place)."""
    group = incident_group(incident_type)
    key = place_key(locked.ward_code, locked.constituency_code, locked.county_code)
    if group is None or key is None:
        return []
    return await group_into_incidents(conn, [Placed(report_id, group, key[0], key[1], locked.county_code,
                                                    locked.received_at)], window=window)


async def regroup_moved(conn: Connection, report_id: int, *, window: timedelta) -> None:
    """After a report's place was corrected: it joins the incident of its new place (and leaves its old one,
    which is recounted), or no incident when it has no place left. Inside the caller's transaction."""
    locked = await lock_report(conn, report_id)
    if locked is None or not locked.classified:
        return  # the classification stage groups it with the place it has by then
    state = locked.state
    left = state.incident_id
    if state.review_status in ("rejected", "duplicate") or state.incident_type is None:
        return  # counted nowhere, or linked by an analyst: the place does not change that
    touched = await _group_where_it_is(conn, report_id, locked, state.incident_type, window=window)
    if not touched and left is not None:
        await unlink_report(conn, report_id)
    if left is not None and left not in touched:
        await recount_incident(conn, left)
