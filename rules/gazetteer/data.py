"""Kenya's administrative units, read once from the `kenya-data` package (MIT) that bundles them as SQLite.

Counties (1-47), constituencies (IEBC 1-290) and wards (IEBC codes as four-digit text, "0001".."1450").
kenya-data gives a point for every county and constituency and none for wards, so a ward's point is its
constituency's (see the README's Gazetteer section for the source and why).
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Unit:
    """One county, constituency or ward with its official code, name, parents and representative point."""

    level: str  # "county" | "constituency" | "ward"
    code: str  # county "1".."47", constituency "1".."290", ward "0001".."1450" (IEBC text)
    name: str
    county_code: int
    constituency_code: int | None  # None for a county
    lat: float
    lon: float
    point_from: str  # which unit's point this is: "own" or "constituency"

    @property
    def ward_code(self) -> str | None:
        """The IEBC ward code when this is a ward."""
        return self.code if self.level == "ward" else None


@dataclass(frozen=True, slots=True)
class AdminUnits:
    """Every unit, by level and code."""

    counties: dict[int, Unit]
    constituencies: dict[int, Unit]
    wards: dict[str, Unit]


_COUNTIES = """
SELECT k.code, k.name, p.latitude, p.longitude FROM counties k
LEFT JOIN coordinates p ON p.entity_type = 'county' AND p.entity_id = k.id
"""
_CONSTITUENCIES = """
SELECT c.code, c.name, k.code, p.latitude, p.longitude FROM constituencies c
JOIN counties k ON k.id = c.county_id
LEFT JOIN coordinates p ON p.entity_type = 'constituency' AND p.entity_id = c.id
"""
_WARDS = """
SELECT w.code, w.name, c.code FROM wards w JOIN constituencies c ON c.id = w.constituency_id
"""


def _county_code(code: str) -> int:
    # kenya-data writes "KE031" for county 31 and "KE031172" for constituency 172 of county 31.
    return int(code[2:5])


def _clean(name: str) -> str:
    # The package keeps a few stray spaces ("Makutano/ Mwala") and one backslash ("Njabini\Kiburu").
    return " ".join(name.replace("\\", "/").replace("/ ", "/").split())


@functools.cache
def admin_units() -> AdminUnits:
    """All 47 counties, 290 constituencies and 1,450 wards (read on first use, then kept)."""
    with resources.as_file(resources.files("kenya_data") / "kenya.db") as path:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            county_rows = conn.execute(_COUNTIES).fetchall()
            constituency_rows = conn.execute(_CONSTITUENCIES).fetchall()
            ward_rows = conn.execute(_WARDS).fetchall()
        finally:
            conn.close()
    counties = {}
    for code, name, lat, lon in county_rows:
        county = _county_code(code)
        counties[county] = Unit("county", str(county), _clean(name), county, None, lat, lon, "own")
    constituencies = {}
    for code, name, county_code, lat, lon in constituency_rows:
        number = int(code[5:])
        constituencies[number] = Unit("constituency", str(number), _clean(name), _county_code(county_code), number,
                                      lat, lon, "own")
    wards = {}
    for code, name, constituency_code in ward_rows:
        ward = code.removeprefix("KEW-")
        parent = constituencies[int(constituency_code[5:])]
        wards[ward] = Unit("ward", ward, _clean(name), parent.county_code, int(parent.code), parent.lat, parent.lon,
                           "constituency")
    return AdminUnits(counties, constituencies, wards)
