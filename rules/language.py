"""Guess whether a short text is Swahili or English, to answer the reporter in their language."""

from __future__ import annotations

from collections.abc import Sequence

from ews.core.models import Language, Variety
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


# Sheng words (Nairobi's urban mix): either Sheng coinages or English/Swahili words with a Sheng meaning.
_SHENG = frozenset("""
msee wasee maze manze mazee bana beshte mabeshte mbogi karao makarao kanjo keja makeja mtoi watoi manzi
msupa dem mathe masa buda mzae fiti poa sai noma ngori doh mbao thao ganji munde nduthi mat mathree
chapa chapwa amechapwa wamechapwa wanachapa wamechapa kuchapa chapana wanachapana dedi amedede wamedede
amededi kudedi zimwa amezimwa wamezimwa kuzimwa wamemzima hepa kuhepa wamehepa wanahepa tumehepa goons
ocha rada form sare boyz fala mse wakora tao chuma vibe stage ma
""".split())
# More English words, for telling a mixed message from a Swahili one (the vote above needs fewer).
_ENGLISH_MORE = _ENGLISH | frozenset("""
he she it i you me us him who what when where which how why will would can could should must have has had
do does did not been being after before because for by into over under about against between all any
every other another one two three four five six his hers its your yours am get got go going went gone
killed shot dead body bodies injured wounded beaten hurt cut stabbed stolen taken burnt burning torched
fire houses home homes shop shops family families night morning evening last yesterday tonight
tomorrow right away back send call need needs want come came told said say says pls plz urgent
voters voting votes ballot results station centre center agents officers official officials party
supporters youths guys gang men women girl girls boy boys child son daughter brother sister neighbour
road town market farm land water cattle cows goats raid raiders bandits peace meeting leaders elders
""".split())

# "ma-" before an English word is Sheng's plural ("ma-cow", "ma-keja"); words_of splits it off as "ma".

def variety_of_words(words: Sequence[str]) -> Variety:
    """The language a report is written in: en, sw, sheng, or mixed (English with Swahili or Sheng)."""
    sheng = sum(1 for word in words if word in _SHENG)
    swahili = sum(1 for word in words if word in _SWAHILI)
    english = sum(1 for word in words if word in _ENGLISH_MORE)
    african = swahili + sheng
    # Mixed: both sides carry part of the message; a lone borrowed word ("police", "stage") does not.
    if english and african and min(english, african) * 4 >= max(english, african):
        return "mixed"
    if sheng >= 2 or (sheng >= 1 and english == 0):
        return "sheng"
    return language_of_words(words)


def reply_language(variety: Variety, words: Sequence[str] = ()) -> Language:
    """The language every message back is written in: Swahili for Sheng, the dominant one for mixed."""
    if variety == "mixed":
        return language_of_words(words)
    return "en" if variety == "en" else "sw"
