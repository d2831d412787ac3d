"""`ews places evaluate` (the place matcher against a labelled file, with the issue's targets) and
`ews places corrections` (analysts' corrections as such a file)."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rules.gazetteer import resolve_place

DEFAULT_FILE = Path("tests/heldout/places.csv")
_COLUMNS = ("text", "county_code", "constituency_code", "ward_code")


@dataclass(frozen=True, slots=True)
class Score:
    """Correct answers out of the labelled rows for one measure, with its target."""

    name: str
    correct: int
    total: int
    target: float

    @property
    def rate(self) -> float:
        """The share correct (0 when nothing is labelled)."""
        return self.correct / self.total if self.total else 0.0

    @property
    def met(self) -> bool:
        """Whether the target is reached."""
        return self.total > 0 and self.rate >= self.target


def evaluate(rows: list[dict[str, str]]) -> tuple[list[Score], list[str]]:
    """Scores of resolve_place over labelled rows, and a line for each miss."""
    county = constituency = ward = none_right = 0
    placed = with_constituency = with_ward = unplaced = 0
    misses: list[str] = []
    for row in rows:
        match = resolve_place(row["text"])
        want_county = int(row["county_code"]) if row["county_code"].strip() else None
        got = (match.county_code, match.constituency_code, match.ward_code)
        if want_county is None:
            unplaced += 1
            none_right += match.county_code is None
            if match.county_code is not None:
                misses.append(f"no place, got {got} from {match.span!r}: {row['text']}")
            continue
        placed += 1
        county += match.county_code == want_county
        if row["constituency_code"].strip():
            with_constituency += 1
            constituency += match.constituency_code == int(row["constituency_code"])
        if row["ward_code"].strip():
            with_ward += 1
            ward += match.ward_code == row["ward_code"].strip().zfill(4)
        want = (want_county, row["constituency_code"] or None, row["ward_code"] or None)
        if match.county_code != want_county or (row["ward_code"].strip() and match.ward_code != want[2]):
            misses.append(f"want {want}, got {got} from {match.span!r}: {row['text']}")
    return [Score("county correct (texts naming a place)", county, placed, 0.95),
            Score("constituency correct (texts labelled to one)", constituency, with_constituency, 0.0),
            Score("ward correct (texts labelled to a ward)", ward, with_ward, 0.80),
            Score("no county given (texts naming none)", none_right, unplaced, 0.90)], misses


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a labelled file (header text,county_code,constituency_code,ward_code)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return [{c: (row.get(c) or "") for c in _COLUMNS} for row in reader]


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print the scores (and the misses with --misses); exit 1 when a target is missed."""
    path = Path(args.file)
    try:
        rows = read_rows(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2
    scores, misses = evaluate(rows)
    print(f"{path}: {len(rows)} texts")
    for score in scores:
        target = f"target {score.target:.0%}: {'met' if score.met else 'MISSED'}" if score.target else "no target"
        print(f"  {score.name}: {score.correct}/{score.total} = {score.rate:.1%}  ({target})")
    if args.misses:
        for line in misses:
            print("  miss: " + line)
    return 0 if all(s.met for s in scores if s.target) else 1


def write_corrections(rows: list[tuple[str, int | None, int | None, str | None]], out: TextIO) -> int:
    """Corrected reports as an evaluation file (the format `evaluate` reads); how many rows."""
    writer = csv.writer(out)
    writer.writerow(_COLUMNS)
    for text, county, constituency, ward in rows:
        writer.writerow([text, county or "", constituency or "", ward or ""])
    return len(rows)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], *,
               corrections: Callable[[argparse.Namespace], int]) -> None:
    """The `places` command group (`corrections` needs the database, so the CLI's main hands it in)."""
    places = sub.add_parser("places", help="the gazetteer and place matching",
                            description="Kenya's counties, constituencies and wards, and how reports are placed.")
    psub = places.add_subparsers(dest="places_command", required=True, metavar="ACTION")
    ev = psub.add_parser("evaluate", help="score the place matcher on a labelled CSV",
                         description="County, constituency and ward accuracy, and how often no county is given "
                         "for texts that name none, against the targets (95%, -, 80%, 90%). Needs no database.")
    ev.add_argument("--file", default=str(DEFAULT_FILE),
                    help=f"CSV with header {','.join(_COLUMNS)} (default {DEFAULT_FILE})")
    ev.add_argument("--misses", action="store_true", help="also print every miss")
    ev.set_defaults(func=cmd_evaluate)
    co = psub.add_parser("corrections", help="write the hand-corrected places as an evaluation CSV",
                         description="Every report an analyst placed by hand (PATCH /api/v1/reports/ID), latest "
                         "correction first per report, as text,county_code,constituency_code,ward_code: material "
                         "for the alias table and a future evaluation set. Sensitive reports are left out.")
    co.add_argument("--out", default="-", help="file to write (default: standard output)")
    co.set_defaults(func=corrections)
