"""`ews silences add|list|expire`: mute alerts by their labels for a while, with who and why (audited)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from ews.alerting.durations import parse_duration
from ews.alerting.routes import Matcher
from ews.alerting.routes_file import MatcherError
from ews.alerting.silences import Silence, SilenceEnded, parse_matchers
from ews.cli.versions import run_on_database
from rules.gazetteer import county_by_code

MAX_NAME = 100
MAX_REASON = 1000


def _when(raw: str) -> datetime:
    try:
        found = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"--until {raw!r} is not an ISO time like 2027-08-09T18:00+03:00") from None
    if found.tzinfo is None:
        raise ValueError(f"--until {raw!r} has no time zone: add Z or +03:00")
    return found.astimezone(UTC)


def _name(raw: str | None, what: str) -> str:
    text = (raw or "").strip()
    if not 1 <= len(text) <= MAX_NAME:
        raise ValueError(f"{what} (1 to {MAX_NAME} characters) is required")
    return text


def _shown(matcher: Matcher) -> str:
    if matcher.label == "county" and matcher.op in ("=", "!=") and matcher.value.isdigit():
        try:
            return f"{matcher} ({county_by_code(int(matcher.value)).name})"
        except KeyError:
            pass
    return str(matcher)


def describe(silence: Silence, now: datetime) -> str:
    """One line for a silence: id, state, matchers (county codes with their names), when, who, why."""
    matchers = ", ".join(_shown(m) for m in silence.matchers)
    expired = f"  expired by {silence.expired_by}" if silence.expired_by else ""
    return (f"{silence.id}\t{silence.state(now)}\t{matchers}\t{silence.starts_at.isoformat(timespec='seconds')}"
            f" .. {silence.ends_at.isoformat(timespec='seconds')}\tby {silence.author}: {silence.reason}{expired}")


def cmd_silences_add(args: argparse.Namespace) -> int:
    """Add a silence from --match pairs, for --for or --until, with --by and --reason."""
    from ews.alerting.noise import add_silence
    from ews.core.clock import utcnow

    now = utcnow()
    try:
        matchers = parse_matchers(args.match or [])
        author = _name(args.by, "--by NAME")
        reason = (args.reason or "").strip()
        if not 1 <= len(reason) <= MAX_REASON:
            raise ValueError(f"--reason TEXT (1 to {MAX_REASON} characters) is required: why mute these alerts")
        if (args.duration is None) == (args.until is None):
            raise ValueError("give --for DURATION (e.g. 2h) or --until TIME, one of them")
        starts = _when(args.starts) if args.starts else now
        ends = starts + parse_duration(args.duration) if args.duration is not None else _when(args.until)
        if ends <= max(starts, now):
            raise ValueError("the silence would end before it starts (or in the past)")
    except (MatcherError, ValueError) as exc:
        print(f"ews silences add: {exc}", file=sys.stderr)
        return 2
    silence = run_on_database(lambda conn: add_silence(conn, matchers=matchers, starts_at=starts, ends_at=ends,
                                                        author=author, reason=reason, via="cli", now=now))
    print(f"added silence {silence.id}: {', '.join(_shown(m) for m in matchers)} until "
          f"{silence.ends_at.isoformat(timespec='seconds')}")
    return 0


def cmd_silences_list(args: argparse.Namespace) -> int:
    """List the silences in force (active and pending), or every one with --all."""
    from ews.alerting.noise import all_silences, silences_in_force
    from ews.core.clock import utcnow

    now = utcnow()
    found = run_on_database(lambda conn: all_silences(conn) if args.all else silences_in_force(conn, now))
    if not found:
        print("no silences" + ("" if args.all else " in force (--all shows ended ones)"))
    for silence in found:
        print(describe(silence, now))
    return 0


def cmd_silences_expire(args: argparse.Namespace) -> int:
    """End a silence now (it stays in the history)."""
    from ews.alerting.noise import expire_silence
    from ews.core.clock import utcnow

    try:
        by = _name(args.by, "--by NAME")
    except ValueError as exc:
        print(f"ews silences expire: {exc}", file=sys.stderr)
        return 2
    raw = args.id.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        print(f"ews silences expire: {args.id!r} is not a silence id (see ews silences list)", file=sys.stderr)
        return 2
    now = utcnow()

    async def expire(conn: Any) -> Silence | str | None:
        try:
            return await expire_silence(conn, int(raw), by=by, via="cli", now=now)
        except SilenceEnded as exc:
            return str(exc)

    done = run_on_database(expire)
    if done is None or isinstance(done, str):
        print(f"ews silences expire: {done or f'no silence {raw}'}", file=sys.stderr)
        return 1
    print(f"expired silence {done.id}")
    return 0


def add_parser(sub: Any) -> None:
    """The `silences` command and its actions."""
    sil = sub.add_parser("silences", help="mute alerts by label for a while (never deleted, only expired)",
                         description="A silence mutes every alert whose labels match all its matchers, from its "
                         "start to its end. Adding and expiring are audited.")
    ssub = sil.add_subparsers(dest="silences_command", required=True, metavar="ACTION")
    add = ssub.add_parser("add", help="add a silence",
                          description="e.g. ews silences add --match county=Kisumu --match level=WATCH --for 2h "
                          "--by Achieng --reason 'known dispute, mediators on site'")
    add.add_argument("--match", action="append", metavar="LABEL=VALUE",
                     help="a matcher (label op value, op one of = != =~ !~); repeat for more, all must match")
    add.add_argument("--for", dest="duration", metavar="DURATION", help="how long, e.g. 2h, 30m, 1d")
    add.add_argument("--until", metavar="TIME", help="when it ends, ISO with a zone, e.g. 2027-08-09T18:00+03:00")
    add.add_argument("--starts", metavar="TIME", help="when it starts (default now), ISO with a zone")
    add.add_argument("--by", required=True, help="who adds it (stored and audited)")
    add.add_argument("--reason", required=True, help="why (stored and audited)")
    add.set_defaults(func=cmd_silences_add)
    lst = ssub.add_parser("list", help="list silences in force (active and pending)",
                          description="Silences that have not ended; --all lists ended ones too, newest first.")
    lst.add_argument("--all", action="store_true", help="ended silences too")
    lst.set_defaults(func=cmd_silences_list)
    exp = ssub.add_parser("expire", help="end a silence now", description="End a silence now; it stays listed "
                          "with --all, with who expired it.")
    exp.add_argument("id", help="the silence id (see ews silences list)")
    exp.add_argument("--by", required=True, help="who expires it (stored and audited)")
    exp.set_defaults(func=cmd_silences_expire)
