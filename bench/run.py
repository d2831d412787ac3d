"""`make bench`: measure the service end to end and write bench/RESULTS.md (overwritten on every run).

In one run, against the real `ews serve` on an embedded PostgreSQL, with a fake Twilio in its own process:

  0. The county matcher alone (before any server starts): `find_county` over a fixed corpus of SMS
     texts, in matches per second (bench/gazetteer.py); the place matcher (`resolve_place`) per report
     against `find_county` on the same corpus, with the gazetteer's memory (bench/places.py; targets: under
     1 ms per report, the gazetteer under 50 MB); and each detector of rules/detectors over 47 counties x 3
     years of daily counts, against a plain-Python EARS C1 (bench/detectors.py).
  1. Report-to-alert latency (first, on a fresh data dir): bench rules that raise a county one level per
     report, one national responder, reports sent one at a time; time from the webhook's 200 at the
     client to the alert SMS at the fake Twilio. Target: p95 < 1 s.
  2. Acknowledgement throughput (then, on another fresh data dir, with the repository's rules.toml):
     wrk at 64 connections against the signed webhook, every request a new MessageSid, alternating with
     a bare aiohttp handler that only parses the same form: requests/s and latency p50/p99 of each, and
     the ratio. Target: service >= 0.5x bare. Checks that the service answered no non-2xx and that every
     200 it gave is a row in `reports`.

    .venv/bin/python bench/run.py [--duration 10] [--rounds 3] [--alerts 200] [--strict]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for bench.*

from bench import classify, detectors, gazetteer, latency, machine, places, throughput, ussd
from bench.detectors import DetectorResult
from bench.gazetteer import GazetteerResult
from bench.latency import LatencyResult, percentile
from bench.places import MEMORY_TARGET_MB, PER_REPORT_TARGET_MS, PlacesResult
from bench.procs import (
    AT_API_KEY,
    AT_USERNAME,
    BENCH,
    REPO,
    TWILIO_AUTH_TOKEN,
    free_port,
    start_bare_server,
    start_fake_at,
    start_fake_twilio,
    start_pipeline_server,
    start_service,
)
from bench.signed_forms import write_request_file
from bench.throughput import CpuMeter, WrkRun, WrkSettings
from bench.ussd import UssdResult

OUT = BENCH / "out"
RESULTS = BENCH / "RESULTS.md"
BENCH_RULES = BENCH / "rules_bench.toml"
BENCH_ROUTES = BENCH / "routes_bench.toml"
SERVICE_RULES = REPO / "rules.toml"
RESPONDERS_CSV = "name,phone,county,role,language\nBench situation room,+254700999001,national,analyst,en\n"
CPU_COLUMNS = ("service", "postgres", "bare", "pipeline", "wrk", "other", "steal")
# pipeline: the service's request handling with storage left out (bench/pipeline_server.py), so the ratio
# splits into what handling a webhook costs and what storing the report costs.
TARGETS = ("bare", "pipeline", "service")
THROUGHPUT_TARGET = 0.5
AT_TOKEN = "bench-at-callback-token"
LATENCY_TARGET_S = 1.0

_started = time.monotonic()


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.monotonic() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class LatencyPhase:
    """Phase 1's figures and what the run learnt on the way."""

    result: LatencyResult
    postgres: str
    imported: str


