"""Where the service's CPU goes under the throughput load: py-spy on `ews serve` while wrk runs.

Not part of `make bench`. Needs py-spy in the venv (`.venv/bin/pip install py-spy`). Starts the same
stack as the throughput phase (fake Twilio, service on a fresh embedded PostgreSQL, repository rules),
runs wrk while py-spy samples the service's event loop (idle samples included) for --duration seconds,
and prints the share of samples by activity (signature check, county matching, database, ...) and the
busiest functions. Raw stacks: bench/out/profile.txt.

    .venv/bin/python bench/profile_service.py [--duration 20]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import throughput
from bench.procs import BIN, REPO, TWILIO_AUTH_TOKEN, free_port, start_fake_twilio, start_service
from bench.signed_forms import write_request_file

OUT = REPO / "bench" / "out"
LOAD_SECONDS = 3.0  # wrk loads its request file before it sends; py-spy starts after that


# Buckets for the event loop's samples: the first bucket with a frame containing one of its markers wins.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("idle: waiting in epoll", ("EpollSelector.select",)),
    ("signature check (KeyedRequestValidator, twilio RequestValidator)", ("TwilioSms._signed",)),
    ("read_form (the bare handler does this too)", ("read_form ",)),
    ("understand(): county, language, redaction, sender hash", ("understand ",)),
    ("TwiML receipt", ("TwilioSms.ack",)),
    ("intake writer: batch INSERT through asyncpg", ("IntakeWriter._write", "IntakeWriter._run")),
    ("intake submit(): queue and future", ("IntakeWriter.submit",)),
    ("evaluator", ("Evaluator.", "evaluate_count")),
    ("dispatcher", ("ews/dispatch.py",)),
    ("writing the HTTP response (the bare handler does this too)", ("finish_response",)),
    ("aiohttp request parsing and routing (the bare handler does this too)",
     ("data_received", "RequestHandler.start", "_handle_request", "Application._handle")),
)


def summarise(raw: Path, top: int) -> str:
    """Sample shares by bucket, then the functions with the most inclusive samples, from py-spy's raw stacks."""
    buckets: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        bucket = next((name for name, markers in BUCKETS if any(m in stack for m in markers)), "other")
        buckets[bucket] += count
        for frame in set(stack.split(";")):
            inclusive[frame] += count
    lines = [f"{total} samples of the service's event loop thread (idle included), by what it was doing:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in buckets.most_common()]
    lines += ["", "functions with the most samples, inclusive (the function and what it calls):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    """Profile once and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--requests", type=int, default=200_000)
    args = parser.parse_args()
    py_spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if py_spy is None:
        print("py-spy not found: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / "profile.txt"
    requests_file = OUT / "profile_requests.txt"
    port = free_port()
    write_request_file(requests_file, count=args.requests, auth_token=TWILIO_AUTH_TOKEN,
                       public_url=f"http://127.0.0.1:{port}")
    with contextlib.ExitStack() as stack:
        twilio_url = start_fake_twilio(stack, OUT)
        service = start_service(stack, name="profile", out=OUT, twilio_url=twilio_url,
                                rules_file=REPO / "rules.toml", port=port)
        with ThreadPoolExecutor(1) as background:
            load = background.submit(throughput.run_wrk, service.url + "/ingest/twilio/sms", requests_file, start=0,
                                     duration=args.duration + 2, settings=throughput.WrkSettings(),
                                     target="service", label="profile")
            time.sleep(LOAD_SECONDS)
            subprocess.run([py_spy, "record", "--pid", str(service.proc.pid), "--duration", str(args.duration),
                            "--rate", "100", "--idle", "--format", "raw", "--output", str(raw)],
                           stdout=subprocess.DEVNULL, check=True, timeout=args.duration + 60)
            run = load.result()
    print(f"service under wrk: {run.rps:,.0f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms\n")
    print(summarise(raw, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
