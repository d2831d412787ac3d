"""The evaluation job: re-evaluate counties right after their reports are counted, and all of them on a tick.

Each pass reads the active rules version (an analyst's `ews rules activate` reaches every running leader at
its next pass, without a restart), counts whatever is still marked in the series, and for each dirty county
runs every rule and type group through `rules.escalation.advance` on the county's cells. States, level
changes and alerts of one county are written in one transaction; the notification planner
is woken to decide who hears of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ews.core.clock import utcnow
from ews.core.models import Level, report_reference
from ews.core.worker import WakeableWorker
from ews.db.repo.levels import (
    LevelChange,
    NewLevel,
    StoredState,
    active_rules,
    active_rules_id,
    lock_states,
    record_change,
    retire_rules,
    save_states,
)
from ews.db.repo.reports import Connection
from ews.db.repo.series import county_cells, critical_units, latest_units
from ews.engine.series import apply_pending
from rules.detectors import Candidate
from rules.escalation import PERIOD_LENGTH, State, Transition, advance, lookback
from rules.rulebook import Rule, Rulebook, RulebookError, load
from rules.series import period_start
from rules.vocabulary import ALL

log = logging.getLogger(__name__)

ALL_COUNTY_CODES = tuple(range(1, 48))
MAX_REST = 0.5  # longest pause, in seconds, between two evaluation passes under a flood
CONTRIBUTING_SHOWN = 20  # units listed in an explanation (the count says how many there were)


@dataclass(frozen=True, slots=True)
class ActiveRules:
    """The rules in use: the rulebook, and the stored version it came from (None: the rules file)."""

    book: Rulebook
    version_id: int | None

    @property
    def label(self) -> str:
        """How level changes name the version: "V3 (2027-07-01)", or "file (default-3)"."""
        origin = f"V{self.version_id}" if self.version_id is not None else "file"
        return f"{origin} ({self.book.version})"


class Evaluator(WakeableWorker):
    """Runs the rules for dirty counties in the background; the request path only marks them dirty."""

    name = "evaluator"

    def __init__(self, pool: asyncpg.Pool, rules_file: Rulebook, *, on_change: Callable[[], None],
                 clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__()
        self._pool = pool
        self._file = ActiveRules(rules_file, None)
        self.rules = self._file
        self._on_change = on_change  # the notification planner: who hears of it is decided there
        self._clock = clock
        # County -> the type groups whose series moved (None: every group, as after a tick).
        self._dirty: dict[int, set[str] | None] = {}
        self._ticked = False  # the pass to come covers every county because the scheduler asked

    def reports_arrived(self, county_codes: Iterable[int]) -> None:
        """Queue the counties of newly stored reports (every group: what they count is not known here)."""
        self.mark_dirty(county_codes)

    def mark_dirty(self, county_codes: Iterable[int]) -> None:
        """Queue counties for evaluation of every group (coalesced: a burst of reports costs one pass)."""
        self._queue({code: None for code in county_codes})

    def series_moved(self, moved: Mapping[int, set[str]]) -> None:
        """Queue the rules of the type groups whose series moved in these counties."""
        self._queue(dict(moved))

    def _queue(self, targets: Mapping[int, set[str] | None]) -> None:
        added = False
        for county, groups in targets.items():
            if county not in self._dirty:
                self._dirty[county] = None if groups is None else set(groups)
                added = True
            elif (known := self._dirty[county]) is not None and (groups is None or not groups <= known):
                self._dirty[county] = None if groups is None else known | groups
                added = True
        if added:
            self._wake.set()

    def tick(self) -> None:
        """Scheduler hook: re-evaluate every county, so periods roll over and calm counties come down."""
        self._ticked = True
        self.mark_dirty(ALL_COUNTY_CODES)

    async def work(self) -> None:
        """Evaluate the counties marked dirty since the last pass."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        targets, self._dirty = self._dirty, {}
        ticked, self._ticked = self._ticked, False
        try:
            await self._evaluate(targets)
        except Exception:
            self._queue(targets)  # not lost: the next pass (or tick) takes them again
            raise
        if self._dirty and not ticked:
            # More reports arrived while this pass ran: a steady stream or a flood. Evaluating back to back
            # would eat the CPU the intake needs, so rest three times as long as the pass took (the engine
            # takes at most a quarter of a core) and let reports pile up into the next one. The rest follows
            # the pass's cost, with no floor: under a steady stream of cheap passes a level change still
            # reaches its receivers within a fraction of a second. An isolated report is evaluated at once, and
            # so are those that arrived during a tick's pass over every county (a long pass, but not a flood).
            await asyncio.sleep(min(MAX_REST, 3 * (loop.time() - started)))

    async def refresh_rules(self) -> ActiveRules:
        """Switch to the newest activated rules version if there is a new one (else keep what is in use)."""
        async with self._pool.acquire() as conn:
            newest = await active_rules_id(conn)
            if newest is None or newest == self.rules.version_id:
                return self.rules
            found = await active_rules(conn)
            if found is None:
                return self.rules
            version_id, body = found
            try:
                book = load(body, f"rules version V{version_id}")
            except RulebookError as exc:  # stored only after `ews rules check` passed; a newer checker may differ
                log.error("rules version V%s does not load (%s); keeping %s", version_id, exc, self.rules.label)
                return self.rules
            active = ActiveRules(book, version_id)
            retired = await retire_rules(conn, [r.name for r in book.rules], version=active.label, now=self._clock())
        log.info("rules engine now runs %s (%d rules; %d alerts of removed rules closed)", active.label,
                 len(book.rules), retired)
        self.rules = active
        return active

    async def evaluate(self, county_codes: Iterable[int]) -> list[LevelChange]:
        """Evaluate every rule for the given counties at the current time."""
        return await self._evaluate({code: None for code in county_codes})

    async def _evaluate(self, targets: Mapping[int, set[str] | None]) -> list[LevelChange]:
        rules = await self.refresh_rules()
        targets = dict(targets)
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                # Whatever a path changed without counting it.
                for county, groups in (await apply_pending(conn)).items():
                    known = targets.get(county, set())
                    targets[county] = None if known is None else known | groups
            changes: list[LevelChange] = []
            for county in sorted(targets):
                # The clock is read per county: a pass over all 47 takes a moment, and a level's `since`
                # must not come before the reports that raised it.
                moved = await evaluate_county(conn, county, rules, self._clock(), groups=targets[county])
                if moved:
                    # Each county commits on its own: the planner hears of it now, not after the whole pass.
                    self._on_change()
                changes += moved
        for change in changes:
            log.info("level change rule=%s county=%s group=%s %s->%s count=%s alert=%s", change.rule,
                     change.county_code, change.group, change.from_level.name, change.to_level.name, change.count,
                     change.alert_id)
        return changes


