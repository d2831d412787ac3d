"""The short structured SMS registered monitors send: county, incident-type number, free text (pure).

`42 3 watu 40 wamekusanyika na mapanga` = county 42 (Kisumu), type 3 (armed attack), then the text. The county
may also be its name (`kisumu`, `homa-bay`, `homa bay`) or an abbreviation from COUNTY_ABBREVIATIONS (`KSM`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.gazetteer import county_by_code, county_by_name
from rules.vocabulary import INCIDENT_TYPES, incident_type_by_number

# Three-letter abbreviations by official county code (the README's county table lists them). Common
# forms where one is in use (MSA, NRB, KSM, NKR), else the county's consonants.
COUNTY_ABBREVIATIONS: dict[str, int] = {
    "MSA": 1, "KWL": 2, "KLF": 3, "TRV": 4, "LMU": 5, "TTV": 6, "GRS": 7, "WJR": 8, "MDR": 9, "MRS": 10,
    "ISL": 11, "MRU": 12, "TNT": 13, "EMB": 14, "KTU": 15, "MKS": 16, "MKN": 17, "NYD": 18, "NYR": 19,
    "KRN": 20, "MRG": 21, "KMB": 22, "TRK": 23, "WPK": 24, "SMB": 25, "TNZ": 26, "UGS": 27, "EMK": 28,
    "NDI": 29, "BRN": 30, "LKP": 31, "NKR": 32, "NRK": 33, "KJD": 34, "KRC": 35, "BMT": 36, "KKG": 37,
    "VHG": 38, "BGM": 39, "BSA": 40, "SYA": 41, "KSM": 42, "HBY": 43, "MGR": 44, "KSI": 45, "NYM": 46,
    "NRB": 47,
}
_ALSO = {"NBI": 47, "NAI": 47, "MOMBASA": 1}
_CODES = {**COUNTY_ABBREVIATIONS, **_ALSO}
_EDGE = " \t\r\n.,;:-#"

# The vocabulary's labels are too long for 14 of them to fit two SMS: short forms for the HELP answer.
_SHORT_EN = {
    "killing": "killing", "physical_assault": "assault", "armed_attack": "armed attack", "arson_property": "arson",
    "sgbv": "sexual/gender violence", "threat_intimidation": "threat", "hate_speech_incitement": "hate speech",
    "intercommunal_resource_conflict": "land/water clash", "cattle_raiding": "cattle raid",
    "election_malpractice": "election fraud", "protest_demonstration": "protest", "displacement": "displaced",
    "peace_activity": "peace", "not_incident": "other",
}
_SHORT_SW = {
    "killing": "mauaji", "physical_assault": "kupigwa", "armed_attack": "silaha", "arson_property": "moto/mali",
    "sgbv": "dhuluma kijinsia", "threat_intimidation": "vitisho", "hate_speech_incitement": "chuki",
    "intercommunal_resource_conflict": "mzozo ardhi/maji", "cattle_raiding": "wizi mifugo",
    "election_malpractice": "wizi kura", "protest_demonstration": "maandamano", "displacement": "kuhama",
    "peace_activity": "amani", "not_incident": "si tukio",
}


@dataclass(frozen=True, slots=True)
class MonitorReport:
    """A monitor's structured SMS: county code, incident type code, and the free text after them."""

    county_code: int
    incident_type: str
    text: str


def parse_monitor_sms(body: str) -> MonitorReport | None:
    """The structured fields of a monitor's SMS, or None when it is not in the format (then it is free text)."""
    words = body.strip().split(None, 3)
    for county_words in (1, 2):  # "KSM 3 ..." or "homa bay 3 ..."
        if len(words) <= county_words:
            return None
        county = _county(" ".join(words[:county_words]))
        kind = _type(words[county_words])
        if county is not None and kind is not None:
            text = body.strip().split(None, county_words + 1)
            return MonitorReport(county, kind, text[county_words + 1].strip() if len(text) > county_words + 1 else "")
    return None


def _county(word: str) -> int | None:
    word = word.strip(_EDGE)
    if word.isascii() and word.isdecimal() and len(word) <= 2:
        try:
            return county_by_code(int(word)).code
        except KeyError:
            return None
    if word.upper() in _CODES:
        return _CODES[word.upper()]
    county = county_by_name(word) if word.isascii() and not word.isdecimal() else None
    return county.code if county else None


def _type(word: str) -> str | None:
    word = word.strip(_EDGE)
    if not (word.isascii() and word.isdecimal() and len(word) <= 2):
        return None
    try:
        return incident_type_by_number(int(word)).code
    except KeyError:
        return None


def format_help(language: str) -> list[str]:
    """The monitor format and the 14 type numbers in `language`, as at most two SMS of 153 characters."""
    if language == "sw":
        head = "EWS: tuma KAUNTI AINA maelezo, mf. 42 3 watu 40 na mapanga. Kaunti: namba 1-47 au KSM. Aina:"
    else:
        head = "EWS: send COUNTY TYPE text, e.g. 42 3 men with pangas at market. County: code 1-47 or KSM. Types:"
    labels = _SHORT_SW if language == "sw" else _SHORT_EN
    types = [f"{t.number} {labels[t.code]}" for t in INCIDENT_TYPES]
    return _pack(head, types, width=153)


def _pack(head: str, items: list[str], *, width: int) -> list[str]:
    messages, current = [], head
    for item in items:
        piece = (" " if current.endswith(":") else ", ") + item
        if len(current) + len(piece) > width:
            messages.append(current)
            current = item
        else:
            current += piece
    messages.append(current)
    return messages
