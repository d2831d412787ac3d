"""Place correction by an analyst: the place part of `PATCH /api/v1/reports/{id}` (a corrected county,
constituency or ward); ews/web/corrections.py applies it with the review part."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ews.core.places import PlaceMismatch, PlaceTree, nested_place
from ews.db.repo.places import PlaceRow
from rules.gazetteer.data import admin_units

PLACE_FIELDS = ("county_code", "constituency_code", "ward_code")


class BadCorrection(ValueError):
    """A correction that names no real place, or places that do not nest; the message says which."""


@functools.cache
def place_tree() -> PlaceTree:
    """The gazetteer's units as the tree `nested_place` checks codes against (built once)."""
    units = admin_units()
    return PlaceTree(frozenset(units.counties),
                     {code: (u.county_code, u.name) for code, u in units.constituencies.items()},
                     {code: (u.constituency_code or 0, u.county_code, u.name) for code, u in units.wards.items()})


def place_from_body(body: Mapping[str, Any]) -> PlaceRow | None:
    """The corrected place in a PATCH body, parents filled in from the deepest code given; None when the body
    has no place field. A ward given alone brings its constituency and county; all null unplaces the report."""
    if not any(name in body for name in PLACE_FIELDS):
        return None
    county, constituency, ward = (body.get(name) for name in PLACE_FIELDS)
    for name, value in zip(PLACE_FIELDS[:2], (county, constituency), strict=True):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadCorrection(f"{name} must be an integer code or null")
    if ward is not None and not isinstance(ward, str):
        raise BadCorrection('ward_code must be the IEBC code as text, e.g. "0217", or null')
    try:
        return PlaceRow(*nested_place(place_tree(), county, constituency, ward))
    except PlaceMismatch as exc:
        raise BadCorrection(str(exc)) from None
