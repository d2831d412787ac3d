"""The held-out evaluation sets: each file's sha256 matches tests/heldout/README.md and each parses with its header.

The sets were written before any tuning by a separate engineer and must never be trained or tuned on; the hash
check makes any change to them visible (a change needs a new hash in the README, in the same reviewed commit).
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

from rules.vocabulary import INCIDENT_TYPES

_DIR = Path(__file__).resolve().parent / "heldout"
_FILES = ("places.csv", "types.tsv")
_LANGUAGES = {"en", "sw", "sheng", "mixed"}


def _readme_hashes() -> dict[str, str]:
    """File name -> sha256 from the README's table rows `| places.csv | <64 hex> |`."""
    text = (_DIR / "README.md").read_text(encoding="utf-8")
    pattern = re.compile(r"^\|\s*`?([\w.]+)`?\s*\|\s*`?([0-9a-f]{64})`?\s*\|", re.MULTILINE)
    return dict(pattern.findall(text))


@pytest.mark.parametrize("name", _FILES)
def test_sha256_matches_readme(name: str) -> None:
    hashes = _readme_hashes()
    assert name in hashes, f"README gives no sha256 for {name}"
    assert hashlib.sha256((_DIR / name).read_bytes()).hexdigest() == hashes[name]


def test_places_parses_with_its_header_and_code_shapes() -> None:
    with (_DIR / "places.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, strict=True))
    assert rows[0] == ["text", "county_code", "constituency_code", "ward_code"]
    body = rows[1:]
    assert all(len(row) == 4 for row in body)
    placed = [row for row in body if row[1]]
    assert len(placed) >= 300 and len(body) - len(placed) >= 60
    assert sum(1 for row in placed if row[3]) >= 80
    assert {int(row[1]) for row in placed} == set(range(1, 48))
    for text, county, constituency, ward in body:
        assert text.strip()
        if not county:
            assert not constituency and not ward
            continue
        assert 1 <= int(county) <= 47
        assert not ward or constituency, "a ward needs its constituency"
        assert not constituency or 1 <= int(constituency) <= 290
        assert not ward or re.fullmatch(r"\d{4}", ward)


def test_types_parses_with_its_header_and_vocabulary() -> None:
    with (_DIR / "types.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE, strict=True))
    assert rows[0] == ["type", "language", "text"]
    body = rows[1:]
    assert len(body) >= 400
    assert all(len(row) == 3 and row[2].strip() for row in body)
    codes = {t.code for t in INCIDENT_TYPES}
    assert {row[0] for row in body} == codes
    assert {row[1] for row in body} <= _LANGUAGES
    for code in codes:
        assert sum(1 for row in body if row[0] == code) >= 20
