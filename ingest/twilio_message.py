"""One inbound Twilio message (SMS, or WhatsApp when From says `whatsapp:`) as a report or a command (pure).

Both Twilio webhook paths parse with this: a Messaging Service that holds an SMS number and a WhatsApp sender
posts both kinds to one URL, so the channel is read from the message, never from the path it came to. The
patterns below are also the OpenAPI document's, so the document and the parser state one contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ews.core.models import ChannelName, Command, Forwarded, Inbound, ReportIn
from ingest.base import Rejected
from ingest.commands import parse_command

MAX_BODY_CHARS = 1600  # Twilio's own cap on Body
MAX_SID_CHARS = 64
WHATSAPP_PREFIX = "whatsapp:"
MAX_MEDIA = 10  # Twilio's cap on media per message (WhatsApp itself sends one)
MAX_CONTENT_TYPE_CHARS = 255
UNKNOWN_CONTENT_TYPE = "application/octet-stream"  # a medium whose type Twilio did not give
MAX_PLACE_CHARS = 400  # Label and Address of a shared place, each
# A shared point is kept to 3 decimals (about 110 m): enough to find a market or a junction and to place
# the report, but a "current location" is where the reporter stands, maybe their home, and the stored
# point is readable by every API caller and export.
POINT_DECIMALS = 3

# type "/" subtype, each a token of RFC 6838's restricted name characters (127 at most), then any
# parameters ("; codecs=opus"), which are dropped.
CONTENT_TYPE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(;[^\x00]*)?"
NUM_MEDIA_PATTERN = r"([0-9]|10)?"
# Decimal degrees as Twilio writes them ("-0.0917"), and nothing else float() would take ("nan", "1e3", " 5").
LATITUDE_PATTERN = r"-?(90(\.0{1,15})?|[1-8]?[0-9](\.[0-9]{1,15})?)"
LONGITUDE_PATTERN = r"-?(180(\.0{1,15})?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]{1,15})?)"

_CONTENT_TYPE = re.compile(CONTENT_TYPE_PATTERN)
_NUM_MEDIA = re.compile(NUM_MEDIA_PATTERN)
_LATITUDE = re.compile(LATITUDE_PATTERN)
_LONGITUDE = re.compile(LONGITUDE_PATTERN)
_TRUE = "true"


def is_whatsapp(payload: Mapping[str, Any]) -> bool:
    """Whether the message came over WhatsApp (Twilio writes its addresses `whatsapp:+254...`)."""
    return str(payload.get("From", "")).strip().lower().startswith(WHATSAPP_PREFIX)


def parse_message(payload: Mapping[str, Any], received_at: datetime) -> list[Inbound]:
    """One report (or command) from Twilio's form; Rejected(400) naming the field that is missing or wrong.

    SMS and WhatsApp are read alike (an MMS carries media too): text, media (counted, never fetched), a
    shared location, or any of them together. Only a message with none of them is refused: nothing to
    report. ProfileName and WaId are never read: the first is the reporter's name, the second their number.
    """
    _require(payload, ("MessageSid", "From"))
    sid = _sid(payload)
    sender = str(payload["From"])
    channel: ChannelName = "twilio_whatsapp" if is_whatsapp(payload) else "twilio_sms"
    if channel == "twilio_whatsapp" and not sender.strip()[len(WHATSAPP_PREFIX):].strip():
        raise Rejected(400, "From has no number after whatsapp:")
    body = _body(payload)
    media = _media(payload)
    point = _point(payload)
    label, address = _place_text(payload, "Label"), _place_text(payload, "Address")
    if not body and point is not None:
        # A place picked from WhatsApp's list comes with its name and address: the reporter's own words for
        # where, which the console shows and the place resolver can read (the point still places it first).
        body = ", ".join(text for text in (label, address) if text)
    if not body and not media and point is None:
        raise Rejected(400, "missing or empty field(s): Body (and no media or location either)")
    forwarded = _forwarded(payload)
    if not media and point is None and forwarded is None:
        # A command is the reporter's own word and nothing else: a forwarded "STOP" is somebody's message.
        command = parse_command(body)
        if command is not None:
            return [Command(kind=command.kind, channel=channel, external_id=sid, sender=sender,
                            received_at=received_at, argument=command.argument, language=command.language)]
    return [ReportIn(channel=channel, external_id=sid, body=body, sender=sender, received_at=received_at,
                     latitude=point[0] if point else None, longitude=point[1] if point else None,
                     media_count=len(media), media_types=media, forwarded=forwarded)]


def _require(payload: Mapping[str, Any], names: tuple[str, ...]) -> None:
    missing = [f for f in names if not str(payload.get(f, "")).strip()]
    if missing:
        raise Rejected(400, f"missing or empty field(s): {', '.join(missing)}")


def _sid(payload: Mapping[str, Any]) -> str:
    sid = str(payload["MessageSid"])
    # Twilio's ids are printable ASCII without spaces ("SM" + 32 hex); the OpenAPI document says the same.
    if len(sid) > MAX_SID_CHARS or not (sid.isascii() and sid.isprintable()) or " " in sid:
        raise Rejected(400, "MessageSid is malformed")
    return sid


def _body(payload: Mapping[str, Any]) -> str:
    body = str(payload.get("Body", ""))
    if len(body) > MAX_BODY_CHARS:
        raise Rejected(400, f"Body is {len(body)} characters; the limit is {MAX_BODY_CHARS}")
    return body.strip()


def _media(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The content types of the attached media, from NumMedia and MediaContentType0..N-1 (MediaUrlN unread)."""
    raw = str(payload.get("NumMedia", ""))
    if _NUM_MEDIA.fullmatch(raw) is None:
        raise Rejected(400, f"NumMedia must be a whole number from 0 to {MAX_MEDIA}")
    count = int(raw or "0")
    types = []
    for i in range(MAX_MEDIA):  # every one given is checked, as the OpenAPI document describes them all
        value = payload.get(f"MediaContentType{i}")
        if value is None:
            if i < count:  # Twilio always names the type; should it stop, the medium is still counted
                types.append(UNKNOWN_CONTENT_TYPE)
            continue
        text = str(value)
        if len(text) > MAX_CONTENT_TYPE_CHARS:
            raise Rejected(400, f"MediaContentType{i} is over {MAX_CONTENT_TYPE_CHARS} characters")
        if _CONTENT_TYPE.fullmatch(text) is None:
            raise Rejected(400, f"MediaContentType{i} must be a content type such as image/jpeg")
        if i < count:
            types.append(text.split(";", 1)[0].lower())
    return tuple(types)


