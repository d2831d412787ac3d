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
_ACK_WORDS: dict[str, Language] = {"ack": "en", "ndio": "sw"}  # as every alert SMS asks
# "ACK 12", "ack12", "NDIO A-12", "Ack #12." — the number is the alert's, as the alert SMS printed it.
_ACK = re.compile(r"([a-z]+)\s*(?:a-|#)?\s*(\d{1,12})")
_EDGE_PUNCTUATION = " \t\r\n.!,;:"


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command found in a message: what it asks, its argument, and the keyword's language."""

    kind: CommandKind
    argument: str
    language: Language


def parse_command(text: str) -> ParsedCommand | None:
    """The command a whole message spells, or None when the message is a report."""
    words = text.strip(_EDGE_PUNCTUATION).casefold()
    if len(words) > 40:  # commands are a word or two; anything longer is somebody's report
        return None
    keyword = _KEYWORDS.get(words)
    if keyword is not None:
        return ParsedCommand(keyword[0], "", keyword[1])
    ack = _ACK.fullmatch(words)
    if ack is not None and ack.group(1) in _ACK_WORDS:
        return ParsedCommand("ack", str(int(ack.group(2))), _ACK_WORDS[ack.group(1)])
    return None
