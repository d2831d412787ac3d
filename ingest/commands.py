"""Recognise an inbound message that is a command rather than a report (pure).

Only a message that is nothing but the command counts: "STOP" opts out, "stop the fighting in Kondele" is
a report. Keywords in English and Swahili; the reply comes in the language of the keyword.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ews.core.models import CommandKind, Language

_KEYWORDS: dict[str, tuple[CommandKind, Language]] = {
    # Twilio's standard opt-out words, and Swahili ones (ONDOKA "leave", TOKA "get out").
    "stop": ("stop", "en"), "stopall": ("stop", "en"), "unsubscribe": ("stop", "en"), "cancel": ("stop", "en"),
    "end": ("stop", "en"), "quit": ("stop", "en"), "optout": ("stop", "en"), "revoke": ("stop", "en"),
    "acha": ("stop", "sw"), "simama": ("stop", "sw"), "sitisha": ("stop", "sw"), "ondoka": ("stop", "sw"),
    "toka": ("stop", "sw"),
    "start": ("start", "en"), "unstop": ("start", "en"), "anza": ("start", "sw"),
    "help": ("help", "en"), "info": ("help", "en"), "msaada": ("help", "sw"), "saidia": ("help", "sw"),
}
# Acknowledge ("I have it") and resolve ("it is handled"), in English and Swahili, as the alert SMS asks.
_ALERT_WORDS: dict[str, tuple[CommandKind, Language]] = {
    "ack": ("ack", "en"), "ndio": ("ack", "sw"), "sawa": ("ack", "sw"),
    "done": ("resolve", "en"), "imeisha": ("resolve", "sw"),
}
# "ACK 12", "ack12", "NDIO A-12", "ACK A12", "Ack #12.", "ACK: 12", "done a - 12!": the number is the
# alert's, as the alert SMS printed it. ASCII digits only: the SMS prints them so, and int() would read
# Arabic-Indic or full-width digits as numbers nobody saw in an alert. Up to 19 digits, so a huge number is
# a reply about an alert that does not exist (answered as such), not a report.
_ALERT_COMMAND = re.compile(rf"({'|'.join(_ALERT_WORDS)})\s*[:#-]?\s*(?:a\s*[-#]?\s*)?([0-9]{{1,19}})", re.ASCII)
_EDGE_PUNCTUATION = " \t\r\n.!?,;:"


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command found in a message: what it asks, its argument, and the keyword's language."""

    kind: CommandKind
    argument: str
    language: Language


def parse_command(text: str) -> ParsedCommand | None:
    """The command a whole message spells, or None when the message is a report."""
    # Any run of spaces (a phone's no-break space too) is one space, so "ACK\u00a012" reads as "ACK 12".
    words = " ".join(text.split()).strip(_EDGE_PUNCTUATION).casefold()
    if len(words) > 40:  # commands are a word or two; anything longer is somebody's report
        return None
    keyword = _KEYWORDS.get(words)
    if keyword is not None:
        return ParsedCommand(keyword[0], "", keyword[1])
    found = _ALERT_COMMAND.fullmatch(words)
    if found is not None:
        kind, language = _ALERT_WORDS[found.group(1)]
        return ParsedCommand(kind, str(int(found.group(2))), language)
    return None
