"""`ews import`: history from a file into the database, in batches, with a progress bar and a report file."""

from __future__ import annotations

import collections
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

import asyncpg
from tqdm import tqdm

from ews.db.repo import imports
from ews.intake.imports import ImportReady, understand_import
from ingest.csv_import import PARSERS, RowError

BATCH = 5000  # rows per COPY and transaction: large enough to amortise, small enough to hold in memory


@dataclass(slots=True)
class Summary:
    """What an import did: rows read, imported, already present, and rejected by reason."""

    read: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The summary as text lines (terminal and report file)."""
        verb = "would be imported (dry run)" if self.dry_run else "imported"
        out = [f"rows read: {self.read}", f"{verb}: {self.imported}"]
        if not self.dry_run:
            out.append(f"skipped, already present: {self.already_present}")
        out.append(f"rejected: {sum(self.rejected.values())}")
        out += [f"  {reason}: {count}" for reason, count in self.rejected.most_common()]
        return out


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


async def run_import(pool: asyncpg.Pool | None, path: Path, *, fmt: str, source: str, sender_key: str,
                     report_path: Path, now: datetime, dry_run: bool = False,
                     progress: TextIO | None = None) -> Summary:
    """Import `path` (pool None only for a dry run); row errors go to `report_path` with their line numbers."""
    summary = Summary(dry_run=dry_run)
    parser = PARSERS[fmt]
    total = _count_lines(path)
    with path.open(encoding="utf-8", errors="strict", newline="") as raw, \
            report_path.open("w", encoding="utf-8") as report, \
            tqdm(total=total, unit=" lines", file=progress or sys.stderr, disable=progress is None and
                 not sys.stderr.isatty(), mininterval=0.5) as bar:
        lines = _Lines(raw, bar)
        pending: list[ImportReady] = []
        conn = await pool.acquire() if pool is not None and not dry_run else None
        try:
            if conn is not None:
                await imports.prepare(conn)
            try:
                for row in parser(lines, source=source, imported_at=now):
                    summary.read += 1
                    ready = row if isinstance(row, RowError) else understand_import(row, sender_key=sender_key)
                    if isinstance(ready, RowError):
                        summary.rejected[ready.reason] += 1
                        report.write(f"line {ready.line}: {ready.reason}" +
                                     (f" ({ready.detail})" if ready.detail else "") + "\n")
                        continue
                    pending.append(ready)
                    if len(pending) >= BATCH:
                        await _flush(conn, pending, summary)
            except UnicodeDecodeError as exc:
                summary.rejected["file is not UTF-8"] += 1
                report.write(f"line {lines.number + 1}: file is not UTF-8 ({exc.reason}); import stopped here\n")
            await _flush(conn, pending, summary)
        finally:
            if conn is not None and pool is not None:
                await pool.release(conn)
        report.write("\n" + "\n".join(summary.lines()) + "\n")
    return summary


async def _flush(conn: asyncpg.Connection | None, pending: list[ImportReady], summary: Summary) -> None:
    if not pending:
        return
    if conn is None:
        summary.imported += len(pending)
    else:
        new = await imports.store_batch(conn, pending)
        summary.imported += new
        summary.already_present += len(pending) - new
    pending.clear()


class _Lines:
    """The file's lines, moving the progress bar and counting lines for error messages."""

    def __init__(self, raw: TextIO, bar: tqdm) -> None:
        self._raw = raw
        self._bar = bar
        self.number = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._raw)
        self.number += 1
        self._bar.update(1)
        return line
