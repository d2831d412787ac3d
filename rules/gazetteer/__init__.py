"""Kenya's gazetteer: counties, constituencies and wards, the project's aliases, and place matching (pure)."""

from rules.gazetteer.counties import (
    COUNTIES,
    County,
    _within,
    county_by_code,
    county_by_name,
    county_in_words,
    find_county,
)
from rules.gazetteer.match import PlaceHints, PlaceMatch, resolve_place

__all__ = ["COUNTIES", "County", "PlaceHints", "PlaceMatch", "_within", "county_by_code", "county_by_name",
           "county_in_words", "find_county", "resolve_place"]
