"""The cheap keyword check that marks a report as possibly sexual or gender-based violence at intake (pure).

It runs before the report is stored, so a report is hidden from uncleared callers from its first moment;
the classifier decides later. It errs towards marking: a false mark only hides a report from callers
without clearance until the classifier or an analyst clears it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Whole words (English, Swahili, Sheng) that on their own point to sexual or gender-based violence.
_WORDS = frozenset("""
rape raped rapes raping rapist rapists defile defiled defiling defilement molest molested molesting
gbv sgbv fgm groped groping grope undressed stripped naked incest
ubakaji ubakwaji unajisi kunajisi amenajisiwa wamenajisiwa kunajisiwa ananajisi anamnajisi
kingono ngono ukeketaji kijinsia sex gender circumcised circumcision trafficked ameozwa kuozwa
""".split())

# Word beginnings: "sexual", "sexually", "harass...", "circumcis..." (of girls is FGM), "keket..." (to cut, FGM).
_PREFIXES = ("sexual", "harass", "keket", "najis", "nyanyas", "dhulumiwa kingono")

# Pieces of Swahili and Sheng verbs: -chafua (to defile, Sheng), -vuliwa nguo (stripped), -guswa (touched).
_STEMS = ("chafu", "vuliwa", "guswa", "shikashika", "shikwashikwa", "gropiwa", "traffick")

# Word endings of the Swahili verb -baka (to rape) in its forms: kubaka, amebakwa, wamembaka, alibakwa.
_SUFFIXES = ("bakwa", "bakwe")

# A woman beaten by her partner: one of these words together with a word of beating.
_PARTNER = frozenset("wife wives mkewe mke bibi bibiye husband mumewe mume bwanake partner widow mjane".split())
_BEATING = frozenset("""
beat beats beating beaten hit hits hitting burnt burned assaulted cut kill anampiga amempiga anamchapa
amemchapa anachapa amemchoma amechomwa amemkata kumpiga amepigwa kupigwa ananipiga kumuua amehit
ameassaultiwa ameumizwa
""".split())


# One pattern over the words joined by spaces: a single regex search instead of several tests per word
# (this runs on the request path, before the report is stored).
_PATTERN = re.compile(
    r"\b(?:" + "|".join(sorted(_WORDS)) + r")\b"
    + r"|\b(?:" + "|".join(_PREFIXES) + r")"
    + r"|(?:" + "|".join(_SUFFIXES) + r")\b"
    + r"|(?:" + "|".join(_STEMS) + r")"
    # -baka forms; "mbaka" and "tabaka" (a layer, a class) only inside a longer word
    + r"|\b\w*(?:kubaka|ambaka|mebaka|nabaka|libaka)\b|\b\w+(?:mbaka|tabaka)\b",
)


def looks_sensitive(words: Sequence[str]) -> bool:
    """Whether the words (from rules.words.words_of) may describe sexual or gender-based violence."""
    if _PATTERN.search(" ".join(words)):
        return True
    seen = frozenset(words)
    return bool(seen & _PARTNER) and bool(seen & _BEATING)
