"""Report-to-alert latency: from the webhook's 200 at the client to the alert SMS at the (fake) Twilio.

With the bench rules (bench/rules_bench.toml: watch 1, warning 2, alert 3 reports in the day) and one
national responder, every report about a calm county raises it one level and produces exactly one SMS
(bench/routes_bench.toml: each rise its own message, at once). Reports go one at a time, each only after the
previous one's SMS arrived, so no two rises coalesce into one evaluation, while a background load of other
reports (default 200 a second) goes to counties 41-47, which no bench rule covers. A pass sends 3 reports to
each of counties 1-40; between passes the bench activates a fresh rules version whose thresholds start
above the counts so far (`rules_for_pass`), so every county is NORMAL again under a rule of a new name, and
the next pass raises it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg

from bench.procs import TWILIO_AUTH_TOKEN, Service
from bench.signed_forms import report_text, sender_number, signed_form
from ews.db.repo.rules_versions import activate
from rules.gazetteer import COUNTIES, County

LEVELS = ("WATCH", "WARNING", "ALERT")
BENCH_RULES = Path(__file__).resolve().parent / "rules_bench.toml"
# "EWS WATCH: Kisumu county. ..." / "EWS WARNING (raised): Kisumu county. ..."; not "EWS: X county is back to".
_RISE = re.compile(r"^EWS (WATCH|WARNING|ALERT)\b[^:]*: (.+?) county\.")
_RESOLVED = re.compile(r"^EWS: .+ county back to normal")
BENCH_ROUTES = Path(__file__).resolve().parent / "routes_bench.toml"
# The bench rules cover counties 1-40, which the measured reports raise; the background load goes to 41-47,
# where it is stored, placed and classified as any report is, but no rule counts it.
MEASURED = tuple(c for c in COUNTIES if c.code <= 40)
BACKGROUND = tuple(c for c in COUNTIES if c.code > 40)


@dataclass(frozen=True, slots=True)
class Sms:
    """A rise SMS as the fake Twilio received it."""

    at: float
    level: str
    county: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One report that raised its county a level, and when its SMS arrived."""

    county: str
    level: str
    replied_at: float
    sms_at: float

    @property
    def latency(self) -> float:
        """Seconds from the webhook's 200 at the client to the SMS at Twilio."""
        return self.sms_at - self.replied_at


@dataclass
class LatencyResult:
    """Everything phase 3 measured."""

    samples: list[Sample] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)  # "county LEVEL: why" for rises without an SMS
    passes: int = 0
    reports_sent: int = 0
    unexpected_rises: int = 0  # rise SMS nobody waited for (duplicates): must be 0
    resolutions: int = 0  # "back to NORMAL" SMS seen (ignored for latency)
    settle_seconds: list[float] = field(default_factory=list)  # waits for all counties to be NORMAL again
    stages: dict[str, list[float]] = field(default_factory=dict)  # where the latency goes, from the DB
    background_rate: float = 0.0  # reports a second asked for beside the measured ones
    background_sent: int = 0  # ... answered 200
    background_failed: int = 0  # ... answered otherwise or not at all
    background_seconds: float = 0.0
    example_sms: str = ""  # the first rise SMS, as sent
    seconds: float = 0.0


