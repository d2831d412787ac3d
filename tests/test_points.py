"""Placing a point in its county: sanity points, the Kenya box, and agreement with the IEBC county outlines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rules.points import county_at

OUTLINES = Path(__file__).resolve().parents[2] / "shared" / "data" / "kenya_counties_iebc2012_simplified.geojson"


@pytest.mark.parametrize(("lat", "lon", "code"), [
    (-1.2864, 36.8172, 47), (-0.0917, 34.7680, 42), (0.5143, 35.2698, 27), (-4.0435, 39.6682, 1),
    (-0.3031, 36.0800, 32), (3.1191, 35.5973, 23), (-0.4201, 36.9476, 19), (0.0463, 37.6559, 12),
])
def test_towns_fall_in_their_county(lat: float, lon: float, code: int) -> None:
    county = county_at(lat, lon)
    assert county is not None and county.code == code


@pytest.mark.parametrize(("lat", "lon"), [(51.5, -0.12), (0.35, 32.58), (-6.8, 39.28), (float("nan"), 36.0)])
def test_points_outside_kenya_are_placed_nowhere(lat: float, lon: float) -> None:
    assert county_at(lat, lon) is None


def _inside(lon: float, lat: float, ring: list[list[float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def _polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


@pytest.mark.skipif(not OUTLINES.exists(), reason="the shared reference outlines are not beside the project")
def test_agreement_with_the_iebc_outlines_on_a_grid() -> None:
    """Nearest representative point is an approximation near borders: measured here, on a 0.1-degree grid."""
    features = json.loads(OUTLINES.read_text())["features"]
    outlines = [(int(f["properties"]["county_code"]), _polygons(f["geometry"])) for f in features]
    total = agree = 0
    for i in range(-47, 51):
        for j in range(339, 420):
            lat, lon = i / 10, j / 10
            code = next((c for c, polys in outlines for poly in polys
                         if _inside(lon, lat, poly[0]) and not any(_inside(lon, lat, h) for h in poly[1:])), None)
            if code is None:
                continue
            total += 1
            placed = county_at(lat, lon)
            agree += placed is not None and placed.code == code
    share = agree / total
    print(f"nearest representative point agrees with the IEBC outline at {agree}/{total} grid points ({share:.1%})")
    assert share >= 0.80  # measured 84.3% with constituency points (72.5% with one point per county)
