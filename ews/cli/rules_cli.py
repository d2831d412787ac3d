"""`ews rules check FILE` (a rules file v2, every error at once) and `ews backtest` (replay rules over a file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

# rules.rulebook (and numpy) are imported by the commands, not here: every `ews` command builds this parser.


def cmd_rules_check(args: argparse.Namespace) -> int:
    """Check a rules file: print every error with its line and a hint; exit 0 when it has none, else 1."""
    from rules.rulebook import check

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 1
    book, errors = check(text)
    if book is None:
        for error in errors:
            print(error.format(str(path)), file=sys.stderr)
        print(f"{path}: {len(errors)} error{'s' if len(errors) != 1 else ''}", file=sys.stderr)
        return 1
    print(f"{path}: ok, version {book.version}, {len(book.rules)} rule{'s' if len(book.rules) != 1 else ''}")
    for rule in book.rules:
        overrides = f", {len(rule.overrides)} override(s)" if rule.overrides else ""
        print(f"  {rule.name}: {rule.detector} per {rule.period} over {', '.join(rule.groups)} in "
              f"{len(rule.counties)} counties, hold {rule.hold_for}, keep {rule.keep_for}{overrides}")
    return 0


def add_parser(sub: Any) -> None:
    """Add `ews rules` (check) and `ews backtest` to the `ews` sub-command parser."""
    rules = sub.add_parser("rules", help="check escalation rules files",
                           description="Escalation rules files (rules file v2, see README).")
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    chk = rsub.add_parser("check", help="check a rules file and list every error with its line",
                          description="Read a rules file (TOML) and report every error at once, each with its "
                          "line number and a hint. Exit 0 when the file is good, 1 when it has errors.")
    chk.add_argument("file", help="the rules file, e.g. rules/default_rules.toml")
    chk.set_defaults(func=cmd_rules_check)
