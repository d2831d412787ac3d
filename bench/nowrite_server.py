"""A second baseline: the service's own webhook pipeline with the database write taken out.

It mounts the real `TwilioSms` ingester (signature check over the same public URL, strict form parsing,
field checks) behind the real shared handler, and an intake that runs the real `understand()` (county,
language, number scrubbing, sender hash) and answers the real TwiML receipt, but commits nothing. The
service minus this is the price of durability: the group-committed INSERT and the engine behind it.

    .venv/bin/python bench/nowrite_server.py --port 8091 --auth-token TOKEN --public-url http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ews.core.models import IntakeResult, ReportIn, report_reference
from ews.intake.enrich import understand
from ingest.handler import make_handler
from ingest.twilio_sms import TwilioSms

SENDER_KEY = "bench-nowrite-sender-key-" + "0" * 32


def build_app(auth_token: str, public_url: str) -> web.Application:
    """The webhook route with an intake that understands each report and stores nothing."""
    ids = itertools.count(1)

    async def intake(report: ReportIn) -> IntakeResult:
        stored = understand(report, sender_key=SENDER_KEY)
        report_id = next(ids)
        return IntakeResult(report_id, report_reference(report_id), stored.county_code, stored.language, True)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    ingester = TwilioSms(auth_token=auth_token, public_url=public_url)
    app = web.Application(client_max_size=256 * 1024)  # as the service's
    app.router.add_post(ingester.path, make_handler(ingester, intake))
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--public-url", required=True, help="the URL the requests were signed for")
    args = parser.parse_args()
    web.run_app(build_app(args.auth_token, args.public_url), host=args.host, port=args.port, access_log=None,
                print=None)


if __name__ == "__main__":
    main()