def _point(payload: Mapping[str, Any]) -> tuple[float, float] | None:
    """A shared location's (latitude, longitude), rounded; both or neither."""
    lat, lon = payload.get("Latitude"), payload.get("Longitude")
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise Rejected(400, "Latitude and Longitude must be given together")
    return _degrees("Latitude", str(lat), _LATITUDE, 90), _degrees("Longitude", str(lon), _LONGITUDE, 180)


def _degrees(name: str, text: str, pattern: re.Pattern[str], limit: int) -> float:
    if pattern.fullmatch(text) is None:
        raise Rejected(400, f"{name} must be decimal degrees from -{limit} to {limit}")
    return round(float(text), POINT_DECIMALS) + 0.0  # + 0.0: -0.0 is stored as 0.0


def _place_text(payload: Mapping[str, Any], name: str) -> str:
    text = str(payload.get(name, ""))
    if len(text) > MAX_PLACE_CHARS:
        raise Rejected(400, f"{name} is over {MAX_PLACE_CHARS} characters")
    return " ".join(text.split())


def _forwarded(payload: Mapping[str, Any]) -> Forwarded | None:
    if str(payload.get("FrequentlyForwarded", "")).strip().lower() == _TRUE:
        return "frequently_forwarded"
    if str(payload.get("Forwarded", "")).strip().lower() == _TRUE:
        return "forwarded"
    return None
