"""The evaluation job: re-evaluate counties right after their reports commit, and all of them on a tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import asyncpg

from ews.clock import utcnow
from ews.repo.levels import LevelChange, evaluate_counties
from ews.worker import WakeableWorker
from rules.window_count import WindowCountRule

log = logging.getLogger(__name__)

ALL_COUNTY_CODES = tuple(range(1, 48))
MAX_REST = 0.5  # longest pause, in seconds, between two evaluation passes under a flood
FLOOD_REST = 0.2  # shortest such pause


class Evaluator(WakeableWorker):
    """Runs the rules for dirty counties in the background; the request path only marks them dirty."""

    name = "evaluator"

    def __init__(self, pool: asyncpg.Pool, rules: Sequence[WindowCountRule], *,
                 on_outbox: Callable[[], None], clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__()
        self._pool = pool
        self._rules = list(rules)
        self._on_outbox = on_outbox
        self._clock = clock
        self._dirty: set[int] = set()

    def mark_dirty(self, county_codes: Iterable[int]) -> None:
        """Queue counties for evaluation (coalesced: a burst of reports costs one evaluation)."""
        before = len(self._dirty)
        self._dirty.update(county_codes)
        if len(self._dirty) != before:
            self._wake.set()

    def tick(self) -> None:
        """Scheduler hook: re-evaluate every county, so windows slide and hold-downs expire."""
        self.mark_dirty(ALL_COUNTY_CODES)

    async def work(self) -> None:
        """Evaluate the counties marked dirty since the last pass."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        counties, self._dirty = sorted(self._dirty), set()
        try:
            await self.evaluate(counties)
        except Exception:
            self._dirty.update(counties)  # not lost: the next pass (or tick) takes them again
            raise
        if self._dirty:
            # More reports arrived while this pass ran: a flood. Recounting back to back would eat the CPU
            # the intake needs, so rest before the next pass and let reports pile up into it. An isolated
            # report (nothing new during the pass) is evaluated at once.
            await asyncio.sleep(min(MAX_REST, max(FLOOD_REST, 3 * (loop.time() - started))))

    async def evaluate(self, county_codes: Iterable[int]) -> list[LevelChange]:
        """Evaluate every rule for the given counties at the current time."""
        now = self._clock()
        codes = list(county_codes)
        changes: list[LevelChange] = []
        for rule in self._rules:
            for change in await evaluate_counties(self._pool, rule, codes, now):
                changes.append(change)
                log.info("level change rule=%s county=%s %s->%s count=%s alert=%s", change.rule,
                         change.county_code, change.from_level.name, change.to_level.name,
                         change.count, change.alert_id)
        if any(c.outbox_id is not None for c in changes):
            self._on_outbox()
        return changes
