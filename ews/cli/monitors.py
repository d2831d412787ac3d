"""`ews monitors import FILE`: load registered monitors (phones stored hashed and encrypted)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ews.core.privacy import ContactCipher
from ews.db.repo.monitors import import_monitors
from ews.intake.monitors import MonitorFileError, parse_monitors


def cmd_monitors_import(args: argparse.Namespace) -> int:
    """Load a monitor file (CSV or TOML) into the database."""
    from ews.cli.main import _settings, _with_pool, database  # the CLI's one pool helper

    path = Path(args.file)
    try:
        entries = parse_monitors(path.read_text(encoding="utf-8"), fmt=path.suffix.lower().lstrip("."))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2
    except MonitorFileError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    with database(_settings()) as ready:
        assert ready.sender_key and ready.contact_key
        sender_key, cipher = ready.sender_key, ContactCipher(ready.contact_key)
        # keys=True: numbers hashed under another key than the database's would never match their SMS.
        added, updated = asyncio.run(_with_pool(ready, lambda pool: import_monitors(
            pool, entries, hash_key=sender_key, cipher=cipher), keys=True))
    print(f"monitors: {added} added, {updated} updated")
    return 0


def add_parser(sub: Any) -> None:
    """The `monitors` command and its actions."""
    monitors = sub.add_parser("monitors", help="manage registered monitors",
                              description="Trained community monitors, peace committee and community policing "
                              "members: their SMS may use the short format `COUNTY TYPE text` and carry a trust "
                              "mark.")
    msub = monitors.add_subparsers(dest="monitors_command", required=True, metavar="ACTION")
    imp = msub.add_parser("import", help="import monitors from a CSV or TOML file",
                          description="Insert or update monitors by phone number. CSV header: "
                          "name,phone,county, optionally ward (IEBC code, e.g. 0217), organisation, language "
                          "(en or sw, default sw). TOML: [[monitor]] tables with the same keys. county is a "
                          "name, a code 1-47 or an abbreviation (KSM). Numbers are stored hashed and encrypted.")
    imp.add_argument("file", help="path to a .csv or .toml file")
    imp.set_defaults(func=cmd_monitors_import)
