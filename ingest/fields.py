"""Validation of the structured report fields a partner or a file gives (pure): each error names its field."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_BODY_CHARS = 4000
MAX_ID_CHARS = 128
MAX_CASUALTIES = 100_000
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # before multi-party elections: surely a typo
FUTURE_SLACK = timedelta(minutes=10)  # clocks differ; an hour ahead is a time zone mistake
KENYA_LAT = (-4.9, 5.2)
KENYA_LON = (33.8, 42.0)
_WARD = re.compile(r"[0-9]{4}")


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field of one item that is wrong, and why (the client's answer)."""

    field: str
    error: str

    def as_dict(self) -> dict[str, str]:
        """The JSON shape of the error."""
        return {"field": self.field, "error": self.error}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_in(item: Mapping[str, Any], name: str, low: int, high: int, errors: list[FieldError]) -> int | None:
    """An optional integer field from `low` to `high`."""
    value = item.get(name)
    if value is None:
        return None
    if not _is_int(value) or not low <= value <= high:
        errors.append(FieldError(name, f"must be an integer from {low} to {high}"))
        return None
    return int(value)


def text_in(item: Mapping[str, Any], name: str, errors: list[FieldError], *, required: bool = False,
            max_chars: int = MAX_ID_CHARS) -> str | None:
    """An optional (or required) non-empty string field of at most `max_chars` characters, without NUL."""
    value = item.get(name)
    if value is None:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(name, "must be a non-empty string"))
        return None
    if len(value) > max_chars:
        errors.append(FieldError(name, f"is {len(value)} characters; the limit is {max_chars}"))
        return None
    if "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        errors.append(FieldError(name, "contains a NUL character or an unpaired surrogate"))
        return None
    return value.strip()


def ward_in(item: Mapping[str, Any], errors: list[FieldError]) -> str | None:
    """An optional IEBC ward code: four digits, 0001-1450, as text."""
    value = item.get("ward_code")
    if value is None:
        return None
    if not isinstance(value, str) or not _WARD.fullmatch(value) or not "0001" <= value <= "1450":
        errors.append(FieldError("ward_code", "must be an IEBC ward code: four digits from 0001 to 1450, as text"))
        return None
    return value


def choice_in(item: Mapping[str, Any], name: str, allowed: Collection[str], errors: list[FieldError]) -> str | None:
    """An optional field that must be one of `allowed`."""
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        shown = ", ".join(sorted(allowed))
        errors.append(FieldError(name, f"must be one of: {shown}"))
        return None
    return value


def parse_time(raw: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 date-time with a time zone, or None when it is not one."""
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def time_in(item: Mapping[str, Any], name: str, now: datetime, errors: list[FieldError]) -> datetime | None:
    """An optional date-time with a time zone, not before 1990 and not in the future."""
    value = item.get(name)
    if value is None:
        return None
    parsed = parse_time(value) if isinstance(value, str) and len(value) <= 64 else None
    if parsed is None:
        errors.append(FieldError(name, "must be a date-time with a time zone, e.g. 2027-08-09T14:30:00+03:00"))
        return None
    if parsed < EARLIEST or parsed > now + FUTURE_SLACK:
        errors.append(FieldError(name, "must be after 1990 and not in the future"))
        return None
    return parsed


def point_in(item: Mapping[str, Any], errors: list[FieldError]) -> tuple[float, float] | None:
    """An optional (latitude, longitude) in Kenya; both or neither."""
    lat, lon = item.get("latitude"), item.get("longitude")
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        errors.append(FieldError("latitude" if lat is None else "longitude",
                                 "latitude and longitude must be given together"))
        return None
    bad = False
    for name, value, (low, high) in (("latitude", lat, KENYA_LAT), ("longitude", lon, KENYA_LON)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors.append(FieldError(name, "must be a number (decimal degrees, WGS84)"))
            bad = True
        elif not low <= value <= high:
            errors.append(FieldError(name, f"must be in Kenya: from {low} to {high}"))
            bad = True
    return None if bad else (float(lat), float(lon))
