"""`ews backtest --source database`: the reports of the database, as `ews export --format ews` writes them,
streamed into the backtest (which reads a plain iterator) through a bounded queue, never all in memory."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from ews.core.clock import utcnow
from ews.core.models import KENYA_TIME
from ews.core.settings import Settings
from ews.db.pool import create_pool
from ews.db.repo.export import ExportFilter, stream_reports

_BUFFER = 5000  # report objects read ahead of the backtest


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def days_filter(first: date | None, last: date | None) -> ExportFilter:
    """Every report (sensitive ones too: a backtest counts them, and the read is audited) that happened on the
    Kenya days `first` .. `last`, inclusive; None leaves that end open."""
    start = datetime.combine(first, time(), KENYA_TIME) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), KENYA_TIME) if last else None
    return ExportFilter(start=start, end=end, include_sensitive=True)


def database_reports(settings: Settings, which: ExportFilter, *, actor: str = "backtest") -> Iterator[dict[str, Any]]:
    """The report objects of `which`, oldest id first, read on a thread of their own while the caller counts."""
    assert settings.database_url
    url = settings.database_url
    items: queue.Queue[object] = queue.Queue(maxsize=_BUFFER)

    async def read() -> None:
        pool = await create_pool(url, max_size=1)
        try:
            async with pool.acquire() as conn:
                async for report in stream_reports(conn, which, actor=actor, now=utcnow()):
                    await asyncio.to_thread(items.put, report)  # waits while the backtest catches up
        finally:
            await pool.close()

    def produce() -> None:
        try:
            asyncio.run(read())
        except BaseException as exc:  # handed to the reading side, which raises it there
            items.put(_Failed(exc))
        else:
            items.put(_DONE)

    # A daemon: should the backtest stop early (a bad rules file is found before this), the process may exit.
    threading.Thread(target=produce, name="backtest-reports", daemon=True).start()
    while True:
        item = items.get()
        if item is _DONE:
            return
        if isinstance(item, _Failed):
            raise item.error
        assert isinstance(item, dict)
        yield item
