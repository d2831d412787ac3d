"""Which reports can form an incident, and at what place (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ews.core.models import IncidentSpan as Span
from rules.vocabulary import group_of


def place_key(ward_code: str | None, constituency_code: int | None,
              county_code: int | None) -> tuple[str, str] | None:
    """(level, code) of the finest place a report has: ward, else constituency, else county; None if none."""
    if ward_code:
        return "ward", ward_code
    if constituency_code is not None:
        return "constituency", str(constituency_code)
    if county_code is not None:
        return "county", str(county_code)
    return None


def incident_group(incident_type: str) -> str | None:
    """The group a report of this type is grouped by; None for reports that are no incident."""
    group = group_of(incident_type)
    return None if group == "none" else group


def assign(reports: Sequence[tuple[int, tuple[str, str, str], datetime]], known: Sequence[Span], *,
           window: timedelta) -> tuple[dict[int, Span], list[Span]]:
    """Which incident each report joins: (report id -> its span, the spans to create).

    A report joins the incident of its key whose span, widened by `window` on both sides, holds its time
    (the latest such one); otherwise it starts a new one. Reports are taken in time order, so a burst
    grows one incident rather than starting several.
    """
    by_key: dict[tuple[str, str, str], list[Span]] = {}
    for span in known:
        by_key.setdefault(span.key, []).append(span)
    joined: dict[int, Span] = {}
    created: list[Span] = []
    for report_id, key, at in sorted(reports, key=lambda r: (r[2], r[0])):
        spans = by_key.setdefault(key, [])
        fits = [s for s in spans if s.first_at - window <= at <= s.last_at + window]
        if fits:
            span = max(fits, key=lambda s: s.last_at)
            span.first_at, span.last_at = min(span.first_at, at), max(span.last_at, at)
        else:
            span = Span(key, at, at)
            spans.append(span)
            created.append(span)
        joined[report_id] = span
    return joined, created
