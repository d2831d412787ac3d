"""`ews rules check FILE` (a rules file v2, every error at once) and `ews backtest` (replay rules over a file)."""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from ews.cli.versions import activated_by, print_diff, run_on_database, version_id

# rules.rulebook (and numpy) are imported by the commands, not here: every `ews` command builds this parser.


def _checked(path: Path, *, refused: str = "") -> tuple[Any, str] | None:
    """The rulebook and text of a rules file, or None after printing why it cannot be used (every error with
    its line and a hint, then a count and `refused`)."""
    from rules.rulebook import check

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return None
    book, errors = check(text)
    if book is None:
        for error in errors:
            print(error.format(str(path)), file=sys.stderr)
        print(f"{path}: {len(errors)} error{'s' if len(errors) != 1 else ''}{refused}", file=sys.stderr)
        return None
    return book, text


def cmd_rules_check(args: argparse.Namespace) -> int:
    """Check a rules file: print every error with its line and a hint; exit 0 when it has none, else 1."""
    path = Path(args.file)
    checked = _checked(path)
    if checked is None:
        return 1
    book, _text = checked
    print(f"{path}: ok, version {book.version}, {len(book.rules)} rule{'s' if len(book.rules) != 1 else ''}")
    for rule in book.rules:
        overrides = f", {len(rule.overrides)} override(s)" if rule.overrides else ""
        print(f"  {rule.name}: {rule.detector} per {rule.period} over {', '.join(rule.groups)} in "
              f"{len(rule.counties)} counties, hold {rule.hold_for}, keep {rule.keep_for}{overrides}")
    return 0


def cmd_rules_activate(args: argparse.Namespace) -> int:
    """Check a rules file and store it as the active version, with who activated it and when (audited)."""
    import hashlib

    from ews.core.clock import utcnow
    from ews.db.repo.rules_versions import activate

    by = activated_by(args.by, "rules")
    if by is None:
        return 2
    path = Path(args.file)
    checked = _checked(path, refused="; nothing activated")
    if checked is None:
        return 1
    book, text = checked
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    stored = run_on_database(lambda conn: activate(
        conn, version=book.version, sha256=digest, body=text, rules=len(book.rules), by=by,
        note=(args.note or "").strip(), now=utcnow()))
    print(f"activated rules V{stored} (version {book.version}, sha256 {digest[:12]}, {len(book.rules)} rules) "
          f"by {by}")
    return 0


def cmd_rules_history(_args: argparse.Namespace) -> int:
    """List every activated rules version, newest (the active one) first."""
    from ews.db.repo.rules_versions import history

    versions = run_on_database(history)
    if not versions:
        print("no rules activated yet (ews rules activate FILE --by NAME)")
        return 0
    for i, v in enumerate(versions):
        active = "  (active)" if i == 0 else ""
        note = f"  {v.note}" if v.note else ""
        print(f"V{v.id}  {v.activated_at.isoformat(timespec='seconds')}  by {v.activated_by}  version {v.version}  "
              f"{v.rules} rules  sha256 {v.sha256[:12]}{active}{note}")
    return 0


def cmd_rules_diff(args: argparse.Namespace) -> int:
    """A unified diff between two activated versions' files."""

    from ews.db.repo.rules_versions import version_by_id

    given = [version_id(raw, "V") for raw in (args.old, args.new)]
    ids = [i for i in given if i is not None]
    if len(ids) != len(given):
        print("versions are given as V3 or 3 (see ews rules history)", file=sys.stderr)
        return 2

    async def both(conn: Any) -> list[Any]:
        return [await version_by_id(conn, i) for i in ids]

    found = run_on_database(both)  # one session (and, embedded, one PostgreSQL start) for both
    for raw, version in zip((args.old, args.new), found, strict=True):
        if version is None:
            print(f"no rules version {raw} (see ews rules history)", file=sys.stderr)
            return 2
    old, new = found
    assert old is not None and new is not None
    print_diff(old, new, "V{0.id} (version {0.version}, by {0.activated_by}, {1})")
    return 0


