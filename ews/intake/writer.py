"""The group-commit writer: reports from many requests committed in shared transactions."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

from ews.core.models import IntakeResult, Language, ReportIn, StorageUnavailable, StoredReport, report_reference
from ews.core.privacy import ContactCipher, sender_hash
from ews.db.repo.reports import Key, QueuedReceipt, insert_reports
from ews.db.repo.senders import sender_histories
from ews.intake.enrich import receive
from ews.intake.screen import IntakePolicy, screen

log = logging.getLogger(__name__)


# Failures that mean the connection, not the statement, is gone. asyncpg raises InternalClientError
# ("another operation is in progress") when the server ended an idle session and the statement is
# refused before it is sent.
# A session ended under the writer: asyncpg says InterfaceError when it already knew, and
# ConnectionDoesNotExistError (a PostgresConnectionError) when the session ended during the statement.
_CONNECTION_LOST = (asyncpg.InterfaceError, OSError, asyncpg.exceptions.OperatorInterventionError,
                    asyncpg.exceptions.InternalClientError, asyncpg.exceptions.PostgresConnectionError)


class _HeldConnection:
    """A pooled connection one writer keeps from batch to batch.

    The pool resets a connection on every release (UNLISTEN, RESET ALL, ...): one more round trip per
    batch, which the batch's replies would wait for.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None

    async def get(self) -> asyncpg.pool.PoolConnectionProxy:
        """The held connection, acquiring one if none is held."""
        if self._conn is not None and self._conn.is_closed():
            await self.drop()
        if self._conn is None:
            self._conn = await self._pool.acquire()
        return self._conn

    async def drop(self) -> None:
        """Give the connection back to the pool (after a failure, or when the writer stops)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection is the pool's to replace
                await self._pool.release(conn)


@dataclass(frozen=True, slots=True)
class OutboxReceipts:
    """Channels whose receipts go through the outbox (the gateway's answer cannot carry one, as AT's cannot):
    channel -> the notifier that answers it; the receipt's text; the cipher and how long the address is kept."""

    cipher: ContactCipher
    text: Callable[[str, Language], str]
    channels: Mapping[str, str] = field(default_factory=dict)
    retention: timedelta = timedelta(days=30)


@dataclass(slots=True)
class _Waiter:
    report: StoredReport
    future: asyncio.Future[IntakeResult]
    deadline: float  # loop time after which the caller is told storage did not confirm
    contact: bytes | None = None  # the sender's address, encrypted, when the receipt goes through the outbox
    link_id: str | None = None