class TwilioInbox:
    """The SMS at the fake Twilio, fetched (long-polling GET /stats) as they arrive."""

    def __init__(self, session: aiohttp.ClientSession, twilio_url: str) -> None:
        self._session = session
        self._url = twilio_url.rstrip("/") + "/stats"
        self.cursor = 0
        self.pending: list[Sms] = []
        self.resolutions = 0
        self.unparsed: list[str] = []
        self.first_rise = ""

    async def fetch(self, wait: float) -> None:
        """Take in the messages after the cursor, waiting up to `wait` seconds for the first."""
        async with self._session.get(self._url, params={"after": str(self.cursor), "wait": f"{wait:.3f}"},
                                     timeout=aiohttp.ClientTimeout(total=wait + 10)) as response:
            response.raise_for_status()
            data = await response.json()
        for message in data["messages"]:
            body = message["body"]
            if rise := _RISE.match(body):
                self.pending.append(Sms(message["at"], rise.group(1), rise.group(2)))
                self.first_rise = self.first_rise or body
            elif _RESOLVED.match(body):
                self.resolutions += 1
            else:
                self.unparsed.append(body)
        self.cursor += len(data["messages"])

    async def wait_for(self, county: str, level: str, *, since: float, timeout: float) -> Sms | None:
        """The first rise SMS for (county, level) that arrived after `since`, or None after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            for index, sms in enumerate(self.pending):
                if sms.county == county and sms.level == level and sms.at >= since:
                    return self.pending.pop(index)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            await self.fetch(min(remaining, 5.0))


async def send_report(session: aiohttp.ClientSession, service: Service, body: str, sender: str) -> tuple[int, float]:
    """POST one signed report; (HTTP status, time.time() when the whole reply had arrived)."""
    form, headers = signed_form(TWILIO_AUTH_TOKEN, service.public_url, body, sender)
    async with session.post(service.url + "/ingest/twilio/sms", data=form, headers=headers) as response:
        await response.read()
        return response.status, time.time()


def rules_for_pass(n: int) -> str:
    """The bench rules for pass `n`: rule bench-N rising at 3N+1, 3N+2, 3N+3 reports in the day."""
    text = BENCH_RULES.read_text(encoding="utf-8").replace('"bench-0"', f'"bench-{n}"')
    for level, start in (("watch", 1), ("warning", 2), ("alert", 3)):
        text = text.replace(f"{level} = {start}\n", f"{level} = {3 * n + start}\n")
    return text


async def start_fresh_rules(service: Service, n: int) -> float:
    """Activate pass `n`'s rules (stored as `ews rules activate` stores them); the seconds it took."""
    started = time.monotonic()
    text = rules_for_pass(n)
    conn = await asyncpg.connect(service.database_url())
    try:
        await activate(conn, version=f"bench-{n}", sha256=hashlib.sha256(text.encode()).hexdigest(), body=text,
                       rules=1, by="bench", note="latency pass", now=datetime.now(UTC))
    finally:
        await conn.close()
    return time.monotonic() - started


async def _one_pass(session: aiohttp.ClientSession, inbox: TwilioInbox, service: Service,
                    result: LatencyResult, *, sender_base: int, sms_timeout: float) -> None:
    """Raise every measured county WATCH -> WARNING -> ALERT, one report (and one SMS) at a time."""
    for county in MEASURED:
        for level in LEVELS:
            await _one_rise(session, inbox, service, result, county, level, sender_base=sender_base,
                            sms_timeout=sms_timeout)


async def _one_rise(session: aiohttp.ClientSession, inbox: TwilioInbox, service: Service, result: LatencyResult,
                    county: County, level: str, *, sender_base: int, sms_timeout: float) -> None:
    seq = result.reports_sent
    result.reports_sent += 1
    sent_at = time.time()
    status, replied_at = await send_report(session, service, report_text(seq, county),
                                           sender_number(seq, base=sender_base))
    if status != 200:
        result.misses.append(f"{county.name} {level}: webhook answered HTTP {status}")
        return
    # The first report of a run also waits for the stages to warm up (the model loading in its worker).
    timeout = sms_timeout if result.samples or result.misses else max(sms_timeout, 60.0)
    sms = await inbox.wait_for(county.name, level, since=sent_at, timeout=timeout)
    if sms is None:
        result.misses.append(f"{county.name} {level}: no SMS within {timeout:.0f}s")
        return
    result.samples.append(Sample(county.name, level, replied_at, sms.at))


async def background_load(session: aiohttp.ClientSession, service: Service, result: LatencyResult,
                          rate: float, stop: asyncio.Event, *, sender_base: int) -> None:
    """Post `rate` signed reports a second about counties no bench rule covers, each from its own sender,
    until `stop` is set."""
    if rate <= 0:
        return
    started = time.monotonic()
    in_flight: set[asyncio.Task[None]] = set()

    async def one(n: int) -> None:
        try:
            status, _ = await send_report(session, service, report_text(n, BACKGROUND[n % len(BACKGROUND)]),
                                          sender_number(n, base=sender_base))
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        if status == 200:
            result.background_sent += 1
        else:
            result.background_failed += 1

    n = 0
    while not stop.is_set():
        due = started + n / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        task = asyncio.create_task(one(n))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        n += 1
    if in_flight:
        await asyncio.wait(in_flight)
    result.background_seconds = time.monotonic() - started