async def evaluate_county(conn: Connection, county: int, rules: ActiveRules, now: datetime, *,
                          groups: set[str] | None = None) -> list[LevelChange]:
    """Run the rules that cover `county` at `now` (only on `groups`, when given: a series that did not move
    cannot change a level within its period), and record what moved, in one transaction."""
    covering = [r for r in rules.book.rules
                if county in r.counties and (groups is None or any(g in groups for g in r.groups))]
    if not covering:
        return []
    keys = [(r.name, g) for r in covering for g in r.groups if groups is None or g in groups]
    async with conn.transaction():
        stored = await lock_states(conn, county, keys)
        current = {r.name: period_start(now, r.period) for r in covering}
        earliest = min(current[r.name] - lookback(r) * PERIOD_LENGTH[r.period] for r in covering)
        latest = max(current[r.name] + PERIOD_LENGTH[r.period] for r in covering)
        cells = await county_cells(conn, county, sorted({r.period for r in covering}), earliest, latest)
        immediate = [f for r in covering if (f := r.immediate_filter) is not None]
        units = await critical_units(
            conn, county, min(current[r.name] - _window(r) for r in covering), latest,
            types=sorted({t for f in immediate for t in f.types}),
            severities=sorted({s for f in immediate for s in f.severities}),
            types_with_casualties=sorted({t for f in immediate for t in f.types_with_casualties})) if immediate else []
        rows: list[tuple[Any, ...]] = []
        changes: list[LevelChange] = []
        for rule in covering:
            for group in rule.groups:
                if groups is not None and group not in groups:
                    continue
                start = current[rule.name]
                counts, complete = live_counts(rule, group, cells, units, start)
                before = stored.get((rule.name, group))
                state, moved, signal, judged = advance(rule, county, group, counts, start, _state(before),
                                                       before.judged_through if before else None, now,
                                                       complete=complete)
                rows.append((rule.name, group, int(state.level), state.since, state.pending_since,
                             int(state.pending_level), state.calm_since, int(state.calm_level), judged,
                             signal.statistic, signal.observed))
                for t in moved:
                    changes.append(await record_change(conn, await _new_level(conn, rule, t, units, rules.label)))
        await save_states(conn, county, rows, version=rules.label, now=now)
    return changes


