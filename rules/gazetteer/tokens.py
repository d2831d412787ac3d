"""A free-text SMS as lower-case ASCII words that remember where they stand in the original text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

from rules.words import words_of

_APOSTROPHES = "'’‘`´ʼ′"
# A run of letters, digits and apostrophes; words_of then folds accents and splits off digits.
_CHUNK = re.compile(f"[\\w{_APOSTROPHES}]+")


class Token(NamedTuple):
    """One word (as `rules.words.words_of` gives it) and the characters of the text it came from.

    A named tuple, not a frozen dataclass: every report's words become tokens on the request path, and a
    tuple is built several times faster."""

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
        inside = (ch.isalnum() or ch == "_" or ch in _APOSTROPHES or unicodedata.category(ch).startswith("M")
                  or any(c.isalnum() for c in unicodedata.normalize("NFKD", ch)))  # "㎈" folds to "cal"
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            yield text[start:i], start, i
            start = None
    if start is not None:
        yield text[start:], start, len(text)


_DIGITS = re.compile(r"([0-9]+)")
_LETTERS = re.compile(r"[A-Za-z]+")
_NOT_PLAIN = re.compile(f"[0-9_{_APOSTROPHES}]")  # what makes an ASCII text need the careful path


def place_words(text: str) -> list[str]:
    """words_of, keeping runs of digits as words of their own: "Umoja 2", "Githurai 45", "phase4"."""
    return [t.word for t in tokens_of(text)]


def tokens_of(text: str) -> list[Token]:
    """The words of `text` in order (words_of's, and runs of digits), each with its [start, end) in `text`."""
    if text.isascii() and not _NOT_PLAIN.search(text):
        # Most SMS: plain ASCII words, which words_of would only lower-case.
        return [Token(m.group().lower(), m.start(), m.end()) for m in _LETTERS.finditer(text)]
    tokens: list[Token] = []
    for found, start, end in _chunks(text):
        if found.isascii() and found.isalpha():  # most words: words_of would only lower-case them
            tokens.append(Token(found.lower(), start, end))
            continue
        # Estates and wards are told apart by their numbers ("Dandora phase 4", "Githurai 44" and "45").
        for piece in _DIGITS.split(found) if any(ch.isdigit() for ch in found) else (found,):
            words = [piece] if piece.isdigit() and piece.isascii() else words_of(piece)
            tokens.extend(Token(word, start, end) for word in words)
    return tokens
