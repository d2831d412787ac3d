"""Where a report happened: its county, constituency and ward from free text, with a confidence and the span.

Pure: the text and what else is known of the sender (`PlaceHints`) in, a `PlaceMatch` out.

How a text is read, in order:
1. Spans: at each word the longest run of up to four words whose joined letters are a known name (so "homa
   bay", "Homa-Bay" and "homabay" are one key), also with the Swahili locative "-ni" ("Kondeleni"); else one
   misspelt word (rapidfuzz OSA distance, one edit from six letters, two from nine, the first letter kept).
2. Each span's role, from the words around it: the incident's place (default), the sender's origin ("from",
   "kutoka"), or a place the text says is not where it happened: where people fled to ("wamekimbilia
   Kitale", "fled to"), a road named after a town ("Thika road", "barabara ya Nakuru").
3. A level cue narrows a span ("Kaunti ya Nakuru", "Nakuru county", "kata ya", "eneo bunge la").
4. A name with several meanings (Huruma, Township, Kaloleni, Bura) takes the one its context supports: the
   other places in the text, then the reporter's registered home, then their earlier reports; else the
   alias table's first meaning, at a low confidence.
5. The incident's place is the deepest unit of the best-supported county; others in the text that agree
   raise the confidence.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

from rules.gazetteer.data import Unit
from rules.gazetteer.index import NameIndex, Target, name_index
from rules.gazetteer.tokens import Token, tokens_of


@dataclass(frozen=True, slots=True)
class PlaceHints:
    """What else is known about where a sender reports from (their registered home, earlier reports)."""

    home_county: int | None = None
    recent_counties: Sequence[int] = ()


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """The place a text names: codes as far as it supports, a confidence 0..1 and the matched span."""

    county_code: int | None = None
    constituency_code: int | None = None
    ward_code: str | None = None
    confidence: float = 0.0
    span: str | None = None
    ambiguous: bool = False  # the name means places in several counties and nothing in the text settled it
    # Other places named but not taken as the incident's (fled to, a road, the sender's origin), for review.
    others: tuple[str, ...] = field(default=())

    @property
    def found(self) -> bool:
        """Whether any county was found."""
        return self.county_code is not None


NO_PLACE = PlaceMatch()

# --- words that shape how a span is read ---------------------------------------------------------

# Words before a place that mean "this is where": they add confidence, and let a name that is also an
# ordinary word (a ward called "Township", "Sokoni" or "Biashara") count as a place.
_PLACE_CUES = frozenset({
    "in", "at", "near", "around", "kwa", "huko", "huku", "pale", "mtaa", "mtaani", "kijiji", "kijijini",
    "village", "estate", "kata", "wadi", "ward", "kaunti", "county", "jimbo", "eneo", "constituency", "soko",
    "market", "mji", "town", "area", "location", "sublocation", "mjini", "karibu",
})
_FLED = frozenset({
    "wamekimbilia", "walikimbilia", "wanakimbilia", "kukimbilia", "wamekimbia", "kimbilia", "wamehamia",
    "wamehamishwa", "walihamia", "wamepelekwa", "walipelekwa", "amepelekwa", "alipelekwa", "fled", "fleeing",
    "flee", "escaped", "relocated", "evacuated", "rushed", "taken", "referred", "transferred", "ran", "running",
    "displaced", "moved", "headed", "heading",
})
# The sender's own town ("I am in Kisumu but ..., "natoka Kitale"): used only when nothing else is named.
# "from"/"kutoka" alone are not here: "wamekimbia kutoka Endebess" (fled from) names where it happened.
_ORIGIN = frozenset({"natoka", "nimetoka", "naishi", "nakaa", "niko", "nipo", "live", "based", "stay"})
_ORIGIN_PAIRS = frozenset({("am", "in"), ("im", "in"), ("am", "at"), ("from", "here"), ("mimi", "ni")})
_ROAD_AFTER = frozenset({"road", "rd", "highway", "hwy", "bypass", "street", "avenue", "ave", "rd."})
_ROAD_BEFORE = frozenset({"barabara", "barabarani", "njia"})
_LEVEL_BEFORE = {"kaunti": "county", "county": "county", "jimbo": "constituency", "eneo": "constituency",
                 "constituency": "constituency", "kata": "ward", "wadi": "ward", "ward": "ward"}
_PLACE_AFTER = frozenset({"estate", "ward", "stage", "village", "location", "constituency", "county", "slum",
                          "flats", "sokoni", "mjini"})
_LEVEL_AFTER = {"county": "county", "constituency": "constituency", "ward": "ward"}

# Names in the gazetteer that are also ordinary words: they count only after a place cue ("kata ya
# Biashara", "in Township"). Without this, "soko" reports would all land in Kilifi's Sokoni ward.
_COMMON_WORDS = frozenset({
    # English
    "central", "township", "hospital", "airport", "market", "station", "east", "west", "north", "south",
    "town", "city", "county", "island", "industrial", "area", "park", "upper", "lower", "railways",
    "university", "stadium", "golf", "police", "junction", "quarry", "forest", "gate", "bridge", "river",
    "lake", "hill", "valley", "kings", "mine", "sugar", "mission", "school", "church", "camp", "office",
    "village", "estate", "border", "farm", "field", "center", "centre", "port", "bay", "beach", "salt",
    "old", "new", "hell", "amen", "harambee", "uhuru", "independence", "kenya", "africa", "nation",
    # Swahili
    "sokoni", "soko", "biashara", "mjini", "bahari", "mlimani", "bondeni", "majengo", "kati", "magharibi",
    "mashariki", "kusini", "kaskazini", "amani", "umoja", "mwembeni", "kiwanja", "mwangaza", "shauri",
    "moyo", "viwandani", "hindi", "mahindi", "pwani", "kanisa", "makaburini", "makongeni", "mji", "kijiji",
    "maendeleo", "tumaini", "baraka", "neema", "furaha", "jamhuri", "uwanja", "chai", "kahawa", "mwisho",
    "kona", "mto", "ziwa", "milimani", "kilimani", "mashambani", "shamba", "nyumba", "mlango", "salama",
    "uchumi", "sarafu", "kazi", "mtaa", "mwenge", "mapinduzi", "matopeni", "kambi", "kambini",
    "gari", "mlima", "ndege", "simba", "tembo", "nyati", "chui", "sala", "mata", "waa", "puma", "mbale",
    "mama", "baba", "watu", "vijana", "wazee", "imara", "tabaka", "mahali", "kapu",
    "kwa", "huko", "kanda", "meli", "bandari",
    # Ward and constituency names that are everyday Swahili, English or Sheng words or common personal names
    # (found by reading the whole gazetteer): "wote" (all), "wangu" (my), "mara" (times), "kwanza" (first),
    # "kisasi" (revenge), "kuku" (chicken), "utawala" (government), "njia" (way), "tena" (again), ...
    "wote", "wangu", "mara", "kwanza", "kisasi", "kuku", "utawala", "njia", "tena", "nyota", "bidii", "karama",
    "kisima", "arabia", "utalii", "engineer", "makutano", "manyatta", "hamisi", "bamba", "jaribuni", "mnarani",
    "bahati", "wanjohi", "karai", "municipality", "ganga", "magumu", "ndoto", "racecourse", "umande", "tambua",
    "milima", "madaraka", "fedha", "banana", "kuria", "london", "california", "turbo", "pioneer", "olympic",
    "pipeline", "lakeview", "theta", "soy", "gem", "karen", "rhoda", "tudor", "kola", "manga", "mulango",
    "ngomeni", "waita", "central ward",
})
# Words before "huruma" (mercy) that make it the word, not the Nairobi estate: "tuonee huruma" (pity us).
_NOT_PLACE_AFTER = frozenset({"tuonee", "muonee", "waonee", "mwonee", "kuonea", "onea", "onee", "bila", "ya",
                              "kwa", "na", "have", "show"})
_WORD_OR_PLACE = frozenset({"huruma", "salama", "amani", "baraka", "neema", "tumaini"})

# Real words one or two edits from a place name, found by running Swahili and English word lists through the
# matcher: never read as misspellings (exact names are unaffected).
_NOT_MISSPELLINGS = frozenset({
    "siasa", "kituo", "kwake", "tukana", "kisiki", "njeri", "kirui", "kiptui", "kiambi", "mandela", "madera",
    "mander", "manders", "baring", "barings", "westport", "westpoint", "nauru", "kwame", "wazir", "busta",
    "nanda", "nando", "nandy", "midori", "minori", "kishi", "mapanga", "makundi", "bearing", "nyama",
    "polisi", "police", "wanawake", "wanaume", "watoto", "mtoto", "kijana", "vijana", "wazee", "wakulima",
    "mkutano", "mikutano", "kupiga", "kura", "uchaguzi", "wagombea", "mgombea", "chama", "vyama", "kabila",
    "makabila", "moto", "nyumba", "nyumbani", "shule", "shuleni", "kanisa", "kanisani", "msikiti", "hospitali",
    "hospitalini", "barabara", "barabarani", "sokoni", "mjini", "kijijini", "mtaani", "usiku", "asubuhi",
    "jioni", "mchana", "leo", "jana", "kesho", "saidia", "msaada", "haraka", "tafadhali", "hatari", "vita",
    "ugomvi", "mapigano", "wanapigana", "wamepigana", "wamevamia", "wamechoma", "wamejeruhiwa", "wameuawa",
    "amebakwa", "wamebakwa", "ubakaji", "mateka", "mifugo", "ng'ombe", "ngombe", "mbuzi", "kondoo", "ngamia",
    "wezi", "majambazi", "wahuni", "wanamgambo", "bunduki", "risasi", "mawe", "panga", "mishale", "maandamano",
    "waandamanaji", "vurugu", "fujo", "chuki", "matusi", "vitisho", "kutishia", "tishio", "wakimbizi",
    "people", "youths", "youth", "women", "children", "houses", "burning", "burnt", "fighting", "attacked",
    "attack", "injured", "killed", "market", "school", "church", "village", "election", "voters",
    "polling", "station", "violence", "threats", "threat", "leaflets", "armed", "machetes", "gunshots",
    "stones", "tension", "please", "urgent", "urgently", "help", "quickly", "morning", "evening", "tonight",
    "yesterday", "today", "tomorrow", "cattle", "rustlers", "raiders", "goats", "protest", "protesters",
    "teargas", "clashes", "clash", "looting", "looted", "shops", "traders", "shop", "there", "their", "where",
    "which", "about", "around", "after", "before", "again", "still", "group", "groups", "heard", "seen",
    "several", "others", "other", "local", "community", "communities", "chief", "assistant", "officer",
    "officers", "leader", "leaders", "councillor", "candidate", "candidates", "supporters", "rival",
    "kumekuwa", "kulikuwa", "wamekuja", "wanakuja", "walikuja", "wamesema", "wanasema", "wengi", "wachache",
    "wote", "sasa", "bado", "tena", "karibu", "mbali", "ndani", "nje", "juu", "chini", "kati", "katikati",
    "kituoni", "mahakama", "mahakamani", "ofisi", "ofisini", "kazini", "shambani", "mashamba", "mtoni",
    "ziwani", "baharini", "milimani", "bondeni", "kanda", "eneo", "maeneo", "mitaa", "vijiji", "kaunti",
    "serikali", "wizara", "bunge", "mbunge", "waziri", "rais", "gavana", "seneta", "diwani", "mwakilishi",
    "kalamu", "chinja", "wamechinja", "kuchinja", "kisasi", "mbili", "tatu", "yangu", "wetu", "wenu", "wake",
})

_VOWELS = frozenset("aeiou")
_MIN_FUZZY = 6  # shorter words are never read as misspellings: too many real words sit one edit away


@dataclass(frozen=True, slots=True)
class _Span:
    """Where in the tokens a name was found, what it may mean, how well it matched and what it is for."""

    first: int
    last: int  # inclusive
    targets: tuple[Target, ...]
    edits: int  # 0 for an exact spelling
    role: str  # "incident" | "origin" | "fled" | "road"
    cued: bool


def _fuzzy_cap(length: int) -> int:
    if length < _MIN_FUZZY:
        return 0
    return 1 if length < 9 else 2


@functools.cache
def _fuzzy_choices(index_id: int, first: str, length: int) -> tuple[str, ...]:
    """Keys that a misspelt word of this first letter and length may be: same first letter, close length,
    not an ordinary word (index_id keys the cache to one index)."""
    index = _INDEXES[index_id]
    cap = _fuzzy_cap(length)
    return tuple(key for key, targets in index.by_key.items()
                 if key[0] == first and abs(len(key) - length) <= cap and len(key) >= _MIN_FUZZY
                 and key not in _COMMON_WORDS and targets)


_INDEXES: dict[int, NameIndex] = {}


@functools.lru_cache(maxsize=8192)
def _misspelt(index_id: int, word: str) -> tuple[str, int] | None:
    """The key a misspelt word most likely means, and its edits (None when nothing is close enough)."""
    cap = _fuzzy_cap(len(word))
    if not cap or word in _NOT_MISSPELLINGS or word in _COMMON_WORDS:
        return None
    choices = _fuzzy_choices(index_id, word[0], len(word))
    if not choices:
        return None
    found = extractOne(word, choices, scorer=OSA.distance, score_cutoff=cap)
    if found is None:
        return None
    return found[0], int(found[1])


def _lookup(index: NameIndex, key: str) -> tuple[Target, ...]:
    """Targets of an exact key, also with the Swahili locative ("kondeleni", "eldoretini")."""
    found = index.by_key.get(key)
    if found:
        return found
    if key.endswith("ni") and len(key) > 5:
        found = index.by_key.get(key[:-2])
        if found:
            return found
        stem = key[:-3]
        if key.endswith("ini") and stem and stem[-1] not in _VOWELS:
            return index.by_key.get(stem, ())
    return ()


def _split_is_believable(words: Sequence[str], own: tuple[str, ...]) -> bool:
    # A name written in its own words ("homa bay") is believed; a one-word name split in two ("nai robi") only
    # when each part is a real chunk, since short Swahili words run together too easily ("na kuru").
    return tuple(words) == own or all(len(w) >= 3 for w in words)


@functools.lru_cache(maxsize=16384)
def _single(index_id: int, word: str) -> tuple[tuple[Target, ...], int] | None:
    """One word alone: its exact meanings (edits 0, also with the locative) or a misspelling's (cached: reports
    reuse the same few thousand words)."""
    index = _INDEXES[index_id]
    targets = _lookup(index, word)
    if targets:
        return targets, 0
    misspelt = _misspelt(index_id, word)
    return (index.by_key[misspelt[0]], misspelt[1]) if misspelt else None


def _find_spans(index: NameIndex, tokens: Sequence[Token]) -> list[tuple[int, int, tuple[Target, ...], int]]:
    """(first, last, targets, edits) of each name in the text, longest first at each word, not overlapping."""
    words = [t.word for t in tokens]
    spans: list[tuple[int, int, tuple[Target, ...], int]] = []
    index_id = id(index)
    _INDEXES[index_id] = index
    count = len(words)
    i = 0
    while i < count:
        word = words[i]
        hit: tuple[int, int, tuple[Target, ...], int] | None = None
        if word in index.prefixes:  # the start of a longer name: try the longest run first
            for n in range(min(index.max_words, count - i), 1, -1):
                chunk = words[i:i + n]
                key = "".join(chunk)
                targets = _lookup(index, key)
                if targets and _split_is_believable(chunk, index.words_of_key.get(key, ())):
                    hit = (i, i + n - 1, targets, 0)
                    break
        if hit is None:
            single = _single(index_id, word)
            if single is not None:
                hit = (i, i, single[0], single[1])
            elif i + 1 < count and (word in index.name_words or words[i + 1] in index.name_words) \
                    and len(word) >= 3 and len(words[i + 1]) >= 3:
                # A two-word name with a typo in it ("uasin gisu", "laini sabaa").
                pair = word + words[i + 1]
                found = _misspelt(index_id, pair) if pair not in _NOT_MISSPELLINGS else None
                if found is not None and len(index.words_of_key.get(found[0], ())) >= 2:
                    hit = (i, i + 1, index.by_key[found[0]], found[1])
        if hit is None:
            i += 1
            continue
        spans.append(hit)
        i = hit[1] + 1
    return spans


def _role(words: Sequence[str], first: int, last: int) -> tuple[str, bool, str | None]:
    """(role, whether a place cue precedes, a level the words around ask for) of a span."""
    before = words[max(0, first - 3):first]
    after = words[last + 1:last + 2]
    level = None
    for word in reversed(before):
        if word in _LEVEL_BEFORE:
            level = _LEVEL_BEFORE[word]
            break
    if after and after[0] in _LEVEL_AFTER:
        level = _LEVEL_AFTER[after[0]]
    cued = bool(set(before[-2:]) & _PLACE_CUES) or level is not None
    if (after and after[0] in _ROAD_AFTER) or (set(before[-2:]) & _ROAD_BEFORE):
        return "road", cued, level  # a road named after a town is not in it ("Mombasa road" is in Nairobi)
    # The nearest cue decides: in "wamekimbilia Kitale kutoka Endebess" Endebess is where they fled from.
    for distance, word in enumerate(reversed(before)):
        if word in _FLED:
            return "fled", cued, level
        if word in _ORIGIN or tuple(before[-2 - distance:len(before) - distance]) in _ORIGIN_PAIRS:
            return "origin", cued, level
        if word in ("from", "kutoka", "toka"):
            break
    return "incident", cued, level


def _read_spans(index: NameIndex, tokens: Sequence[Token]) -> list[_Span]:
    words = [t.word for t in tokens]
    spans: list[_Span] = []
    for first, last, targets, edits in _find_spans(index, tokens):
        role, cued, level = _role(words, first, last)
        if role == "road" and all(t.unit.level == "ward" for t in targets):
            role = "incident"  # a ward's own road is where it is ("Maai Mahiu road", "Kondele road")
        if level is not None:
            narrowed = tuple(t for t in targets if t.unit.level == level)
            targets = narrowed or targets
        # An ordinary word counts only right after a cue ("kata ya Biashara", "in Township"), not "at the hospital".
        right_after_cue = first > 0 and (words[first - 1] in _PLACE_CUES or words[first - 1] in ("ya", "la", "wa"))
        named_as_place = last + 1 < len(words) and words[last + 1] in _PLACE_AFTER  # "Pipeline estate"
        if first == last and words[first] in _COMMON_WORDS and not ((right_after_cue and cued) or named_as_place):
            continue
        if first == last and words[first] in _WORD_OR_PLACE and first > 0 and words[first - 1] in _NOT_PLACE_AFTER:
            continue  # an ordinary word that is also a ward's name, with nothing saying it is a place here
        # A county name alone means the county, not a constituency or ward of the same name inside it.
        counties = {t.unit.county_code for t in targets}
        if level is None and len(counties) == 1 and any(t.unit.level == "county" for t in targets):
            targets = tuple(t for t in targets if t.unit.level == "county")
        spans.append(_Span(first, last, targets, edits, role, cued))
    return spans


def _support(target: Target, others: Sequence[_Span], hints: PlaceHints) -> float:
    """How much the rest of the text, and what we know of the sender, agree with this meaning."""
    unit = target.unit
    score = 0.0
    for span in others:
        if any(t.unit.county_code == unit.county_code for t in span.targets):
            score += 1.0
        if unit.constituency_code is not None and any(
                t.unit.constituency_code == unit.constituency_code for t in span.targets):
            score += 0.5
    if hints.home_county == unit.county_code:
        score += 0.6
    if unit.county_code in hints.recent_counties:
        score += 0.4
    return score


_DEPTH = {"county": 0, "constituency": 1, "ward": 2}


def resolve_place(text: str, hints: PlaceHints = PlaceHints(), *, index: NameIndex | None = None) -> PlaceMatch:
    """The incident's place in a free-text SMS (English, Swahili, Sheng; typos tolerated), or NO_PLACE."""
    if not text or not text.strip():
        return NO_PLACE
    index = index or name_index()
    tokens = tokens_of(text[:4000])  # a report longer than this names its place early, or not at all
    spans = _read_spans(index, tokens)
    if not spans:
        return NO_PLACE
    usable = [s for s in spans if s.role == "incident"] or [s for s in spans if s.role == "origin"]
    set_aside = tuple(text[tokens[s.first].start:tokens[s.last].end] for s in spans if s not in usable)
    if not usable:
        return PlaceMatch(others=set_aside)
    # Each span's best meaning, by the support of every other span and the hints; then the county that the
    # most spans agree on, its deepest unit, and the earliest span at equal depth.
    chosen: list[tuple[_Span, Target, float]] = []
    for span in usable:
        others = [s for s in spans if s is not span and s.role != "road"]
        best = max(span.targets, key=lambda t: (_support(t, others, hints), -t.rank))
        if best.unit.level == "constituency":
            # A constituency with a ward of the same name inside it ("Kasarani", "Changamwe"): the ward is the
            # place of that name, and the constituency still follows from it.
            best = next((t for t in span.targets if t.unit.level == "ward"
                         and t.unit.constituency_code == best.unit.constituency_code), best)
        chosen.append((span, best, _support(best, others, hints)))
    votes: dict[int, float] = {}
    for span, target, _ in chosen:
        votes[target.unit.county_code] = votes.get(target.unit.county_code, 0.0) + (1.0 if span.edits == 0 else 0.7)
    # The county most spans agree on; at a tie the one named most precisely (a ward over a road or a county),
    # then the one named first.
    def rank(code: int) -> tuple[float, int, int]:
        mine = [(s, t) for s, t, _ in chosen if t.unit.county_code == code]
        return votes[code], max(_DEPTH[t.unit.level] for _, t in mine), -min(s.first for s, _ in mine)

    county = max(votes, key=rank)
    in_county = [(s, t, sup) for s, t, sup in chosen if t.unit.county_code == county]
    span, target, support = max(in_county, key=lambda c: (_DEPTH[c[1].unit.level], -c[0].first))
    unit = target.unit
    constituency_code = unit.constituency_code
    # A ward or constituency must sit inside every deeper unit named for the same county.
    for _span, other, _ in in_county:
        if other.unit.level == "constituency" and constituency_code not in (None, other.unit.constituency_code):
            constituency_code = None
    confidence = _confidence(span, target, support, agreeing=len(in_county) - 1,
                             disagreeing=len(chosen) - len(in_county))
    return PlaceMatch(
        county_code=unit.county_code,
        constituency_code=constituency_code,
        ward_code=unit.ward_code if constituency_code is not None else None,
        confidence=confidence,
        span=text[tokens[span.first].start:tokens[span.last].end],
        others=set_aside,
        ambiguous=len({t.unit.county_code for t in span.targets}) > 1 and support == 0,
    )


def _confidence(span: _Span, target: Target, support: float, *, agreeing: int, disagreeing: int) -> float:
    """0..1: exact spellings, a place cue and agreeing places raise it; typos, ambiguity and rivals lower it."""
    value = 0.9 if span.edits == 0 else 0.75 - 0.1 * (span.edits - 1)
    counties = {t.unit.county_code for t in span.targets}
    if len(counties) > 1:
        value -= 0.35 if support == 0 else 0.1  # several counties have this name and nothing settled it
    if span.cued:
        value += 0.04
    if span.role == "origin":
        value -= 0.3
    value += min(0.08, 0.04 * agreeing) - 0.15 * min(disagreeing, 2)
    return round(max(0.05, min(0.99, value)), 2)


def unit_of(match: PlaceMatch) -> Unit | None:
    """The deepest unit of a match (for its name and point)."""
    from rules.gazetteer.data import admin_units

    units = admin_units()
    if match.ward_code is not None:
        return units.wards.get(match.ward_code)
    if match.constituency_code is not None:
        return units.constituencies.get(match.constituency_code)
    if match.county_code is not None:
        return units.counties.get(match.county_code)
    return None
