"""Whether a county, constituency and ward given together nest, with the parents a deeper code implies (pure).

Used wherever a person or a partner names a place by code (a partner's report, an analyst's correction),
so both refuse the same places with the same words. The tree itself comes from the gazetteer, handed in by
the composition root (ingest/ may not import rules/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlaceTree:
    """The official units by code: each constituency's county and name, each ward's constituency, county and
    name."""

    counties: frozenset[int]
    constituencies: Mapping[int, tuple[int, str]]
    wards: Mapping[str, tuple[int, int, str]]


class PlaceMismatch(ValueError):
    """Codes that name no unit, or units that do not nest; `field` is the code at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def nested_place(tree: PlaceTree, county: int | None, constituency: int | None,
                 ward: str | None) -> tuple[int | None, int | None, str | None]:
    """(county, constituency, ward) with the parents the deepest code given implies; PlaceMismatch when a code
    names no unit or a parent given disagrees with it."""
    if ward is not None:
        found = tree.wards.get(ward)
        if found is None:
            raise PlaceMismatch("ward_code", f"no ward has code {ward!r} (IEBC codes are four digits, 0001-1450)")
        ward_constituency, ward_county, name = found
        if constituency not in (None, ward_constituency) or county not in (None, ward_county):
            raise PlaceMismatch("ward_code", f"ward {ward} ({name}) is in constituency {ward_constituency}, "
                                f"county {ward_county}")
        return ward_county, ward_constituency, ward
    if constituency is not None:
        parent = tree.constituencies.get(constituency)
        if parent is None:
            raise PlaceMismatch("constituency_code", f"no constituency has code {constituency} (1-290)")
        parent_county, name = parent
        if county not in (None, parent_county):
            raise PlaceMismatch("constituency_code",
                                f"constituency {constituency} ({name}) is in county {parent_county}")
        return parent_county, constituency, None
    if county is not None and county not in tree.counties:
        raise PlaceMismatch("county_code", f"no county has code {county} (1-47)")
    return county, None, None
