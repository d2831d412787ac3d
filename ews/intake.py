"""Intake: understand a report, then commit it with others in one transaction (group commit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ews.models import IntakeResult, Language, ReportIn, StorageUnavailable, report_reference
from ews.privacy import redact_phones, sender_hash
from rules.gazetteer import find_county
from rules.language import detect_language

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A report ready for its row: place and language resolved, sender hashed, numbers scrubbed."""

    source: str
    external_id: str
    body: str
    sender_hash: str
    county_code: int | None
    language: Language
    received_at: datetime


def understand(report: ReportIn, *, sender_key: str) -> StoredReport:
    """Resolve county and language and hash the sender (pure, CPU only)."""
    county = find_county(report.body)
    return StoredReport(
        source=report.source,
        external_id=report.external_id,
        # A reporter may type a number (their own or a neighbour's); we keep no numbers at all.
        body=redact_phones(report.body),
        sender_hash=sender_hash(sender_key, report.sender),
        county_code=county.code if county else None,
        language=detect_language(report.body),
        received_at=report.received_at,
    )


# Only new rows come back; repeats are looked up separately (they are rare, and folding the lookup into
# this statement gave PostgreSQL a cached plan that scanned the whole table on every batch).
_INSERT_BATCH = """
INSERT INTO reports (source, external_id, body, sender_hash, county_code, language, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[],
                     $7::timestamptz[])
ON CONFLICT ON CONSTRAINT reports_one_per_source_external_id DO NOTHING
RETURNING id, source, external_id, county_code, language, true AS created
"""

# One index probe per key (a LATERAL lookup), whatever plan is cached.
_FIND_EXISTING = """
SELECT r.id, r.source, r.external_id, r.county_code, r.language, false AS created
FROM unnest($1::text[], $2::text[]) AS k(source, external_id)
CROSS JOIN LATERAL (
    SELECT id, source, external_id, county_code, language FROM reports
    WHERE source = k.source AND external_id = k.external_id
) r
"""

Key = tuple[str, str]


async def insert_reports(conn: asyncpg.Connection, reports: Sequence[StoredReport]) -> dict[Key, IntakeResult]:
    """Insert reports (one per key), skipping ones already stored; the result for every key."""
    columns = list(zip(*[(r.source, r.external_id, r.body, r.sender_hash, r.county_code, r.language,
                          r.received_at) for r in reports], strict=True))
    rows = await conn.fetch(_INSERT_BATCH, *[list(c) for c in columns])
    found = {(row["source"], row["external_id"]): _result(row) for row in rows}
    missing = [r for r in reports if (r.source, r.external_id) not in found]
    if missing:
        # Already stored (a gateway retry), or committed by another instance a moment ago: read them.
        again = await conn.fetch(_FIND_EXISTING, [r.source for r in missing], [r.external_id for r in missing])
        found.update({(row["source"], row["external_id"]): _result(row) for row in again})
    return found


def _result(row: asyncpg.Record) -> IntakeResult:
    return IntakeResult(report_id=row["id"], reference=report_reference(row["id"]),
                        county_code=row["county_code"], language=row["language"], created=row["created"])


@dataclass(slots=True)
class _Waiter:
    report: StoredReport
    future: asyncio.Future[IntakeResult]


class IntakeWriter:
    """Commits reports in shared transactions; each caller still waits for its own commit."""

    def __init__(self, pool: asyncpg.Pool, *, sender_key: str, max_batch: int = 256, writers: int = 4,
                 on_committed: Callable[[Sequence[IntakeResult]], None] = lambda _r: None) -> None:
        self._pool = pool
        self._sender_key = sender_key
        self._max_batch = max_batch
        self._writers = writers
        self._on_committed = on_committed
        self._queue: asyncio.Queue[_Waiter] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    async def submit(self, report: ReportIn, *, timeout: float = 30.0) -> IntakeResult:
        """Store one report durably and return its result once committed; StorageUnavailable if not."""
        if self._closing:
            raise StorageUnavailable("intake is shutting down")
        stored = understand(report, sender_key=self._sender_key)
        future: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Waiter(stored, future))
        try:
            # A caller giving up cancels only its own future; the writer skips futures already done.
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise StorageUnavailable("storage did not confirm in time") from None

    def start(self) -> None:
        """Start the writer tasks."""
        # Several writers let one batch's round trip overlap the next batch's commit.
        self._tasks = [asyncio.create_task(self._run(), name=f"intake-writer-{i}") for i in range(self._writers)]

    async def stop(self, *, grace: float = 5.0) -> None:
        """Refuse new reports, let queued ones commit for up to `grace` seconds, then stop the writers."""
        self._closing = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():
            waiter = self._queue.get_nowait()
            if not waiter.future.done():
                waiter.future.set_exception(StorageUnavailable("intake is shutting down"))

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception as exc:  # the writer must outlive any one batch, or every later report hangs
                log.error("intake batch failed unexpectedly: %s", type(exc).__name__)
                for waiter in batch:
                    if not waiter.future.done():
                        waiter.future.set_exception(StorageUnavailable(type(exc).__name__))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Waiter]) -> None:
        unique: dict[Key, StoredReport] = {}
        for waiter in batch:
            unique.setdefault((waiter.report.source, waiter.report.external_id), waiter.report)
        try:
            # No explicit transaction: the batch is one INSERT statement, which commits (durably, with
            # synchronous_commit on) before the server answers it; BEGIN and COMMIT would only add two
            # round trips per batch.
            async with self._pool.acquire() as conn:
                results = await insert_reports(conn, list(unique.values()))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            if len(unique) > 1:
                # One bad row must not fail its neighbours: retry them one by one.
                log.warning("batch of %d failed (%s); retrying one by one", len(unique), type(exc).__name__)
                for waiter in batch:
                    await self._write([waiter])
                return
            log.error("report could not be stored: %s", type(exc).__name__)
            for waiter in batch:
                if not waiter.future.done():
                    waiter.future.set_exception(StorageUnavailable(type(exc).__name__))
            return
        claimed: set[Key] = set()
        for waiter in batch:
            key = (waiter.report.source, waiter.report.external_id)
            result = results[key]
            if key in claimed and result.created:  # a repeat inside the same batch is not new
                result = IntakeResult(result.report_id, result.reference, result.county_code,
                                      result.language, created=False)
            claimed.add(key)
            if not waiter.future.done():
                waiter.future.set_result(result)
        self._on_committed([r for r in results.values() if r.created])
