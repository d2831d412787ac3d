"""A loopback Africa's Talking messaging API for the bench, in its own process, plus GET /stats.

POST /version1/messaging with the `apiKey` header and a form body (username, to, message, ...), answered
201 with AT's JSON: one recipient, statusCode 101. GET /stats answers {"count": N}. The tests have their
own fake (tests/loopback.py); the bench does not import tests/.

    .venv/bin/python bench/fake_at_server.py --port 8092 --username bench --api-key KEY
"""

from __future__ import annotations

import argparse
import json
import uuid

from aiohttp import web


def make_app(username: str, api_key: str) -> web.Application:
    """The API on one aiohttp application."""
    count = 0

    async def send(request: web.Request) -> web.Response:
        nonlocal count
        if request.headers.get("apiKey") != api_key:
            return web.Response(status=401, text="The supplied authentication is invalid")
        form = await request.post()
        if form.get("username") != username or not form.get("to") or not form.get("message"):
            return web.Response(status=400, text="missing to or message")
        count += 1
        recipient = {"statusCode": 101, "number": str(form["to"]), "status": "Success", "cost": "KES 0.8000",
                     "messageId": "ATXid_" + uuid.uuid4().hex}
        body = {"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: KES 0.8000", "Recipients": [recipient]}}
        return web.Response(status=201, content_type="application/json", text=json.dumps(body))

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"count": count})

    app = web.Application()
    app.router.add_post("/version1/messaging", send)
    app.router.add_get("/stats", stats)
    return app


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    web.run_app(make_app(args.username, args.api_key), host="127.0.0.1", port=args.port, access_log=None,
                print=None)


if __name__ == "__main__":
    main()
