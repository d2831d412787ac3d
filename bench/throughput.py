"""Acknowledgement throughput: wrk against the service's signed webhook and against the bare handler.

Both get the same pre-signed requests (wrk_signed.lua). Each service run starts where the previous one
stopped in the request file, so every request the service sees is a new MessageSid, i.e. a real INSERT.
While wrk runs, the CPU time of each process group is sampled, to show where the cores go.
"""

from __future__ import annotations

import re
import resource
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import psutil

from bench.procs import BENCH

LUA = BENCH / "wrk_signed.lua"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_BUSY_FIELDS = ("user", "nice", "system", "irq", "softirq")
_THREAD = re.compile(r"^bench-thread id=(\d+) issued=(\d+) ok=(\d+) other=(\d+) wrapped=(\d+) next=(\d+)$", re.M)


@dataclass(frozen=True, slots=True)
class WrkSettings:
    """How wrk is run."""

    wrk: str = "wrk"
    threads: int = 2
    connections: int = 64
    duration: float = 15.0
    warmup: float = 3.0


@dataclass
class WrkRun:
    """One wrk run, parsed."""

    target: str  # "bare" or "service"
    label: str  # "warm-up", "run 1", ...
    rps: float
    p50_ms: float
    p99_ms: float
    completed: int  # responses wrk counted
    non2xx: int  # wrk's "Non-2xx or 3xx responses"
    socket_errors: dict[str, int]
    issued: int  # request() calls, from the Lua script
    ok: int  # responses with status 200, from the Lua script
    other: int  # responses with any other status
    wrapped: bool  # a thread ran out of distinct requests and repeated some
    next_start: int  # where the next run starts in each thread's share of the request file
    cores: dict[str, float] = field(default_factory=dict)  # CPU seconds per wall second, by process group
    quiet_wait: float = 0.0  # seconds waited for the machine to go quiet before this run
    output: str = ""

    @property
    def in_flight_at_stop(self) -> int:
        """Requests written but not answered when wrk stopped (the server may still have stored them)."""
        return self.issued - self.ok - self.other


def parse_wrk(text: str, *, target: str, label: str) -> WrkRun:
    """The figures in wrk's --latency output and our Lua script's per-thread lines."""
    threads = [tuple(int(v) for v in m) for m in _THREAD.findall(text)]
    if not threads:
        raise RuntimeError(f"wrk printed no bench-thread lines (did the script fail?):\n{text}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return WrkRun(
        target=target,
        label=label,
        rps=float(_need(r"Requests/sec:\s+([\d.]+)", text)),
        p50_ms=_latency(text, "50"),
        p99_ms=_latency(text, "99"),
        completed=int(_need(r"(\d+) requests in ", text)),
        non2xx=int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"),
                               (int(v) for v in errors.groups()) if errors else (0, 0, 0, 0), strict=True)),
        issued=sum(t[1] for t in threads),
        ok=sum(t[2] for t in threads),
        other=sum(t[3] for t in threads),
        wrapped=any(t[4] for t in threads),
        next_start=max(t[5] for t in threads),
        output=text,
    )


