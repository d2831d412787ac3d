"""An embedded PostgreSQL (pgserver) for when no EWS_DATABASE_URL is given."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Starts PostgreSQL with its data under a directory; `stop` shuts it down and keeps the data."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (Path(data_dir) / "pgdata").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or reuse) the server and return its connection URL."""
        # Imported late: only needed without a database URL. platformdirs (under pgserver) warns when
        # XDG_RUNTIME_DIR is unset, as in containers and CI, and falls back to /tmp: nothing to act on.
        self.pgdata.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            import pgserver

            self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        url: str = self._server.get_uri()
        log.info("embedded PostgreSQL running with data in %s", self.pgdata)
        return url

    def stop(self) -> None:
        """Let go of the server: pgserver stops it when no other process uses it; the data stays."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.cleanup()
        # pgserver shares one server among the processes on a data dir and stops it only with the last
        # (a `responders import` beside a running service): say what actually happened.
        # PostgreSQL removes postmaster.pid when it has shut down (a stopped postmaster may linger as a
        # zombie where nothing reaps it, so its process is no sign).
        if (self.pgdata / "postmaster.pid").exists():
            log.info("embedded PostgreSQL left running for the other process using it (the service)")
        else:
            log.info("embedded PostgreSQL stopped")
