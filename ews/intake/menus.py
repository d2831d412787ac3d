"""What the USSD menu offers, built from the gazetteer and the vocabulary (ingest/ does not import rules/)."""

from __future__ import annotations

from ingest.ussd_menu import MenuData, Option
from rules.gazetteer import COUNTIES, find_county
from rules.vocabulary import INCIDENT_TYPES


def ussd_menu_data() -> MenuData:
    """Counties by official code, incident types by fixed number, typed county names matched like SMS."""

    def county_named(text: str) -> int | None:
        county = find_county(text)
        return county.code if county else None

    return MenuData(
        counties=tuple(Option(c.code, c.name, c.name) for c in COUNTIES),
        constituencies={},
        incident_types=tuple(Option(t.number, t.label_en, t.label_sw, t.code) for t in INCIDENT_TYPES),
        county_named=county_named,
    )
