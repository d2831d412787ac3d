"""The incident-type classifier: model load time and size, classification alone, and the stage with its database.

1. Load: `load_model` (hash check, type check, skops) after scikit-learn and skops are imported, so the
   figure is the model's own cost; and the file's size.
2. Classification alone: `classify_batch` (the model, the decisions, severity) over a fixed set of SMS
   texts in batches of the stage's size, in reports per second and ms per report.
3. The stage: that many reports inserted unclassified into a scratch database, then
   `ClassificationStage.drain()` (claim, classify, store, group into incidents), in reports per second.
   Needs a PostgreSQL server (`--database-url`, or EWS_BENCH_DATABASE_URL for `make bench`).

Run alone: `.venv/bin/python -m bench.classify --database-url postgresql://postgres@127.0.0.1:5432/postgres`
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ews.core.settings import Settings
from ews.db.repo.classification import Pending
from ews.understand.artifact import load_model
from ews.understand.stage import ClassificationStage, classify_batch

TARGET_PER_SECOND = 1000
BATCH = Settings().classify_batch

TEXTS = (
    "Vijana 50 wamebeba mapanga wanashambulia nyumba Kondele, watu 3 wamejeruhiwa",
    "maze msee amezimwa na mbogi Kayole jana usiku",
    "pls help raiders wameiba ng'ombe 200 Kapedo this morning",
    "Houses are being burnt at Londiani, families are fleeing to the police station",
    "Mgombea amesema majirani ni madoadoa lazima waondolewe",
    "They are paying voters 500 bob at the polling station gate",
    "msichana amebakwa karibu na mto, yuko hospitali",
    "peace meeting ya wazee leo Kainuk, all calm",
    "habari yako, namba hii ni ya nini",
    "Maandamano yanaendelea mjini Kisumu, polisi wanarusha vitoa machozi",
    "Youths armed with machetes attacked traders at the market this morning; several people were injured and"
    " houses are burning. Please send police quickly, we are hiding in the church and the children are afraid",
)


@dataclass(frozen=True, slots=True)
class ClassifyResult:
    """The figures of one run."""

    version: str
    size_mb: float
    load_s: float
    reports: int
    alone_per_s: float
    stage_per_s: float | None  # None: no database given


def _pending(n: int) -> list[Pending]:
    now = datetime.now(UTC)
    texts = itertools.cycle(TEXTS)
    return [Pending(i, next(texts), None, None, None, False, 42, None, None, now) for i in range(n)]


def measure(*, database_url: str | None, reports: int = 20_000, model_file: Path | None = None) -> ClassifyResult:
    """Load, classify alone, and (with a database) the whole stage."""
    import sklearn  # noqa: F401 - imported before the clock starts: the import is not the model's cost
    import skops.io  # noqa: F401

    model_file = model_file or Settings().model_file
    started = time.perf_counter()
    pipeline, manifest = load_model(model_file)
    load_s = time.perf_counter() - started
    pending = _pending(reports)
    classify_batch(pipeline, pending[:BATCH], review_below=0.6)  # warm-up
    started = time.perf_counter()
    for i in range(0, len(pending), BATCH):
        classify_batch(pipeline, pending[i:i + BATCH], review_below=0.6)
    alone = len(pending) / (time.perf_counter() - started)
    stage = asyncio.run(_stage(database_url, pipeline, manifest.version, reports)) if database_url else None
    return ClassifyResult(manifest.version, manifest.size_bytes / 1e6, load_s, reports, alone, stage)


async def _stage(server_url: str, pipeline: Any, version: str, n: int) -> float:
    import asyncpg

    from ews.db.migrate import apply_migrations
    from ews.db.pool import create_pool

    name = f"ews_bench_classify_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + "/" + name
    try:
        pool = await create_pool(url, max_size=4)
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn)
                now = datetime.now(UTC)
                texts = itertools.cycle(TEXTS)
                # A few senders and places, so incidents form and are recounted as in real use.
                await conn.executemany(
                    "INSERT INTO reports (source, external_id, channel, body, sender_hash, county_code, language,"
                    " received_at) VALUES ('bench', $1, 'twilio_sms', $2, $3, $4, 'en', $5)",
                    [(str(i), next(texts), f"sender-{i % 500}", 1 + i % 47, now - timedelta(seconds=n - i))
                     for i in range(n)])
            stage = ClassificationStage(pool, pipeline, model_version=version, review_below=0.6,
                                        incident_window=timedelta(hours=2), batch=BATCH)
            started = time.perf_counter()
            done = await stage.drain()
            elapsed = time.perf_counter() - started
            assert done == n, (done, n)
            return n / elapsed
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def section(result: ClassifyResult) -> list[str]:
    """The RESULTS.md section."""
    stage = (f"**{result.stage_per_s:,.0f} reports/s** ({1000 / result.stage_per_s:.2f} ms per report)"
             if result.stage_per_s else "not measured (no EWS_BENCH_DATABASE_URL)")
    return [
        "## Incident-type classifier",
        "",
        f"Model {result.version}, {result.size_mb:.1f} MB (`bench/classify.py`), over {result.reports:,} reports "
        f"in batches of {BATCH}.",
        "",
        "| Measure | Result | Target |",
        "|---|---|---|",
        f"| Model load (hash check, type check, skops; scikit-learn already imported) | {result.load_s:.2f} s "
        "| < 1 s |",
        f"| Model file size | {result.size_mb:.1f} MB | < 100 MB |",
        f"| Classification alone (model, decisions, severity) | {result.alone_per_s:,.0f} reports/s "
        f"({1000 / result.alone_per_s:.2f} ms per report) | < 1 ms per report |",
        f"| The stage with its database (claim, classify, store, group) | {stage} | >= {TARGET_PER_SECOND:,}/s |",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the classifier's figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", default=os.environ.get("EWS_BENCH_DATABASE_URL"),
                        help="a PostgreSQL server to create a scratch database on (for the stage figure)")
    parser.add_argument("--reports", type=int, default=20_000)
    args = parser.parse_args(argv)
    print("\n".join(section(measure(database_url=args.database_url, reports=args.reports))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
