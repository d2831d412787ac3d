"""The evaluation job: re-evaluate counties right after their reports commit, and all of them on a tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import asyncpg

from ews.core.clock import utcnow
from ews.core.worker import WakeableWorker
from ews.db.repo.levels import LevelChange, evaluate_counties
from rules.window_count import WindowCountRule, report_can_move

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
        # Counties whose last pass left every rule in a state no report can move. Only the engine leader
        # evaluates, so while it runs nobody else moves those states.
        self._settled: set[int] = set()
        self._passing = False  # a pass is running: the states it will write are not known yet
        self._arrived_during_pass: set[int] = set()

    def start(self) -> None:
        """Start evaluating, forgetting what an earlier term as leader knew (others may have moved it)."""
        self._settled.clear()
        super().start()

    def reports_arrived(self, county_codes: Iterable[int]) -> None:
        """Queue the counties of newly committed reports whose level a report could still move.

        A county already at the top level of every rule is left to the scheduled pass: under a flood,
        recounting it after every batch would cost the database a window's worth of rows each time
        and could not change its level.
        """
        if self._passing:
            self._arrived_during_pass.update(county_codes)  # judged against the states the pass writes
            return
        self.mark_dirty(set(county_codes) - self._settled)

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
        self._passing = True
        try:
            await self.evaluate(counties)
        except Exception:
            self._dirty.update(counties)  # not lost: the next pass (or tick) takes them again
            raise
        finally:
            self._passing = False
            arrived, self._arrived_during_pass = self._arrived_during_pass, set()
            self.reports_arrived(arrived)
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
        settled = set(codes)
        try:
            for rule in self._rules:
                evaluation = await evaluate_counties(self._pool, rule, codes, now)
                settled.intersection_update(code for code, state in evaluation.states.items()
                                            if not report_can_move(state))
                for change in evaluation.changes:
                    changes.append(change)
                    log.info("level change rule=%s county=%s %s->%s count=%s alert=%s", change.rule,
                             change.county_code, change.from_level.name, change.to_level.name,
                             change.count, change.alert_id)
        finally:
            # After a failed rule nothing is known to be settled: those counties are recounted again.
            self._settled.difference_update(codes)
        self._settled.update(settled)
        if any(c.outbox_id is not None for c in changes):
            self._on_outbox()
        return changes
