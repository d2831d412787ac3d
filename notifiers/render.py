"""Alert SMS text in English and Swahili (pure). Short, GSM-7 only, says where, what, why and how to ACK."""

from __future__ import annotations

from dataclasses import dataclass

from ews.models import Language, Level

_LEVEL_NAMES: dict[Language, dict[Level, str]] = {
    "en": {Level.NORMAL: "NORMAL", Level.WATCH: "WATCH", Level.WARNING: "WARNING", Level.ALERT: "ALERT"},
    "sw": {Level.NORMAL: "KAWAIDA", Level.WATCH: "UANGALIZI", Level.WARNING: "ONYO", Level.ALERT: "HATARI"},
}

# What triggered it, by what the rule counted: distinct people reporting, or reports.
_COUNTED = {
    ("en", "senders"): "{count} people reported incidents in the last {window}",
    ("en", "reports"): "{count} incident reports in the last {window}",
    ("sw", "senders"): "Watu {count} wameripoti matukio katika {window} zilizopita",
    ("sw", "reports"): "Ripoti {count} za matukio katika {window} zilizopita",
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
    window_minutes: int
    threshold: int
    count_unit: str = "reports"  # senders | reports


def alert_reference(alert_id: int) -> str:
    """The short reference responders quote, e.g. A-123."""
    return f"A-{alert_id}"


def _window(minutes: int, language: Language) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        if language == "sw":
            return "saa 1" if hours == 1 else f"saa {hours}"
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"dakika {minutes}" if language == "sw" else f"{minutes} min"


def render_alert(event: AlertEvent, language: Language) -> str:
    """The SMS for one alert event in `language`."""
    template = _TEMPLATES[event.event][language]
    counted = _COUNTED[(language, event.count_unit)].format(
        count=event.trigger_count, window=_window(event.window_minutes, language))
    return template.format(
        level=_LEVEL_NAMES[language][event.level],
        county=event.county_name,
        counted=counted,
        threshold=event.threshold,
        ref=alert_reference(event.alert_id),
        num=event.alert_id,
    )
