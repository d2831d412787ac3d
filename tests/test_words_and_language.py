"""Tests for rules.words (the word split place and language matching read) and rules.language."""

from __future__ import annotations

import pytest

from rules.language import detect_language
from rules.words import words_of


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", []),
        ("Fujo KUBWA huko", ["fujo", "kubwa", "huko"]),
        ("kisumu,nakuru...mombasa!", ["kisumu", "nakuru", "mombasa"]),
        ("Nakuru's youth", ["nakuru", "youth"]),  # the possessive goes with its apostrophe
        ("Nakuru’s youth", ["nakuru", "youth"]),
        ("Murang'a", ["muranga"]),  # an apostrophe inside a word joins it
        ("Murang’a", ["muranga"]),
        ("MURANG`A", ["muranga"]),
        ("ng'ombe", ["ngombe"]),
        ("Nakúru", ["nakuru"]),  # accents are dropped, not split on
        ("Ḿombasa Kisúmu", ["mombasa", "kisumu"]),
        ("Kisumu🔥Nakuru", ["kisumu", "nakuru"]),  # anything that is not a letter splits
        ("0722 000 000 Kisumu2day", ["kisumu", "day"]),
        ("ÉLDORET", ["eldoret"]),
    ],
)
def test_words_of(text: str, words: list[str]) -> None:
    assert words_of(text) == words


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Vijana wamebeba mapanga sokoni, the police", "sw"),  # more Swahili words than English
        ("The youths are fighting na polisi", "en"),  # more English words than Swahili
        ("watu police", "en"),  # a tie of known words goes to English
        ("Mpesa bodaboda", "sw"),  # no known word: vowel-final words read as Swahili
        ("Kamukunji Kariobangi Kawangware", "sw"),
        ("Kisumu", "en"),  # one unknown word is too little to go by
        ("Westlands Eastleigh Parklands", "en"),
    ],
)
def test_language_vote(text: str, language: str) -> None:
    assert detect_language(text) == language
