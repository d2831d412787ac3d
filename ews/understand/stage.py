"""The classification stage: committed reports -> type, confidence, severity, sensitivity, incident.

It runs after the commit and never on the request path, on reports the placing stage has read
(ews.understand.placing): that stage wakes it when a batch is placed, and a
periodic sweep picks up anything left (reports committed by another process, or while it was down). The
model's CPU work runs in a worker process of its own (EWS_CLASSIFY_WORKER), so that under a flood it does
not take the interpreter from the webhooks; without one, in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from ews.core.clock import utcnow
from ews.db.repo.classification import (
    Joined,
    Pending,
    Stored,
    add_to_incidents,
    claim_unclassified,
    store_classifications,
)
from ews.engine.series import apply_pending
from ews.understand.incidents import Placed, plan_incidents
from rules.classify.decide import decide
from rules.classify.model import predict
from rules.incidents import incident_group, place_key
from rules.words import words_of

log = logging.getLogger(__name__)


def classify_batch(pipeline: Any, reports: Sequence[Pending], *, review_below: float) -> list[Stored]:
    """The decisions for a batch of reports (CPU only: one vectorised model call)."""
    predictions = predict(pipeline, [r.body for r in reports])
    out = []
    for report, prediction in zip(reports, predictions, strict=True):
        given = report.incident_type if report.type_source in ("channel", "analyst") else None
        decision = decide(prediction, words=words_of(report.body), text=report.body, given_type=given,
                          casualties=report.casualties, sensitive=report.sensitive, review_below=review_below)
        out.append(Stored(report.id, decision.incident_type, decision.type_confidence, decision.needs_review,
                          decision.sensitive, decision.severity))
    return out


_WORKER_PIPELINE: Any = None  # in a classification worker process: the model it loaded


WORKER_NICENESS = 10


def _load_in_worker(model_file: Path) -> None:
    import os

    from ews.understand.artifact import load_model

    # Classifying costs more CPU per report than answering its webhook: under a flood the worker yields
    # the cores to the webhooks (and the database) and catches up when they are idle. The placing stage has
    # already stored the report's keyword sensitivity and first severity (and until it has, the report is
    # stored as sensitive), so nothing waits on it to stay safe.
    os.nice(WORKER_NICENESS)
    global _WORKER_PIPELINE
    _WORKER_PIPELINE, _manifest = load_model(model_file)  # hash-checked again: the file may have changed


def _classify_in_worker(reports: Sequence[Pending], review_below: float) -> list[Stored]:
    return classify_batch(_WORKER_PIPELINE, reports, review_below=review_below)


def worker_pool(model_file: Path) -> ProcessPoolExecutor:
    """One process that loads the model and classifies batches (spawned: it inherits no threads or sockets)."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_load_in_worker, initargs=(model_file,))


class ClassificationStage:
    """Classifies committed reports in batches, one transaction per batch."""

    def __init__(self, pool: asyncpg.Pool, pipeline: Any, *, model_version: str, review_below: float,
                 incident_window: timedelta, batch: int = 256, interval: float = 5.0,
                 worker: Executor | None = None,
                 on_counted: Callable[[dict[int, set[str]]], None] = lambda _: None) -> None:
        self._pool = pool
        self._on_counted = on_counted  # the engine re-evaluates these counties
        self._worker = worker
        self._pipeline = pipeline
        self._version = model_version
        self._review_below = review_below
        self._window = incident_window
        self._batch = batch
        self._interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.classified = 0

    def wake(self, *_args: object) -> None:
        """Ask for a pass now (intake calls this after each commit)."""
        self._wake.set()

    def start(self) -> None:
        """Start the background task."""
        self._task = asyncio.create_task(self._run(), name="classification")
        self._wake.set()  # reports committed while no stage ran

    async def stop(self) -> None:
        """Stop after the batch in flight, and the worker process with it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)

    async def drain(self) -> int:
        """Classify until nothing is waiting; how many were classified."""
        total = 0
        while done := await self.run_once():
            total += done
        return total

    async def run_once(self) -> int:
        """Classify one batch; how many reports it held."""
        async with self._pool.acquire() as conn, conn.transaction():
            pending = await claim_unclassified(conn, self._batch)
            if not pending:
                return 0
            if self._worker is not None:
                stored = await asyncio.get_running_loop().run_in_executor(
                    self._worker, _classify_in_worker, pending, self._review_below)
            else:
                stored = await asyncio.to_thread(classify_batch, self._pipeline, pending,
                                                 review_below=self._review_below)
            links = await plan_incidents(conn, _placed(pending, stored), window=self._window)
            await store_classifications(conn, stored, model_version=self._version, now=utcnow(), incidents=links)
            await add_to_incidents(conn, [Joined(r.id, links[r.id], r.sender_hash, r.received_at, d.sensitive)
                                          for r, d in zip(pending, stored, strict=True) if r.id in links])
            counted = await apply_pending(conn)  # typed and grouped: counted in the series, in this commit
        self.classified += len(pending)
        if counted:
            self._on_counted(counted)
        return len(pending)

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns the inner result when it is
            # cancelled in the same loop step as a wake-up arrives, swallowing the cancellation, and the
            # stage then ran on after the app stopped it (a stop that never ended).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                while await self.run_once() == self._batch:
                    pass  # a full batch: more may be waiting
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, BrokenExecutor) as exc:
                # The reports stay unclassified and are picked up on the next pass.
                log.warning("classification pass failed: %s", type(exc).__name__)


def _placed(pending: Sequence[Pending], stored: Sequence[Stored]) -> list[Placed]:
    out = []
    for report, decision in zip(pending, stored, strict=True):
        if report.incident_id is not None:  # an analyst linked it already; that stands
            continue
        group = incident_group(decision.incident_type)
        key = place_key(report.ward_code, report.constituency_code, report.county_code)
        if group is not None and key is not None:
            out.append(Placed(report.id, group, key[0], key[1], report.county_code, report.received_at))
    return out
