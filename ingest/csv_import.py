"""Parsers for bulk import of history (pure): ACLED's export, Ushahidi's CSV of posts, our own JSON lines.

Each parser turns a file's rows into `Imported` rows (a report and the names intake still has to place),
or a `RowError` with the file's line number and a reason. No database, no network.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from ews.core.models import KENYA_TIME, ReportIn
from ingest.fields import KENYA_LAT, KENYA_LON, MAX_CASUALTIES, parse_time

FORMATS = ("ews", "ushahidi", "acled")
MAX_BODY_CHARS = 8000  # history can be long (ACLED notes); longer is cut, not refused
# A day without a time is placed at noon in Kenya, so it is the same date in Kenya and in UTC.
_NOON = time(12, 0)
_SEVERITIES = ("low", "medium", "high", "critical")  # the reports.severity check (issue 11)


@dataclass(frozen=True, slots=True)
class Imported:
    """One row read: the report, and the place names intake resolves (county first)."""

    line: int
    report: ReportIn
    county_name: str | None = None
    place_name: str | None = None  # a constituency, town or location name, for intake to read
    severity: str | None = None
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that cannot be imported: its line in the file and why (the reason groups the summary)."""

    line: int
    reason: str
    detail: str = ""


Row = Imported | RowError

# ACLED event and sub-event types onto our incident types (README: "ACLED types"). Keys are
# (event_type, sub_event_type); a sub-event type alone is matched when its pair is not listed.
ACLED_TYPES: dict[str, str] = {
    "armed clash": "armed_attack",
    "government regains territory": "armed_attack",
    "non-state actor overtakes territory": "armed_attack",
    "sexual violence": "sgbv",
    "attack": "physical_assault",
    "abduction/forced disappearance": "physical_assault",
    "chemical weapon": "armed_attack",
    "air/drone strike": "armed_attack",
    "suicide bomb": "armed_attack",
    "shelling/artillery/missile attack": "armed_attack",
    "remote explosive/landmine/ied": "armed_attack",
    "grenade": "armed_attack",
    "violent demonstration": "protest_demonstration",
    "mob violence": "physical_assault",
    "peaceful protest": "protest_demonstration",
    "protest with intervention": "protest_demonstration",
    "excessive force against protesters": "protest_demonstration",
    "agreement": "peace_activity",
    "looting/property destruction": "arson_property",
    "arrests": "not_incident",
    "change to group/activity": "not_incident",
    "disrupted weapons use": "not_incident",
    "headquarters or base established": "not_incident",
    "non-violent transfer of territory": "not_incident",
    "other": "not_incident",
}
# Events whose type is about people hurt: with deaths they are killings.
_KILLING_IF_FATAL = frozenset({"physical_assault", "armed_attack"})
_ACLED_REQUIRED = ("event_id_cnty", "event_date", "event_type", "sub_event_type", "admin1", "notes", "fatalities")

_MONTH_DATE = re.compile(r"\s*(\d{1,2})[ -]([A-Za-z]+)[ -](\d{4})\s*")


def parse_day(raw: str) -> datetime | None:
    """A date as ACLED writes it ('2020-01-17', '17 January 2020', '17-Jan-2020'), at noon Kenya time."""
    raw = raw.strip()
    day = None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        match = _MONTH_DATE.fullmatch(raw)
        if match:
            for fmt in ("%d %B %Y", "%d %b %Y"):
                try:
                    day = datetime.strptime(" ".join(match.groups()), fmt).date()
                    break
                except ValueError:
                    continue
    if day is None or day.year < 1990:
        return None
    return datetime.combine(day, _NOON, tzinfo=KENYA_TIME).astimezone(UTC)


def _point(lat_raw: str, lon_raw: str) -> tuple[float, float] | str | None:
    """(lat, lon), None when both are empty, or a reason string."""
    if not lat_raw.strip() and not lon_raw.strip():
        return None
    try:
        lat, lon = float(lat_raw), float(lon_raw)
    except ValueError:
        return "latitude/longitude is not a number"
    if not (KENYA_LAT[0] <= lat <= KENYA_LAT[1] and KENYA_LON[0] <= lon <= KENYA_LON[1]):
        return "latitude/longitude is outside Kenya"
    return lat, lon


def _clean(text: str) -> str:
    text = text.replace("\x00", "").strip()
    return text[:MAX_BODY_CHARS]


def _csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number where the record starts, row by lower-cased header) for each CSV record."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    start = reader.line_num + 1
    for record in reader:
        if record:
            yield start, dict(zip(names, record, strict=False))
        start = reader.line_num + 1


def parse_acled(lines: Iterable[str], *, source: str, imported_at: datetime) -> Iterator[Row]:
    """ACLED's standard export columns (extra columns ignored); admin1 is the county."""
    rows = _csv_rows(lines)
    for line, row in rows:
        missing = [c for c in _ACLED_REQUIRED if c not in row]
        if missing:
            yield RowError(line, "missing columns", ", ".join(missing))
            yield from (RowError(n, "missing columns", ", ".join(missing)) for n, _ in rows)
            return
        yield _acled_row(line, row, source=source, imported_at=imported_at)


