"""The county matcher alone: `find_county` over a fixed corpus of SMS texts, in matches per second.

The corpus is built the same way on every run: each report template of bench/signed_forms.py with
each county's official name, the same templates with a one-letter typo in the name (every county of
five letters or more), and reports that name no county at all, where every word goes through the
misspelling search. Each kind is timed on its own, after checking that every text gives the county
it should (so a faster but wrong matcher cannot show up as a gain).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.signed_forms import TEXTS
from rules.gazetteer import COUNTIES, County, find_county

# Reports with no county in them, English, Swahili and mixed, most at full SMS length.
NO_COUNTY: tuple[str, ...] = (
    "Leo asubuhi vijana wamebeba mapanga na mawe wamevamia soko la kijiji, watu wengi wamejeruhiwa"
    " na nyumba zimechomwa moto. Tafadhali tumeni polisi haraka sana!!",
    "Youths armed with machetes attacked traders at the market this morning; several people were"
    " injured and houses are burning. Please send police quickly",
    "Gunshots heard near the school, people running towards the river, we need an ambulance urgently",
    "Maandamano yanaendelea, makundi ya vijana wamejaa barabarani na wanachoma magurudumu",
    "Cattle rustlers attacked the village at dawn and drove away all the animals",
    "Kituo cha polisi kimevamiwa na wahuni usiku, askari wawili wamejeruhiwa",
    "Election results protest turning violent, shops closed and the road blocked with stones",
    "Siasa za chuki zinaenea mtaani, wanatukana watu wa kabila lingine kwenye mkutano",
)


@dataclass(frozen=True, slots=True)
class Kind:
    """One part of the corpus and its figure."""

    name: str
    texts: int
    matches_per_second: float


@dataclass(frozen=True, slots=True)
class GazetteerResult:
    """The figures for each part of the corpus and for all of it."""

    kinds: list[Kind]
    total: Kind


def _typo(name: str) -> str:
    """The name with its middle letter doubled: one edit, the first letter untouched."""
    middle = len(name) // 2
    return name[:middle] + name[middle] + name[middle:]


def corpus() -> dict[str, list[tuple[str, County | None]]]:
    """The fixed corpus: (text, the county it names) for each kind."""
    misspelled = [county for county in COUNTIES if " " not in county.name and len(county.name) >= 5]
    return {
        "county named": [(t.format(county=c.name), c) for t in TEXTS for c in COUNTIES],
        "county misspelled": [(t.format(county=_typo(c.name)), c) for t in TEXTS for c in misspelled],
        "no county": [(text, None) for text in NO_COUNTY],
    }


def _rate(texts: list[str], seconds: float) -> float:
    """Texts matched per second, over whole passes of `texts` for at least `seconds`."""
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or done == 0:
        for text in texts:
            find_county(text)
        done += len(texts)
    return done / elapsed


def measure(seconds_per_kind: float = 1.0) -> GazetteerResult:
    """Check the corpus, then time each kind and the whole corpus."""
    parts = corpus()
    for name, cases in parts.items():
        wrong = [text for text, county in cases if find_county(text) != county]
        if wrong:
            raise RuntimeError(f"gazetteer corpus, {name}: {len(wrong)} texts matched wrongly, e.g. {wrong[0]!r}")
    kinds = [Kind(name, len(cases), _rate([text for text, _ in cases], seconds_per_kind))
             for name, cases in parts.items()]
    everything = [text for cases in parts.values() for text, _ in cases]
    return GazetteerResult(kinds, Kind("whole corpus", len(everything), _rate(everything, seconds_per_kind)))
