"""Alert SMS text in English and Swahili (pure). Short, GSM-7 only, says where, what, why and how to ACK."""

from __future__ import annotations

from dataclasses import dataclass

from ews.core.models import Language, Level, alert_reference

_LEVEL_NAMES: dict[Language, dict[Level, str]] = {
    "en": {Level.NORMAL: "NORMAL", Level.WATCH: "WATCH", Level.WARNING: "WARNING", Level.ALERT: "ALERT"},
    "sw": {Level.NORMAL: "KAWAIDA", Level.WATCH: "UANGALIZI", Level.WARNING: "ONYO", Level.ALERT: "HATARI"},
}

_RAISED = {
    "en": "EWS {level}: {county} county. {why}. Alert {ref}. Reply ACK {num} to acknowledge.",
    "sw": "EWS {level}: Kaunti ya {county}. {why}. Tahadhari {ref}. Jibu NDIO {num} kuthibitisha.",
}
_ESCALATED = {
    "en": "EWS {level} (raised): {county} county. {why}. Alert {ref}. Reply ACK {num} to acknowledge.",
    "sw": "EWS {level} (imepanda): Kaunti ya {county}. {why}. Tahadhari {ref}. Jibu NDIO {num} kuthibitisha.",
}
_RESOLVED = {
    "en": "EWS: {county} county is back to {level}. {why}. Alert {ref} closed.",
    "sw": "EWS: Kaunti ya {county} imerudi {level}. {why}. Tahadhari {ref} imefungwa.",
}
_TEMPLATES = {"raised": _RAISED, "escalated": _ESCALATED, "resolved": _RESOLVED}


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """What happened to an alert, with the engine's line on why, in both languages."""

    alert_id: int
    event: str  # raised | escalated | resolved
    county_name: str
    level: Level
    why_en: str  # "12 reports of violence in 24 h; usual 1-2"
    why_sw: str


def render_alert(event: AlertEvent, language: Language) -> str:
    """The SMS for one alert event in `language`."""
    why = event.why_sw if language == "sw" else event.why_en
    return _TEMPLATES[event.event][language].format(
        level=_LEVEL_NAMES[language][event.level],
        county=event.county_name,
        why=why[:1].upper() + why[1:],
        ref=alert_reference(event.alert_id),
        num=event.alert_id,
    )