@dataclass
class ThroughputPhase:
    """Phase 2's wrk runs and the row check."""

    runs: list[WrkRun] = field(default_factory=list)
    rows: int = 0
    table: dict[str, int] = field(default_factory=dict)  # pg_stat_user_tables for reports
    request_lines: int = 0
    service_settings: str = ""
    bare_processes: int = 1

    def measured(self, target: str) -> list[WrkRun]:
        """The measured (not warm-up) runs against `target`."""
        return [r for r in self.runs if r.target == target and r.label != "warm-up"]

    def mean_rps(self, target: str) -> float:
        """Mean requests/s over the measured runs against `target`."""
        runs = self.measured(target)
        return sum(r.rps for r in runs) / len(runs)

    @property
    def ratio(self) -> float:
        """Service throughput as a fraction of the bare handler's."""
        return self.mean_rps("service") / self.mean_rps("bare")

    @property
    def pipeline_ratio(self) -> float:
        """The request handling without storage as a fraction of the bare handler's throughput."""
        return self.mean_rps("pipeline") / self.mean_rps("bare")

    def round_ratios(self) -> list[float]:
        """Service / bare for each round, the two measured within seconds of each other."""
        service, bare = self.measured("service"), self.measured("bare")
        return [s.rps / b.rps for s, b in zip(service, bare, strict=True)]

    def median_ms(self, target: str, attribute: str) -> float:
        """The median over the measured runs against `target` of one run's latency figure (p50_ms, p99_ms)."""
        return statistics.median(getattr(r, attribute) for r in self.measured(target))

    def service_runs(self) -> list[WrkRun]:
        """Every run against the service, warm-up included (they all inserted rows)."""
        return [r for r in self.runs if r.target == "service"]

    @property
    def acknowledged(self) -> int:
        """200 responses wrk received from the service."""
        return sum(r.ok for r in self.service_runs())

    @property
    def cut_off(self) -> int:
        """Requests to the service still in flight when wrk stopped (sent, reply never read)."""
        return sum(r.in_flight_at_stop for r in self.service_runs())

    @property
    def failures(self) -> int:
        """Non-2xx responses and socket errors from the service."""
        return sum(max(r.non2xx, r.other) + sum(r.socket_errors.values()) for r in self.service_runs())

    @property
    def rows_ok(self) -> bool:
        """Every 200 is a row, and the only extra rows are requests cut off in flight."""
        return self.acknowledged <= self.rows <= self.acknowledged + self.cut_off

    @property
    def repeated(self) -> bool:
        """Whether wrk ran out of distinct requests (then repeats are deduplicated, not inserted)."""
        return any(r.wrapped for r in self.service_runs())


# --- phases -------------------------------------------------------------------------------------------


def run_latency_phase(twilio_url: str, args: argparse.Namespace) -> LatencyPhase:
    """Phase 1 on its own service start and data dir."""
    with contextlib.ExitStack() as stack:
        progress("latency: starting ews serve (embedded PostgreSQL, bench rules and routes)")
        service = start_service(stack, name="latency", out=OUT, twilio_url=twilio_url, rules_file=BENCH_RULES,
                                # Each report its own incident: the bench counts one rise per report. Each
                                # rise its own message, at once (bench/routes_bench.toml).
                                extra_env={"EWS_INCIDENT_WINDOW": "0",
                                           "EWS_ROUTES_FILE": str(BENCH_ROUTES)})
        csv = OUT / "responders_bench.csv"
        csv.write_text(RESPONDERS_CSV)
        # With the service running, the import's own pgserver handle reuses the running server and leaves
        # it up when it exits.
        imported = service.run_cli("responders", "import", str(csv)).strip()
        progress(f"latency: {imported}; sending reports one at a time")
        postgres = asyncio.run(machine.postgres_version(service.database_url()))
        result = asyncio.run(latency.measure(service, twilio_url, min_samples=args.alerts,
                                             background=args.background))
        progress(f"latency: {len(result.samples)} samples, p95 {percentile(_latencies(result), 95) * 1e3:.1f} ms;"
                 " stopping the service")
    return LatencyPhase(result, postgres, imported)


# The webhook each channel's phase sends to, on the service and on the bare handler alike.
CHANNEL_PATHS = {"twilio": "/ingest/twilio/sms", "africastalking": f"/ingest/africastalking/sms?token={AT_TOKEN}"}


