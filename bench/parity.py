"""`make parity`: does `ews detect` give R `surveillance`'s alarms on its reference series, week for week?

Reads the reference outputs from ../shared/data/golden_surveillance (beside the project, never copied
into it): history = the training weeks' n_cases - n_outbreak_cases, the 105 test weeks' n_cases after
them; EARS baseline 7, alpha 0.001, minSigma 0 (C3: R's variant); CUSUM k 1.04, h 2.26, m the history's
mean. Runs the real `ews detect` command on that series and compares its alarm column with R's.

    .venv/bin/python bench/parity.py [--data DIR]      exit 1 when any week differs
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "golden_surveillance"
CHECKS = (  # (what, ews detect options, R's output file)
    ("EARS C1", ["--method", "ears-c1", "--baseline", "7", "--alpha", "0.001", "--min-sigma", "0"],
     "EarsC1_pred.csv"),
    ("EARS C2", ["--method", "ears-c2", "--baseline", "7", "--alpha", "0.001", "--min-sigma", "0"],
     "EarsC2_pred.csv"),
    ("EARS C3 (R variant)", ["--method", "ears-c3", "--c3-variant", "r", "--baseline", "7", "--alpha", "0.001",
                             "--min-sigma", "0"], "EarsC3_pred.csv"),
    ("CUSUM", ["--method", "cusum", "--k", "1.04", "--h", "2.26"], "Cusum_pred.csv"),
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main() -> int:
    """Run every check; print 'N of 105 weeks' for each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"default {DEFAULT_DATA}")
    args = parser.parse_args()
    if not (args.data / "salmonella_train.csv").is_file():
        print(f"no reference data at {args.data}: nothing to check", file=sys.stderr)
        return 0
    train, test = _rows(args.data / "salmonella_train.csv"), _rows(args.data / "salmonella_test.csv")
    history = [(r[""], int(r["n_cases"]) - int(r["n_outbreak_cases"])) for r in train]
    weeks = [(r[""], int(r["n_cases"])) for r in test]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        series = Path(tmp) / "series.csv"
        with series.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(("period", "count"))
            writer.writerows(history + weeks)
        for what, options, reference in CHECKS:
            out = subprocess.run([str(REPO / ".venv" / "bin" / "ews"), "detect", "--input", str(series),
                                  "--history-rows", str(len(history)), *options],
                                 capture_output=True, text=True, check=True).stdout
            ours = list(csv.DictReader(out.splitlines()))[len(history):]
            theirs = _rows(args.data / reference)
            pairs = zip(ours, theirs, strict=False)  # a length mismatch fails below
            same = sum(o["period"] == r[""] and int(o["alarm"]) == int(r["alarm"]) for o, r in pairs)
            alarms = sum(int(r["alarm"]) for r in theirs)
            print(f"{what}: {same} of {len(theirs)} weeks as R (R raised {alarms} alarms)")
            failed |= same != len(theirs) or len(ours) != len(theirs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
