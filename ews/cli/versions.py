"""What the commands that store versioned files share (`ews rules` and `ews routes`): the database session,
who activates, version ids like V3 / R3, and the diff of two stored versions."""

from __future__ import annotations

import asyncio
import difflib
import sys
from typing import Any


def run_on_database(use: Any) -> Any:
    """Run `use(connection)` on the service's database (EWS_DATABASE_URL, else the embedded one), migrated."""
    from ews.cli.main import _settings, _with_pool, database

    async def on_pool(pool: Any) -> Any:
        async with pool.acquire() as conn:
            return await use(conn)

    with database(_settings()) as ready:
        return asyncio.run(_with_pool(ready, on_pool))


def activated_by(given: str | None, what: str) -> str | None:
    """The --by name, stripped; None (and a line on stderr) when it is missing or longer than 100 characters."""
    by = (given or "").strip()
    if not by or len(by) > 100:
        print(f"--by NAME (1 to 100 characters): who activates these {what}", file=sys.stderr)
        return None
    return by


def version_id(raw: str, prefix: str) -> int | None:
    """The id in "V3", "3" (with prefix "V"), or None when it is not one."""
    text = raw.strip().upper().removeprefix(prefix)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def print_diff(old: Any, new: Any, label: str) -> None:
    """A unified diff of two stored versions' bodies; `label` formats {0} (the version) and {1} (its time)."""
    sys.stdout.writelines(difflib.unified_diff(
        old.body.splitlines(keepends=True), new.body.splitlines(keepends=True),
        fromfile=label.format(old, old.activated_at.isoformat(timespec="seconds")),
        tofile=label.format(new, new.activated_at.isoformat(timespec="seconds"))))
