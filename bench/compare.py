"""Paired A/B runs: the signed-webhook throughput of two or more builds of the service, side by side.

Not part of `make bench`. Each target is `ews serve` from a git revision (checked out into a temporary
worktree and run with this venv's packages) or from this tree with extra settings; `bare` is the bare
handler. All targets share one embedded PostgreSQL (a database each) and the same pre-signed requests.
Each round runs every target in turn, after waiting for a quiet machine, so slow drifts in the machine's
speed touch all of them; the table gives each target's requests/s, its Python CPU per request and
PostgreSQL's CPU per request, and the ratio of means to the first target.

    .venv/bin/python bench/compare.py bare before=rev:06ca3ca after=rev:HEAD [--rounds 3] [--duration 8]
    .venv/bin/python bench/compare.py one=env:EWS_INTAKE_WRITERS=1 four=env:EWS_INTAKE_WRITERS=4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import REPO, TWILIO_AUTH_TOKEN, Proc, free_port, start, start_bare_server, wait_http
from bench.signed_forms import write_request_file
from bench.throughput import WrkSettings, run_wrk, wait_for_quiet
from ews.cli.embedded import EmbeddedPostgres
from ews.core.privacy import ContactCipher

PUBLIC_URL = "http://127.0.0.1:8080"  # what every request is signed for; each target is told it is this URL
WEBHOOK = "/ingest/twilio/sms"


@dataclass
class Target:
    """One build under test and what it measured."""

    name: str
    spec: str  # "bare", "rev:REV" or "env:K=V,K=V"
    url: str = ""
    proc: Proc | None = None
    rps: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    postgres_us: list[float] = field(default_factory=list)


def parse_target(text: str) -> Target:
    """NAME=SPEC, or just `bare`."""
    name, _, spec = text.partition("=")
    if not spec:
        if name != "bare":
            raise SystemExit(f"target {text!r}: expected NAME=rev:REV, NAME=env:K=V,... or bare")
        spec = "bare"
    if spec != "bare" and not spec.startswith(("rev:", "env:")):
        raise SystemExit(f"target {text!r}: SPEC must be bare, rev:REV or env:K=V,...")
    return Target(name, spec)


def service_command(source: Path) -> list[str]:
    """`ews serve` from the source tree `source`, with this interpreter's packages."""
    code = (f"import sys; sys.path.insert(0, {str(source)!r}); from ews.cli.main import main; "
            "sys.exit(main(['serve']))")
    return [sys.executable, "-c", code]


def worktree(stack: contextlib.ExitStack, revision: str, scratch: Path) -> Path:
    """A checkout of `revision` under `scratch`, removed when `stack` closes."""
    path = scratch / f"rev-{len(list(scratch.iterdir()))}"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(path), revision], cwd=REPO, check=True)
    stack.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(path)], cwd=REPO, check=False)
    return path


async def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create database `name`; its URL."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.replace("/postgres?", f"/{name}?", 1)


def start_target(stack: contextlib.ExitStack, target: Target, index: int, admin_url: str, scratch: Path) -> None:
    """Start `target` and wait until it answers."""
    if target.spec == "bare":
        target.url, target.proc = start_bare_server(stack, scratch)
        return
    source, extra = REPO, {}
    if target.spec.startswith("rev:"):
        source = worktree(stack, target.spec[4:], scratch)
    else:
        extra = dict(pair.split("=", 1) for pair in target.spec[4:].split(",") if pair)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EWS_")}
    env.update({
        "EWS_DATABASE_URL": asyncio.run(fresh_database(admin_url, f"compare_{index}")),
        "EWS_HOST": "127.0.0.1", "EWS_PORT": str(port), "EWS_PUBLIC_URL": PUBLIC_URL,
        "EWS_LOG_LEVEL": "WARNING", "EWS_SENDER_KEY": os.urandom(32).hex(),
        "EWS_CONTACT_KEY": ContactCipher.new_key(), "EWS_RULES_FILE": str(REPO / "rules.toml"),
        "EWS_TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN, **extra,
    })
    target.proc = start(stack, Proc(f"ews serve ({target.name})", service_command(source),
                                    scratch / f"{target.name}.log", env))
    target.url = f"http://127.0.0.1:{port}"
    wait_http(target.url + "/healthz", target.proc, timeout=120)


def postgres_cpu(server: psutil.Process) -> float:
    """CPU seconds of the postmaster and its children."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        for process in [server, *server.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
    return total


def measure(targets: list[Target], requests: Path, postmaster: psutil.Process, args: argparse.Namespace) -> None:
    """Warm every target up, then run the rounds; fills each target's figures."""
    settings = WrkSettings(connections=args.connections)
    start_line = 0
    for round_no in range(args.rounds + 1):
        for target in targets:
            assert target.proc is not None
            wait_for_quiet()
            process = psutil.Process(target.proc.pid)
            cpu_before, pg_before = sum(process.cpu_times()[:2]), postgres_cpu(postmaster)
            run = run_wrk(target.url + WEBHOOK, requests, start=start_line, duration=args.duration if round_no
                          else 3.0, settings=settings, target=target.name, label=f"round {round_no}")
            start_line = run.next_start  # every service request stays a new MessageSid
            if run.non2xx or run.other:
                raise RuntimeError(f"{target.name} answered {run.non2xx + run.other} requests with non-200")
            if round_no == 0:
                continue  # warm-up
            done = max(run.completed, 1)
            target.rps.append(run.rps)
            target.cpu_us.append((sum(process.cpu_times()[:2]) - cpu_before) / done * 1e6)
            target.postgres_us.append((postgres_cpu(postmaster) - pg_before) / done * 1e6)
            print(f"round {round_no}  {target.name:<12} {run.rps:9,.0f} req/s  {target.cpu_us[-1]:6.1f} µs CPU/req  "
                  f"{target.postgres_us[-1]:6.1f} µs PostgreSQL/req", flush=True)


def report(targets: list[Target]) -> None:
    """The summary table: means, and the ratio to the first target."""
    base = sum(targets[0].rps)
    print("\n| Target | Spec | Requests/s (mean) | Ratio to first | Python CPU/request | PostgreSQL CPU/request |")
    print("|---|---|---:|---:|---:|---:|")
    for t in targets:
        n = len(t.rps)
        print(f"| {t.name} | `{t.spec}` | {sum(t.rps) / n:,.0f} | {sum(t.rps) / base:.2f}x | "
              f"{sum(t.cpu_us) / n:.1f} µs | {sum(t.postgres_us) / n:.1f} µs |")


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="+", help="bare, NAME=rev:REV or NAME=env:K=V,...")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measured wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=400_000, help="distinct signed requests to pre-generate")
    args = parser.parse_args(argv)
    targets = [parse_target(t) for t in args.targets]
    if len({t.name for t in targets}) != len(targets):
        raise SystemExit("target names must differ")
    with tempfile.TemporaryDirectory(prefix="ews-compare-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        (scratch / "trees").mkdir()
        requests = write_request_file(scratch / "requests.txt", count=args.requests, auth_token=TWILIO_AUTH_TOKEN,
                                      public_url=PUBLIC_URL)
        postgres = EmbeddedPostgres(scratch / "pg")
        admin_url = postgres.start()
        stack.callback(postgres.stop)
        postmaster = psutil.Process(int((postgres.pgdata / "postmaster.pid").read_text().split()[0]))
        for index, target in enumerate(targets):
            start_target(stack, target, index, admin_url, scratch / "trees")
        measure(targets, requests, postmaster, args)
    report(targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
