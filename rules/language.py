"""Guess whether a short text is Swahili or English, to answer the reporter in their language."""

from __future__ import annotations

from collections.abc import Sequence

from ews.core.models import Language
from rules.words import words_of

# Frequent function words and words common in incident reports; Sheng and typos make any list partial,
# so the decision is a vote, not a dictionary lookup.
_SWAHILI = frozenset("""
na ya wa kwa ni za la katika kuna hakuna watu mtu vijana wanawake wanaume mwanamke mama baba watoto
leo sasa jana hapa pale huko kule sana tafadhali msaada saidia saidieni haraka polisi askari kaunti
jimbo mji mjini kijiji sokoni soko shule kanisa msikiti nyumba nyumbani barabara njia wanapigana vita
ghasia fujo vurugu wamebeba mapanga panga mawe moto wamechoma wameuawa ameuawa kuuawa wamejeruhiwa
kujeruhiwa wanatishia tishio hatari uchaguzi kura wapiga wagombea chama mkutano maandamano
wanaandamana wamekusanyika wamejaa kundi kubwa wengi mengi bado tena pia lakini kama kwamba hii huu
hawa hao yule wale wetu yetu letu wangu yangu changu eneo mtaa nini gani wapi lini nani kwenye juu
chini mbele nyuma karibu mbali ripoti asante habari salama usalama ubakaji kubaka amebakwa dhuluma
""".split())

_ENGLISH = frozenset("""
the a an is are was were be been there here this that these those of in on at to from with and or but
not no yes people men women man woman youth youths children police help please now today yesterday
fight fighting fights attack attacked attacking burning burned burnt killed kill injured threat threats
threatening violence market school church mosque house houses road town village gathering gathered
group crowd armed carrying machetes stones fire election vote voters candidate rally protest
protesters many some very our my we they them their his her near around send come report
""".split())


def detect_language(text: str) -> Language:
    """'sw' when the text reads as Swahili, else 'en' (the tie-breaker, since both are official)."""
    return language_of_words(words_of(text))


def language_of_words(words: Sequence[str]) -> Language:
    """detect_language for a text already split by `rules.words.words_of`."""
    swahili = sum(1 for word in words if word in _SWAHILI)
    english = sum(1 for word in words if word in _ENGLISH)
    if swahili > english:
        return "sw"
    if swahili == english == 0 and _looks_bantu(words):
        return "sw"
    return "en"


def _looks_bantu(words: Sequence[str]) -> bool:
    # Unknown words only: Swahili words nearly all end in a vowel, English ones mostly do not.
    if not words:
        return False
    vowel_final = sum(1 for w in words if w[-1] in "aeiou")
    return vowel_final / len(words) >= 0.75 and len(words) >= 2
