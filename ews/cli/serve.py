"""Run the HTTP service until SIGINT/SIGTERM: in one process, or in several that share the port."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import threading

from aiohttp import web

from ews.core.logs import configure_logging
from ews.core.settings import Settings
from ews.db.migrate import apply_migrations
from ews.db.pool import create_pool
from ews.db.repo import service_keys

log = logging.getLogger("ews")


def banner(settings: Settings) -> str:
    """What to try next, printed once the service listens."""
    base = f"http://{settings.host}:{settings.port}"
    workers = f", {settings.workers} worker processes" if settings.workers > 1 else ""
    return f"""
EWS is running on {base}{workers}  (Ctrl-C stops it; data is kept)
  health:     curl {base}/healthz
  counties:   curl {base}/api/v1/counties
  alerts:     curl {base}/api/v1/alerts
  responders: .venv/bin/ews responders import responders.sample.csv
  try it:     .venv/bin/ews simulate --url {base} --minutes 1
"""


async def serve_until_signalled(settings: Settings, *, reuse_port: bool = False, announce: bool = True) -> None:
    """Serve `settings` in this process until SIGINT or SIGTERM, then shut down cleanly."""
    from ews.web.app import create_app  # here: the app's engine loads numpy, which other commands never need

    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port or None).start()
    if announce:
        print(banner(settings), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()


def run(settings: Settings) -> int:
    """Serve with EWS_WORKERS processes; the exit status (non-zero if a worker died on its own)."""
    if settings.workers <= 1:
        asyncio.run(serve_until_signalled(settings))
        return 0
    from ews.web.app import check_settings  # see serve_until_signalled

    check_settings(settings)  # here, not in each worker: one clear message instead of a crash per worker
    asyncio.run(migrate(settings, keys=True))  # once, before the workers race for the lock at start-up
    context = multiprocessing.get_context("spawn")  # no inherited event loop, pool or sockets
    workers = [context.Process(target=_worker, args=(settings,), name=f"ews-worker-{i}", daemon=False)
               for i in range(settings.workers)]
    for worker in workers:
        worker.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    print(banner(settings), flush=True)
    while not stop.is_set() and all(w.is_alive() for w in workers):
        stop.wait(0.5)
    crashed = not stop.is_set()
    if crashed:
        log.error("a worker process exited on its own; stopping the others")
    for worker in workers:
        if worker.is_alive():
            worker.terminate()  # SIGTERM: the worker finishes in-flight requests and closes its pool
    for worker in workers:
        worker.join(30)
        if worker.is_alive():
            worker.kill()
    return 1 if crashed else 0


def _worker(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.secrets())
    asyncio.run(serve_until_signalled(settings, reuse_port=True, announce=False))


async def migrate(settings: Settings, *, keys: bool = False) -> list[str]:
    """Apply pending migrations to the settings' database; with `keys`, also refuse keys it was not filled with."""
    assert settings.database_url
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            applied = await apply_migrations(conn)
            if keys:
                assert settings.sender_key and settings.contact_key
                await service_keys.check_keys(conn, sender_key=settings.sender_key,
                                              contact_key=settings.contact_key)
            return applied
    finally:
        await pool.close()