def run_throughput_phase(twilio_url: str, args: argparse.Namespace, settings: WrkSettings,
                         channel: str = "twilio") -> ThroughputPhase:
    """Phase 2 (phase 3 for AT) on its own service start and data dir; the bare server runs beside it.

    For AT, each acknowledged report also writes its receipt (a reporter contact and an outbox row) in
    the same statement, and the dispatcher sends it through AT's notifier to a fake AT API (its own
    process), as a deployment in Kenya would."""
    phase = ThroughputPhase(request_lines=args.requests)
    requests_file = OUT / f"requests_{channel}.txt"
    port = free_port()
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(1) as background:
        progress(f"throughput ({channel}): writing {args.requests:,} requests while ews serve starts")
        written = background.submit(write_request_file, requests_file, count=args.requests,
                                    auth_token=TWILIO_AUTH_TOKEN, public_url=f"http://127.0.0.1:{port}",
                                    channel=channel)
        extra = {"EWS_WORKERS": str(args.workers)}
        if channel == "africastalking":
            extra.update(EWS_AT_CALLBACK_TOKEN=AT_TOKEN, EWS_NOTIFIERS="africastalking_sms,twilio_sms",
                         EWS_AT_USERNAME=AT_USERNAME, EWS_AT_API_KEY=AT_API_KEY, EWS_AT_SENDER="40123",
                         EWS_AT_API_BASE=start_fake_at(stack, OUT))
        service = start_service(stack, name=f"throughput_{channel}", out=OUT, twilio_url=twilio_url,
                                rules_file=SERVICE_RULES, port=port, extra_env=extra)
        bare_url, bare = start_bare_server(stack, OUT, processes=args.bare_processes)
        pipeline_url, pipeline = start_pipeline_server(stack, OUT, public_url=service.public_url, at_token=AT_TOKEN)
        phase.bare_processes = args.bare_processes
        written.result()
        phase.service_settings = _settings_summary(service.env)
        meter = CpuMeter({
            "service": lambda: _with_workers(psutil.Process(service.proc.pid)),
            "postgres": service.postgres_processes,
            "bare": lambda: _with_workers(psutil.Process(bare.pid)),
            "pipeline": lambda: [psutil.Process(pipeline.pid)],
        })
        targets = {"bare": bare_url + CHANNEL_PATHS[channel], "pipeline": pipeline_url + CHANNEL_PATHS[channel],
                   "service": service.url + CHANNEL_PATHS[channel]}
        next_start = dict.fromkeys(TARGETS, 0)

        def wrk(target: str, label: str, duration: float) -> None:
            waited = throughput.wait_for_quiet() if label != "warm-up" else 0.0
            run = throughput.run_wrk(targets[target], requests_file, start=next_start[target], duration=duration,
                                     settings=settings, target=target, label=label,
                                     meter=None if label == "warm-up" else meter)
            run.quiet_wait = waited
            if target == "service":  # the bare and pipeline handlers store nothing: they may reuse requests
                next_start[target] = run.next_start
            phase.runs.append(run)
            progress(f"throughput ({channel}): {target:<7} {label:<7} {run.rps:9,.0f} req/s  p50 {run.p50_ms:6.2f} ms  "
                     f"p99 {run.p99_ms:6.2f} ms")

        for target in TARGETS:
            wrk(target, "warm-up", settings.warmup)
        for round_no in range(1, args.rounds + 1):
            for target in TARGETS:
                wrk(target, f"run {round_no}", settings.duration)
        time.sleep(0.5)  # requests cut off in flight finish their commit
        phase.table = asyncio.run(throughput.reports_table(service.database_url()))
        phase.rows = phase.table["rows"]
        progress(f"throughput: {phase.rows:,} rows for {phase.acknowledged:,} 200s; stopping the service")
    return phase


def _with_workers(process: psutil.Process) -> list[psutil.Process]:
    """`ews serve` and, with EWS_WORKERS > 1, its worker processes (not PostgreSQL, counted apart)."""
    children = [c for c in process.children(recursive=True) if "postgres" not in c.name()]
    return [process, *children]


def _settings_summary(env: dict[str, str]) -> str:
    shown = ("EWS_WORKERS", "EWS_NOTIFIERS", "EWS_LOG_LEVEL", "EWS_DB_POOL_SIZE", "EWS_INTAKE_BATCH_MAX",
             "EWS_EVAL_INTERVAL")
    return ", ".join(f"{k}={env[k]}" for k in shown if k in env) or "defaults"


def _latencies(result: LatencyResult) -> list[float]:
    return [s.latency for s in result.samples]


