"""Kenya's 47 counties and a forgiving matcher that finds the county named in a free-text SMS."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from rules.words import words_of


@dataclass(frozen=True, slots=True)
class County:
    """One of Kenya's 47 counties with its official code."""

    code: int  # official code 1..47
    name: str  # official English name, e.g. "Elgeyo-Marakwet"


# Official codes and names (First Schedule of the Constitution, as used by the IEBC and KNBS).
# Kept as constants so the service needs no data file at run time; a test checks them against the CSV.
_COUNTY_NAMES: tuple[str, ...] = (
    "Mombasa", "Kwale", "Kilifi", "Tana River", "Lamu", "Taita-Taveta", "Garissa", "Wajir", "Mandera",
    "Marsabit", "Isiolo", "Meru", "Tharaka-Nithi", "Embu", "Kitui", "Machakos", "Makueni", "Nyandarua",
    "Nyeri", "Kirinyaga", "Murang'a", "Kiambu", "Turkana", "West Pokot", "Samburu", "Trans Nzoia",
    "Uasin Gishu", "Elgeyo-Marakwet", "Nandi", "Baringo", "Laikipia", "Nakuru", "Narok", "Kajiado",
    "Kericho", "Bomet", "Kakamega", "Vihiga", "Bungoma", "Busia", "Siaya", "Kisumu", "Homa Bay", "Migori",
    "Kisii", "Nyamira", "Nairobi",
)  # fmt: skip

COUNTIES: tuple[County, ...] = tuple(County(code, name) for code, name in enumerate(_COUNTY_NAMES, start=1))
"""All 47 counties in official code order (1 Mombasa .. 47 Nairobi)."""

_BY_CODE: dict[int, County] = {county.code: county for county in COUNTIES}
_BY_NAME: dict[str, County] = {county.name: county for county in COUNTIES}

# Well-known towns and neighbourhoods that people name instead of their county. Only places that
# unambiguously sit in one county are listed: a wrong county is worse than none for an alert.
_ALIASES: dict[str, str] = {
    "Eldoret": "Uasin Gishu",
    "Kitale": "Trans Nzoia",
    "Thika": "Kiambu",
    "Naivasha": "Nakuru",
    "Malindi": "Kilifi",
    "Kapenguria": "West Pokot",
    "Lodwar": "Turkana",
    "Kapsabet": "Nandi",
    "Iten": "Elgeyo-Marakwet",
    "Marakwet": "Elgeyo-Marakwet",  # people often drop "Elgeyo"; Marakwet is nowhere else
    "Kerugoya": "Kirinyaga",
    "Ol Kalou": "Nyandarua",
    "Nanyuki": "Laikipia",
    "Chuka": "Tharaka-Nithi",
    "Voi": "Taita-Taveta",
    "Taveta": "Taita-Taveta",  # a town of its own, only in this county
    "Hola": "Tana River",
    "Kabarnet": "Baringo",
    "Maralal": "Samburu",
    "Ukunda": "Kwale",
    "Kibera": "Nairobi",
    "Mathare": "Nairobi",
    "Eastleigh": "Nairobi",
    "Kawangware": "Nairobi",
    "Kondele": "Kisumu",
    "Nyalenda": "Kisumu",
    "Likoni": "Mombasa",
    "Kisauni": "Mombasa",
    "Nyali": "Mombasa",
}

# Real words within the allowed edit distance of a county or alias, found by running Swahili
# vocabulary, common Kenyan names and an English frequency list through the matcher. A report
# about "siasa" (politics) or the "kituo" (police station) must not be filed under Siaya or Kitui,
# so these are never read as misspellings. (No entry is itself a place, so exact matches are unaffected.)
_NOT_MISSPELLINGS: frozenset[str] = frozenset(
    {
        # Swahili: politics ~ Siaya, station ~ Kitui, his/her ~ Kwale, insult ~ Turkana, stump ~ Kisii.
        *("siasa", "kituo", "kwake", "tukana", "kisiki"),
        # Kenyan personal names.
        *("njeri", "kirui", "kiptui", "kiambi"),
        # English words and foreign names.
        *("mandela", "madera", "mander", "manders", "baring", "barings", "westport", "westpoint"),
        *("nauru", "kwame", "wazir", "busta", "nanda", "nando", "nandy", "midori", "minori", "kishi"),
    }
)

_VOWELS = frozenset("aeiou")

# Below this many letters a word is never treated as a misspelling: short words are mostly ordinary
# ("kitu", "nani", "wale", "kale") and one edit from a five-letter county name. Stricter than four on
# purpose; the four-letter county names (Meru, Embu, Lamu) are exact-only anyway.
_MIN_FUZZY_LEN = 5


