"""The loopback Twilio Messages API of tests.loopback, plus GET /stats for the bench.

Every SMS the service sends is recorded with its arrival time (time.time(), taken when the request
reaches the handler) and its Body. GET /stats?after=N&wait=S answers {"count": total, "messages":
[{"at": ..., "body": ...}, ...]} with the messages after the first N, waiting up to S seconds for one.

    .venv/bin/python bench/fake_twilio_server.py --port 8091 --account-sid AC... --auth-token ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.loopback
from tests.loopback import FakeTwilioApi

MESSAGES_PATH = "/2010-04-01/Accounts/{sid}/Messages.json"


@dataclass
class RecordingTwilioApi(FakeTwilioApi):
    """FakeTwilioApi on a given port, keeping (arrival time, Body) of every accepted message."""

    arrivals: list[dict[str, Any]] = field(default_factory=list)

    async def serve(self, host: str, port: int) -> None:
        """Listen on host:port with the Messages API and GET /stats."""
        self._arrived = asyncio.Condition()
        app = web.Application()
        app.router.add_post(MESSAGES_PATH, self._create)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.url = f"http://{host}:{port}"

    async def _create(self, request: web.Request) -> web.Response:
        arrived = time.time()
        response = await super()._create(request)
        if response.status == 201:
            assert response.text is not None and self._arrived is not None
            self.arrivals.append({"at": arrived, "body": json.loads(response.text)["body"]})
            async with self._arrived:
                self._arrived.notify_all()
        return response

    async def _stats(self, request: web.Request) -> web.Response:
        after = int(request.query.get("after", "0"))
        wait = min(float(request.query.get("wait", "0")), 30.0)
        if wait > 0 and len(self.arrivals) <= after:
            assert self._arrived is not None
            with contextlib.suppress(TimeoutError):
                async with self._arrived:
                    await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.arrivals) > after), wait)
        return web.json_response({"count": len(self.arrivals), "messages": self.arrivals[after:]})


async def _main(args: argparse.Namespace) -> None:
    api = RecordingTwilioApi(account_sid=args.account_sid, auth_token=args.auth_token)
    await api.serve(args.host, args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await api.stop()


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
