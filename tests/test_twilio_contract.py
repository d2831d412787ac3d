"""Contract check: every request the real Twilio notifier makes is valid against Twilio's published API
description (../shared/contracts/twilio_api_v2010.json), as judged by Prism (npm @stoplight/prism-cli 5.14.2)
serving it on loopback with --errors. Skipped, with the reason, where node/npx or the description is absent.

Prism comes through `npx --yes`, so it lands in npm's cache (outside the repository; npm_config_cache moves it).
One Prism per module: it takes a few seconds to read the 1.8 MB description.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from ews.core.models import DeliveryStatus, Outgoing
from notifiers.twilio_sms import TwilioSmsNotifier
from tests.conftest import RESPONDER_PHONES, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN

ROOT = Path(__file__).resolve().parent.parent
PRISM = "@stoplight/prism-cli@5.14.2"
SPEC_NAME = "twilio_api_v2010.json"
CANDIDATES = (ROOT.parent / "shared" / "contracts" / SPEC_NAME, Path("/work/shared/contracts") / SPEC_NAME)
START_TIMEOUT = 180.0  # the first run downloads Prism (about 90 MB) into npm's cache


def _spec() -> Path | None:
    return next((path for path in CANDIDATES if path.is_file()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Prism:
    """A running `prism mock --errors` and its log, read from a given offset."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def mark(self) -> int:
        """Where the log ends now."""
        return self.log.stat().st_size

    def since(self, mark: int) -> str:
        """What Prism logged after `mark`."""
        with self.log.open("rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    """Prism serving Twilio's description on a free loopback port (skips when it cannot)."""
    spec, npx = _spec(), shutil.which("npx")
    if spec is None:
        pytest.skip(f"Twilio's API description is not here (looked for {', '.join(map(str, CANDIDATES))})")
    if npx is None:
        pytest.skip("node/npx is not installed: the Prism contract check needs it")
    tmp = tmp_path_factory.mktemp("prism")  # npx runs outside the repository, so nothing lands in it
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    port = _free_port()
    log = tmp / "prism.log"
    out = log.open("wb")
    command = [npx, "--yes", PRISM, "mock", "--errors", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    proc = subprocess.Popen(command,  # noqa: S603 - a fixed command line: npx and our own arguments
                            cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Prism is listening" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-600:]
                pytest.skip(f"Prism did not start (no network for npx, or an old node?): {tail}")
            time.sleep(0.2)
        yield Prism(f"http://127.0.0.1:{port}", log)
    finally:
        os.killpg(proc.pid, 15)  # npx starts node as a child: end the whole group it leads
        proc.wait(timeout=30)
        out.close()


def _checked(log: str, requests: int) -> None:
    """Prism's verdict on the Messages.json requests in `log`: each one passed, none broke a rule."""
    received = log.count("/Messages.json ℹ  info      Request received")
    assert received == requests, log
    assert log.count("The request passed the validation rules") == requests, log
    assert "did not pass the validation rules" not in log and "violation" not in log.lower(), log


# Alert SMS as the renderer writes them (literal here: the wording is another module's, the request's shape
# this test's), one of them two segments long, and an acknowledgement notice.
_BODIES = (
    "EWS WARNING: Elgeyo-Marakwet county. 12 people reported incidents in the last 1 hour (threshold 6). "
    "Alert A-4821. Reply ACK 4821 to acknowledge.",
    "EWS ONYO: Kaunti ya Elgeyo-Marakwet. Watu 12 wameripoti matukio katika saa 1 zilizopita (kiwango 6). "
    "Tahadhari A-4821. Jibu NDIO 4821 kuthibitisha.",
    "EWS: Amina (CSIC Kisumu) amethibitisha A-4821.",
)


@pytest.mark.parametrize("sender", [TWILIO_FROM, "MG" + "2" * 32])  # a number, or a Messaging Service
async def test_the_twilio_notifiers_requests_are_valid_against_twilios_description(prism: Prism, sender: str) -> None:
    notifier = TwilioSmsNotifier(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, sender=sender,
                                 api_base=prism.url, timeout=10, validity_seconds=900,
                                 status_callback="https://ews.example.org/ingest/twilio/status")
    mark = prism.mark()
    bodies = list(_BODIES)
    try:
        for body in bodies:
            sent = await notifier.send(Outgoing(to=RESPONDER_PHONES[0], body=body, recipient_label="Amina #1",
                                                language="en", reference="A-4821"))
            assert sent.status is DeliveryStatus.OK, sent.reason
            assert sent.provider_id and sent.provider_id.startswith("SM")
    finally:
        await notifier.close()
    await asyncio.sleep(0.3)  # Prism writes its log lines just after it answers
    _checked(prism.since(mark), len(bodies))


async def test_the_check_can_fail(prism: Prism) -> None:
    # The control: a request Twilio's description refuses (no To) is answered 422 and logged as failing.
    mark = prism.mark()
    auth = aiohttp.helpers.BasicAuth(TWILIO_SID, TWILIO_TOKEN).encode()
    async with aiohttp.ClientSession() as session, session.post(
            f"{prism.url}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json", data={"From": TWILIO_FROM, "Body": "x"},
            headers={"Authorization": auth, "Accept": "application/json"}) as response:
        assert response.status == 422
    await asyncio.sleep(0.3)
    with pytest.raises(AssertionError):
        _checked(prism.since(mark), 1)
    assert "Request body must have required property 'To'" in prism.since(mark)
