"""A loopback Twilio Messages API for the bench, in its own process, plus GET /stats.

It speaks what twilio's client needs: POST /2010-04-01/Accounts/{sid}/Messages.json with HTTP basic
auth (account SID and auth token) and a form body, answered 201 with a Message resource as JSON.
Every accepted message is recorded with its arrival time (time.time(), taken when the request reaches
the handler) and its Body. GET /stats?after=N&wait=S answers {"count": total, "messages": [{"at": ...,
"body": ...}, ...]} with the messages after the first N, waiting up to S seconds for one to arrive.

The tests have their own fake (tests/loopback.py); the bench does not import tests/.

    .venv/bin/python bench/fake_twilio_server.py --port 8091 --account-sid AC... --auth-token ...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import signal
import time
import uuid
from typing import Any

from aiohttp import web

MESSAGES_PATH = "/2010-04-01/Accounts/{sid}/Messages.json"


class RecordingTwilioApi:
    """Twilio's Messages API on one port, keeping (arrival time, Body) of every accepted message."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.arrivals: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()

    def app(self) -> web.Application:
        """The aiohttp application: the Messages API and GET /stats."""
        app = web.Application()
        app.router.add_post(MESSAGES_PATH, self._create)
        app.router.add_get("/stats", self._stats)
        return app

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return scheme == "Basic" and user == self.account_sid == request.match_info["sid"] and (
            password == self.auth_token)

    async def _create(self, request: web.Request) -> web.Response:
        arrived = time.time()
        sid = request.match_info["sid"]
        if not self._authorised(request):
            return _error(401, 20003, "Authenticate")
        if request.content_type != "application/x-www-form-urlencoded":
            return _error(400, 20001, "bad content type")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")) or not form.get("Body"):
            return _error(400, 21604, "missing To, From or Body")
        async with self._arrived:
            self.arrivals.append({"at": arrived, "body": form["Body"]})
            self._arrived.notify_all()
        return web.json_response(_message_resource(sid, form), status=201)

    async def _stats(self, request: web.Request) -> web.Response:
        after = int(request.query.get("after", "0"))
        wait = min(float(request.query.get("wait", "0")), 30.0)
        if wait > 0 and len(self.arrivals) <= after:
            with contextlib.suppress(TimeoutError):
                async with self._arrived:
                    await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.arrivals) > after), wait)
        return web.json_response({"count": len(self.arrivals), "messages": self.arrivals[after:]})


def _error(status: int, code: int, message: str) -> web.Response:
    """Twilio's error document."""
    return web.json_response({"code": code, "message": message, "status": status}, status=status)


def _message_resource(account_sid: str, form: dict[str, str]) -> dict[str, Any]:
    """The Message resource Twilio answers a create with (the fields twilio's client reads)."""
    message_sid = "SM" + uuid.uuid4().hex
    now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    return {
        "account_sid": account_sid, "api_version": "2010-04-01", "body": form["Body"],
        "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
        "error_code": None, "error_message": None, "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
        "price": None, "price_unit": "USD", "sid": message_sid, "status": "queued", "subresource_uris": {},
        "to": form["To"], "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}.json",
    }


async def _main(args: argparse.Namespace) -> None:
    api = RecordingTwilioApi(args.account_sid, args.auth_token)
    runner = web.AppRunner(api.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


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