def _acled_row(line: int, row: dict[str, str], *, source: str, imported_at: datetime) -> Row:
    event_id = row["event_id_cnty"].strip()
    if not event_id or len(event_id) > 128:
        return RowError(line, "missing event_id_cnty")
    country = row.get("country", "Kenya").strip()
    if country and country.lower() != "kenya":
        return RowError(line, "not in Kenya", country[:40])
    occurred = parse_day(row["event_date"])
    if occurred is None:
        return RowError(line, "bad event_date", row["event_date"][:40])
    sub = row["sub_event_type"].strip().lower()
    incident_type = ACLED_TYPES.get(sub) or ACLED_TYPES.get(row["event_type"].strip().lower())
    if incident_type is None:
        return RowError(line, "unknown event type", f"{row['event_type'][:40]} / {row['sub_event_type'][:40]}")
    raw_deaths = row["fatalities"].strip() or "0"
    if not raw_deaths.isdigit() or int(raw_deaths) > MAX_CASUALTIES:
        return RowError(line, "bad fatalities", raw_deaths[:20])
    deaths = int(raw_deaths)
    if deaths and incident_type in _KILLING_IF_FATAL:
        incident_type = "killing"
    point = _point(row.get("latitude", ""), row.get("longitude", ""))
    if isinstance(point, str):
        return RowError(line, point)
    notes = _clean(row["notes"])
    actors = " / ".join(a.strip() for a in (row.get("actor1", ""), row.get("actor2", "")) if a.strip())
    body = notes or _clean(f"{row['event_type']}: {row['sub_event_type']}. {actors}")
    place = ", ".join(p.strip() for p in (row.get("location", ""), row.get("admin3", ""), row.get("admin2", ""))
                      if p.strip()) or None
    report = ReportIn(channel="import", external_id=event_id, body=body,
                      # Each event is its own "reporter" for the rules' distinct-sender counts in backtests.
                      sender=f"import:{source}:{event_id}", received_at=occurred, source=source,
                      incident_type=incident_type, casualties=deaths, occurred_at=occurred, language="en",
                      latitude=point[0] if point else None, longitude=point[1] if point else None)
    return Imported(line, report, county_name=row["admin1"].strip() or None, place_name=place,
                    severity="critical" if deaths else None, sensitive=incident_type == "sgbv")


# Ushahidi deployments name their own categories; these keywords map them onto our types, first match wins.
USHAHIDI_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("sexual", "sgbv"), ("rape", "sgbv"), ("gbv", "sgbv"), ("gender", "sgbv"),
    ("kill", "killing"), ("death", "killing"), ("murder", "killing"),
    ("hate", "hate_speech_incitement"), ("incite", "hate_speech_incitement"),
    ("threat", "threat_intimidation"), ("intimid", "threat_intimidation"),
    ("cattle", "cattle_raiding"), ("livestock", "cattle_raiding"), ("rustl", "cattle_raiding"),
    ("displace", "displacement"), ("idp", "displacement"),
    ("arson", "arson_property"), ("property", "arson_property"), ("loot", "arson_property"),
    ("riot", "protest_demonstration"), ("protest", "protest_demonstration"), ("demonstr", "protest_demonstration"),
    ("rigging", "election_malpractice"), ("brib", "election_malpractice"), ("polling", "election_malpractice"),
    ("vote", "election_malpractice"), ("malpractice", "election_malpractice"),
    ("land", "intercommunal_resource_conflict"), ("pasture", "intercommunal_resource_conflict"),
    ("peace", "peace_activity"),
    ("armed", "armed_attack"), ("gun", "armed_attack"),
    ("attack", "physical_assault"), ("assault", "physical_assault"), ("violence", "physical_assault"),
    ("clash", "physical_assault"), ("fight", "physical_assault"),
)  # fmt: skip
_USHAHIDI_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "post id", "#", "incident id"),
    "title": ("title", "post title", "incident title"),
    "content": ("content", "description", "incident description", "post content"),
    "date": ("post date", "post date (utc)", "post_date", "incident date", "date", "created (utc)", "created"),
    "location": ("location name", "location", "location_name", "location name (text)"),
    "latitude": ("latitude", "location.lat", "lat"),
    "longitude": ("longitude", "location.lon", "lon", "lng"),
    "categories": ("categories", "category", "incident category"),
}


def ushahidi_type(categories: str) -> str | None:
    """Our incident type for a post's categories, by keyword; None when no keyword matches."""
    lowered = categories.lower()
    return next((code for word, code in USHAHIDI_CATEGORIES if word in lowered), None)


