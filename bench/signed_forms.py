"""Realistic, signed Twilio SMS webhooks: report texts naming a county, distinct senders and MessageSids.

`write_request_file` pre-generates the lines wrk replays (see wrk_signed.lua): one request per line,
"<X-Twilio-Signature><TAB><urlencoded form body>", every line a distinct MessageSid and sender.
"""

from __future__ import annotations

import functools
import os
import random
import urllib.parse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ews.cli.simulate import TWILIO_SMS_PATH, at_form, sign, twilio_form
from rules.gazetteer import COUNTIES, County, find_county

# Reports as people send them, in English and Swahili; {county} is replaced by a county name.
TEXTS: tuple[str, ...] = (
    "Youths with pangas gathering at the market in {county}",
    "Stones being thrown near the tallying centre in {county}",
    "Vijana wamebeba mapanga sokoni {county}, tafadhali tuma polisi",
    "Shops burning on the main road in {county} town, people running",
    "Watu wanapigana karibu na kituo cha kura {county}",
    "Leaflets telling one community to leave {county} by Friday",
    "Police firing teargas at a crowd in {county}. Many injured",
    "Kundi kubwa la vijana wanatishia wapiga kura {county}",
    "Two groups of supporters fighting outside the church in {county}",
    "Roadblock of burning tyres on the highway near {county} stage",
    "Polling clerk beaten by a gang at a school in {county}, send help",
    "Wanawake wanatishiwa nyumbani usiku huko {county}",
)


def report_text(index: int, county: County) -> str:
    """The index-th report text about `county`; a template the gazetteer reads as that county."""
    return _report_text(index % len(TEXTS), county)


@functools.cache
def _report_text(template: int, county: County) -> str:
    for offset in range(len(TEXTS)):
        text = TEXTS[(template + offset) % len(TEXTS)].format(county=county.name)
        found = find_county(text)
        if found is not None and found.code == county.code:
            return text
    return f"Fighting reported in {county.name}"


def sender_number(index: int, *, base: int = 0) -> str:
    """A fake Kenyan mobile number (+2547XXXXXXXX), distinct for each index below 10**8."""
    return f"+2547{(base + index) % 10**8:08d}"


def signed_form(auth_token: str, public_url: str, body: str, sender: str) -> tuple[dict[str, str], dict[str, str]]:
    """Twilio's inbound-SMS form for `body` with a fresh MessageSid, and its X-Twilio-Signature header."""
    form = twilio_form(body, sender=sender)
    return form, sign(auth_token, public_url.rstrip("/") + TWILIO_SMS_PATH, form)


def _request_lines(auth_token: str, public_url: str, start: int, count: int, sender_base: int) -> list[str]:
    """Lines `start` .. `start + count - 1` of a request file (run in a worker process)."""
    lines = []
    for index in range(start, start + count):
        county = COUNTIES[index % len(COUNTIES)]
        body = report_text(index // len(COUNTIES), county)
        form, headers = signed_form(auth_token, public_url, body, sender_number(index, base=sender_base))
        lines.append(headers["X-Twilio-Signature"] + "\t" + urllib.parse.urlencode(form) + "\n")
    return lines


def _at_request_lines(_token: str, _url: str, start: int, count: int, sender_base: int) -> list[str]:
    """Lines of an AT request file: the same texts and senders, AT's form, no signature (AT signs nothing;
    the token rides in the URL wrk is given)."""
    lines = []
    for index in range(start, start + count):
        county = COUNTIES[index % len(COUNTIES)]
        form = at_form(report_text(index // len(COUNTIES), county), sender=sender_number(index, base=sender_base))
        lines.append("-\t" + urllib.parse.urlencode(form) + "\n")
    return lines


def write_request_file(path: Path, *, count: int, auth_token: str, public_url: str,
                       channel: str = "twilio") -> Path:
    """Write `count` distinct webhook requests to `path` (Twilio's signed, or AT's), using every core."""
    make = _at_request_lines if channel == "africastalking" else _request_lines
    workers = os.cpu_count() or 1
    chunk = 20_000
    sender_base = random.randrange(10**8)
    starts = range(0, count, chunk)
    path.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=workers) as pool, path.open("w", encoding="ascii") as out:
        jobs = [pool.submit(make, auth_token, public_url, s, min(chunk, count - s), sender_base)
                for s in starts]
        for job in jobs:
            out.writelines(job.result())
    return path
