"""Alert SMS text in English and Swahili (pure). Short, GSM-7 only, says where, what, why and how to ACK."""

from __future__ import annotations

from dataclasses import dataclass

from ews.core.models import Language, Level, alert_reference

_LEVEL_NAMES: dict[Language, dict[Level, str]] = {
    "en": {Level.NORMAL: "NORMAL", Level.WATCH: "WATCH", Level.WARNING: "WARNING", Level.ALERT: "ALERT"},
    "sw": {Level.NORMAL: "KAWAIDA", Level.WATCH: "UANGALIZI", Level.WARNING: "ONYO", Level.ALERT: "HATARI"},
}

# What triggered it, by what the rule counted (distinct people reporting, or reports), singular and plural.
_COUNTED = {
    ("en", "senders", True): "1 person reported incidents in the last {window}",
    ("en", "senders", False): "{count} people reported incidents in the last {window}",
    ("en", "reports", True): "1 incident report in the last {window}",
    ("en", "reports", False): "{count} incident reports in the last {window}",
    ("sw", "senders", True): "Mtu 1 ameripoti matukio katika {window} zilizopita",
    ("sw", "senders", False): "Watu {count} wameripoti matukio katika {window} zilizopita",
    ("sw", "reports", True): "Ripoti 1 ya tukio katika {window} zilizopita",
    ("sw", "reports", False): "Ripoti {count} za matukio katika {window} zilizopita",
}
_RAISED = {
    "en": "EWS {level}: {county} county. {counted} (threshold {threshold}). Alert {ref}. "
          "Reply ACK {num} to acknowledge.",
    "sw": "EWS {level}: Kaunti ya {county}. {counted} (kiwango {threshold}). Tahadhari {ref}. "
          "Jibu NDIO {num} kuthibitisha.",
}
_ESCALATED = {
    "en": "EWS {level} (raised): {county} county. {counted} (threshold {threshold}). Alert {ref}. "
          "Reply ACK {num} to acknowledge.",
    "sw": "EWS {level} (imepanda): Kaunti ya {county}. {counted} (kiwango {threshold}). Tahadhari {ref}. "
          "Jibu NDIO {num} kuthibitisha.",
}
_RESOLVED = {
    "en": "EWS: {county} county is back to {level}. {counted}. Alert {ref} closed.",
    "sw": "EWS: Kaunti ya {county} imerudi {level}. {counted}. Tahadhari {ref} imefungwa.",
}
_TEMPLATES = {"raised": _RAISED, "escalated": _ESCALATED, "resolved": _RESOLVED}


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """What happened to an alert, with the figures the message must carry."""

    alert_id: int
    event: str  # raised | escalated | resolved
    county_name: str
    level: Level
    trigger_count: int
    window_seconds: int
    threshold: int
    count_unit: str = "reports"  # senders | reports


def _window(seconds: int, language: Language) -> str:
    # Swahili puts the number after the unit and does not inflect it: "saa 2", "dakika 30".
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"saa {hours}" if language == "sw" else ("1 hour" if hours == 1 else f"{hours} hours")
    if seconds % 60 == 0:
        return f"dakika {seconds // 60}" if language == "sw" else f"{seconds // 60} min"
    return f"sekunde {seconds}" if language == "sw" else f"{seconds} sec"


def render_alert(event: AlertEvent, language: Language) -> str:
    """The SMS for one alert event in `language`."""
    template = _TEMPLATES[event.event][language]
    counted = _COUNTED[(language, event.count_unit, event.trigger_count == 1)].format(
        count=event.trigger_count, window=_window(event.window_seconds, language))
    return template.format(
        level=_LEVEL_NAMES[language][event.level],
        county=event.county_name,
        counted=counted,
        threshold=event.threshold,
        ref=alert_reference(event.alert_id),
        num=event.alert_id,
    )
