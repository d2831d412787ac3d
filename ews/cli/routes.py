"""`ews routes check FILE` and `ews routes test FILE label=value ...`: the routing tree, before it is used."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ews.alerting.routes import LABELS, route
from ews.alerting.routes_file import RoutesFileError, check_routes, county_code, parse_routes, unused_receivers


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return None


def cmd_routes_check(args: argparse.Namespace) -> int:
    """Report every problem in a routing file, each with its line and a hint; 1 if there is any."""
    path = Path(args.file)
    text = _text(path)
    if text is None:
        return 2
    problems = check_routes(text)
    for problem in problems:
        hint = f" (hint: {problem.hint})" if problem.hint else ""
        print(f"{path}:{problem.line}: {problem.message}{hint}", file=sys.stderr)
    if problems:
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    tree = parse_routes(text)
    for name in unused_receivers(tree):
        print(f"{path}: warning: receiver {name!r} is named by no route", file=sys.stderr)
    print(f"{path}: ok ({len(tree.receivers)} receivers)")
    return 0


def cmd_routes_test(args: argparse.Namespace) -> int:
    """Print the receivers an alert with the given labels goes to."""
    path = Path(args.file)
    text = _text(path)
    if text is None:
        return 2
    labels: dict[str, str] = {}
    for pair in args.labels:
        name, sep, value = pair.partition("=")
        if not sep or name not in LABELS:
            print(f"ews routes test: {pair!r} is not label=value with a label of {', '.join(LABELS)}",
                  file=sys.stderr)
            return 2
        if name == "county" and not value.isdigit():
            code = county_code(value)
            value = str(code) if code is not None else value
        labels[name] = value
    try:
        tree = parse_routes(text)
    except RoutesFileError as exc:
        print(f"{path}: {len(exc.problems)} problem(s); run `ews routes check {path}`", file=sys.stderr)
        return 1
    for name in route(tree, labels):
        receiver = tree.receivers[name]
        roles = ",".join(receiver.roles) or "every role"
        print(f"{name}\t{receiver.channel}\troles={roles}\tcounty={receiver.county}")
    return 0


def add_parser(sub: Any) -> None:
    """The `routes` command and its actions."""
    routes = sub.add_parser("routes", help="check and try the alert routing tree",
                            description="The routing tree (TOML) decides which receivers each alert goes to: "
                            "nested routes with matchers on alert labels, first match wins unless continue.")
    rsub = routes.add_subparsers(dest="routes_command", required=True, metavar="ACTION")
    check = rsub.add_parser("check", help="report every problem in a routing file",
                            description="Parse and check a routing file; every problem is printed as "
                            "FILE:LINE: message (hint: ...). Exit status 1 when there is any.")
    check.add_argument("file", help="path to the routing .toml file")
    check.set_defaults(func=cmd_routes_check)
    test = rsub.add_parser("test", help="show where an alert with given labels goes",
                           description="Print the receivers (name, channel, roles, county) an alert with these "
                           "labels is routed to, e.g. `ews routes test routes.toml county=Kisumu level=ALERT "
                           "group=sgbv`.")
    test.add_argument("file", help="path to the routing .toml file")
    test.add_argument("labels", nargs="*", help="label=value pairs (county, level, rule, group, sensitive)")
    test.set_defaults(func=cmd_routes_test)
