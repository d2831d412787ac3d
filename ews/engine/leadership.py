"""One evaluator across processes and instances: the holder of a PostgreSQL advisory lock runs it.

Every process takes reports; only the leader evaluates rules, so a flood is counted once, not once per
worker. Followers announce the counties of the reports they commit with NOTIFY; the leader LISTENs and
evaluates them at once. A leader that dies loses its session and so its lock; a follower takes over at
its next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

import asyncpg

from ews.core.models import IntakeResult
from ews.engine.evaluator import Evaluator

log = logging.getLogger(__name__)

CHANNEL = "ews_reports"
# An arbitrary 64-bit key; advisory locks are per database, so instances of other databases never clash.
ENGINE_LOCK_KEY = 0x4557_5345_6E67_696E  # "EWSEngin"
_NOTIFY = "SELECT pg_notify($1, $2)"
ANNOUNCE_INTERVAL = 0.05  # seconds: under a flood, one NOTIFY per interval carries every county committed


def counties_payload(county_codes: Iterable[int]) -> str:
    """The NOTIFY payload for a set of county codes: '3,17,47'."""
    return ",".join(str(code) for code in sorted(set(county_codes)))


def parse_counties_payload(payload: str) -> list[int]:
    """County codes from a NOTIFY payload; anything that is not a county code is ignored."""
    codes = []
    for part in payload.split(","):
        part = part.strip()
        if part.isdigit() and 1 <= int(part) <= 47:
            codes.append(int(part))
    return codes


class EngineLeadership:
    """Runs `evaluator` in this process while it holds the engine lock; otherwise announces commits."""

    def __init__(self, database_url: str, pool: asyncpg.Pool, evaluator: Evaluator, *,
                 retry_interval: float = 5.0) -> None:
        self._url = database_url
        self._pool = pool
        self._evaluator = evaluator
        self._retry_interval = retry_interval
        self._conn: asyncpg.Connection | None = None  # holds the lock and the LISTEN while leading
        self._task: asyncio.Task[None] | None = None
        self._announcer: asyncio.Task[None] | None = None
        self._to_announce: set[int] = set()
        self.leading = False

    async def start(self) -> None:
        """Try once to lead (so a lone process evaluates from its first report), then keep trying."""
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await self._attempt()
        self._task = asyncio.create_task(self._run(), name="engine-leadership")

    async def stop(self) -> None:
        """Stop evaluating and release the lock."""
        for task in (self._task, self._announcer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._resign()

    def reports_committed(self, results: Sequence[IntakeResult]) -> None:
        """Intake's hook: evaluate here when leading, else tell the leader which counties changed."""
        codes = [r.county_code for r in results if r.county_code is not None]
        if not codes:
            return
        if self.leading:
            self._evaluator.reports_arrived(codes)
            return
        self._to_announce.update(codes)
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.create_task(self._announce(), name="engine-announce")

    def counties_counted(self, moved: dict[int, set[str]]) -> None:
        """The classification stage's hook: these counties' series moved (reports typed, grouped, counted),
        in these type groups."""
        if self.leading:
            self._evaluator.series_moved(moved)
            return
        self._to_announce.update(moved)  # the leader hears counties only, and looks at all their groups
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.create_task(self._announce(), name="engine-announce")

    async def _announce(self) -> None:
        # One NOTIFY in flight at a time; counties committed meanwhile go out together in the next one.
        # Each NOTIFY is its own tiny transaction, so PostgreSQL's notify queue lock never holds up the
        # commit of a batch of reports.
        while self._to_announce:
            payload, self._to_announce = counties_payload(self._to_announce), set()
            try:
                await self._pool.execute(_NOTIFY, CHANNEL, payload)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # Not lost for long: the leader's scheduled tick re-evaluates every county.
                log.warning("could not announce committed reports to the engine: %s", type(exc).__name__)
                return
            await asyncio.sleep(ANNOUNCE_INTERVAL)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._retry_interval)
            try:
                if self.leading:
                    assert self._conn is not None
                    await self._conn.fetchval("SELECT 1")  # the session, and so the lock, is still ours
                else:
                    await self._attempt()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if self.leading:
                    log.warning("engine lock connection lost (%s); evaluation stops here", type(exc).__name__)
                await self._resign()

    async def _attempt(self) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._url, server_settings={"application_name": "ews-engine"})
        if not await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", ENGINE_LOCK_KEY):
            return
        await self._conn.add_listener(CHANNEL, self._notified)
        self.leading = True
        self._evaluator.start()
        self._evaluator.tick()  # catch up on whatever followers committed before we led
        log.info("this process now runs the rules engine")

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self._evaluator.reports_arrived(parse_counties_payload(str(payload)))

    async def _resign(self) -> None:
        if self.leading:
            self.leading = False
            await self._evaluator.stop()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            # Closing the session releases the advisory lock and the LISTEN.
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await conn.close(timeout=5)
