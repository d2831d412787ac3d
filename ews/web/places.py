"""Place correction by an analyst: the place part of `PATCH /api/v1/reports/{id}` (a corrected county,
constituency or ward); ews/web/corrections.py applies it with the review part."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ews.db.repo.places import PlaceRow
from rules.gazetteer.data import admin_units

PLACE_FIELDS = ("county_code", "constituency_code", "ward_code")


class BadCorrection(ValueError):
    """A correction that names no real place, or places that do not nest; the message says which."""


def place_from_body(body: Mapping[str, Any]) -> PlaceRow | None:
    """The corrected place in a PATCH body, parents filled in from the deepest code given; None when the body
    has no place field. A ward given alone brings its constituency and county; all null unplaces the report."""
    if not any(name in body for name in PLACE_FIELDS):
        return None
    units = admin_units()
    county, constituency, ward = (body.get(name) for name in PLACE_FIELDS)
    for name, value in zip(PLACE_FIELDS[:2], (county, constituency), strict=True):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadCorrection(f"{name} must be an integer code or null")
    if ward is not None and not isinstance(ward, str):
        raise BadCorrection('ward_code must be the IEBC code as text, e.g. "0217", or null')
    if ward is not None:
        found = units.wards.get(ward)
        if found is None:
            raise BadCorrection(f"no ward has code {ward!r} (IEBC codes are four digits, 0001-1450)")
        if constituency not in (None, found.constituency_code) or county not in (None, found.county_code):
            raise BadCorrection(f"ward {ward} ({found.name}) is in constituency {found.constituency_code}, "
                                f"county {found.county_code}")
        return PlaceRow(found.county_code, found.constituency_code, ward)
    if constituency is not None:
        parent = units.constituencies.get(constituency)
        if parent is None:
            raise BadCorrection(f"no constituency has code {constituency} (1-290)")
        if county not in (None, parent.county_code):
            raise BadCorrection(f"constituency {constituency} ({parent.name}) is in county {parent.county_code}")
        return PlaceRow(parent.county_code, constituency, None)
    if county is not None and county not in units.counties:
        raise BadCorrection(f"no county has code {county} (1-47)")
    return PlaceRow(county, None, None)
