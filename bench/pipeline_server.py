"""The service's own webhook pipeline with storage left out: how far the request path alone can go.

It mounts the service's real Twilio and Africa's Talking channels (signature or token check, form reading,
parsing into a report, the TwiML or empty answer) on an inbox that does the request path's own work on each
report (`ews.intake.enrich.receive`: numbers scrubbed, sender hashed, language read) and then, instead of
the group-commit writer and PostgreSQL, answers at once. So

    service / bare = (pipeline / bare) x (service / pipeline)

splits the acknowledgement ratio into what the request handling costs and what storing it costs. The
screening read, the INSERT, the writer's batching and everything after the commit are not here.

    .venv/bin/python bench/pipeline_server.py --port 8091 --twilio-token TOKEN --public-url URL --at-token T
"""

from __future__ import annotations

import argparse
import itertools
import os

from aiohttp import web

from ews.core.models import Command, CommandOutcome, DeliveryReport, IntakeResult, ReportIn, report_reference
from ews.intake.enrich import receive
from ingest.africastalking_sms import AfricasTalkingSms
from ingest.twilio_sms import TwilioSms


class UnstoredInbox:
    """An inbox that does intake's request-path work on each report and stores nothing."""

    def __init__(self) -> None:
        self._sender_key = os.urandom(32).hex()
        self._ids = itertools.count(100_000)

    async def submit(self, report: ReportIn) -> IntakeResult:
        """What `IntakeWriter.submit` computes before its batch, then a result as if committed."""
        stored = receive(report, sender_key=self._sender_key)
        report_id = next(self._ids)
        return IntakeResult(report_id, report_reference(report_id), stored.county_code, stored.reply_language,
                            created=True)

    async def command(self, command: Command) -> CommandOutcome:
        """Not sent by the bench."""
        raise NotImplementedError

    async def delivery_report(self, report: DeliveryReport) -> bool:
        """Not sent by the bench."""
        raise NotImplementedError

    async def opt_out(self, address: str, *, reason: str) -> None:
        """Not sent by the bench."""
        raise NotImplementedError


async def healthz(_request: web.Request) -> web.Response:
    """Readiness probe."""
    return web.json_response({"status": "ok"})


def main() -> None:
    """Serve the pipeline until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--twilio-token", required=True, help="the auth token the requests are signed with")
    parser.add_argument("--public-url", required=True, help="the URL the requests were signed for")
    parser.add_argument("--at-token", required=True, help="Africa's Talking callback token")
    args = parser.parse_args()
    inbox = UnstoredInbox()
    app = web.Application(client_max_size=256 * 1024)  # as the service's
    app.add_routes(TwilioSms(auth_token=args.twilio_token, public_url=args.public_url).routes(inbox))
    app.add_routes(AfricasTalkingSms(token=args.at_token).routes(inbox))
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