def _need(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk output lacks {pattern!r}:\n{text}")
    return match.group(1)


def _latency(text: str, percent: str) -> float:
    value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wait_for_quiet(*, below_cores: float = 0.15, sample: float = 0.5, timeout: float = 30.0) -> float:
    """Wait until the whole machine's busy CPU over `sample` seconds is under `below_cores` (at most
    `timeout` seconds); the seconds waited.

    After a flood of inserts PostgreSQL vacuums, analyzes and checkpoints for a while; whatever runs next
    would be measured on a machine that is partly taken, so each measured run starts on a quiet one.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = psutil.cpu_times()
        time.sleep(sample)
        after = psutil.cpu_times()
        if sum(getattr(after, f) - getattr(before, f) for f in _BUSY_FIELDS) / sample < below_cores:
            break
    return time.monotonic() - started


class CpuMeter:
    """CPU seconds used by groups of processes while wrk sends (not while it loads its request file)."""

    def __init__(self, groups: dict[str, Callable[[], list[psutil.Process]]]) -> None:
        self._groups = groups
        self._before: dict[str, dict[int, float]] = {}
        self._wrk_before = 0.0
        self._machine = psutil.cpu_times()
        self._wall = 0.0

    @staticmethod
    def _cpu(processes: list[psutil.Process]) -> dict[int, float]:
        used = {}
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            used[process.pid] = times.user + times.system
        return used

    @staticmethod
    def _reaped_children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def start(self, wrk: psutil.Process) -> None:
        """Take the 'before' sample, once wrk (a child not yet reaped) has opened its connections."""
        self._before = {name: self._cpu(get()) for name, get in self._groups.items()}
        self._wrk_before = self._reaped_children() + sum(self._cpu([wrk]).values())
        self._machine = psutil.cpu_times()
        self._wall = time.monotonic()

    def stop(self) -> dict[str, float]:
        """Cores used per group since `start`, wrk included once reaped (processes that exited meanwhile,
        e.g. short-lived autovacuum workers, are not counted)."""
        wall = time.monotonic() - self._wall
        cores = {}
        for name, get in self._groups.items():
            after = self._cpu(get())
            before = self._before.get(name, {})
            cores[name] = sum(t - before.get(pid, 0.0) for pid, t in after.items()) / wall
        cores["wrk"] = (self._reaped_children() - self._wrk_before) / wall
        machine = psutil.cpu_times()
        busy = sum(getattr(machine, f) - getattr(self._machine, f) for f in _BUSY_FIELDS) / wall
        cores["other"] = max(0.0, busy - sum(cores.values()))  # everything else on the machine, e.g. other jobs
        cores["steal"] = (machine.steal - self._machine.steal) / wall  # taken by the hypervisor
        return cores


def run_wrk(url: str, requests_file: Path, *, start: int, duration: float, settings: WrkSettings,
            target: str, label: str, meter: CpuMeter | None = None) -> WrkRun:
    """One wrk run from `start` in the request file; fails if wrk fails."""
    argv = [settings.wrk, f"-t{settings.threads}", f"-c{settings.connections}", f"-d{duration:g}s", "--latency",
            "-s", str(LUA), url, "--", str(requests_file), str(settings.threads), str(start)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as wrk:
        cores: dict[str, float] = {}
        measuring = meter is not None and _wait_until_sending(wrk)
        if meter is not None and measuring:
            meter.start(psutil.Process(wrk.pid))
        try:
            stdout, stderr = wrk.communicate(timeout=duration + 120)
        except BaseException:  # a timeout, Ctrl-C or SIGTERM: do not leave wrk running
            wrk.kill()
            raise
        if meter is not None and measuring:
            cores = meter.stop()
    if wrk.returncode != 0:
        raise RuntimeError(f"wrk failed ({wrk.returncode}):\n{stdout}\n{stderr}")
    run = parse_wrk(stdout, target=target, label=label)
    run.cores = cores
    return run


def _wait_until_sending(wrk: subprocess.Popen[str], timeout: float = 60.0) -> bool:
    """Wait until wrk has loaded its script's requests and opened connections."""
    process = psutil.Process(wrk.pid)
    deadline = time.monotonic() + timeout
    while wrk.poll() is None and time.monotonic() < deadline:
        try:
            if process.net_connections(kind="tcp"):
                return True
        except psutil.Error:
            return False
        time.sleep(0.02)
    return False


_REPORTS_STATS = """
SELECT (SELECT count(*) FROM reports) AS rows, seq_scan, seq_tup_read, idx_scan, autoanalyze_count + analyze_count
       AS analyzes
FROM pg_stat_user_tables WHERE relname = 'reports'
"""


async def reports_table(database_url: str) -> dict[str, int]:
    """Rows in the service's reports table, and how PostgreSQL has read it: sequential scans (each reads
    the whole table), rows they read, index scans, and how often the table was analyzed."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(_REPORTS_STATS)
        assert row is not None
        return dict(row)
    finally:
        await conn.close()
