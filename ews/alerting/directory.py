"""Read a responder directory file (CSV or TOML) into validated entries (pure apart from reading text)."""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from typing import Any

from ews.core.models import Language
from ews.core.privacy import InvalidPhone, normalise_phone
from rules.gazetteer import COUNTIES, county_by_code

ROLES = ("csic", "mediator", "gender_desk", "analyst", "other")
_BY_NAME = {c.name.lower(): c.code for c in COUNTIES}


class DirectoryError(ValueError):
    """A responder file is malformed; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class ResponderEntry:
    """One responder as written in a directory file, validated."""

    name: str
    phone: str = field(repr=False)
    county_code: int | None
    role: str
    language: Language


def parse_directory(text: str, *, fmt: str) -> list[ResponderEntry]:
    """Entries from CSV (header: name,phone,county,role,language) or TOML ([[responder]] tables)."""
    if fmt == "csv":
        rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(text)))
    elif fmt == "toml":
        try:
            rows = list(tomllib.loads(text).get("responder", []))
        except tomllib.TOMLDecodeError as exc:
            raise DirectoryError(f"not valid TOML: {exc}") from exc
    else:
        raise DirectoryError(f"unknown format {fmt!r}; use .csv or .toml")
    if not rows:
        raise DirectoryError("no responders in the file")
    return [_entry(i, row) for i, row in enumerate(rows, start=1)]


def _entry(position: int, row: dict[str, Any]) -> ResponderEntry:
    where = f"responder #{position}"
    name = str(row.get("name") or "").strip()
    if not name:
        raise DirectoryError(f"{where}: name is missing")
    try:
        phone = normalise_phone(str(row.get("phone") or ""))
    except InvalidPhone:
        raise DirectoryError(f"{where} ({name}): phone is not a valid number") from None
    role = str(row.get("role") or "other").strip().lower().replace(" ", "_")
    if role not in ROLES:
        raise DirectoryError(f"{where} ({name}): role {role!r} not one of {', '.join(ROLES)}")
    language = str(row.get("language") or "en").strip().lower()
    if language not in ("en", "sw"):
        raise DirectoryError(f"{where} ({name}): language must be en or sw")
    return ResponderEntry(name=name, phone=phone, county_code=_county(where, name, row.get("county")),
                          role=role, language=language)  # type: ignore[arg-type]


def _county(where: str, name: str, raw: Any) -> int | None:
    text = str(raw if raw is not None else "").strip()
    if text.lower() in ("", "national", "all", "*"):
        return None  # national responders receive every county's alerts
    if text.isdigit():
        try:
            return county_by_code(int(text)).code
        except KeyError:
            raise DirectoryError(f"{where} ({name}): county code {text} is not 1-47") from None
    code = _BY_NAME.get(text.lower())
    if code is None:
        raise DirectoryError(f"{where} ({name}): unknown county {text!r}")
    return code
