"""`ews detect`: run one detector over a CSV of counts per period and write its signals as CSV."""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rules.detectors import Detector, Signal

# rules.detectors (and numpy) are imported by the functions that run a detector, not here: every `ews`
# command builds this parser, and `ews serve` should not pay for numpy at start-up.

METHODS = ("ears-c1", "ears-c2", "ears-c3", "cusum", "ewma", "surge", "quiet")
MISSING = ("", "NA")  # a period without a count (R writes NA): no statistic, left out of baselines
OUTPUT_HEADER = ("period", "count", "statistic", "threshold", "alarm")

# Which option means something to which method; any other pairing is refused rather than ignored.
_APPLIES = {
    "baseline": {"ears-c1", "ears-c2", "ears-c3", "cusum", "ewma", "surge", "quiet"},
    "alpha": {"ears-c1", "ears-c2", "ears-c3", "ewma", "quiet"},
    "min_sigma": {"ears-c1", "ears-c2", "ears-c3", "cusum"},
    "c3_variant": {"ears-c3"},
    "k": {"cusum"},
    "h": {"cusum"},
    "reference_mean": {"cusum"},
    "reset": {"cusum"},
}


class DetectError(Exception):
    """Bad input or options for `ews detect`: one line that says what and where."""


@dataclass(frozen=True, slots=True)
class Series:
    """The input CSV: each row's period and count text, and the counts (NaN where missing)."""

    periods: list[str]
    texts: list[str]
    counts: list[float]


def add_parser(sub: Any) -> None:
    """Add `ews detect` to the `ews` sub-command parser."""
    p = sub.add_parser(
        "detect", help="run a detector (EARS, CUSUM, EWMA, surge, quiet) over a CSV of counts",
        description="Read a CSV with a header (period,count by default), treat the first --history-rows rows "
        "as history only (baselines, CUSUM's reference mean; no alarms there) and write CSV to stdout: "
        "period,count,statistic,threshold,alarm, one row per input row. An empty or NA count is a missing "
        "period. Bad input: a one-line error naming the line, exit status 2. See README, 'Detectors'.")
    p.add_argument("--method", required=True, choices=METHODS, help="which detector")
    p.add_argument("--input", required=True, help="the CSV file ('-' for standard input)")
    p.add_argument("--count-column", default="count", help="the column holding counts (default: count)")
    p.add_argument("--period-column", default="period",
                   help="the column naming periods (default: period; without it, rows are numbered)")
    p.add_argument("--history-rows", type=_non_negative_int, default=0,
                   help="how many leading rows are history only (default 0)")
    p.add_argument("--baseline", type=int, default=None,
                   help="baseline periods: EARS 7, EWMA 28, surge 4, quiet 28; cusum: a rolling baseline "
                   "instead of the history's mean")
    p.add_argument("--alpha", type=float, default=None,
                   help="false-alarm level: EARS 0.001 (z 3.09), EWMA's red tier 0.01, quiet 0.001")
    p.add_argument("--min-sigma", type=float, default=None,
                   help="floor of the baseline's sd (EARS default 0 as in R; 0.5-1 for sparse counts; "
                   "rolling cusum 0.5)")
    p.add_argument("--c3-variant", choices=("classic", "r"), default=None,
                   help="ears-c3: Hutwagner's classic C3 (default) or R surveillance's variant")
    p.add_argument("--k", type=float, default=None, help="cusum reference value (default 1.04)")
    p.add_argument("--h", type=float, default=None, help="cusum decision limit (default 2.26)")
    p.add_argument("--reference-mean", type=float, default=None,
                   help="cusum in-control mean m (default: the mean of the history rows)")
    p.add_argument("--reset", action="store_true", default=None, help="cusum: start again at 0 after an alarm")
    p.set_defaults(func=cmd_detect)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def cmd_detect(args: argparse.Namespace) -> int:
    """Run `ews detect`; exit status 2 with one line on stderr for bad input."""
    name = "<stdin>" if args.input == "-" else args.input
    try:
        detector = build_detector(args)
        raw = sys.stdin.buffer.read() if args.input == "-" else _read(Path(args.input))
        series = parse_series(raw, count_column=args.count_column, period_column=args.period_column)
        signals = detect(detector, series, args.history_rows)
    except DetectError as exc:
        print(f"ews detect: {name}: {exc}", file=sys.stderr)
        return 2
    write_signals(sys.stdout, series, args.history_rows, signals)
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DetectError(f"cannot read: {exc.strerror or exc}") from exc