def _ushahidi_date(raw: str) -> datetime | None:
    raw = raw.strip()
    parsed = parse_time(raw)
    if parsed is not None:
        return parsed
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%Y-%m-%d"):
        try:
            # Ushahidi writes post dates in UTC when it names no zone.
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def parse_ushahidi(lines: Iterable[str], *, source: str, imported_at: datetime) -> Iterator[Row]:
    """The Ushahidi platform's CSV export of posts (v3+ and 2.x headers); other columns are ignored."""
    columns: dict[str, str] | None = None
    for line, row in _csv_rows(lines):
        if columns is None:
            columns = {ours: next((h for h in names if h in row), "") for ours, names in _USHAHIDI_COLUMNS.items()}
            missing = [ours for ours in ("id", "date") if not columns[ours]]
            if not columns["title"] and not columns["content"]:
                missing.append("title or content")
            if missing:
                yield RowError(line, "missing columns", ", ".join(missing))
                return
        yield _ushahidi_row(line, {ours: row.get(h, "") if h else "" for ours, h in columns.items()}, source=source)


def _ushahidi_row(line: int, row: dict[str, str], *, source: str) -> Row:
    post_id = row["id"].strip()
    if not post_id or len(post_id) > 128:
        return RowError(line, "missing id")
    posted = _ushahidi_date(row["date"])
    if posted is None or posted.year < 1990:
        return RowError(line, "bad post date", row["date"][:40])
    body = _clean("\n".join(p.strip() for p in (row["title"], row["content"]) if p.strip()))
    if not body:
        return RowError(line, "empty title and content")
    point = _point(row["latitude"], row["longitude"])
    if isinstance(point, str):
        return RowError(line, point)
    incident_type = ushahidi_type(row["categories"])
    report = ReportIn(channel="import", external_id=post_id, body=body, sender=f"import:{source}:{post_id}",
                      received_at=posted, source=source, incident_type=incident_type, occurred_at=posted,
                      latitude=point[0] if point else None, longitude=point[1] if point else None)
    return Imported(line, report, place_name=row["location"].strip() or None, sensitive=incident_type == "sgbv")


def parse_ews(lines: Iterable[str], *, source: str, imported_at: datetime) -> Iterator[Row]:
    """Our own format: one JSON report object per line, as GET /api/v1/reports/{id} returns it."""
    for line, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            obj: Any = json.loads(text)
        except ValueError:
            yield RowError(line, "not a JSON object")
            continue
        if not isinstance(obj, dict):
            yield RowError(line, "not a JSON object")
            continue
        yield _ews_row(line, obj, source=source)


def _ews_row(line: int, obj: dict[str, Any], *, source: str) -> Row:
    ref = obj.get("reference") or obj.get("id")
    if not isinstance(ref, str | int) or isinstance(ref, bool) or not str(ref).strip():
        return RowError(line, "missing reference")
    body = obj.get("body")
    if not isinstance(body, str) or not body.strip():
        return RowError(line, "missing body")
    received = parse_time(obj["received_at"]) if isinstance(obj.get("received_at"), str) else None
    if received is None:
        return RowError(line, "bad received_at")
    occurred = parse_time(obj["occurred_at"]) if isinstance(obj.get("occurred_at"), str) else None
    if obj.get("occurred_at") is not None and occurred is None:
        return RowError(line, "bad occurred_at")
    county = obj.get("county_code")
    if county is not None and (not isinstance(county, int) or isinstance(county, bool) or not 1 <= county <= 47):
        return RowError(line, "bad county_code")
    casualties = obj.get("casualties")
    if casualties is not None and (not isinstance(casualties, int) or not 0 <= casualties <= MAX_CASUALTIES):
        return RowError(line, "bad casualties")
    lat, lon = obj.get("latitude"), obj.get("longitude")
    if (lat is None) != (lon is None) or (lat is not None and (
            not isinstance(lat, int | float) or not isinstance(lon, int | float) or
            not (KENYA_LAT[0] <= lat <= KENYA_LAT[1] and KENYA_LON[0] <= lon <= KENYA_LON[1]))):
        return RowError(line, "latitude/longitude is outside Kenya")
    language = obj.get("language") if obj.get("language") in ("en", "sw") else None
    ward = obj.get("ward_code") if isinstance(obj.get("ward_code"), str) else None
    constituency = obj.get("constituency_code")
    report = ReportIn(channel="import", external_id=str(ref), body=_clean(body), sender=f"import:{source}:{ref}",
                      received_at=received, source=source, county_code=county,
                      constituency_code=constituency if isinstance(constituency, int) else None,
                      ward_code=ward, incident_type=obj.get("incident_type") if isinstance(
                          obj.get("incident_type"), str) else None,
                      casualties=casualties, occurred_at=occurred, language=language,
                      latitude=float(lat) if lat is not None else None,
                      longitude=float(lon) if lon is not None else None)
    severity = obj.get("severity") if obj.get("severity") in _SEVERITIES else None
    return Imported(line, report, severity=severity, sensitive=obj.get("sensitive") is True)


PARSERS = {"ews": parse_ews, "ushahidi": parse_ushahidi, "acled": parse_acled}
"""The parser for each --format."""
