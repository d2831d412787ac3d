"""CPU cost of each step of the webhook pipeline in isolation (timeit, one core, no load).

Not part of `make bench`: it reads the figures `bench/RESULTS.md` cannot separate. Every step runs on a
realistic signed Twilio form from `bench/signed_forms.py`.

    .venv/bin/python bench/stages.py [--number 20000]
"""

from __future__ import annotations

import argparse
import sys
import timeit
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from multidict import MultiDict
from twilio.request_validator import RequestValidator

from bench.signed_forms import report_text, signed_form
from ews.core.clock import utcnow
from ews.core.models import IntakeResult
from ews.core.privacy import redact_phones, sender_hash
from ews.intake.enrich import understand
from ingest.twilio_sms import KeyedRequestValidator, TwilioSms
from rules.gazetteer import COUNTIES, find_county
from rules.language import detect_language

TOKEN = "stages-auth-token-" + "7" * 14
PUBLIC_URL = "http://127.0.0.1:8080"
SENDER_KEY = "stages-sender-key-" + "3" * 32


def main() -> None:
    """Print microseconds per call for each step."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=20_000, help="calls per step")
    args = parser.parse_args()
    body = report_text(3, COUNTIES[10])
    form, _headers = signed_form(TOKEN, PUBLIC_URL, body, "+254712345678")
    raw = urllib.parse.urlencode(form)
    fields: MultiDict[str] = MultiDict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
    url = PUBLIC_URL + "/ingest/twilio/sms"
    ingester = TwilioSms(auth_token=TOKEN, public_url=PUBLIC_URL)
    report = ingester.parse(fields, received_at=utcnow())[0]
    stored = understand(report, sender_key=SENDER_KEY)
    result = IntakeResult(1234, "EWS-1234", stored.county_code, stored.language, created=True)
    twilio_validator, keyed_validator = RequestValidator(TOKEN), KeyedRequestValidator(TOKEN)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("form parsing (parse_qsl + MultiDict; the bare handler does it too)",
         lambda: MultiDict(urllib.parse.parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict"))),
        ("signature, twilio RequestValidator.compute_signature",
         lambda: twilio_validator.compute_signature(url, fields)),
        ("signature, KeyedRequestValidator.compute_signature (used)",
         lambda: keyed_validator.compute_signature(url, fields)),
        ("field checks (TwilioSms.parse)", lambda: ingester.parse(fields, received_at=report.received_at)),
        ("understand(): all of the next four", lambda: understand(report, sender_key=SENDER_KEY)),
        ("  find_county", lambda: find_county(body)),
        ("  detect_language", lambda: detect_language(body)),
        ("  redact_phones", lambda: redact_phones(body)),
        ("  sender_hash", lambda: sender_hash(SENDER_KEY, "+254712345678")),
        ("TwiML receipt (TwilioSms.ack, including aiohttp's Response)", lambda: ingester.ack([result])),
    ]
    print(f"{'step':<66} µs per call")
    for name, step in steps:
        seconds = min(timeit.repeat(step, number=args.number, repeat=3)) / args.number
        print(f"{name:<66} {seconds * 1e6:8.2f}")


if __name__ == "__main__":
    main()