async def measure(service: Service, twilio_url: str, *, min_samples: int = 200, max_passes: int = 4,
                  sms_timeout: float = 10.0, background: float = 0.0) -> LatencyResult:
    """Passes over all counties until at least `min_samples` latencies are collected, with `background`
    other reports a second posted meanwhile."""
    result = LatencyResult(background_rate=background)
    started = time.monotonic()
    sender_base = random.randrange(10**8)
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession() as session, aiohttp.ClientSession(connector=connector) as load_session:
        load = asyncio.create_task(background_load(load_session, service, result, background, stop,
                                                   sender_base=(sender_base + 5 * 10**7) % 10**8))
        inbox = TwilioInbox(session, twilio_url)
        await inbox.fetch(0)
        inbox.pending.clear()  # only SMS caused by this phase count
        inbox.first_rise = ""
        while result.passes < max_passes and len(result.samples) < min_samples:
            if result.passes:
                result.settle_seconds.append(await start_fresh_rules(service, result.passes))
            await _one_pass(session, inbox, service, result, sender_base=sender_base, sms_timeout=sms_timeout)
            result.passes += 1
        stop.set()
        await load
        await asyncio.sleep(1.0)  # anything sent twice would arrive by now
        await inbox.fetch(0)
        result.unexpected_rises = len(inbox.pending)
        result.resolutions = inbox.resolutions
        result.example_sms = inbox.first_rise
    result.seconds = time.monotonic() - started
    result.stages = await stage_breakdown(service.database_url(), result.samples)
    return result


# One planned firing message per rise (the bench routes tell each rise on its own), with the evaluation that
# raised its first alert (level_transitions.at is the evaluator's clock), the planner's and the expansion's.
_OUTBOX_ROWS = """
SELECT c.name AS county, o.alert_levels -> 0 ->> 1 AS level, o.created_at AS planned_at,
       (SELECT max(lt.at) FROM level_transitions lt WHERE lt.alert_id = o.alert_id AND lt.at <= o.created_at)
           AS evaluated_at,
       min(d.created_at) AS expanded_at
FROM outbox o
JOIN alerts a ON a.id = o.alert_id
JOIN counties c ON c.code = a.county_code
JOIN deliveries d ON d.outbox_id = o.id
WHERE o.kind = 'alert' AND o.notice = 'firing'
GROUP BY o.id, c.name
ORDER BY o.id
"""


async def stage_breakdown(database_url: str, samples: list[Sample]) -> dict[str, list[float]]:
    """Split each latency at the service's own timestamps: evaluation (level_transitions.at), planning
    (outbox.created_at) and expansion into deliveries (deliveries.created_at). Same machine, same clock."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(_OUTBOX_ROWS)
    finally:
        await conn.close()
    stages: dict[str, list[float]] = {"200 at client -> evaluation": [], "evaluation -> planned message": [],
                                      "planned message -> delivery rows": [], "delivery rows -> SMS at Twilio": []}
    position = 0
    for sample in samples:  # one planned message per rise, in the same order as the samples
        while position < len(rows) and (rows[position]["county"], rows[position]["level"]) != (
                sample.county, sample.level):
            position += 1
        if position == len(rows):
            break
        row = rows[position]
        evaluated = _epoch(row["evaluated_at"]) if row["evaluated_at"] else _epoch(row["planned_at"])
        planned, expanded = _epoch(row["planned_at"]), _epoch(row["expanded_at"])
        stages["200 at client -> evaluation"].append(evaluated - sample.replied_at)
        stages["evaluation -> planned message"].append(planned - evaluated)
        stages["planned message -> delivery rows"].append(expanded - planned)
        stages["delivery rows -> SMS at Twilio"].append(sample.sms_at - expanded)
        position += 1
    return stages


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