@dataclass(frozen=True, slots=True)
class _Entry:
    """A normalised spelling of a county or alias, with how many edits a misspelling may be from it."""

    key: str  # letters only, words joined: "homabay", "olkalou"
    words: tuple[str, ...]  # the same key split into its words: ("homa", "bay")
    county: County
    max_dist: int  # 0 = exact only


def _county_max_dist(length: int) -> int:
    """Edits allowed for a misspelled county name of this many letters."""
    # Two edits only from eight letters up: at seven, two edits turn ordinary Swahili nouns into
    # county names ("mapanga" ~ Murang'a, "makundi" ~ Makueni) and English ones too ("bearing" ~ Baringo).
    if length <= 4:
        return 0
    return 1 if length <= 7 else 2


def _alias_max_dist(length: int) -> int:
    """Edits allowed for a misspelled alias: town names are less distinctive, so only long ones bend."""
    return 1 if length >= 7 else 0


def _word_max_dist(length: int) -> int:
    """Edits allowed in one word of a two-word name once the other word matched exactly."""
    if length <= 3:
        return 0
    return 1 if length <= 7 else 2


def _build_entries() -> list[_Entry]:
    """Every spelling the matcher knows, county names first so ties go to the official name."""
    entries: list[_Entry] = []
    for county in COUNTIES:
        words = tuple(words_of(county.name))
        key = "".join(words)
        entries.append(_Entry(key, words, county, _county_max_dist(len(key))))
    for alias, county_name in _ALIASES.items():
        words = tuple(words_of(alias))
        key = "".join(words)
        entries.append(_Entry(key, words, _BY_NAME[county_name], _alias_max_dist(len(key))))
    return entries


_ENTRIES: tuple[_Entry, ...] = tuple(_build_entries())

# Exact lookups, keyed by the joined words, so "homa bay", "Homa-Bay" and "HomaBay" all find one key.
_EXACT: dict[str, County] = {entry.key: entry.county for entry in _ENTRIES}

# Spellings that a misspelling may be read as (the four-letter names and short aliases are exact only),
# by first letter: a typo rarely hits the first letter, and allowing it lets "wale" reach Kwale.
_BENDABLE: dict[str, tuple[_Entry, ...]] = {}
for _entry in _ENTRIES:
    if _entry.max_dist:
        _BENDABLE[_entry.key[0]] = (*_BENDABLE.get(_entry.key[0], ()), _entry)
del _entry

# Names written as two words ("homa bay", "ol kalou"), for a typo in one of the two words.
_TWO_WORD: tuple[_Entry, ...] = tuple(entry for entry in _ENTRIES if len(entry.words) == 2)

# The same names by each of their words, so a pair of SMS words is compared only with the names that
# share one of them.
_TWO_WORD_BY_WORD: dict[str, tuple[_Entry, ...]] = {}
for _entry in _TWO_WORD:
    for _word in set(_entry.words):
        _TWO_WORD_BY_WORD[_word] = (*_TWO_WORD_BY_WORD.get(_word, ()), _entry)
del _entry, _word

# Their first words: a one-word name split in two is only believed when both halves are real chunks,
# see _exact_pair.
_FIRST_WORDS: frozenset[str] = frozenset(entry.words[0] for entry in _TWO_WORD)


def _within(typed: str, expected: str, limit: int) -> int | None:
    """Optimal-string-alignment distance (a swap of two letters is one edit), or None if over limit."""
    distance = OSA.distance(typed, expected, score_cutoff=limit)
    return distance if distance <= limit else None


def _fuzzy_cap(length: int) -> int:
    """Edits a word of this many letters may carry and still count as a misspelling."""
    # Scaled by the word as well as the name: a short word two edits from a long name
    # ("nyama" ~ Nyamira) is more likely another word than a typo.
    if length < _MIN_FUZZY_LEN:
        return 0
    return 1 if length <= 7 else 2


def _exact(word: str) -> County | None:
    """County for an exact spelling, also with the Swahili locative "-ni" ("Kisumuni", "Eldoretini")."""
    county = _EXACT.get(word)
    if county is not None:
        return county
    if word.endswith("ni") and len(word) > 4:
        county = _EXACT.get(word[:-2])
        if county is not None:
            return county
        # Names ending in a consonant take "-ini" in Swahili ("Eldoretini", "Bometini").
        stem = word[:-3]
        if word.endswith("ini") and stem and stem[-1] not in _VOWELS:
            return _EXACT.get(stem)
    return None