# --- RESULTS.md ---------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def render(facts: dict[str, str], gaz: GazetteerResult, lat: LatencyPhase, thr: ThroughputPhase,
           settings: WrkSettings, elapsed: float, *, min_samples: int, plc: PlacesResult,
           det: DetectorResult | None = None, at: ThroughputPhase | None = None,
           ussd_result: UssdResult | None = None) -> str:
    """RESULTS.md."""
    values = _latencies(lat.result)
    p95 = percentile(values, 95)
    lines = [
        "# EWS benchmark results",
        "",
        f"Written by `make bench` (`bench/run.py`); overwritten on every run. This run took {elapsed:.0f} s.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in facts.items()),
        f"| PostgreSQL | {lat.postgres} (embedded, pgserver) |",
        "",
        "## Summary",
        "",
        "| Measure | Result | Target | |",
        "|---|---|---|---|",
        f"| Acknowledgement throughput, service / bare handler | **{thr.ratio:.2f}x** "
        f"({thr.mean_rps('service'):,.0f} vs {thr.mean_rps('bare'):,.0f} req/s) | >= {THROUGHPUT_TARGET}x | "
        f"{_verdict(thr.ratio >= THROUGHPUT_TARGET)} |",
        f"| Request handling alone (the service's webhook pipeline, nothing stored) / bare handler | "
        f"**{thr.pipeline_ratio:.2f}x** ({thr.mean_rps('pipeline'):,.0f} req/s); so storing costs "
        f"{thr.ratio / thr.pipeline_ratio:.2f}x of it | (for reading the above) | |",
        f"| Acknowledgement latency under that load, service (bare) | p50 {thr.median_ms('service', 'p50_ms'):.2f} ms "
        f"({thr.median_ms('bare', 'p50_ms'):.2f}), p99 {thr.median_ms('service', 'p99_ms'):.2f} ms "
        f"({thr.median_ms('bare', 'p99_ms'):.2f}) | (for reading the above) | |",
        f"| Report-to-alert latency, p95 | **{_ms(p95)}** (p50 {_ms(percentile(values, 50))}, "
        f"max {_ms(max(values, default=float('nan')))}, n={len(values)}) | < {LATENCY_TARGET_S:g} s | "
        f"{_verdict(p95 < LATENCY_TARGET_S and len(values) >= min_samples)} |",
        f"| Service responses that were not 200, and socket errors | {thr.failures} | 0 | "
        f"{_verdict(thr.failures == 0)} |",
        f"| Rows in `reports` vs 200 responses | {thr.rows:,} rows, {thr.acknowledged:,} 200s | equal "
        f"(+ requests cut off in flight) | {_verdict(thr.rows_ok and not thr.repeated)} |",
        *([f"| Africa's Talking SMS acknowledgement throughput, service / bare handler | **{at.ratio:.2f}x** "
           f"({at.mean_rps('service'):,.0f} vs {at.mean_rps('bare'):,.0f} req/s; rounds "
           + ", ".join(f"{r:.2f}x" for r in at.round_ratios()) + f") | >= {THROUGHPUT_TARGET}x | "
           f"{_verdict(at.ratio >= THROUGHPUT_TARGET)} |",
           f"| AT: request handling alone / bare handler | **{at.pipeline_ratio:.2f}x** "
           f"({at.mean_rps('pipeline'):,.0f} req/s); storing and the receipt cost {at.ratio / at.pipeline_ratio:.2f}x "
           "of it | (for reading the above) | |",
           f"| AT: responses not 200 and socket errors; rows vs 200s | {at.failures}; {at.rows:,} rows, "
           f"{at.acknowledged:,} 200s | 0; equal | {_verdict(at.failures == 0 and at.rows_ok and not at.repeated)} |"]
          if at else []),
        f"| County matcher alone, whole corpus | **{gaz.total.matches_per_second:,.0f} matches/s** "
        f"({gaz.total.texts:,} texts) | (for reading the above) | |",
        *([f"| USSD screen latency, {ussd_result.sessions} concurrent sessions answering after "
           f"{ussd_result.think:g} s on average | **p50 "
           f"{ussd_result.p50_ms:.1f} ms, p99 {ussd_result.p99_ms:.1f} ms** ({len(ussd_result.screens):,} screens, "
           f"{ussd_result.errors} errors; `bench/ussd.py`) | p99 < "
           f"{ussd.TARGET_P99_MS:g} ms | {_verdict(ussd_result.met)} |"] if ussd_result else []),
        *([f"| Slowest detector over 47 counties x 3 years of daily counts | **{det.slowest.name}, "
           f"{det.slowest.seconds:.3f} s CPU** | < {detectors.TARGET_S:g} s each | {_verdict(det.ok)} |"]
          if det else []),
        f"| Place matcher (county, constituency, ward) per report | **{plc.resolve_us:.0f} µs** mean, "
        f"p99 {plc.resolve_p99_us:.0f} µs ({plc.ratio:.1f}x find_county) | < {PER_REPORT_TARGET_MS:g} ms | "
        f"{_verdict(max(plc.resolve_us, plc.resolve_p99_us) < PER_REPORT_TARGET_MS * 1000)} |",
        f"| Gazetteer in memory | **{max(plc.peak_mb, plc.rss_growth_mb):.1f} MB** | < {MEMORY_TARGET_MB:g} MB | "
        f"{_verdict(max(plc.peak_mb, plc.rss_growth_mb) < MEMORY_TARGET_MB)} |",
        "",
        *_throughput_section(thr, settings),
        *(["## Africa's Talking SMS", "", "The same runs against `POST /ingest/africastalking/sms?token=...` "
           "(AT's form, the token in the URL; the bare handler parses the same form and answers an empty 200). "
           "Each report the service acknowledges also has its receipt written in the same statement and sent "
           "by the dispatcher through AT's notifier to a fake AT API in its own process (`bench/fake_at_server.py`).",
           "", *(_for_at(line) for line in _throughput_section(at, settings)[2:])] if at else []),
        *_latency_section(lat),
        *_gazetteer_section(gaz),
        *(detectors.section(det) if det else []),
        *_places_section(plc),
    ]
    return "\n".join(lines) + "\n"


