"""A background task that does one pass of work each time it is woken."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 1.0  # seconds a worker waits after a failed pass before it takes the next wake-up


class WakeableWorker:
    """Runs `work()` whenever woken; wake-ups that arrive during a pass coalesce into one more pass."""

    name = "worker"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask for a pass as soon as possible."""
        self._wake.set()

    def start(self) -> None:
        """Start the background loop."""
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Stop the loop (a pass in progress is cancelled; its transaction rolls back)."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def work(self) -> None:
        """One pass."""
        raise NotImplementedError

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.work()
            except Exception:  # the loop must survive any one failure; the scheduler retries
                log.exception("%s pass failed; the next scheduled pass retries", self.name)
                # A pass that failed (the database gone) must not be retried in a hot loop: a pass that
                # re-queues its work wakes itself at once, and each failure logs a traceback.
                await asyncio.sleep(RETRY_AFTER_FAILURE)