def _exact_pair(first: str, second: str) -> County | None:
    """County for a name written as two words ("homa bay", "Ol Kalou", "Nai robi"), or None."""
    # A one-word name split in two is only believed when both halves are real chunks: short Swahili
    # words run together too easily ("na nyuki", and bees, would read as Nanyuki).
    if first in _FIRST_WORDS or (len(first) >= 3 and len(second) >= 3):
        return _exact(first + second)
    return None


def _fuzzy(word: str) -> tuple[int, County] | None:
    """Closest county within the allowed distance of a misspelled word, as (distance, county)."""
    cap = _fuzzy_cap(len(word))
    if not cap or word in _NOT_MISSPELLINGS:
        return None
    best: tuple[int, County] | None = None
    for entry in _BENDABLE.get(word[0], ()):
        distance = _within(word, entry.key, min(cap, entry.max_dist))
        # Strictly closer only, so a tie goes to the earlier entry: an official name before an alias,
        # then the lower county code.
        if distance is not None and (best is None or distance < best[0]):
            best = (distance, entry.county)
    return best


def _fuzzy_with_locative(word: str) -> tuple[int, County] | None:
    """Like _fuzzy, also trying the word without a Swahili locative ending ("Kisumoni")."""
    found = _fuzzy(word)
    if found is None and word.endswith("ni"):
        found = _fuzzy(word[:-2])
        if found is None and word.endswith("ini"):
            found = _fuzzy(word[:-3])
    return found


def _fuzzy_pair(first: str, second: str) -> tuple[int, County] | None:
    """A two-word name with one word exact and a small typo in the other ("uasin gisu", "tana rivr")."""
    if first not in _TWO_WORD_BY_WORD and second not in _TWO_WORD_BY_WORD:
        return None  # neither word belongs to a two-word name
    best: tuple[int, County] | None = None
    candidates = dict.fromkeys((*_TWO_WORD_BY_WORD.get(first, ()), *_TWO_WORD_BY_WORD.get(second, ())))
    for entry in candidates:
        expected_first, expected_second = entry.words
        if first == expected_first:
            typed, expected = second, expected_second
        elif second == expected_second:
            typed, expected = first, expected_first
        else:
            continue
        # Same first letter, as for single words: otherwise "East Pokot" (in Baringo) would be
        # read as West Pokot.
        if not typed or typed[0] != expected[0]:
            continue
        distance = _within(typed, expected, min(_word_max_dist(len(expected)), entry.max_dist))
        if distance is not None and (best is None or distance < best[0]):
            best = (distance, entry.county)
    return best


def county_by_code(code: int) -> County:
    """The county with this official code (1..47); KeyError for any other code."""
    # bool is an int subclass and 1.0 hashes like 1; neither is a county code.
    if isinstance(code, bool) or not isinstance(code, int) or code not in _BY_CODE:
        raise KeyError(f"no Kenyan county has code {code!r}")
    return _BY_CODE[code]


_BY_OFFICIAL_KEY: dict[str, County] = {"".join(words_of(county.name)): county for county in COUNTIES}


def county_by_name(name: str) -> County | None:
    """The county whose official name this is, in any case and spacing ("homa bay", "HOMA-BAY",
    "muranga"), or None: no misspellings or towns, for fields that must name a county exactly."""
    return _BY_OFFICIAL_KEY.get("".join(words_of(name)))


def find_county(text: str) -> County | None:
    """The county named first in a free-text SMS (English or Swahili, typos tolerated), or None."""
    return county_in_words(words_of(text))


_EXACT_HIT = -1  # the edits an exact spelling counts as: fewer than any misspelling


# Reports reuse the same few thousand words, and the misspelling search (a word against every name of its
# first letter) is the costliest step of understanding a report on the acknowledgement path. A bounded
# cache of each word's answer (pure) takes that search off most reports; see bench/RESULTS.md.
@functools.lru_cache(maxsize=4096)
def _one_word(word: str) -> tuple[int, County] | None:
    """One word alone: (_EXACT_HIT, county) for an exact spelling, (edits, county) for a misspelling."""
    county = _exact(word)
    if county is not None:
        return _EXACT_HIT, county
    return _fuzzy_with_locative(word)


def county_in_words(words: Sequence[str]) -> County | None:
    """find_county for a text already split by `rules.words.words_of`."""
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        # Exact spellings win over misspellings at the same place; a two-word span is tried first
        # so "homa bay" is not cut short.
        if following:
            county = _exact_pair(word, following)
            if county is not None:
                return county
        single = _one_word(word)
        if single is not None and single[0] == _EXACT_HIT:
            return single[1]
        pair = _fuzzy_pair(word, following) if following else None
        found = [match for match in (single, pair) if match is not None]
        if found:
            # The fewer edits win; at equal edits, the lower county code.
            return min(found, key=lambda match: (match[0], match[1].code))[1]
    return None
