"""What the USSD menu offers, built from the gazetteer and the vocabulary (ingest/ does not import rules/)."""

from __future__ import annotations

from ingest.ussd_menu import MenuData, Option
from rules.gazetteer import COUNTIES, find_county
from rules.gazetteer.data import admin_units
from rules.vocabulary import INCIDENT_TYPES


def ussd_menu_data() -> MenuData:
    """Counties by official code, their constituencies, incident types by fixed number, typed county names
    matched like SMS."""

    def county_named(text: str) -> int | None:
        county = find_county(text)
        return county.code if county else None

    by_county: dict[int, list[Option]] = {}
    for number, unit in sorted(admin_units().constituencies.items()):
        by_county.setdefault(unit.county_code, []).append(Option(number, unit.name, unit.name))
    return MenuData(
        counties=tuple(Option(c.code, c.name, c.name) for c in COUNTIES),
        constituencies={county: tuple(options) for county, options in by_county.items()},
        incident_types=tuple(Option(t.number, t.label_en, t.label_sw, t.code) for t in INCIDENT_TYPES),
        county_named=county_named,
    )
