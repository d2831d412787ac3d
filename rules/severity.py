"""How serious a report is: low, medium, high or critical, from its type and cues in the text (pure).

`critical` means deaths, or an armed attack that wounds people: the engine raises those at once. Cues:
deaths ("ameuawa", "wamefariki", "maiti"), weapons (panga, rungu, bunduki, AK, mishale) with wounds,
numbers of people ("watu 50"), children, burning homes. Casualties given by a structured channel win over
what the text seems to say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")

# Where each type starts before cues (a killing is a death: critical whatever the text says).
_BASE: dict[str, Severity] = {
    "killing": "critical", "armed_attack": "high", "physical_assault": "medium", "arson_property": "high",
    "sgbv": "high", "threat_intimidation": "medium", "hate_speech_incitement": "medium",
    "intercommunal_resource_conflict": "medium", "cattle_raiding": "high", "election_malpractice": "low",
    "protest_demonstration": "low", "displacement": "high", "peace_activity": "low", "not_incident": "low",
}
_CALM = frozenset({"peace_activity", "not_incident"})  # cues in a peace meeting's text raise nothing

_DEATH = frozenset("""
dead death deaths died dies killed killing murdered murder body bodies corpse lynched
ameuawa wameuawa kuuawa aliuawa waliuawa ameuliwa wamefariki amefariki alifariki walifariki kufariki
amekufa wamekufa kufa maiti mwili miili marehemu mauaji
amedede wamedede amededi kudedi amezimwa wamezimwa wamemzima wamemmaliza amemalizwa
""".split())
_WEAPONS = frozenset("""
panga pangas mapanga machete machetes rungu rungus marungu club clubs bunduki gun guns rifle rifles ak
pistol pistols bastola grenade guruneti bomb ied arrow arrows mishale mshale spear spears mkuki mikuki
pinde bows knife knives kisu visu chuma risasi bullet bullets shot shooting gunfire gunshots gunmen
armed silaha petrol
""".split())
_WOUNDS = frozenset("""
injured injuries wounded wounding hurt cut slashed stabbed bleeding shot hospital admitted
amejeruhiwa wamejeruhiwa kujeruhiwa amejeruhi wamejeruhi majeraha jeraha amekatwa wamekatwa amedungwa
wamedungwa damu anavuja wameumia ameumia ameumizwa wameumizwa hospitali amelazwa
""".split())
_CHILDREN = frozenset("""
child children kid kids baby babies pupil pupils schoolgirl schoolgirls schoolboy
mtoto watoto mtoi watoi mwanafunzi wanafunzi
""".split())
_HOMES = frozenset("house houses home homes nyumba keja makeja manyatta manyattas village kijiji".split())
_BURNING = frozenset("""
burn burnt burned burning torched ablaze fire arson wamechoma wanachoma zinachomwa imechomwa zimechomwa
kuchomwa inaungua zinaungua moto
""".split())
_MANY = frozenset("hundreds thousands dozens mamia maelfu mob umati".split())
_CROWD = frozenset("""
people persons men youths youth boys watu vijana wanaume wasee kundi group families familia raiders
attackers bandits
""".split())
_NUMBER_NEAR_CROWD = re.compile(
    # A whole number only ((?<!\d), (?!\d)): a long run of digits is then read once, not re-split at every
    # position (which made a 1,600-digit SMS take 20 s).
    r"(?<!\d)(\d{2,})(?!\d)\s*(?:\w+\s+)?(?:" + "|".join(sorted(_CROWD)) + r")\b|\b(?:" + "|".join(sorted(_CROWD))
    + r")\s+(\d{2,})", re.IGNORECASE)
LARGE_CROWD = 20  # this many people named in a report raise it a level


def severity(incident_type: str | None, words: Sequence[str], *, text: str = "",
             casualties: int | None = None) -> Severity:
    """The severity of a report of `incident_type` (None: not yet known) with these words."""
    level = SEVERITIES.index(_BASE.get(incident_type or "", "low"))
    if incident_type in _CALM:
        return SEVERITIES[level]
    seen = frozenset(words)
    if casualties is not None:
        # The channel counted: its number wins over death and wound words in the text.
        if casualties > 0:
            level = max(level, 3 if incident_type in ("killing", "armed_attack") else 2)
    elif seen & _DEATH or (seen & _WEAPONS and seen & _WOUNDS):
        return "critical"
    if seen & _WEAPONS:
        level = max(level, 2)
    if seen & _HOMES and seen & _BURNING:
        level = max(level, 2)
    if seen & _CHILDREN or seen & _MANY or _large_crowd(text):
        # One level up, but only deaths and wounding armed attacks are critical.
        level = max(level, min(level + 1, 2))
    return SEVERITIES[level]


def _large_crowd(text: str) -> bool:
    for match in _NUMBER_NEAR_CROWD.finditer(text[:2000]):
        number = match.group(1) or match.group(2)
        if number and int(number[:6]) >= LARGE_CROWD:
            return True
    return False