def _for_at(line: str) -> str:
    """A line of the throughput section, worded for the AT phase."""
    return (line.replace("Twilio's inbound-SMS form with a new MessageSid, a distinct sender and a valid "
                         "X-Twilio-Signature (pre-signed", "AT's inbound-SMS form with a new id and a distinct sender "
                         "(pre-generated")
            .replace("replies a TwiML receipt", "answers an empty 200"))


def _throughput_section(thr: ThroughputPhase, settings: WrkSettings) -> list[str]:
    rows = []
    for run in thr.runs:
        cores = " / ".join(f"{run.cores.get(k, 0):.2f}" for k in CPU_COLUMNS) if run.cores else "-"
        errors = sum(run.socket_errors.values())
        per_request = f"{run.cores[run.target] / run.rps * 1e6:.0f} µs" if run.cores and run.rps else "-"
        waited = f"{run.quiet_wait:.1f} s" if run.label != "warm-up" else "-"
        rows.append(f"| {run.target} | {run.label} | {waited} | {run.rps:,.0f} | {run.p50_ms:.2f} ms | "
                    f"{run.p99_ms:.2f} ms | {run.completed:,} | {run.non2xx} | {errors} | {cores} | {per_request} |")
    extra = thr.rows - thr.acknowledged
    return [
        "## Acknowledgement throughput",
        "",
        f"`wrk -t{settings.threads} -c{settings.connections} -d{settings.duration:g}s --latency "
        "-s bench/wrk_signed.lua URL`, after a "
        f"{settings.warmup:g} s warm-up of each, bare, pipeline and service in turn. Every request to the service "
        "is Twilio's inbound-SMS form with a new MessageSid, a distinct sender and a valid X-Twilio-Signature "
        f"(pre-signed, {thr.request_lines:,} lines), so each one is a real INSERT. The service runs on its "
        f"own fresh embedded PostgreSQL with the repository's `rules.toml` ({thr.service_settings}); the "
        f"bare handler (`bench/bare_server.py`, {thr.bare_processes} process(es)) reads the same form with "
        "`ingest.form.read_form` and "
        "replies a TwiML receipt, storing nothing. The pipeline (`bench/pipeline_server.py`) is the service's "
        "own channel code (signature check, parsing, `ews.intake.enrich.receive`, the answer) on an inbox "
        "that answers without storing: service / bare = (pipeline / bare) x (service / pipeline). "
        "All processes share the machine's cores.",
        "",
        "| Target | Run | Waited for quiet | Requests/s | p50 | p99 | Responses | Non-2xx | Socket errors "
        f"| CPU cores used: {' / '.join(CPU_COLUMNS)} | Python CPU per request |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        *rows,
        "",
        f"Mean of the measured runs: bare **{thr.mean_rps('bare'):,.0f} req/s**, pipeline "
        f"**{thr.mean_rps('pipeline'):,.0f} req/s** ({thr.pipeline_ratio:.2f}x), service "
        f"**{thr.mean_rps('service'):,.0f} req/s**, ratio **{thr.ratio:.2f}x** (target >= {THROUGHPUT_TARGET}x).",
        "",
        "Service / bare within each round (the two measured seconds apart, so slow drifts in the machine's "
        "speed touch both): " + ", ".join(f"{r:.2f}x" for r in thr.round_ratios())
        + f"; median {statistics.median(thr.round_ratios()):.2f}x. The headline above is the ratio of means.",
        "",
        f"Rows check (all service runs, warm-up included): {thr.acknowledged:,} 200 responses read by wrk, "
        f"{thr.rows:,} rows in `reports` ({extra:+,}); {thr.cut_off} requests were still in flight when wrk "
        "stopped, which the service may have stored without wrk reading the 200. "
        + ("Every 200 is a row and nothing else was stored. " if thr.rows_ok else "**Mismatch.** ")
        + ("**wrk ran out of distinct requests: raise --requests.**" if thr.repeated else
           "No request was repeated."),
        "",
        f"PostgreSQL's statistics for `reports` after the runs: {thr.table.get('seq_scan', 0):,} sequential "
        f"scans that read {thr.table.get('seq_tup_read', 0):,} rows in all, {thr.table.get('idx_scan', 0):,} index "
        f"scans, analyzed {thr.table.get('analyzes', 0)} time(s). Sequential scans here mean some statement reads "
        "the whole table per execution, so its cost grows with the table.",
        "",
        "Before each measured run the bench waits (up to 30 s) until the whole machine uses under 0.15 of a "
        "core: after a service run PostgreSQL vacuums and checkpoints for a while, and whatever ran next "
        "would otherwise be measured on a partly taken machine. *Waited for quiet* is how long that took.",
        "",
        "CPU cores are CPU seconds per wall second while wrk was sending, from /proc (psutil); postgres "
        "counts the postmaster and its children alive at the end of the run; other is the rest of the "
        "machine's busy time (other jobs), steal the time the hypervisor took. Python CPU per request is the "
        "target process's CPU time divided by the requests it answered.",
        "",
    ]


