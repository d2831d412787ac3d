"""`PATCH /api/v1/reports/{id}`: one body may carry a place correction (issue 10, parsed by ews/web/places.py)
and a review (issue 11: review status, type correction, sensitivity; rules/review.py and
ews/understand/review.py), or both. Both parts are applied in one transaction and each is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ews.db.repo.places import PlaceRow, correct_place
from ews.engine.series import apply_pending
from ews.understand.review import ReviewConflict, regroup_moved, review_in
from ews.web.places import PLACE_FIELDS, BadCorrection, place_from_body
from rules import review

FIELDS = frozenset(PLACE_FIELDS) | review.FIELDS | {"by", "note"}
"""Every body field the PATCH reads; any other is refused."""

__all__ = ["FIELDS", "BadCorrection", "Correction", "ReviewConflict", "apply_correction", "parse_correction"]


@dataclass(frozen=True, slots=True)
class Correction:
    """What one PATCH asks: a place (or None), a review (empty: none), who, and a note for the place."""

    place: PlaceRow | None
    review: review.ReviewChange
    by: str | None
    note: str

    @property
    def actor(self) -> str:
        """Who the review's record names: `reviewer`, else `by`, else "api" (a place correction names `by`)."""
        return self.review.reviewer or self.by or "api"


def parse_correction(body: Mapping[str, Any]) -> Correction:
    """The place and review parts of a PATCH body; BadCorrection (a 400) saying what is wrong."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadCorrection(f"unknown field(s): {', '.join(unknown)}")
    place = place_from_body(body)
    try:
        change = review.parse_review(body)
    except review.ReviewError as exc:
        raise BadCorrection(str(exc)) from None
    if place is None and change.empty:
        raise BadCorrection("nothing to change: give county_code, constituency_code or ward_code (a place), or "
                            "review_status, incident_type or sensitive (a review)")
    by, note = body.get("by"), body.get("note", "")
    if (place is not None or by is not None) and (not isinstance(by, str) or not by.strip() or len(by) > 200):
        raise BadCorrection("'by' (who corrects, 1-200 characters) is required")
    if not isinstance(note, str) or len(note) > 2000:
        raise BadCorrection("'note' must be text of at most 2000 characters")
    return Correction(place, change, by.strip() if isinstance(by, str) else None, note)


@dataclass(frozen=True, slots=True)
class Applied:
    """What a PATCH did: the place before and after (when it moved the report)."""

    moved: tuple[PlaceRow, PlaceRow] | None


_VISIBLE = """
SELECT sensitive OR incident_type IS NOT DISTINCT FROM 'sgbv' AS sensitive FROM reports WHERE id = $1 FOR UPDATE
"""


async def apply_correction(pool: asyncpg.Pool, report_id: int, correction: Correction, *, cleared: bool, via: str,
                           window: timedelta, now: datetime) -> Applied | None:
    """Apply the place part, then the review part, in one transaction; None when there is no such report for
    this caller (a sensitive report is not there for an uncleared one). ReviewConflict rolls both back."""
    async with pool.acquire() as conn, conn.transaction():
        sensitive = await conn.fetchval(_VISIBLE, report_id)
        if sensitive is None or (sensitive and not cleared):
            return None
        moved = None
        if correction.place is not None:
            assert correction.by is not None  # parse_correction requires it with a place
            moved = await correct_place(conn, report_id, correction.place, by=correction.by, note=correction.note,
                                        now=now)
            if moved is not None and moved[0] != moved[1]:
                await regroup_moved(conn, report_id, window=window)
        if not correction.review.empty:
            await review_in(conn, report_id, correction.review, actor=correction.actor, via=via, cleared=cleared,
                            window=window, now=now)
        await apply_pending(conn)  # the series move with the correction, in its transaction
        return Applied(moved)