class IntakeWriter:
    """Commits reports in shared transactions; each caller still waits for its own commit."""

    def __init__(self, pool: asyncpg.Pool, *, sender_key: str, max_batch: int = 256, writers: int = 1,
                 confirm_timeout: float = 10.0,
                 on_committed: Callable[[Sequence[IntakeResult]], None] = lambda _r: None,
                 after_commit: Callable[[ReportIn, StoredReport, IntakeResult], None] = lambda *_a: None,
                 policy: IntakePolicy | None = None, receipts: OutboxReceipts | None = None,
                 on_receipts: Callable[[], None] = lambda: None) -> None:
        self._pool = pool
        self._sender_key = sender_key
        self._policy = policy or IntakePolicy()
        self._receipts = receipts
        self._on_receipts = on_receipts  # wakes the dispatcher: receipts were queued
        self._anonymous = sender_hash(sender_key, "")
        self._max_batch = max_batch
        self._writers = writers
        self._confirm_timeout = confirm_timeout
        self._on_committed = on_committed
        self._after_commit = after_commit  # per report, with what only submit() still has (the raw sender)
        self._waiting: collections.deque[_Waiter] = collections.deque()  # not yet taken by a writer
        self._unconfirmed: collections.deque[_Waiter] = collections.deque()  # submitted, oldest first
        self._work = asyncio.Event()
        self._idle = asyncio.Event()  # nothing waiting and no batch in flight
        self._idle.set()
        self._in_flight = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    async def submit(self, report: ReportIn) -> IntakeResult:
        """Store one report durably and return its result once committed; StorageUnavailable if not."""
        if self._closing:
            raise StorageUnavailable("intake is shutting down")
        stored = receive(report, sender_key=self._sender_key)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(stored, loop.create_future(), loop.time() + self._confirm_timeout)
        if self._receipts is not None and report.channel in self._receipts.channels and report.sender:
            waiter.contact, waiter.link_id = self._receipts.cipher.encrypt(report.sender), report.link_id
        self._waiting.append(waiter)
        self._unconfirmed.append(waiter)
        self._idle.clear()
        self._work.set()
        # A caller giving up cancels only its own future; the writer skips futures already done. The
        # deadline is enforced by one watchdog for all reports rather than a timer for each, since
        # every report has the same timeout and so they expire in submission order.
        result = await waiter.future
        self._after_commit(report, stored, result)
        return result

    def start(self) -> None:
        """Start the writer tasks and the watchdog that fails reports storage never confirmed."""
        # Several writers let one batch's round trip overlap the next batch's commit.
        self._tasks = [asyncio.create_task(self._run(), name=f"intake-writer-{i}") for i in range(self._writers)]
        self._tasks.append(asyncio.create_task(self._watch(), name="intake-watchdog"))

    async def stop(self, *, grace: float = 5.0) -> None:
        """Refuse new reports, let queued ones commit for up to `grace` seconds, then stop the writers."""
        self._closing = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):  # not wait_for, which can swallow a cancellation in 3.11
                await self._idle.wait()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for waiter in self._unconfirmed:
            if not waiter.future.done():
                waiter.future.set_exception(StorageUnavailable("intake is shutting down"))
        self._waiting.clear()
        self._unconfirmed.clear()

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self._confirm_timeout / 4))
            self.expire(loop.time())

    def expire(self, now: float) -> None:
        """Fail the callers whose reports storage has not confirmed by their deadline (loop time `now`)."""
        unconfirmed = self._unconfirmed
        # Same timeout for all, so deadlines rise in submission order: stop at the first one not due.
        while unconfirmed and (unconfirmed[0].future.done() or unconfirmed[0].deadline <= now):
            waiter = unconfirmed.popleft()
            if not waiter.future.done():
                waiter.future.set_exception(StorageUnavailable("storage did not confirm in time"))

    async def _run(self) -> None:
        waiting = self._waiting
        held = _HeldConnection(self._pool)
        try:
            while True:
                while not waiting:
                    self._work.clear()
                    await self._work.wait()
                batch = [waiting.popleft() for _ in range(min(len(waiting), self._max_batch))]
                self._in_flight += 1
                try:
                    await self._write(batch, held)
                except Exception as exc:  # the writer must outlive any one batch, or every later report hangs
                    log.exception("intake batch failed unexpectedly")  # the log filter redacts the traceback
                    await held.drop()
                    for waiter in batch:
                        if not waiter.future.done():
                            waiter.future.set_exception(StorageUnavailable(type(exc).__name__))
                finally:
                    self._in_flight -= 1
                    if not waiting and not self._in_flight:
                        self._idle.set()
        finally:
            await held.drop()

    async def _write(self, batch: list[_Waiter], held: _HeldConnection) -> None:
        unique: dict[Key, _Waiter] = {}
        for waiter in batch:
            unique.setdefault((waiter.report.source, waiter.report.external_id), waiter)
        try:
            # No explicit transaction: the batch is one INSERT statement (with its receipts), which commits
            # (durably, with synchronous_commit on) before the server answers it; BEGIN and COMMIT would
            # only add two round trips per batch. One read before it gives each sender's history.
            try:
                results, receipts = await self._screen_and_insert(await held.get(), list(unique.values()))
            except _CONNECTION_LOST:
                # The held connection died (server restart, idle timeout, a terminated backend): try once
                # more on a fresh one. Should the statement have committed just before the session ended,
                # the retry finds its rows by their provider ids and stores nothing twice.
                await held.drop()
                results, receipts = await self._screen_and_insert(await held.get(), list(unique.values()))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            await held.drop()  # the pool resets it, or replaces it if the failure broke it
            if len(unique) > 1:
                # One bad row must not fail its neighbours: retry them one by one.
                log.warning("batch of %d failed (%s); retrying one by one", len(unique), type(exc).__name__)
                for waiter in batch:
                    await self._write([waiter], held)
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
                                      result.language, created=False, receipt=result.receipt)
            claimed.add(key)
            if not waiter.future.done():
                waiter.future.set_result(result)
        self._on_committed([r for r in results.values() if r.created])
        if receipts:
            self._on_receipts()

    async def _screen_and_insert(self, conn: asyncpg.pool.PoolConnectionProxy,
                                 waiters: list[_Waiter]) -> tuple[dict[Key, IntakeResult], int]:
        reports = [w.report for w in waiters]
        policy = self._policy
        earliest = min(r.received_at for r in reports)
        histories, ids = await sender_histories(
            conn, [r.sender_hash for r in reports], flood_since=earliest - policy.flood.window,
            flood_max=policy.flood.max_reports, repeat_since=earliest - policy.repeat_window,
            new_reports=len(reports))
        screened = screen(reports, ids, histories, policy, anonymous=self._anonymous)
        receipts = []
        if self._receipts is not None:
            for waiter, item in zip(waiters, screened, strict=True):
                if waiter.contact is not None and item.receipt:
                    r = item.report
                    receipts.append(QueuedReceipt(
                        source=r.source, external_id=r.external_id, sender_hash=r.sender_hash,
                        address_enc=waiter.contact, language=r.reply_language,
                        body=self._receipts.text(report_reference(item.report_id), r.reply_language),
                        link_id=waiter.link_id, notifier=self._receipts.channels[r.channel], at=r.received_at,
                        expires_at=r.received_at + self._receipts.retention))
        results = await insert_reports(conn, [s.report for s in screened], [s.report_id for s in screened],
                                       receipts)
        for item in screened:
            key = (item.report.source, item.report.external_id)
            found = results[key]
            if found.created:
                results[key] = dataclasses.replace(found, receipt=item.receipt)
            elif histories.get(item.report.sender_hash) and histories[item.report.sender_hash].opted_out:
                results[key] = dataclasses.replace(found, receipt=False)
        return results, len(receipts)