def _latency_section(lat: LatencyPhase) -> list[str]:
    result = lat.result
    values = _latencies(result)
    stage_rows = [f"| {name} | {_ms(percentile(v, 50))} | {_ms(percentile(v, 95))} | {_ms(max(v, default=0))} |"
                  for name, v in result.stages.items()]
    settle = ", ".join(f"{s:.1f} s" for s in result.settle_seconds) or "-"
    return [
        "## Report-to-alert latency",
        "",
        "Measured first, on its own service start and fresh data dir (so phase 2's rows do not weigh on it), "
        "with `bench/rules_bench.toml` (WATCH/WARNING/ALERT at 1/2/3 reports in the day; between passes a fresh "
        "version with thresholds 3 higher per pass is activated), "
        "the default `EWS_EVAL_INTERVAL` (15 s), and one national responder imported with "
        f"`ews responders import` while the service ran (`{lat.imported}`). Reports are sent one at a time, "
        "each after the previous alert SMS arrived; each raises its county one level, so each produces "
        "exactly one SMS. Alerts reach people through the notification planner and `bench/routes_bench.toml` "
        "(every alert to the national responder by SMS, `group_wait` and `group_interval` 0, so each rise is "
        "its own message). Latency = arrival at the fake Twilio (its time.time()) minus the moment the "
        "webhook's 200 reply was read by the client (the report is committed before that 200).",
        "",
        f"Background load meanwhile: {result.background_rate:g} reports/s asked for, "
        f"{result.background_sent / result.background_seconds if result.background_seconds else 0:.0f}/s "
        f"achieved ({result.background_sent:,} answered 200, {result.background_failed} not) over "
        f"{result.background_seconds:.0f} s: signed Twilio SMS from distinct senders about counties 41-47, "
        "which no bench rule covers (each is stored, placed, classified and counted in the series like any "
        "report; none raises a level).",
        "",
        f"Example alert SMS: `{result.example_sms}`",
        "",
        "| Samples | p50 | p95 | max | Misses | Duplicate SMS |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {len(values)} | {_ms(percentile(values, 50))} | {_ms(percentile(values, 95))} | "
        f"{_ms(max(values, default=float('nan')))} | {len(result.misses)} | {result.unexpected_rises} |",
        "",
        f"{result.reports_sent} reports in {result.passes} pass(es) over counties 1-40 ({result.seconds:.0f} s); "
        f"fresh rules versions activated between passes in: {settle}; {result.resolutions} "
        "'back to NORMAL' SMS ignored.",
        *([""] + [f"- miss: {m}" for m in result.misses[:20]] if result.misses else []),
        "",
        "Where the time goes (service timestamps from the database: `level_transitions.at` is the evaluator's "
        "clock at the evaluation that raised the level, `outbox.created_at` the planner's when it planned the "
        "message, `deliveries.created_at` when the dispatcher expanded it; the first stage is negative when "
        "the evaluation started before the 200 reached the client):",
        "",
        "| Stage | p50 | p95 | max |",
        "|---|---:|---:|---:|",
        *stage_rows,
        "",
    ]