def add_parser(sub: Any) -> None:
    """Add `ews rules` (check) and `ews backtest` to the `ews` sub-command parser."""
    rules = sub.add_parser("rules", help="check, activate and compare escalation rules files",
                           description="Escalation rules files (rules file v2, see README).")
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    chk = rsub.add_parser("check", help="check a rules file and list every error with its line",
                          description="Read a rules file (TOML) and report every error at once, each with its "
                          "line number and a hint. Exit 0 when the file is good, 1 when it has errors.")
    chk.add_argument("file", help="the rules file, e.g. rules.toml")
    chk.set_defaults(func=cmd_rules_check)
    act = rsub.add_parser("activate", help="check a rules file and store it as the active version",
                          description="Check FILE (as `ews rules check` does: nothing is stored when it has an "
                          "error) and store it in the database as the next version, with who and when (audited).")
    act.add_argument("file", help="the rules file (v2)")
    act.add_argument("--by", required=True, help="who activates it (stored and audited)")
    act.add_argument("--note", default="", help="why, for the history")
    act.set_defaults(func=cmd_rules_activate)
    his = rsub.add_parser("history", help="list the activated rules versions, newest first",
                          description="Every activated version (V1, V2, ...), who activated it and when.")
    his.set_defaults(func=cmd_rules_history)
    dif = rsub.add_parser("diff", help="show what changed between two activated versions",
                          description="A unified diff of the rules files of two versions, e.g. V3 V5.")
    dif.add_argument("old", help="the earlier version, e.g. V3")
    dif.add_argument("new", help="the later version, e.g. V5")
    dif.set_defaults(func=cmd_rules_diff)
    add_backtest_parser(sub)


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date like 2027-08-09") from None


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


