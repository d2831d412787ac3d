"""Screening a batch of reports before it is stored (pure): flood control, near-duplicates, monitors' fields.

Each report is judged against its sender's recent history in the database and the reports before it in
the same batch, in order, so a burst inside one batch is judged exactly like one spread over many.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ews.core.models import MonitorHome, SenderHistory, StoredReport
from ews.intake.flood import FloodLimit, is_flooding, normalise, repeat_of
from rules.monitor_format import parse_monitor_sms

MONITOR_TRUST = 1.0
"""The trust mark of a registered monitor's report (rules can weigh `reports.trust`)."""


@dataclass(frozen=True, slots=True)
class IntakePolicy:
    """How intake screens reports (EWS_FLOOD_*, EWS_REPEAT_*)."""

    flood: FloodLimit = field(default_factory=lambda: FloodLimit(10, timedelta(minutes=10)))
    repeat_window: timedelta = timedelta(minutes=60)
    similarity: float = 90.0


@dataclass(frozen=True, slots=True)
class Screened:
    """One report as it will be stored, under its id, and whether its sender gets a receipt."""

    report: StoredReport
    report_id: int
    receipt: bool


@dataclass(slots=True)
class _Seen:
    times: list[datetime] = field(default_factory=list)
    originals: list[tuple[int, str, datetime]] = field(default_factory=list)  # (id, normalised body, at)


def screen(reports: Sequence[StoredReport], ids: Sequence[int], history: Mapping[str, SenderHistory],
           policy: IntakePolicy, *, anonymous: str | None = None) -> list[Screened]:
    """Mark each report flooding or a repeat, fill in a monitor's fields; `ids` are the reports' ids in order.

    `anonymous` is the hash of "no sender" (an anonymous web form): such reports are never judged
    against each other, since they are not one person.
    """
    seen: dict[str, _Seen] = {}
    screened = []
    for report, report_id in zip(reports, ids, strict=True):
        past = history.get(report.sender_hash, SenderHistory())
        if past.monitor is not None:
            report = apply_monitor(report, past.monitor)
        if report.sender_hash == anonymous:
            screened.append(Screened(report, report_id, receipt=not past.opted_out))
            continue
        mine = seen.get(report.sender_hash)
        if mine is None:
            mine = seen[report.sender_hash] = _Seen(
                list(past.recent), [(i, normalise(body), at) for i, body, at in past.originals])
        now = report.received_at
        flooding = is_flooding(mine.times, now, policy.flood)
        since = now - policy.repeat_window
        candidates = [(i, body) for i, body, at in mine.originals if since < at <= now]
        first = repeat_of(report.body, candidates, similarity=policy.similarity) if candidates else None
        mine.times.append(now)
        if first is None:
            mine.originals.append((report_id, normalise(report.body), now))
        if flooding or first is not None:  # most reports are neither, and copying a report is not free
            report = dataclasses.replace(report, flooding=flooding, repeat_of=first)
        screened.append(Screened(report, report_id, receipt=not (flooding or past.opted_out)))
    return screened


def apply_monitor(report: StoredReport, monitor: MonitorHome) -> StoredReport:
    """A monitor's report: the structured fields of their short SMS, else their home place; the trust mark."""
    parsed = parse_monitor_sms(report.body)
    county, ward, kind = report.county_code, report.ward_code, report.incident_type
    if parsed is not None:
        county, kind = parsed.county_code, kind or parsed.incident_type
    elif county is None:
        county, ward = monitor.county_code, ward or monitor.ward_code
    return dataclasses.replace(report, county_code=county, ward_code=ward, incident_type=kind,
                               trust=MONITOR_TRUST, monitor_id=monitor.id)
