"""A free-text SMS as lower-case ASCII words that remember where they stand in the original text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.words import words_of

# A run of letters, digits and apostrophes; words_of then folds accents and splits off digits.
_CHUNK = re.compile(r"[\w'’‘`´ʼ′]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One word (as `rules.words.words_of` gives it) and the characters of the text it came from."""

    word: str
    start: int
    end: int


def tokens_of(text: str) -> list[Token]:
    """The words of `text` in order, each with its [start, end) in `text`."""
    tokens: list[Token] = []
    for chunk in _CHUNK.finditer(text):
        for word in words_of(chunk.group()):
            tokens.append(Token(word, chunk.start(), chunk.end()))
    return tokens
