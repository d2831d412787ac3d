"""`ews import`: history from a file into the database, in batches, with a progress bar and a report file."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

import asyncpg
from tqdm import tqdm

from ews.core.models import ImportReady
from ews.db.repo import imports
from ews.intake.imports import understand_import
from ingest.csv_import import PARSERS, Imported, RowError

BATCH = 5000  # rows per COPY and transaction: large enough to amortise, small enough to hold in memory
CHUNK = 1000  # rows understood per task in a worker process
# Understanding a row (above all, finding phone numbers to scrub) costs several times what parsing and
# COPY do, so it runs in worker processes, one per core, while this process reads the file and writes.
WORKERS = max(1, min(os.cpu_count() or 1, 8))


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
                     progress: TextIO | None = None, workers: int | None = None) -> Summary:
    """Import `path` (pool None only for a dry run); row errors go to `report_path` with their line numbers."""
    summary = Summary(dry_run=dry_run)
    parser = PARSERS[fmt]
    total = _count_lines(path)
    if workers is None:
        workers = WORKERS if total > 4 * CHUNK else 1
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
            with _executor(workers) as executor:
                in_flight: collections.deque[asyncio.Future[list[ImportReady | RowError]]] = collections.deque()

                async def settle(limit: int) -> None:
                    while len(in_flight) > limit:
                        for ready in await in_flight.popleft():
                            if isinstance(ready, RowError):
                                _reject(summary, report, ready)
                            else:
                                pending.append(ready)
                        if len(pending) >= BATCH:
                            await _flush(conn, pending, summary)

                loop = asyncio.get_running_loop()
                chunk: list[Imported | RowError] = []
                try:
                    for row in parser(lines, source=source, imported_at=now):
                        summary.read += 1
                        chunk.append(row)
                        if len(chunk) >= CHUNK:
                            in_flight.append(loop.run_in_executor(executor, _understand, chunk, sender_key))
                            chunk = []
                            await settle(workers * 2)  # bounded memory: a few chunks ahead of the writer
                except UnicodeDecodeError as exc:
                    summary.rejected["file is not UTF-8"] += 1
                    report.write(f"line {lines.number + 1}: file is not UTF-8 ({exc.reason}); import stopped here\n")
                if chunk:
                    in_flight.append(loop.run_in_executor(executor, _understand, chunk, sender_key))
                await settle(0)
            await _flush(conn, pending, summary)
        finally:
            if conn is not None and pool is not None:
                await pool.release(conn)
        report.write("\n" + "\n".join(summary.lines()) + "\n")
    return summary


def _understand(rows: list[Imported | RowError], sender_key: str) -> list[ImportReady | RowError]:
    """Understand a chunk of rows (in a worker process)."""
    return [row if isinstance(row, RowError) else understand_import(row, sender_key=sender_key) for row in rows]


def _reject(summary: Summary, report: TextIO, error: RowError) -> None:
    summary.rejected[error.reason] += 1
    report.write(f"line {error.line}: {error.reason}" + (f" ({error.detail})" if error.detail else "") + "\n")


@contextlib.contextmanager
def _executor(workers: int) -> Iterator[Executor]:
    if workers <= 1:  # small files and tests: no processes to start
        with ThreadPoolExecutor(max_workers=1) as pool:
            yield pool
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool


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
