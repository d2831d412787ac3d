"""Read a responder directory file (CSV or TOML) into validated entries (pure apart from reading text)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ews.core.entry_files import read_rows
from ews.core.models import ResponderEntry
from ews.core.privacy import InvalidPhone, normalise_phone
from rules.gazetteer import county_by_code, county_by_name

ROLES = ("csic", "mediator", "gender_desk", "analyst", "other")
# Who may read the details of sexual and gender-based violence in an alert: the gender desk and the GBV
# referral partners it stands for. Everyone else is told there is a sensitive report, not what it says.
CLEARED_ROLES = frozenset({"gender_desk"})
# The notifier kinds that send SMS (tests/test_gateway_fallback checks them against notifiers/): a responder may
# name one to be tried first, as for a number one gateway reaches badly; the others stay the fallback.
SMS_GATEWAYS = ("africastalking_sms", "twilio_sms")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MASK = "•"  # a bullet: reads as hidden, and is no digit a number-finder could pick up


class DirectoryError(ValueError):
    """A responder file is malformed; the message names the entry and the field."""


def parse_directory(text: str, *, fmt: str) -> list[ResponderEntry]:
    """Entries from CSV (header: name,phone,county,role,language[,email][,webhook][,sms_notifier]) or TOML
    ([[responder]])."""
    rows = read_rows(text, fmt=fmt, table="responder", error=DirectoryError)
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
    email = str(row.get("email") or "").strip().lower() or None
    if email is not None and _EMAIL.fullmatch(email) is None:
        raise DirectoryError(f"{where} ({name}): email is not an address")
    webhook = str(row.get("webhook") or "").strip() or None
    if webhook is not None:
        parts = urlsplit(webhook)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise DirectoryError(f"{where} ({name}): webhook must be an http(s) URL")
    sms_notifier = str(row.get("sms_notifier") or "").strip().lower() or None
    if sms_notifier is not None and sms_notifier not in SMS_GATEWAYS:
        raise DirectoryError(f"{where} ({name}): sms_notifier must be one of {', '.join(SMS_GATEWAYS)}")
    return ResponderEntry(name=name, phone=phone, county_code=_county(where, name, row.get("county")),
                          role=role, language=language, email=email, webhook=webhook,  # type: ignore[arg-type]
                          sms_notifier=sms_notifier)


def mask_address(channel: str, address: str) -> str:
    """An address shown to operators: enough to recognise, never enough to use (+2547•••••678)."""
    if channel == "sms":
        hidden = max(0, len(address) - 8)
        return address[:5] + MASK * hidden + address[5 + hidden:] if hidden else MASK * len(address)
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}{MASK * 3}@{domain}"
    if channel == "webhook":
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.hostname}/{MASK * 3}"
    return MASK * 3


def _county(where: str, name: str, raw: Any) -> int | None:
    text = str(raw if raw is not None else "").strip()
    if text.lower() in ("", "national", "all", "*"):
        return None  # national responders receive every county's alerts
    if text.isdigit():
        try:
            return county_by_code(int(text)).code
        except KeyError:
            raise DirectoryError(f"{where} ({name}): county code {text} is not 1-47") from None
    county = county_by_name(text)
    if county is None:
        raise DirectoryError(f"{where} ({name}): unknown county {text!r}")
    return county.code
