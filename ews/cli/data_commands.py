"""`ews tokens ...`, `ews import` and `ews export`: partner tokens and history in and out."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import re
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from ews.cli.importing import run_import
from ews.core.clock import utcnow
from ews.core.models import KENYA_TIME
from ews.db.repo import partners
from ews.db.repo.export import ExportFilter, stream_reports
from ews.intake.imports import county_named
from ingest.csv_import import FORMATS

_PARTNER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
CSV_COLUMNS = ("id", "reference", "source", "channel", "received_at", "occurred_at", "county_code", "county_name",
               "constituency_code", "ward_code", "incident_type", "casualties", "severity", "sensitive", "language",
               "latitude", "longitude", "partner", "body")


def _cli() -> Any:
    from ews.cli import main  # main builds the parser that imports this module

    return main


def cmd_tokens_create(args: argparse.Namespace) -> int:
    """Issue a partner token and print it once."""
    if not _PARTNER.fullmatch(args.partner):
        print("--partner must be 1-64 lower-case letters, digits, '.', '_' or '-', e.g. ncic or uchaguzi-2027",
              file=sys.stderr)
        return 2
    cli = _cli()
    with cli.database(cli._settings()) as ready:
        token_id, token = asyncio.run(cli._with_pool(ready, lambda pool: partners.create_token(
            pool, args.partner, now=utcnow())))
    print(f"token {token_id} for partner {args.partner} (shown only this once; store it safely):")
    print(token)
    return 0


def cmd_tokens_list(_args: argparse.Namespace) -> int:
    """List partner tokens (never the tokens themselves)."""
    cli = _cli()
    with cli.database(cli._settings()) as ready:
        tokens = asyncio.run(cli._with_pool(ready, partners.list_tokens))
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
        used = f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        print(f"{t.id:>4}  {t.partner}  {t.hint}…  created {t.created_at:%Y-%m-%d %H:%M}  {used}  {state}")
    if not tokens:
        print("no partner tokens yet: ews tokens create --partner NAME")
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    """Revoke a partner token at once."""
    cli = _cli()
    with cli.database(cli._settings()) as ready:
        done = asyncio.run(cli._with_pool(ready, lambda pool: partners.revoke_token(pool, args.id, now=utcnow())))
    if not done:
        print(f"no live token {args.id}", file=sys.stderr)
        return 1
    print(f"token {args.id} revoked: requests with it now get 401")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import history from a file."""
    path = Path(args.file)
    if not path.is_file():
        print(f"cannot read {path}: no such file", file=sys.stderr)
        return 2
    source = args.source or args.format
    if not _PARTNER.fullmatch(source):
        print("--source must be 1-64 lower-case letters, digits, '.', '_' or '-'", file=sys.stderr)
        return 2
    report_path = Path(args.report) if args.report else path.with_name(path.name + ".import-report.txt")
    cli = _cli()
    settings = cli._settings()
    assert settings.sender_key

    async def go(pool: asyncpg.Pool | None) -> Any:
        return await run_import(pool, path, fmt=args.format, source=source, sender_key=settings.sender_key,
                                report_path=report_path, now=utcnow(), dry_run=args.dry_run)

    started = utcnow()
    if args.dry_run:
        summary = asyncio.run(go(None))
    else:
        # keys=True: rows hashed under another key than the database's would not match its other reports.
        with cli.database(settings) as ready:
            summary = asyncio.run(cli._with_pool(ready, go, keys=True))
    seconds = (utcnow() - started).total_seconds()
    print("\n".join(summary.lines()))
    print(f"{summary.read / seconds if seconds else 0:,.0f} rows/s; row errors in {report_path}")
    return 0


def _when(raw: str, *, end: bool) -> datetime:
    """A date (Kenya time; `--to` includes the whole day) or an ISO date-time with a zone."""
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").date()
            at = datetime.combine(day, time(0), tzinfo=KENYA_TIME)
            return (at + timedelta(days=1) if end else at).astimezone(UTC)
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date (2027-08-09) or date-time with a zone") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{raw!r} has no time zone (add +03:00 or Z)")
    return parsed.astimezone(UTC)


