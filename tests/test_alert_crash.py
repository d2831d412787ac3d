"""A service killed (SIGKILL) between claiming an alert's delivery and hearing back from the gateway: after a
restart the alert is sent, once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from ews.alerting.dispatch import SEND_LEASE
from tests.conftest import RESPONDER_PHONES, TEST_ROUTES, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN
from tests.helpers import add_responders, eventually, open_and_plan
from tests.loopback import FakeTwilioApi
from tests.test_cli import ROOT, cli_env
from tests.test_openapi import _free_port

AMINA = RESPONDER_PHONES[0]


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "ews.cli.main", "serve"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


async def test_an_alert_claimed_by_a_killed_process_is_sent_after_the_restart(
        pool: asyncpg.Pool, database_url: str, fake_twilio: FakeTwilioApi, tmp_path: Path) -> None:
    await add_responders(pool, f"name,phone,county,role,language\nAmina,{AMINA},Kisumu,csic,en\n")
    routes = tmp_path / "routes.toml"
    routes.write_text(TEST_ROUTES)
    await open_and_plan(pool, county=42, level=2)  # the message is planned before any service runs
    env = {**os.environ, **cli_env(database_url, tmp_path), "EWS_PORT": str(_free_port()),
           "EWS_LOG_LEVEL": "INFO", "EWS_MODEL_FILE": str(tmp_path / "no-model.skops"),
           "EWS_ROUTES_FILE": str(routes), "EWS_NOTIFIERS": "twilio_sms", "EWS_TWILIO_ACCOUNT_SID": TWILIO_SID,
           "EWS_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "EWS_TWILIO_FROM": TWILIO_FROM,
           "EWS_TWILIO_API_BASE": fake_twilio.url, "EWS_DISPATCH_INTERVAL": "1", "EWS_TWILIO_RATE": "0"}
    log = tmp_path / "serve.log"
    fake_twilio.stalled.add(AMINA)  # the gateway takes the request and never answers
    first = _serve(env, log)
    try:
        deadline = time.monotonic() + 60
        while fake_twilio.stalled_requests == 0:
            assert time.monotonic() < deadline, "the alert was never sent: " + log.read_text()[-2000:]
            await asyncio.sleep(0.1)
        assert await pool.fetchval("SELECT status FROM deliveries") == "sending"
    finally:
        first.kill()  # SIGKILL: no cleanup, the claim stays as it was
        first.wait(timeout=30)
    fake_twilio.recover()
    assert await pool.fetchval("SELECT status FROM deliveries") == "sending", "nobody finished it"
    second = _serve(env, log)
    try:
        # Once the dead process's lease runs out, the new one claims the delivery again and sends it.
        await eventually(lambda: _sent(fake_twilio), timeout=SEND_LEASE.total_seconds() + 60)
        await eventually(lambda: _status_is(pool, "sent"), timeout=30)
        await asyncio.sleep(2)  # a second send would arrive by now
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert [m.form["To"] for m in fake_twilio.messages] == [AMINA], "sent once"
    assert "EWS WARNING: Kisumu county." in fake_twilio.messages[0].form["Body"]


async def _sent(fake: FakeTwilioApi) -> bool:
    return bool(fake.messages)


async def _status_is(pool: asyncpg.Pool, status: str) -> bool:
    return bool(await pool.fetchval("SELECT status FROM deliveries") == status)
