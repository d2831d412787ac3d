"""Labelled messages in the corpus's TSV form: `type<TAB>language<TAB>text`, one per line, with a header."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rules.vocabulary import INCIDENT_TYPES

VARIETIES = ("en", "sw", "sheng", "mixed")
"""The language labels a corpus line may carry."""

HEADER = "type\tlanguage\ttext"
_TYPES = frozenset(t.code for t in INCIDENT_TYPES)


class CorpusError(ValueError):
    """A corpus line that cannot be read, with where and why."""


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled message."""

    type: str
    language: str
    text: str


def parse_corpus(text: str, *, where: str = "corpus") -> list[Labelled]:
    """Every labelled line of a TSV text; CorpusError naming the line for anything malformed."""
    rows: list[Labelled] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or (number == 1 and line.strip() == HEADER):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise CorpusError(f"{where}:{number}: expected 3 tab-separated fields, got {len(parts)}")
        kind, language, message = (part.strip() for part in parts)
        if kind not in _TYPES:
            raise CorpusError(f"{where}:{number}: unknown incident type {kind!r}")
        if language not in VARIETIES:
            raise CorpusError(f"{where}:{number}: language must be one of {', '.join(VARIETIES)}, got {language!r}")
        if not message:
            raise CorpusError(f"{where}:{number}: empty text")
        rows.append(Labelled(kind, language, message))
    return rows


def format_corpus(rows: Iterable[Labelled]) -> str:
    """The TSV text of labelled rows (the inverse of parse_corpus); tabs and newlines in text become spaces."""
    lines = [HEADER]
    for row in rows:
        lines.append(f"{row.type}\t{row.language}\t{' '.join(row.text.split())}")
    return "\n".join(lines) + "\n"
