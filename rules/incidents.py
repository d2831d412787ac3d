"""Which reports can form an incident, and at what place (pure)."""

from __future__ import annotations

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
