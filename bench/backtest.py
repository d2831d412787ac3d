"""The backtest replay: 47 counties x 3 years daily x the 5 default rules, under 10 s (issue 14).

The synthetic history (rules/synthetic.py, seed 14) is generated and read into series first (not timed as
the replay: that is reading a file). Timed apart, as the issue asks: the replay (each rule's detector over
every county and group, then the state machine period by period through the same `step` as the live
engine), the threshold sweep (12 factors, reusing the detector signals), and the 47 HTML charts. Times are
wall seconds (best of `--repeat`) and the process's CPU seconds; the machine is shared.

    .venv/bin/python bench/backtest.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, run as a script

from rules import backtest as bt
from rules import synthetic
from rules.charts import county_chart
from rules.rulebook import load
from rules.series import collect

RULES = Path(__file__).resolve().parent.parent / "rules.toml"
TARGET_S = 10.0
T = TypeVar("T")


def _timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """fn's result, its wall seconds and the process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    """Print the replay's, the sweep's and the charts' times, and whether the replay is under 10 s."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="replays timed; the best counts (default 3)")
    args = parser.parse_args(argv)
    book = load(RULES.read_text(encoding="utf-8"))
    (reports, episodes), gen_s, _ = _timed(lambda: synthetic.generate(14))
    collected, read_s, _ = _timed(lambda: collect(reports))
    first, last = synthetic.START, synthetic.START + timedelta(days=synthetic.DAYS - 1)
    series = bt.build_series(book, collected, first, last)
    truth = bt.Truth(tuple(bt.Episode(e.county, (e.start - first).days, (e.end - first).days) for e in episodes),
                     "day", bt.origin("day", first))
    steps = sum(len(r.counties) * len(r.groups) for r in book.rules) * synthetic.DAYS
    print(f"history: {len(collected.items)} counted reports, 47 counties x {synthetic.DAYS} days, "
          f"{len(book.rules)} rules ({steps:,} rule-county-group periods); made and read in {gen_s + read_s:.1f} s")
    best = None
    for _ in range(args.repeat):
        (signals, runs), wall, cpu = _timed(lambda: (s := bt.signals_of(book, series), bt.replay(book, series, s)))
        best = (wall, cpu) if best is None or wall < best[0] else best
    assert best is not None
    m = bt.metrics(runs, truth, synthetic.DAYS)
    print(f"replay: {best[0]:.2f} s wall, {best[1]:.2f} s CPU (best of {args.repeat}; target < {TARGET_S:g} s) "
          f"-> {'ok' if best[0] < TARGET_S else 'TOO SLOW'}; POD {m['pod']}, median delay "
          f"{m['median_delay_periods']}, false alarms/county-year {m['false_alarms_per_county_year']}")
    points, sweep_s, sweep_cpu = _timed(lambda: bt.sweep(book, series, signals, truth, synthetic.DAYS))
    print(f"threshold sweep: {len(points)} factors in {sweep_s:.2f} s wall, {sweep_cpu:.2f} s CPU (timed apart)")
    with tempfile.TemporaryDirectory() as tmp:
        def charts() -> None:
            s = series[bt.spec_of(book.rules[1])]
            top = bt.overall_levels(runs, truth, synthetic.DAYS)
            for code in range(1, 48):
                html = county_chart(str(code), s.start, bt.LENGTH["day"], {"violence": s.of(code, "violence")},
                                    top[code], [(e.onset, e.end) for e in truth.episodes if e.county == code])
                (Path(tmp) / f"{code}.html").write_text(html, encoding="utf-8")
        _, charts_s, _ = _timed(charts)
    print(f"charts: 47 county pages in {charts_s:.2f} s wall (timed apart)")
    return 0 if best[0] < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
