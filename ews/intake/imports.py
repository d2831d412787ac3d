"""Understanding imported history before it is stored: the file's place names, then what intake does for
every report (pure)."""

from __future__ import annotations

from dataclasses import replace

from ews.core.models import ImportReady
from ingest.csv_import import Imported, RowError
from rules.gazetteer import county_by_name, find_county
from rules.vocabulary import INCIDENT_TYPES

from .enrich import understand

_TYPES = frozenset(t.code for t in INCIDENT_TYPES)


def county_named(name: str) -> int | None:
    """The county code for a county name as data sets write it ("Elgeyo Marakwet", "Muranga", "Nairobi City")."""
    county = county_by_name(name) or county_by_name(name.removesuffix(" City").removesuffix(" County"))
    return county.code if county else None


def understand_import(row: Imported, *, sender_key: str) -> ImportReady | RowError:
    """Place an imported row (the file's county name, else its point, else its place name or text) and hash,
    scrub and detect its language as intake does for any report."""
    report = row.report
    if report.incident_type is not None and report.incident_type not in _TYPES:
        return RowError(row.line, "unknown incident_type", report.incident_type[:40])
    if report.constituency_code is not None and not 1 <= report.constituency_code <= 290:
        return RowError(row.line, "bad constituency_code")
    if report.county_code is None and row.county_name:
        code = county_named(row.county_name)
        if code is None:
            return RowError(row.line, "not a Kenyan county", row.county_name[:40])
        report = replace(report, county_code=code)
    if report.county_code is None and report.latitude is None and row.place_name:
        found = find_county(row.place_name)
        if found is not None:
            report = replace(report, county_code=found.code)
    stored = understand(report, sender_key=sender_key)
    # History keeps the file's own severity (the classifier sets one later); sensitive when the file says so
    # or intake's keyword check does, so a sensitive row is hidden from its first moment.
    return ImportReady(row.line, stored, row.severity, row.sensitive or stored.sensitive)
