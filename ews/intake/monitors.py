"""The registered-monitor file (CSV or TOML): name, phone, home county or ward, organisation, language."""

from __future__ import annotations

from typing import Any

from ews.core.entry_files import read_rows
from ews.core.models import MonitorEntry
from ews.core.privacy import InvalidPhone, normalise_phone
from rules.gazetteer import county_by_code, county_by_name
from rules.monitor_format import COUNTY_ABBREVIATIONS


class MonitorFileError(ValueError):
    """A monitor file is malformed; the message names the entry and the field."""


def parse_monitors(text: str, *, fmt: str) -> list[MonitorEntry]:
    """Entries from CSV (header: name,phone,county[,ward][,organisation][,language]) or TOML ([[monitor]])."""
    rows = read_rows(text, fmt=fmt, table="monitor", error=MonitorFileError)
    return [_entry(i, row) for i, row in enumerate(rows, start=1)]


def _entry(position: int, row: dict[str, Any]) -> MonitorEntry:
    where = f"monitor #{position}"
    name = str(row.get("name") or "").strip()
    if not name:
        raise MonitorFileError(f"{where}: name is missing")
    where = f"{where} ({name})"
    try:
        phone = normalise_phone(str(row.get("phone") or ""))
    except InvalidPhone:
        raise MonitorFileError(f"{where}: phone is not a valid number") from None
    ward = str(row.get("ward") or "").strip() or None
    if ward is not None and not (len(ward) == 4 and ward.isascii() and ward.isdecimal() and "0001" <= ward <= "1450"):
        raise MonitorFileError(f"{where}: ward must be an IEBC ward code 0001-1450, like 0217")
    language = str(row.get("language") or "sw").strip().lower()
    if language not in ("en", "sw"):
        raise MonitorFileError(f"{where}: language must be en or sw")
    return MonitorEntry(name=name, phone=phone, county_code=_county(where, row.get("county")), ward_code=ward,
                        organisation=str(row.get("organisation") or "").strip(),
                        language=language)  # type: ignore[arg-type]


def _county(where: str, raw: Any) -> int:
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise MonitorFileError(f"{where}: county is missing (a monitor has a home county)")
    if text.isdigit():
        try:
            return county_by_code(int(text)).code
        except KeyError:
            raise MonitorFileError(f"{where}: county code {text} is not 1-47") from None
    if text.upper() in COUNTY_ABBREVIATIONS:
        return COUNTY_ABBREVIATIONS[text.upper()]
    county = county_by_name(text)
    if county is None:
        raise MonitorFileError(f"{where}: unknown county {text!r}")
    return county.code