def cmd_backtest(args: argparse.Namespace) -> int:
    """Replay a rules file over a reports file with no look-ahead; alerts, metrics, AMOC and charts in --out."""
    from tqdm import tqdm

    from ews.core.models import Level
    from rules import backtest as bt
    from rules.charts import amoc_chart
    from rules.gazetteer.counties import COUNTIES
    from rules.rulebook import check
    from rules.series import ReportsError, collect, read_reports

    rules_path, out = Path(args.rules), Path(args.out)
    from_database = args.source == "database"
    if from_database == (args.reports is not None):
        print("give --reports FILE, or --source database (not both)", file=sys.stderr)
        return 2
    reports_name = "the database" if from_database else str(args.reports)
    try:
        book, errors = check(rules_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{rules_path}: cannot read: {exc}", file=sys.stderr)
        return 2
    if book is None:
        for error in errors:
            print(error.format(str(rules_path)), file=sys.stderr)
        return 2
    quiet = args.quiet or not sys.stderr.isatty()
    started = time.perf_counter()
    try:
        if from_database:
            collected = _collect_from_database(args, quiet)
        else:
            with _open(Path(args.reports)) as lines:
                collected = collect(tqdm(read_reports(lines), desc="reading reports", unit=" reports",
                                         disable=quiet))
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile, asyncpg.PostgresError) as exc:
        print(f"{reports_name}: cannot read: {exc}", file=sys.stderr)
        return 2
    except ReportsError as exc:
        print(f"{reports_name}: {exc}", file=sys.stderr)
        return 2
    first, last = args.start or collected.first, args.end or collected.last
    if first is None or last is None:
        print(f"{reports_name}: no report counts (none placed in a county with a known type)", file=sys.stderr)
        return 2
    if last < first:
        print(f"--to {last} is before --from {first}", file=sys.stderr)
        return 2
    series = bt.build_series(book, collected, first, last)
    read_s = time.perf_counter() - started

    truth = None
    truth_period = args.truth_period
    truth_start = bt.origin(truth_period, first)
    try:
        if args.truth:
            truth = bt.read_truth(Path(args.truth).read_text(encoding="utf-8"), truth_period, truth_start,
                                  source=str(args.truth))
        elif args.truth_from_fatalities is not None:
            truth = bt.truth_from_fatalities(collected, args.truth_from_fatalities, truth_period, first, last)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.truth}: cannot read: {exc}", file=sys.stderr)
        return 2
    except bt.TruthError as exc:
        print(f"{args.truth}: {exc}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    work = sum(len(r.counties) for r in book.rules) * 2
    with tqdm(total=work, desc="replaying", unit=" county-rules", disable=quiet) as bar:
        signals = bt.signals_of(book, series, bar.update)
        runs = bt.replay(book, series, signals, bar.update)
    replay_s = time.perf_counter() - started

    out.mkdir(parents=True, exist_ok=True)
    names = {c.code: c.name for c in COUNTIES}
    rows = bt.alert_rows(runs, names, collected)
    with (out / "alerts.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=ALERT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "reports": " ".join(f"{x['id']}:{x['weight']:g}" for x in r["reports"])}
                         for r in rows)
    by_county: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_county.setdefault(str(row["county"]), []).append(row)
    (out / "alerts.json").write_text(json.dumps(by_county, ensure_ascii=False, indent=1), encoding="utf-8")
    raised = sum(1 for r in rows if r["from"] == "normal")
    print(f"rules {rules_path} (version {book.version}): {len(book.rules)} rules over {first} .. {last}; "
          f"{len(collected.items)} reports counted; {raised} alerts raised, {len(rows)} level changes "
          f"-> {out}/alerts.csv, alerts.json")
    print(f"time: reading and series {read_s:.2f} s, replay {replay_s:.2f} s")

    meta: dict[str, Any] = {"rules": str(rules_path), "version": book.version, "reports": reports_name,
                            "from": first.isoformat(), "to": last.isoformat(), "counted_reports": len(collected.items),
                            "alerts_raised": raised,
                            "seconds": {"read": round(read_s, 3), "replay": round(replay_s, 3)}}
    periods = 0
    if truth is not None:
        end = bt.origin("day", last) + timedelta(days=1)
        periods = max(1, math.ceil((end - truth.start) / bt.LENGTH[truth.period]))
        level = Level[args.alarm_level.upper()]
        m = bt.metrics(runs, truth, periods, level, args.lead)
        (out / "metrics.json").write_text(json.dumps(m, indent=1), encoding="utf-8")
        meta["truth"] = {"source": truth.source, "period": truth.period, "same_data": truth.same_data,
                         "alarm_level": args.alarm_level, "lead_periods": args.lead}
        if truth.same_data:
            print("NOTE: the truth was derived from the same reports the rules saw (not an independent source): "
                  "these figures flatter the rules.")
        _print_metrics(m, truth)
        if not args.no_sweep:
            started = time.perf_counter()
            points = bt.sweep(book, series, signals, truth, periods, alarm_level=level, lead=args.lead)
            meta["seconds"]["sweep"] = round(time.perf_counter() - started, 3)
            (out / "amoc.json").write_text(json.dumps(points, indent=1), encoding="utf-8")
            (out / "amoc.html").write_text(amoc_chart(points, f"rules {book.version}; every level threshold of "
                                                      "the statistical rules multiplied by the factor (immediate "
                                                      "rules unchanged)"), encoding="utf-8")
            print(f"threshold sweep: {len(points)} points -> {out}/amoc.json, amoc.html "
                  f"({meta['seconds']['sweep']:.2f} s)")
    if not args.no_charts:
        started = time.perf_counter()
        _write_charts(out, book, runs, series, truth, periods, names)
        meta["seconds"]["charts"] = round(time.perf_counter() - started, 3)
        print(f"charts: {out}/charts/NN-county.html ({meta['seconds']['charts']:.2f} s)")
    (out / "run.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return 0


ALERT_COLUMNS = ("rule", "version", "county", "county_name", "group", "period_start", "at", "from", "to",
                 "detector", "statistic", "threshold", "observed", "baseline_periods", "baseline_mean",
                 "baseline_sd", "why_en", "why_sw", "reports")


def _collect_from_database(args: argparse.Namespace, quiet: bool) -> Any:
    """Count the database's reports (EWS_DATABASE_URL, else the embedded PostgreSQL) on the days asked for."""
    from tqdm import tqdm

    from ews.cli.backtest_source import database_reports, days_filter
    from ews.cli.main import _settings, database
    from rules.series import collect

    with database(_settings()) as ready:
        reports = database_reports(ready, days_filter(args.start, args.end))
        return collect(tqdm(reports, desc="reading reports", unit=" reports", disable=quiet))


def _print_metrics(m: dict[str, Any], truth: Any) -> None:
    print(f"truth: {m['episodes']} episodes ({truth.source})")
    print(f"  detected (POD)            {_pct(m['pod'])}   (target >= 90%)")
    print(f"  detected by onset period  {_pct(m['pod_first_period'])}")
    print(f"  median delay              {m['median_delay_periods']} {truth.period}s   (target <= 1)")
    print(f"  share before onset        {_pct(m['share_before_onset'])}")
    print(f"  false alarms/county-year  {m['false_alarms_per_county_year']}   (target < 2)")
    print(f"  sensitivity {_pct(m['sensitivity'])}, specificity {_pct(m['specificity'])}, PPV {_pct(m['ppv'])}")
    for name, r in m["rules"].items():
        print(f"  rule {name}: POD {_pct(r['pod'])}, median delay {r['median_delay_periods']}, "
              f"false alarms/county-year {r['false_alarms_per_county_year']}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _write_charts(out: Path, book: Any, runs: Any, series: Any, truth: Any, periods: int,
                  names: dict[int, str]) -> None:
    import numpy as np

    from rules import backtest as bt
    from rules.charts import county_chart

    charts = out / "charts"
    charts.mkdir(exist_ok=True)
    groups = list(dict.fromkeys(g for r in book.rules if r.immediate_filter is None for g in r.groups))
    main_spec = next((bt.spec_of(r) for r in book.rules if r.immediate_filter is None), bt.spec_of(book.rules[0]))
    s = series[main_spec]
    grid_truth = truth if truth is not None else bt.Truth((), s.period, s.start)
    n = periods or s.periods
    top = bt.overall_levels(runs, grid_truth, n)
    for code, name in names.items():
        episodes = [(e.onset, e.end) for e in grid_truth.episodes if e.county == code]
        lines = {g: s.of(code, g) for g in groups}
        html = county_chart(f"{name} ({code}): series, levels and truth", s.start, bt.LENGTH[s.period], lines,
                            top.get(code, np.zeros(n, dtype=np.int8)), episodes,
                            f"rules version {book.version}; counts per {s.period}; bands: level of any rule "
                            "(top) and truth episodes (grey)")
        slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower())
        (charts / f"{code:02d}-{slug}.html").write_text(html, encoding="utf-8")


def add_backtest_parser(sub: Any) -> None:
    """Add `ews backtest` to the `ews` sub-command parser."""
    p = sub.add_parser(
        "backtest", help="replay a rules file over a reports file and judge it against a truth",
        description="Replay the rules of FILE over the reports of an `ews export --format ews` file (JSON lines, "
        ".gz too) with no look-ahead, through the same state machine as the live engine. Writes "
        "alerts.csv/alerts.json (every level change with its explanation) and a chart per county; with a truth, "
        "metrics.json (POD, delay, false alarms per county-year, sensitivity, specificity, PPV; per rule under "
        "'rules') and the threshold sweep amoc.json/amoc.html. No database is needed.")
    p.add_argument("--rules", required=True, help="the rules file (v2), e.g. rules.toml")
    p.add_argument("--reports", default=None, help="reports in the ews export format (.jsonl or .jsonl.gz)")
    p.add_argument("--source", choices=("file", "database"), default="file",
                   help="database: the reports in PostgreSQL (EWS_DATABASE_URL, else the embedded one), imported "
                        "history included, read as `ews export` would (audited) instead of --reports")
    p.add_argument("--from", dest="start", type=_day, default=None, help="first day replayed (default: the first)")
    p.add_argument("--to", dest="end", type=_day, default=None, help="last day replayed (default: the last)")
    truth = p.add_mutually_exclusive_group()
    truth.add_argument("--truth", default=None, help="episodes CSV with columns county, start, end")
    truth.add_argument("--truth-from-fatalities", type=int, default=None, metavar="N",
                       help="derive the truth: county-periods with at least N deaths, onset after 4 quiet periods")
    p.add_argument("--truth-period", choices=("day", "week"), default="day", help="the truth's period (default day)")
    p.add_argument("--alarm-level", choices=("watch", "warning", "alert"), default="watch",
                   help="the level that counts as an alarm in the metrics (default watch)")
    p.add_argument("--lead", type=int, default=7, help="periods before onset in which an alarm counts (default 7)")
    p.add_argument("--out", required=True, help="directory for the results")
    p.add_argument("--no-sweep", action="store_true", help="skip the threshold sweep")
    p.add_argument("--no-charts", action="store_true", help="skip the per-county charts")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_backtest)
