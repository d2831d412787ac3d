"""The throughput baseline: a bare aiohttp handler that reads and parses the same Twilio form, stores nothing.

It reads the body with the service's own `ingest.form.read_form` and answers a TwiML receipt of the same
shape and size as the service's, so the difference to the service is signature checking, understanding
the report, the database commit and the bookkeeping around them.

    .venv/bin/python bench/bare_server.py --port 8090 [--processes 2]
"""

from __future__ import annotations

import argparse
import multiprocessing

from aiohttp import web

from ews.core.clock import utcnow
from ews.core.models import ReportIn
from ingest.base import Rejected
from ingest.form import read_form
from ingest.partner_api import parse_batch, parse_item, read_json
from rules.vocabulary import INCIDENT_TYPES

TYPES = [t.code for t in INCIDENT_TYPES]

PATH = "/ingest/twilio/sms"
AT_PATH = "/ingest/africastalking/sms"
REPLY = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thank you. Your report is received. '
         'Ref EWS-100000. If you are in danger call 999 or 112.</Message></Response>')


async def sms(request: web.Request) -> web.Response:
    """Parse the form, check it names a message, reply TwiML."""
    try:
        form, _raw = await read_form(request)
    except Rejected as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    if not form.get("MessageSid") or not form.get("Body"):
        return web.json_response({"error": "missing MessageSid or Body"}, status=400)
    return web.Response(text=REPLY, content_type="application/xml")


async def partner_batch(request: web.Request) -> web.Response:
    """The partner API's baseline: read, parse and validate the batch as the service does; store nothing."""
    try:
        payload = await read_json(request)
        items = parse_batch(payload)
    except Rejected as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    now = utcnow()
    results = []
    for i, item in enumerate(items):
        parsed = parse_item(item, i, partner="bench", key=None, received_at=now, incident_types=TYPES)
        results.append({"index": i, "status": "accepted", "id": parsed.external_id, "reference": f"EWS-{i}",
                        "county_code": parsed.county_code, "created": True} if isinstance(parsed, ReportIn)
                       else {"index": i, "status": "rejected", "errors": [e.as_dict() for e in parsed]})
    return web.json_response({"partner": "bench", "accepted": len(results), "rejected": 0, "results": results},
                             status=202)
async def at_sms(request: web.Request) -> web.Response:
    """Parse AT's form, check it names a message, answer an empty 200 (as the service does)."""
    try:
        form, _raw = await read_form(request)
    except Rejected as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    if not form.get("id") or not form.get("text"):
        return web.json_response({"error": "missing id or text"}, status=400)
    return web.Response(status=200)


async def healthz(_request: web.Request) -> web.Response:
    """Readiness probe."""
    return web.json_response({"status": "ok"})


def serve(host: str, port: int, reuse_port: bool) -> None:
    """Serve the bare handler in this process until SIGTERM or SIGINT."""
    app = web.Application(client_max_size=256 * 1024)  # as the service's
    app.router.add_post(PATH, sms)
    app.router.add_post("/api/v1/reports", partner_batch)
    app.router.add_post(AT_PATH, at_sms)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=host, port=port, access_log=None, print=None, reuse_port=reuse_port or None)


def main() -> None:
    """Serve until SIGTERM or SIGINT, in one process or several sharing the port (like EWS_WORKERS)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    args = parser.parse_args()
    shared = args.processes > 1
    context = multiprocessing.get_context("spawn")
    others = [context.Process(target=serve, args=(args.host, args.port, True), daemon=True)
              for _ in range(args.processes - 1)]
    for process in others:
        process.start()
    try:
        serve(args.host, args.port, shared)
    finally:
        for process in others:
            process.terminate()
            process.join(10)


if __name__ == "__main__":
    main()
