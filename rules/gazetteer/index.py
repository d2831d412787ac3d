"""The name index: every official name and alias, normalised, pointing at the units it may mean (pure)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from rules.gazetteer.data import AdminUnits, Unit, admin_units
from rules.gazetteer.tokens import place_words as words_of

LEVELS = ("county", "constituency", "ward")


@dataclass(frozen=True, slots=True)
class Alias:
    """One row of aliases.tsv: a name people use, the unit it means, and why we believe so."""

    alias: str
    level: str
    place: str
    county: str
    reason: str
    line: int


@dataclass(frozen=True, slots=True)
class Target:
    """A unit a name may mean; `rank` orders the meanings of an ambiguous name (lower first)."""

    unit: Unit
    via: str  # "name" (an official name) or "alias"
    rank: int


@dataclass(frozen=True, slots=True)
class NameIndex:
    """Joined keys ("homabay", "laini saba" -> "lainisaba") to the units they may mean."""

    by_key: dict[str, tuple[Target, ...]]
    words_of_key: dict[str, tuple[str, ...]]  # the key's own words, to check a split spelling
    max_words: int
    # Every proper prefix of every key: a run of words can only join into a key if its first word is one, so
    # most words skip the multi-word lookups (the matcher's costliest step).
    prefixes: frozenset[str]
    # The words of names written in several words: a typo'd pair is looked for only where one of its words is
    # one of these ("uasin gisu", "laini sabaa").
    name_words: frozenset[str]


def key_of(words: Iterable[str]) -> str:
    """The joined key of a name's words."""
    return "".join(words)


def parse_aliases(text: str) -> list[Alias]:
    """Rows of an aliases file (tab-separated: alias, level, place, county, reason; '#' starts a comment)."""
    rows: list[Alias] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 5 or not all(f.strip() for f in fields):
            raise ValueError(f"aliases line {number}: expected 5 tab-separated fields, got {line!r}")
        alias, level, place, county, reason = (f.strip() for f in fields)
        if level not in LEVELS:
            raise ValueError(f"aliases line {number}: level must be one of {', '.join(LEVELS)}, not {level!r}")
        rows.append(Alias(alias, level, place, county, reason, number))
    return rows


def alias_target(alias: Alias, units: AdminUnits) -> Unit:
    """The one unit an alias row names; ValueError when it names none or several."""
    county_key = key_of(words_of(alias.county))
    place_key = key_of(words_of(alias.place))
    counties = [u for u in units.counties.values() if key_of(words_of(u.name)) == county_key]
    if len(counties) != 1:
        raise ValueError(f"aliases line {alias.line}: no county called {alias.county!r}")
    county = counties[0]
    pool: Iterable[Unit] = {"county": units.counties.values(), "constituency": units.constituencies.values(),
                            "ward": units.wards.values()}[alias.level]
    found = [u for u in pool if u.county_code == county.county_code and place_key in _keys_of_name(u.name)]
    if len(found) != 1:
        raise ValueError(f"aliases line {alias.line}: {len(found)} {alias.level}s called {alias.place!r} "
                         f"in {county.name}")
    return found[0]


def _names_of(official: str) -> list[str]:
    """An official name and its parts: "Mji wa Kale/Makadara" is also "Mji wa Kale" and "Makadara"."""
    parts = [part for part in official.split("/") if part.strip()]
    return [official, *parts] if len(parts) > 1 else [official]


def _keys_of_name(official: str) -> set[str]:
    return {key_of(words_of(name)) for name in _names_of(official)}


def read_aliases() -> list[Alias]:
    """The project's alias table, rules/gazetteer/aliases.tsv."""
    return parse_aliases((resources.files("rules.gazetteer") / "aliases.tsv").read_text(encoding="utf-8"))


def build_index(units: AdminUnits, aliases: Iterable[Alias]) -> NameIndex:
    """The index of official names (each unit, and each part of a "/" name) and aliases."""
    by_key: dict[str, list[Target]] = {}
    words_of_key: dict[str, tuple[str, ...]] = {}

    def add(name: str, target: Target) -> None:
        words = tuple(words_of(name))
        if not words:
            return
        key = key_of(words)
        existing = by_key.setdefault(key, [])
        if all(t.unit != target.unit for t in existing):
            existing.append(target)
        words_of_key.setdefault(key, words)

    # Aliases first, in file order: for a name that means several places the table says which comes first.
    for rank, alias in enumerate(aliases):
        add(alias.alias, Target(alias_target(alias, units), "alias", rank))
    base = 100_000
    groups: tuple[Iterable[Unit], ...] = (units.counties.values(), units.constituencies.values(),
                                          units.wards.values())
    for level_rank, group in enumerate(groups):
        for unit in group:
            for name in _names_of(unit.name):
                add(name, Target(unit, "name", base + level_rank))
    frozen = {key: tuple(sorted(targets, key=lambda t: t.rank)) for key, targets in by_key.items()}
    prefixes = frozenset(key[:n] for key in frozen for n in range(1, len(key)))
    name_words = frozenset(word for words in words_of_key.values() if len(words) > 1 for word in words)
    return NameIndex(frozen, words_of_key, max(len(words) for words in words_of_key.values()), prefixes,
                     name_words)


@functools.cache
def name_index() -> NameIndex:
    """The index over kenya-data's units and the project's aliases (built on first use, then kept)."""
    return build_index(admin_units(), read_aliases())