def _gazetteer_section(gaz: GazetteerResult) -> list[str]:
    return [
        "## County matcher alone",
        "",
        "`rules.gazetteer.find_county` in the bench process, before any server starts, over a fixed corpus "
        "(`bench/gazetteer.py`): every report template of `bench/signed_forms.py` with every county's name, "
        "the same with a one-letter typo in the name, and full-length reports naming no county (where every "
        "word goes through the misspelling search). Each text is checked to give its county first.",
        "",
        "| Texts | Count | Matches/s |",
        "|---|---:|---:|",
        *(f"| {kind.name} | {kind.texts:,} | {kind.matches_per_second:,.0f} |" for kind in [*gaz.kinds, gaz.total]),
        "",
    ]


def _places_section(plc: PlacesResult) -> list[str]:
    return [
        "## Place matcher and gazetteer",
        "",
        "`rules.gazetteer.resolve_place` and `find_county` in the bench process on one fixed corpus "
        f"(`bench/places.py`, {plc.texts:,} texts: every ward's name in a report template, every county's name, "
        "a typo of each, and full-length reports naming no place), after one warm pass; mean per text is the best "
        "of five passes. Memory is measured in a fresh interpreter after its imports: the Python objects the "
        "gazetteer builds (tracemalloc) and the growth of resident memory.",
        "",
        "| Measure | Value |",
        "|---|---:|",
        f"| resolve_place, mean per text | {plc.resolve_us:.1f} µs |",
        f"| resolve_place, p99 / slowest single text | {plc.resolve_p99_us:.0f} / {plc.resolve_worst_us:.0f} µs |",
        f"| find_county (county only), mean per text | {plc.find_county_us:.1f} µs |",
        f"| ratio | {plc.ratio:.2f}x |",
        f"| gazetteer objects (tracemalloc current / peak) | {plc.traced_mb:.1f} / {plc.peak_mb:.1f} MB |",
        f"| resident memory growth while building it | {plc.rss_growth_mb:.1f} MB |",
        "",
    ]


