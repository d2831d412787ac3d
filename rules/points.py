"""Which county a point (latitude, longitude) lies in: the county of the nearest constituency point (pure).

This is the one seam for placing points. No boundary file with a clear licence is installable, so a point
goes to the county of the nearest of the gazetteer's 290 constituency points (kenya-data, MIT); near a
county border this can pick the neighbour. A test measures how often it agrees with the IEBC outlines.
"""

from __future__ import annotations

import functools
import math

from rules.gazetteer import County, county_by_code
from rules.gazetteer.data import admin_units

# Kenya's extent with a small margin: a point outside is refused, not forced into the nearest county.
LAT_RANGE = (-4.9, 5.2)
LON_RANGE = (33.8, 42.0)


@functools.cache
def _points() -> tuple[tuple[int, float, float], ...]:
    """(county code, latitude, longitude) of every constituency's representative point."""
    return tuple((unit.county_code, unit.lat, unit.lon) for unit in admin_units().constituencies.values())


def in_kenya(latitude: float, longitude: float) -> bool:
    """Whether the point is within Kenya's extent (a box with a small margin)."""
    return LAT_RANGE[0] <= latitude <= LAT_RANGE[1] and LON_RANGE[0] <= longitude <= LON_RANGE[1]


def county_at(latitude: float, longitude: float) -> County | None:
    """The county the point is placed in, or None for a point outside Kenya (or not a number)."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)) or not in_kenya(latitude, longitude):
        return None
    # Near the equator a degree of longitude is as long as one of latitude, so plain degrees compare.
    code = min(_points(), key=lambda p: (p[1] - latitude) ** 2 + (p[2] - longitude) ** 2)[0]
    return county_by_code(code)
