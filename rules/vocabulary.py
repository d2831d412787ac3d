"""The one vocabulary of incident types and groups that every stage uses (menus, classifier, rules, routing).

Each type has a fixed number 1-14 (USSD menus and monitor codes show it, so it never changes), an English
and a Swahili label, and the group the rules and routing count it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Group = Literal["violence", "sgbv", "tension", "communal", "election", "peace", "none", "all"]

GROUPS: tuple[Group, ...] = ("violence", "sgbv", "tension", "communal", "election", "peace", "none")
"""Every group, in the order consoles list them."""
ALL: Group = "all"
"""The series of every report whatever its group (a rule's `groups = ["all"]`: a county falling silent, or a
count of all incidents)."""
RULE_GROUPS: tuple[Group, ...] = (*GROUPS, ALL)
"""What a rule may count: one group, or all of them together."""


@dataclass(frozen=True, slots=True)
class IncidentType:
    """One incident type: its code, fixed number, group and labels in both languages."""

    code: str
    number: int
    group: Group
    label_en: str
    label_sw: str

    def label(self, language: str) -> str:
        """The label in `language` ('sw' or 'en'; anything else reads as English)."""
        return self.label_sw if language == "sw" else self.label_en


INCIDENT_TYPES: tuple[IncidentType, ...] = (
    IncidentType("killing", 1, "violence", "Killing", "Mauaji"),
    IncidentType("physical_assault", 2, "violence", "Physical assault", "Kushambuliwa mwili"),
    IncidentType("armed_attack", 3, "violence", "Armed attack", "Shambulio la silaha"),
    IncidentType("arson_property", 4, "violence", "Arson or property destroyed", "Kuchoma au kuharibu mali"),
    IncidentType("sgbv", 5, "sgbv", "Sexual or gender-based violence", "Dhuluma ya kingono au kijinsia"),
    IncidentType("threat_intimidation", 6, "tension", "Threat or intimidation", "Vitisho"),
    IncidentType("hate_speech_incitement", 7, "tension", "Hate speech or incitement", "Matamshi ya chuki au uchochezi"),
    IncidentType("intercommunal_resource_conflict", 8, "communal", "Clash over land, water or pasture",
                 "Mzozo wa ardhi, maji au malisho"),
    IncidentType("cattle_raiding", 9, "communal", "Cattle raiding", "Wizi wa mifugo"),
    IncidentType("election_malpractice", 10, "election", "Election malpractice", "Udanganyifu wa uchaguzi"),
    IncidentType("protest_demonstration", 11, "election", "Protest or demonstration", "Maandamano"),
    IncidentType("displacement", 12, "communal", "People forced from their homes", "Watu kufukuzwa makwao"),
    IncidentType("peace_activity", 13, "peace", "Peace activity", "Shughuli ya amani"),
    IncidentType("not_incident", 14, "none", "Not an incident", "Si tukio"),
)
"""The 14 types, in their fixed order (number 1-14)."""

_BY_CODE = {t.code: t for t in INCIDENT_TYPES}
_BY_NUMBER = {t.number: t for t in INCIDENT_TYPES}


def incident_type(code: str) -> IncidentType:
    """The type with this code; KeyError for any other."""
    return _BY_CODE[code]


def incident_type_by_number(number: int) -> IncidentType:
    """The type with this fixed number (1-14); KeyError for any other."""
    return _BY_NUMBER[number]


def group_of(code: str) -> Group:
    """The group a type is counted in."""
    return _BY_CODE[code].group


def types_in(group: Group) -> tuple[IncidentType, ...]:
    """The types of one group, in number order."""
    return tuple(t for t in INCIDENT_TYPES if t.group == group)
