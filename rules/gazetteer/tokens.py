"""A free-text SMS as lower-case ASCII words that remember where they stand in the original text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from rules.words import words_of

_APOSTROPHES = "'’‘`´ʼ′"
# A run of letters, digits and apostrophes; words_of then folds accents and splits off digits.
_CHUNK = re.compile(f"[\\w{_APOSTROPHES}]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One word (as `rules.words.words_of` gives it) and the characters of the text it came from."""

    word: str
    start: int
    end: int


def _chunks(text: str) -> Iterator[tuple[str, int, int]]:
    """Runs of word characters with their offsets; outside ASCII, combining accents stay inside a run."""
    if text.isascii():
        for chunk in _CHUNK.finditer(text):
            yield chunk.group(), chunk.start(), chunk.end()
        return
    start = None
    for i, ch in enumerate(text):
        inside = ch.isalnum() or ch == "_" or ch in _APOSTROPHES or unicodedata.category(ch).startswith("M")
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            yield text[start:i], start, i
            start = None
    if start is not None:
        yield text[start:], start, len(text)


def tokens_of(text: str) -> list[Token]:
    """The words of `text` in order (the same as words_of), each with its [start, end) in `text`."""
    tokens: list[Token] = []
    for found, start, end in _chunks(text):
        if found.isascii() and found.isalpha():  # most words: words_of would only lower-case them
            tokens.append(Token(found.lower(), start, end))
            continue
        for word in words_of(found):
            tokens.append(Token(word, start, end))
    return tokens