def build_detector(args: argparse.Namespace) -> Detector:
    """The detector `--method` names, with the options given; DetectError for options it has no use for."""
    from rules.detectors import Cusum, EarsC1, EarsC2, EarsC3, Ewma, QuietCounty, Surge

    method = args.method
    for option, methods in _APPLIES.items():
        if getattr(args, option) is not None and method not in methods:
            flag = "--" + option.replace("_", "-")
            raise DetectError(f"{flag} does not apply to {method} (it is for {', '.join(sorted(methods))})")
    given = {key: getattr(args, key) for key in _APPLIES if getattr(args, key) is not None}
    try:
        if method in ("ears-c1", "ears-c2", "ears-c3"):
            ears = {k: v for k, v in (("baseline", given.get("baseline")), ("alpha", given.get("alpha")),
                                      ("min_sigma", given.get("min_sigma"))) if v is not None}
            if method == "ears-c3":
                return EarsC3(**ears, variant=given.get("c3_variant", "classic"))
            return (EarsC1 if method == "ears-c1" else EarsC2)(**ears)
        if method == "cusum":
            if "min_sigma" in given and "baseline" not in given:
                raise DetectError("--min-sigma applies to cusum only with --baseline (a rolling baseline's sd)")
            return Cusum(**{k: v for k, v in given.items() if k in Cusum.__dataclass_fields__})
        if method == "ewma":
            return Ewma(**({"baseline": given["baseline"]} if "baseline" in given else {}),
                        **({"red": given["alpha"]} if "alpha" in given else {}),
                        **({"min_baseline": min(11, given["baseline"])} if "baseline" in given else {}))
        if method == "surge":
            return Surge(**({"window": given["baseline"]} if "baseline" in given else {}))
        quiet = {k: v for k, v in given.items() if k in ("baseline", "alpha")}
        if "baseline" in quiet:
            quiet["min_baseline"] = min(14, quiet["baseline"])
        return QuietCounty(**quiet)
    except ValueError as exc:
        raise DetectError(str(exc)) from exc


def parse_series(raw: bytes, *, count_column: str = "count", period_column: str = "period") -> Series:
    """Periods and counts from CSV bytes with a header; DetectError naming the line of the first bad row."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DetectError(f"line {line}: not UTF-8 (at byte offset {exc.start})") from exc
    if "\0" in text:
        raise DetectError("contains NUL characters: not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise DetectError(f"empty: need a header line naming the columns ({period_column},{count_column})")
        names = [h.strip() for h in header]
        if count_column not in names:
            raise DetectError(f"line 1: no column {count_column!r} (columns: {', '.join(names)}); "
                              "choose one with --count-column")
        at = names.index(count_column)
        period_at = names.index(period_column) if period_column in names else None
        periods: list[str] = []
        texts: list[str] = []
        counts: list[float] = []
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue  # blank lines (a trailing newline, a spreadsheet's empty rows)
            line = reader.line_num
            if len(row) <= at:
                raise DetectError(f"line {line}: no {count_column} (the row has {len(row)} of {len(names)} columns)")
            cell = row[at].strip()
            counts.append(_count(cell, line))
            texts.append("" if cell in MISSING else cell)
            periods.append(row[period_at].strip() if period_at is not None and len(row) > period_at
                           else str(len(periods) + 1))
    except csv.Error as exc:
        raise DetectError(f"line {reader.line_num}: not valid CSV ({exc})") from exc
    return Series(periods, texts, counts)


def _count(cell: str, line: int) -> float:
    if cell in MISSING:
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        raise DetectError(f"line {line}: count {cell[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise DetectError(f"line {line}: count {cell[:40]!r} is not a finite number")
    if value < 0:
        raise DetectError(f"line {line}: count {cell[:40]} is negative")
    return value


def _needs(detector: Detector) -> int:
    """The fewest rows (history included) with which `detector` can score at least one period."""
    from rules.detectors import Cusum, EarsC1, EarsC2, EarsC3, Ewma, QuietCounty, Surge

    if isinstance(detector, EarsC1):
        return detector.baseline + 1
    if isinstance(detector, EarsC2):
        return detector.baseline + 3
    if isinstance(detector, EarsC3):
        return detector.baseline + 5
    if isinstance(detector, Ewma):
        return detector.min_baseline + detector.guard + 1
    if isinstance(detector, Surge):
        return detector.window + 1
    if isinstance(detector, QuietCounty):
        return detector.min_baseline + 1
    if isinstance(detector, Cusum) and detector.baseline is not None:
        return detector.baseline + detector.guard + 1
    return 1


def detect(detector: Detector, series: Series, history_rows: int) -> list[Signal]:
    """Run `detector` with the first `history_rows` counts as history; DetectError when rows are too few."""
    from rules.detectors import Cusum

    rows = len(series.counts)
    if rows == 0:
        raise DetectError("no data rows after the header")
    if history_rows >= rows:
        raise DetectError(f"--history-rows {history_rows} leaves no row to monitor (the file has {rows} data rows)")
    need = _needs(detector)
    if rows < need:
        raise DetectError(f"too few rows: {detector.name} needs at least {need} (history included), "
                          f"the file has {rows}")
    if isinstance(detector, Cusum) and detector.baseline is None and detector.reference_mean is None:
        if history_rows == 0:
            raise DetectError("cusum needs --history-rows N (its reference mean is their mean) or --reference-mean")
        if all(math.isnan(c) for c in series.counts[:history_rows]):
            raise DetectError(f"the {history_rows} history rows have no count: cusum needs their mean")
    try:
        return detector.run(series.counts[history_rows:], series.counts[:history_rows])
    except ValueError as exc:
        raise DetectError(str(exc)) from exc


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def write_signals(out: TextIO, series: Series, history_rows: int, signals: Sequence[Signal]) -> None:
    """The output CSV: one row per input row; history rows carry no statistic and never alarm."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_HEADER)
    for i in range(history_rows):
        writer.writerow((series.periods[i], series.texts[i], "", "", 0))
    for signal in signals:
        i = history_rows + signal.period
        writer.writerow((series.periods[i], series.texts[i], _number(signal.statistic), _number(signal.threshold),
                         int(signal.alarm)))
