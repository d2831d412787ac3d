"""Splitting a free-text SMS into the lower-case ASCII words that place and language matching read."""

from __future__ import annotations

import re
import unicodedata

# Apostrophes join a word ("Murang'a", "Murang’a"); a trailing possessive "'s" is dropped first so that
# "Nakuru's" still reads as Nakuru.
_APOSTROPHES = "'’‘`´ʼ′"
_POSSESSIVE = re.compile(f"[{_APOSTROPHES}]s\\b")
_APOSTROPHE = re.compile(f"[{_APOSTROPHES}]")
_WORD = re.compile(r"[a-z]+")


def words_of(text: str) -> list[str]:
    """Lower-case ASCII words of text, with accents, apostrophes and punctuation removed."""
    text = text.casefold()
    if not text.isascii():
        # Accents exist only outside ASCII: "Nakúru" decomposes to "naku" + combining accent + "ru".
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = _APOSTROPHE.sub("", _POSSESSIVE.sub("", text))
    return _WORD.findall(text)
