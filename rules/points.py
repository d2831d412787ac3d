"""Which county a point (latitude, longitude) lies in: the nearest county representative point (pure).

This is the one seam for placing points. No boundary file with a clear licence is installable yet, so each
county is one representative point inside it (written from public maps, roughly the middle of the county)
and a point goes to the nearest; near a county border this can pick the neighbour. A test measures how
often it agrees with the IEBC outlines. When the gazetteer gains ward points or outlines, only
`county_at` changes.
"""

from __future__ import annotations

import math

from rules.gazetteer import County, county_by_code

# Kenya's extent with a small margin: a point outside is refused, not forced into the nearest county.
LAT_RANGE = (-4.9, 5.2)
LON_RANGE = (33.8, 42.0)

# (code, latitude, longitude): one point well inside each county.
_POINTS: tuple[tuple[int, float, float], ...] = (
    (1, -4.03, 39.66), (2, -4.18, 39.10), (3, -3.25, 39.60), (4, -1.55, 39.70), (5, -2.05, 40.75),
    (6, -3.35, 38.45), (7, -0.55, 40.20), (8, 1.75, 40.05), (9, 3.50, 40.95), (10, 2.75, 37.60),
    (11, 0.80, 38.55), (12, 0.15, 37.75), (13, -0.25, 37.90), (14, -0.65, 37.65), (15, -1.45, 38.45),
    (16, -1.30, 37.40), (17, -2.15, 37.80), (18, -0.35, 36.45), (19, -0.38, 36.95), (20, -0.55, 37.30),
    (21, -0.80, 37.05), (22, -1.03, 36.80), (23, 3.35, 35.55), (24, 1.60, 35.30), (25, 1.40, 37.10),
    (26, 1.05, 34.95), (27, 0.52, 35.30), (28, 0.80, 35.55), (29, 0.20, 35.10), (30, 0.70, 36.00),
    (31, 0.30, 36.80), (32, -0.45, 36.05), (33, -1.30, 35.60), (34, -2.10, 36.85), (35, -0.33, 35.35),
    (36, -0.78, 35.30), (37, 0.35, 34.78), (38, 0.06, 34.70), (39, 0.75, 34.65), (40, 0.35, 34.20),
    (41, 0.05, 34.30), (42, -0.15, 34.85), (43, -0.55, 34.42), (44, -1.00, 34.38), (45, -0.70, 34.77),
    (46, -0.60, 34.94), (47, -1.29, 36.83),
)  # fmt: skip


def in_kenya(latitude: float, longitude: float) -> bool:
    """Whether the point is within Kenya's extent (a box with a small margin)."""
    return LAT_RANGE[0] <= latitude <= LAT_RANGE[1] and LON_RANGE[0] <= longitude <= LON_RANGE[1]


def county_at(latitude: float, longitude: float) -> County | None:
    """The county the point is placed in, or None for a point outside Kenya (or not a number)."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)) or not in_kenya(latitude, longitude):
        return None
    # Near the equator a degree of longitude is as long as one of latitude, so plain degrees compare.
    code = min(_POINTS, key=lambda p: (p[1] - latitude) ** 2 + (p[2] - longitude) ** 2)[0]
    return county_by_code(code)