def cmd_export(args: argparse.Namespace) -> int:
    """Stream reports to a file or stdout."""
    county = None
    if args.county:
        county = int(args.county) if args.county.isdigit() else county_named(args.county)
        if county is None or not 1 <= county <= 47:
            print(f"--county {args.county!r} is not a county code 1-47 or a county name", file=sys.stderr)
            return 2
    try:
        which = ExportFilter(start=_when(args.start, end=False) if args.start else None,
                             end=_when(args.end, end=True) if args.end else None, county_code=county,
                             include_sensitive=args.include_sensitive)
    except argparse.ArgumentTypeError as exc:
        print(f"ews export: {exc}", file=sys.stderr)
        return 2
    cli = _cli()
    settings = cli._settings()
    out: TextIO = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        with cli.database(settings) as ready:
            count = asyncio.run(cli._with_pool(ready, lambda pool: export(pool, which, args.format, out)))
    finally:
        if args.output:
            out.close()
    print(f"exported {count} reports" + (" (sensitive reports included: audited)" if args.include_sensitive
                                         else " (sensitive reports left out)"), file=sys.stderr)
    return 0


async def export(pool: asyncpg.Pool, which: ExportFilter, fmt: str, out: TextIO, *, actor: str = "cli") -> int:
    """Write every matching report to `out` in `fmt` (ews, csv, geojson) as it is read; how many."""
    async with pool.acquire() as conn:
        reports = stream_reports(conn, which, actor=actor, now=utcnow())
        return await WRITERS[fmt](reports, out)


async def _write_ews(reports: AsyncIterator[dict[str, Any]], out: TextIO) -> int:
    count = 0
    async for report in reports:
        out.write(json.dumps(report, ensure_ascii=False) + "\n")
        count += 1
    return count


async def _write_csv(reports: AsyncIterator[dict[str, Any]], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    async for report in reports:
        # A cell starting with = + - @ runs as a formula in spreadsheets; a leading quote keeps it text.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v)
                         for k, v in report.items()})
        count += 1
    return count


async def _write_geojson(reports: AsyncIterator[dict[str, Any]], out: TextIO) -> int:
    out.write('{"type": "FeatureCollection", "features": [\n')
    count = 0
    async for report in reports:
        lon, lat = report.get("longitude"), report.get("latitude")
        geometry = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
        feature = {"type": "Feature", "id": report["id"], "geometry": geometry, "properties": report}
        out.write(("," if count else "") + json.dumps(feature, ensure_ascii=False) + "\n")
        count += 1
    out.write("]}\n")
    return count


WRITERS = {"ews": _write_ews, "csv": _write_csv, "geojson": _write_geojson}


def add_commands(sub: Any) -> None:
    """Add `tokens`, `import` and `export` to the `ews` parser's sub-commands."""
    tokens = sub.add_parser("tokens", help="partner API tokens", description="Bearer tokens for POST /api/v1/reports.")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = tsub.add_parser("create", help="issue a token for a partner (shown once)",
                             description="Print a new token for the partner; only its SHA-256 is stored. Audited.")
    create.add_argument("--partner", required=True, help="the partner's short name, e.g. ncic or uchaguzi")
    create.set_defaults(func=cmd_tokens_create)
    tsub.add_parser("list", help="list tokens (never the tokens themselves)").set_defaults(func=cmd_tokens_list)
    revoke = tsub.add_parser("revoke", help="revoke a token at once", description="Revoke a token by id. Audited.")
    revoke.add_argument("id", type=int, help="the token's id (ews tokens list)")
    revoke.set_defaults(func=cmd_tokens_revoke)

    imp = sub.add_parser("import", help="import history (ACLED, Ushahidi, ews JSON lines)",
                         description="Import reports of the past. Imported history never raises live levels "
                         "or sends alerts; it is what backtests replay. Re-running is safe: each row is unique "
                         "per source and its id in the file.")
    imp.add_argument("file", help="the file to import (UTF-8)")
    imp.add_argument("--format", required=True, choices=FORMATS, help="acled, ushahidi or ews")
    imp.add_argument("--source", default=None, help="the name this file's ids are unique within (default: the format)")
    imp.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    imp.add_argument("--report", default=None, help="where row errors go (default: FILE.import-report.txt)")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="stream reports as ews JSON lines, CSV or GeoJSON",
                         description="Write reports, oldest first, without loading them all into memory. "
                         "Sensitive reports (sexual and gender-based violence) are left out unless "
                         "--include-sensitive is given; every export is written to the audit log.")
    exp.add_argument("--format", required=True, choices=tuple(WRITERS), help="ews, csv or geojson")
    exp.add_argument("--from", dest="start", default=None, help="from this date (Kenya time) or date-time")
    exp.add_argument("--to", dest="end", default=None, help="up to this date (inclusive) or date-time (exclusive)")
    exp.add_argument("--county", default=None, help="a county code 1-47 or name")
    exp.add_argument("--include-sensitive", action="store_true",
                     help="also export sensitive reports (audited)")
    exp.add_argument("--output", "-o", default=None, help="file to write (default: standard output)")
    exp.set_defaults(func=cmd_export)