def _state(row: StoredState | None) -> State:
    if row is None:
        return State()
    return State(Level(row.level), row.since, row.pending_since, Level(row.pending_level), row.calm_since,
                 Level(row.calm_level))


def _window(rule: Rule) -> Any:
    """How far back the units a rule's explanation lists go: its window (a window count), else a period,
    before the running period."""
    return int(dict(rule.params).get("window", 1)) * PERIOD_LENGTH[rule.period]


def live_counts(rule: Rule, group: str, cells: Mapping[tuple[str, str], Mapping[datetime, tuple[float, float]]],
                units: Sequence[Mapping[str, Any]], current: datetime) -> tuple[list[float], list[float]]:
    """The two series `advance` reads for one rule and group: `lookback` periods and the running one, and
    the same up to the last complete period.

    Imported history is history: it feeds baselines, but the period each series ends with (the one judged)
    counts live reports alone, so an import never raises a live level. An immediate rule counts only its
    qualifying live reports, in the two periods judged. Pure.
    """
    length = PERIOD_LENGTH[rule.period]
    n = lookback(rule) + 1
    starts = [current - (n - 1 - i) * length for i in range(n)]
    immediate = rule.immediate_filter
    if immediate is not None:
        counts = [0.0] * n
        for u in units:
            if not _in(u, group) or u["imported"] or immediate.reason(_candidate(u)) is None:
                continue
            i = n - 1 - int((current - period_start(u["at"], rule.period)) / length)
            if n - 2 <= i < n:
                counts[i] += u["weight"]
        return counts, counts[:-1]
    cell = cells.get((rule.period, group), {})
    both = [cell.get(s, (0.0, 0.0)) for s in starts]
    full = [live + imported for live, imported in both]
    return [*full[:-1], both[-1][0]], [*full[:-2], both[-2][0]]


def _in(unit: Mapping[str, Any], group: str) -> bool:
    return group == ALL or unit["grp"] == group


def _candidate(unit: Mapping[str, Any]) -> Candidate:
    return Candidate(unit["report_id"], unit["incident_type"], unit["severity"], unit["casualties"],
                     verified=unit["verified"], corroborated=unit["corroborated"])


async def _new_level(conn: Connection, rule: Rule, t: Transition, critical: Sequence[Mapping[str, Any]],
                     version: str) -> NewLevel:
    """A transition with its explanation: the detector's figures and the latest units that made the period
    (an immediate rule's from the critical units already read; any other's read here, at most
    CONTRIBUTING_SHOWN of them, with their count)."""
    end = t.period_start + PERIOD_LENGTH[rule.period]
    begin = end - _window(rule)
    immediate = rule.immediate_filter
    if immediate is not None:
        found = [u for u in critical if _in(u, t.group) and begin <= u["at"] < end
                 and immediate.reason(_candidate(u)) is not None]
        contributing, total = found[::-1][:CONTRIBUTING_SHOWN], len(found)
    else:
        contributing, total = await latest_units(conn, t.county, None if t.group == ALL else t.group, begin, end,
                                                 CONTRIBUTING_SHOWN)
    explanation = {**t.explanation.as_dict(), "group": t.group, "rules_version": version,
                   "period_start": t.period_start.isoformat(), "contributing_count": total,
                   "contributing": [{"unit": u["unit"], "report": report_reference(u["report_id"]),
                                     "reports": u["reports"], "weight": round(u["weight"], 3)}
                                    for u in reversed(contributing)]}
    # What the why line counts: a window count's sum, any other detector's period count.
    observed = t.explanation.statistic if rule.detector == "window_count" else t.explanation.observed
    count = max(0, round(observed or 0))
    return NewLevel(rule.name, t.county, t.group, t.before, t.after, count, t.at, version, explanation,
                    t.explanation.why_en, t.explanation.why_sw)
