"""CPU per report of the intake path alone: understand(), the group-commit writer and its futures.

Not part of `make bench`. Submits distinct reports from 64 concurrent callers straight to an
`IntakeWriter` on a real PostgreSQL (no HTTP), in a scratch database it creates and drops, and prints this
process's CPU time per report and the wall time per report.

    .venv/bin/python bench/intake_cpu.py [--server postgresql://postgres@127.0.0.1:5432/postgres] [--reports 30000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
import urllib.parse
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.signed_forms import report_text
from ews.core.clock import utcnow
from ews.core.models import ReportIn
from ews.db.migrate import apply_migrations
from ews.db.pool import create_pool
from ews.intake.writer import IntakeWriter
from rules.gazetteer import COUNTIES

SCRATCH = "ews_bench_intake_cpu"
CALLERS = 64


async def measure(server: str, reports: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per report."""
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
        await admin.execute(f"CREATE DATABASE {SCRATCH}")
        url = urllib.parse.urlsplit(server)._replace(path="/" + SCRATCH).geturl()
        pool = await create_pool(url, max_size=10)
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        writer = IntakeWriter(pool, sender_key="bench-intake-key-" + "0" * 24)
        writer.start()
        numbers = itertools.count()

        async def caller() -> None:
            while (i := next(numbers)) < reports:
                await writer.submit(ReportIn("twilio_sms", f"SM{i:032d}", report_text(i // 47, COUNTIES[i % 47]),
                                             sender=f"+2547{i:08d}", received_at=utcnow()))

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await writer.stop()
        await pool.close()
        return cpu / reports, wall / reports
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        await admin.close()


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("EWS_TEST_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--reports", type=int, default=30_000)
    args = parser.parse_args()
    cpu, wall = asyncio.run(measure(args.server, args.reports))
    print(f"{args.reports} reports, {CALLERS} concurrent callers: {cpu * 1e6:.1f} µs CPU and "
          f"{wall * 1e6:.1f} µs wall per report")


if __name__ == "__main__":
    main()
