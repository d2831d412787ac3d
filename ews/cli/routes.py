"""`ews routes check|test|activate|history|diff`: the routing tree, checked before it is used, stored versioned."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ews.alerting.durations import format_duration
from ews.alerting.routes import LABELS, matches
from ews.alerting.routes_file import RoutesFileError, check_routes, county_code, parse_routes, unused_receivers
from ews.cli.versions import activated_by, print_diff, run_on_database, version_id


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
    for match in matches(tree, labels):
        receiver = tree.receivers[match.receiver]
        roles = ",".join(receiver.roles) or "every role"
        t = match.timing
        grouping = (f"group_by={','.join(t.group_by) or '-'} wait={format_duration(t.group_wait)} "
                    f"interval={format_duration(t.group_interval)} repeat={format_duration(t.repeat_interval)}")
        print(f"{match.receiver}\t{receiver.channel}\troles={roles}\tcounty={receiver.county}\t{grouping}"
              f"\tpolicy={match.policy or '-'}")
    return 0


def cmd_routes_activate(args: argparse.Namespace) -> int:
    """Check a routing file and store it as the active version, with who and when (audited)."""
    import hashlib

    from ews.core.clock import utcnow
    from ews.db.repo.routes_versions import activate_routes

    by = activated_by(args.by, "routes")
    if by is None:
        return 2
    path = Path(args.file)
    text = _text(path)
    if text is None:
        return 2
    problems = check_routes(text)
    for problem in problems:
        hint = f" (hint: {problem.hint})" if problem.hint else ""
        print(f"{path}:{problem.line}: {problem.message}{hint}", file=sys.stderr)
    if problems:
        print(f"{path}: {len(problems)} problem(s); nothing activated", file=sys.stderr)
        return 1
    tree = parse_routes(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    stored = run_on_database(lambda conn: activate_routes(
        conn, sha256=digest, body=text, receivers=len(tree.receivers), by=by, note=(args.note or "").strip(),
        now=utcnow()))
    print(f"activated routes R{stored} (sha256 {digest[:12]}, {len(tree.receivers)} receivers, "
          f"{len(tree.policies)} policies, {len(tree.inhibit)} inhibit rules) by {by}")
    return 0


def cmd_routes_history(_args: argparse.Namespace) -> int:
    """List every activated routing file, newest (the active one) first."""
    from ews.db.repo.routes_versions import routes_history

    versions = run_on_database(routes_history)
    if not versions:
        print("no routes activated yet (ews routes activate FILE --by NAME)")
        return 0
    for i, v in enumerate(versions):
        active = "  (active)" if i == 0 else ""
        note = f"  {v.note}" if v.note else ""
        print(f"R{v.id}  {v.activated_at.isoformat(timespec='seconds')}  by {v.activated_by}  {v.receivers} receivers"
              f"  sha256 {v.sha256[:12]}{active}{note}")
    return 0


def cmd_routes_diff(args: argparse.Namespace) -> int:
    """A unified diff between two activated routing files."""

    from ews.db.repo.routes_versions import routes_version

    ids = [version_id(raw, "R") for raw in (args.old, args.new)]
    if None in ids:
        print("versions are given as R3 or 3 (see ews routes history)", file=sys.stderr)
        return 2

    async def both(conn: Any) -> list[Any]:
        return [await routes_version(conn, i) for i in ids if i is not None]

    found = run_on_database(both)
    for raw, version in zip((args.old, args.new), found, strict=True):
        if version is None:
            print(f"no routes version {raw} (see ews routes history)", file=sys.stderr)
            return 2
    old, new = found
    print_diff(old, new, "R{0.id} (by {0.activated_by}, {1})")
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
                           description="Print the receivers (name, channel, roles, county, grouping, escalation "
                           "policy) an alert with these labels is routed to, e.g. `ews routes test routes.toml "
                           "county=Kisumu level=ALERT group=sgbv`.")
    test.add_argument("file", help="path to the routing .toml file")
    test.add_argument("labels", nargs="*", help="label=value pairs (county, level, rule, group, sensitive)")
    test.set_defaults(func=cmd_routes_test)
    act = rsub.add_parser("activate", help="check a routing file and store it as the active version",
                          description="Check FILE (as `ews routes check` does: nothing is stored when it has a "
                          "problem) and store it as the next version, with who and when (audited).")
    act.add_argument("file", help="the routing .toml file")
    act.add_argument("--by", required=True, help="who activates it (stored and audited)")
    act.add_argument("--note", default="", help="why, for the history")
    act.set_defaults(func=cmd_routes_activate)
    his = rsub.add_parser("history", help="list the activated routing files, newest first",
                          description="Every activated version (R1, R2, ...), who activated it and when.")
    his.set_defaults(func=cmd_routes_history)
    dif = rsub.add_parser("diff", help="show what changed between two activated routing files",
                          description="A unified diff of the routing files of two versions, e.g. R1 R2.")
    dif.add_argument("old", help="the earlier version, e.g. R1")
    dif.add_argument("new", help="the later version, e.g. R2")
    dif.set_defaults(func=cmd_routes_diff)