# --- main ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Benchmark the EWS service; writes bench/RESULTS.md.")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of wrk warm-up per target")
    parser.add_argument("--rounds", type=int, default=3, help="bare/service pairs of measured runs")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=600_000, help="distinct signed requests to pre-generate")
    parser.add_argument("--alerts", type=int, default=200, help="latency samples to collect (at least)")
    parser.add_argument("--background", type=float, default=200.0,
                        help="other reports a second posted during the latency phase (default 200)")
    parser.add_argument("--wrk", default="wrk", help="the wrk binary")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target or check fails")
    parser.add_argument("--skip-history", action="store_true",
                        help="leave out bench/history.py (import of 100,000 ACLED rows, partner API batches)")
    parser.add_argument("--workers", type=int, default=1, help="EWS_WORKERS for the service in the throughput phase")
    parser.add_argument("--bare-processes", type=int, default=1,
                        help="processes for the bare handler (to compare like for like with --workers)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the results")
    return parser.parse_args(argv)


def _terminate(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds the ExitStacks, so every subprocess is stopped


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and write RESULTS.md."""
    args = parse_args(argv)
    wrk = shutil.which(args.wrk)
    if wrk is None:
        print(f"{args.wrk} not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    settings = WrkSettings(wrk=wrk, threads=args.threads, connections=args.connections, duration=args.duration,
                           warmup=args.warmup)
    OUT.mkdir(parents=True, exist_ok=True)
    facts = machine.facts(wrk)
    load_before = machine.load_average()
    progress("gazetteer: find_county over the fixed corpus")
    gaz = gazetteer.measure()
    progress(f"gazetteer: {gaz.total.matches_per_second:,.0f} matches/s over {gaz.total.texts:,} texts")
    progress("detectors: each over 47 counties x 3 years of daily counts")
    det = detectors.measure()
    progress(f"detectors: slowest {det.slowest.name}, {det.slowest.seconds:.3f} s CPU")
    progress("places: resolve_place over the fixed corpus, and the gazetteer's memory")
    plc = places.measure()
    progress(f"places: {plc.resolve_us:.0f} µs per report, gazetteer {max(plc.peak_mb, plc.rss_growth_mb):.1f} MB")
    progress("classifier: load, classification alone, and the stage (with EWS_BENCH_DATABASE_URL)")
    cls = classify.measure(database_url=os.environ.get("EWS_BENCH_DATABASE_URL"))
    with contextlib.ExitStack() as stack:
        twilio_url = start_fake_twilio(stack, OUT)
        lat = run_latency_phase(twilio_url, args)
        thr = run_throughput_phase(twilio_url, args, settings)
        at = run_throughput_phase(twilio_url, args, settings, channel="africastalking")
    progress("ussd: 64 concurrent sessions walking the menu")
    ussd_result, ussd_at_once = ussd.measure(sessions=64, rounds=10)
    progress(ussd.summary(ussd_result))
    progress(ussd.summary(ussd_at_once))
    facts["Load average 1/5/15 min (start; end)"] = f"{load_before}; {machine.load_average()}"
    text = render(facts, gaz, lat, thr, settings, time.monotonic() - _started, min_samples=args.alerts, plc=plc,
                  det=det, at=at, ussd_result=ussd_result)
    text += f"\nUSSD without a pause between screens (64 requests always in flight): {ussd.summary(ussd_at_once)}\n"
    text += "\n" + "\n".join(classify.section(cls))
    args.results.write_text(text)
    print(text)
    progress(f"wrote {args.results}")
    history_failed = 0
    if not args.skip_history:
        from bench import history

        progress("history: ews import of generated ACLED rows, partner API batches of 500")
        history_failed = history.main(["--strict"] if args.strict else [])
    values = _latencies(lat.result)
    passed = (not history_failed and thr.ratio >= THROUGHPUT_TARGET and thr.failures == 0 and thr.rows_ok
              and not thr.repeated and at.ratio >= THROUGHPUT_TARGET and at.failures == 0 and at.rows_ok
              and not at.repeated and len(values) >= args.alerts and percentile(values, 95) < LATENCY_TARGET_S
              and det.ok and plc.met and ussd_result.met)
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
