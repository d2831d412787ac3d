"""USSD screen latency: 64 sessions at once walking the whole menu against the real `ews serve`.

Each session is what AT sends: the first request with no text, then one request per answer with every
answer so far (language, county, skip the constituency, type, hurt, a text, send), so every screen but the
last is computed from the path and the last one commits a report. Measured from the client: p50 and p99 of
every screen, and of the final (committing) screen apart. Target (issue 9): p99 under 50 ms, well inside
AT's 15 s.

Sixty-four reporters in the menu at once do not answer in the same microsecond: each reads a screen and
types before the next request. `--think` is that pause (each one drawn between half and one and a half
times it; sessions start spread over one pause), 0.5 s by default, far quicker than a person on a feature
phone. `--think 0` sends every answer the moment its screen arrives: 64 requests always in flight, which
measures the service's throughput (latency = 64 / screens per second) more than a screen's latency; it is
reported beside the first.

    .venv/bin/python bench/ussd.py [--sessions 64] [--rounds 20] [--think 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for bench.*

from bench.latency import percentile
from bench.procs import BENCH, start_fake_twilio, start_service

OUT = BENCH / "out"
TOKEN = "bench-at-callback-token-" + "7" * 12
PATH = "/ingest/africastalking/ussd"
TARGET_P99_MS = 50.0
ANSWERS = ("1", "42", "98", "3", "4", "vijana wamebeba mapanga sokoni", "1")


@dataclass(frozen=True, slots=True)
class UssdResult:
    """Screen latencies in milliseconds: every screen, and the final (committing) ones alone."""

    screens: list[float]
    finals: list[float]
    sessions: int
    reports: int
    errors: int
    think: float = 0.0  # mean seconds a reporter takes to answer a screen

    @property
    def p50_ms(self) -> float:
        """Median screen latency in ms."""
        return statistics.median(self.screens) * 1000

    @property
    def p99_ms(self) -> float:
        """99th-percentile screen latency in ms."""
        return percentile(self.screens, 99) * 1000

    @property
    def met(self) -> bool:
        """Whether p99 of every screen is under the target and no request failed."""
        return self.errors == 0 and percentile(self.screens, 99) < TARGET_P99_MS / 1000


async def _session(http: aiohttp.ClientSession, url: str, phone: str, times: list[float], finals: list[float],
                   errors: list[int], think: float, rng: random.Random) -> None:
    session_id = "ATUid_" + uuid.uuid4().hex
    for i in range(len(ANSWERS) + 1):
        if think:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
        form = {"sessionId": session_id, "serviceCode": "*384*1234#", "phoneNumber": phone,
                "networkCode": "63902", "text": "*".join(ANSWERS[:i])}
        started = time.perf_counter()
        async with http.post(url, data=form, params={"token": TOKEN}) as response:
            body = await response.text()
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        if i == len(ANSWERS):
            finals.append(elapsed)
        if response.status != 200 or not body.startswith(("CON ", "END ")):
            errors.append(response.status)


async def measure_against(url: str, *, sessions: int, rounds: int, think: float = 0.0) -> UssdResult:
    """`sessions` reporters at once, each walking the menu `rounds` times, against a running service."""
    times: list[float] = []
    finals: list[float] = []
    errors: list[int] = []
    rng = random.Random(9)
    connector = aiohttp.TCPConnector(limit=sessions)

    async def reporter(n: int) -> None:
        await asyncio.sleep(think * rng.random())  # people do not all dial at the same instant
        for wave in range(rounds):
            # A phone per session, fresh each round, so flood control never marks the bench's reporters.
            await _session(http, url + PATH, f"+2547{wave:02d}{n:06d}", times, finals, errors, think, rng)

    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(reporter(n) for n in range(sessions)))
    return UssdResult(times, finals, sessions, sessions * rounds, len(errors), think)


def measure(*, sessions: int = 64, rounds: int = 20, thinks: tuple[float, ...] = (0.5, 0.0)) -> list[UssdResult]:
    """Start `ews serve` (embedded PostgreSQL, AT token set) and measure the USSD screens."""
    with contextlib.ExitStack() as stack:
        twilio_url = start_fake_twilio(stack, OUT)
        service = start_service(stack, name="ussd", out=OUT, twilio_url=twilio_url,
                                rules_file=BENCH.parent / "rules.toml",
                                extra_env={"EWS_AT_CALLBACK_TOKEN": TOKEN, "EWS_PLACE_QUESTIONS": "false"})
        return [asyncio.run(measure_against(service.url, sessions=sessions, rounds=rounds, think=think))
                for think in thinks]


def summary(result: UssdResult) -> str:
    """One line for the terminal and RESULTS.md."""
    ms = [t * 1000 for t in result.screens]
    fin = [t * 1000 for t in result.finals]
    pace = f"answering after {result.think:g} s on average" if result.think else "answering at once (no pause)"
    return (f"USSD screens, {result.sessions} concurrent sessions {pace}: p50 {statistics.median(ms):.1f} ms, "
            f"p99 {percentile(result.screens, 99) * 1000:.1f} ms over {len(ms):,} screens; final (committing) "
            f"screen p50 {statistics.median(fin):.1f} ms, p99 {percentile(result.finals, 99) * 1000:.1f} ms; "
            f"{result.reports:,} reports, {result.errors} errors (target p99 < {TARGET_P99_MS:g} ms)")


def main(argv: list[str] | None = None) -> int:
    """Run alone: print the summary; exit 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds a reporter takes per screen")
    args = parser.parse_args(argv)
    results = measure(sessions=args.sessions, rounds=args.rounds, thinks=(args.think, 0.0) if args.think else (0.0,))
    for result in results:
        print(summary(result))
    return 0 if results[0].met else 1


if __name__ == "__main__":
    raise SystemExit(main())
