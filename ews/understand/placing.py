"""The placing stage: committed reports -> the place read from the text, sensitivity, a first severity.

Intake acknowledges a report as soon as its row is committed, without reading its text (ews.intake.enrich
`receive`); this stage does that after the commit, then hands on: the counties to evaluate, the
classification stage (which groups by place), and the place follow-up (ask back, settle an ambiguous name).
Intake wakes it when a batch commits, and a periodic sweep picks up anything left (reports committed by
another process, or before a crash). The CPU work runs in a worker process of its own (EWS_CLASSIFY_WORKER),
so under a flood it does not take the interpreter from the webhooks; without one, in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from dataclasses import dataclass

import asyncpg

from ews.core.models import Understood, Unplaced
from ews.db.repo.understanding import Claimed, claim_not_understood, store_understood
from ews.engine.series import apply_pending
from ews.intake.enrich import understand_text

log = logging.getLogger(__name__)

# Less than the classifier's: under a flood the webhooks come first, but a county's evaluation waits for
# its reports to be placed, so placing must keep up better than classification has to.
WORKER_NICENESS = 5


@dataclass(frozen=True, slots=True)
class Placed:
    """A report the stage has placed, with what the follow-ups need."""

    report_id: int
    county_code: int | None
    ambiguous: bool
    body: str
    sender_hash: str | None
    language: str


def understand_batch(reports: Sequence[Unplaced]) -> list[Understood]:
    """What the text says for each report of a batch (CPU only)."""
    return [understand_text(r) for r in reports]


def _warm_worker() -> None:
    import os

    os.nice(WORKER_NICENESS)
    understand_text(Unplaced(0, "Nairobi", None, None, None, None, None, None, None))  # load the gazetteer


def worker_pool() -> ProcessPoolExecutor:
    """One process that reads reports' texts (spawned: it inherits no threads or sockets)."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_warm_worker)


class PlacingStage:
    """Places committed reports in batches, one transaction per batch; then tells who waits for places."""

    def __init__(self, pool: asyncpg.Pool, *, batch: int = 256, interval: float = 5.0,
                 worker: Executor | None = None,
                 on_placed: Callable[[Sequence[Placed]], None] = lambda _p: None,
                 on_counted: Callable[[dict[int, set[str]]], None] = lambda _m: None) -> None:
        self._pool = pool
        self._on_counted = on_counted
        self._worker = worker
        self._batch = batch
        self._interval = interval
        self._on_placed = on_placed
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.placed = 0

    def wake(self, *_args: object) -> None:
        """Ask for a pass now (intake calls this after each commit)."""
        self._wake.set()

    def start(self) -> None:
        """Start the background task (it first catches up on reports committed while no stage ran)."""
        self._task = asyncio.create_task(self._run(), name="placing")
        self._wake.set()

    async def stop(self) -> None:
        """Stop after the batch in flight, and the worker process with it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)

    async def drain(self) -> int:
        """Place until nothing is waiting; how many were placed."""
        total = 0
        while done := await self.run_once():
            total += done
        return total

    async def run_once(self) -> int:
        """Place one batch; how many reports it held."""
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await claim_not_understood(conn, self._batch)
            if not claimed:
                return 0
            reports = [c.report for c in claimed]
            if self._worker is not None:
                found = await asyncio.get_running_loop().run_in_executor(self._worker, understand_batch, reports)
            else:
                found = await asyncio.to_thread(understand_batch, reports)
            await store_understood(conn, found)
            # A report typed on arrival (a form, a menu) counts from its placing on; an SMS counts once the
            # classification stage has typed it, so only the series that moved here wake the engine.
            counted = await apply_pending(conn)
        self.placed += len(claimed)
        if counted:
            self._on_counted(counted)
        self._on_placed(_placed(claimed, found))
        return len(claimed)

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for (see ews.understand.stage: 3.11's wait_for can swallow a cancel).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                while await self.run_once() == self._batch:
                    pass  # a full batch: more may be waiting
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, BrokenExecutor) as exc:
                # The reports stay unplaced (and hidden as sensitive) and are picked up on the next pass.
                log.warning("placing pass failed: %s", type(exc).__name__)


def _placed(claimed: Sequence[Claimed], found: Sequence[Understood]) -> list[Placed]:
    return [Placed(c.report.id, u.county_code, u.place_ambiguous, c.report.body, c.sender_hash, c.language)
            for c, u in zip(claimed, found, strict=True)]
