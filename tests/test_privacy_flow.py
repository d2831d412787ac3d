"""No phone number or secret in any table or API answer after a whole flow; the guard that fails any test
whose logs or output hold one (tests/conftest.py) does fail it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import asyncpg
from aiohttp.test_utils import TestClient

from tests.conftest import REPORTER_PHONES, RESPONDER_PHONES
from tests.helpers import add_responders, eventually, send_report
from tests.leaks import leaks
from tests.loopback import FakeTwilioApi
from tests.test_end_to_end import RESPONDERS


async def full_flow(client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    for i, phone in enumerate(REPORTER_PHONES * 2):
        await send_report(client, f"Kisumu: watu wanapigana, nipigie {phone}" if i == 0 else f"Fujo Kisumu {i}",
                          sender=phone)
    await fake_twilio.wait_for(2)
    await eventually(lambda: _all_sent(pool))


async def test_no_phone_number_or_secret_in_any_table(client: TestClient, pool: asyncpg.Pool,
                                                      fake_twilio: FakeTwilioApi) -> None:
    await full_flow(client, pool, fake_twilio)
    tables = [r["tablename"] for r in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert {"reports", "responders", "deliveries", "audit_log"} <= set(tables)
    for table in tables:
        rows = await pool.fetch(f'SELECT t::text AS row FROM "{table}" t')  # noqa: S608 - names from pg_tables
        for row in rows:
            assert leaks(row["row"]) == [], f"{table} holds {leaks(row['row'])}"
    # the numbers did reach the outside world where they must: the SMS gateway
    assert {m.form["To"] for m in fake_twilio.messages} == {RESPONDER_PHONES[0], RESPONDER_PHONES[2]}


async def test_no_phone_number_in_api_answers(client: TestClient, pool: asyncpg.Pool,
                                              fake_twilio: FakeTwilioApi) -> None:
    await full_flow(client, pool, fake_twilio)
    for path in ("/healthz", "/api/v1/counties", "/api/v1/alerts?status=all", "/api/v1/reports",
                 "/api/v1/reports?county=42"):
        response = await client.get(path)
        assert response.status == 200
        assert leaks(await response.text()) == [], path


_GUARDED = """
import logging
import sys

from tests.conftest import REPORTER_PHONES

def test_clean():
    logging.getLogger("ews.intake").info("report stored ref=EWS-1")

def test_logs_a_sender():
    logging.getLogger("ews.intake").info("from %s", REPORTER_PHONES[0])

def test_logs_a_traceback_with_a_responder():
    try:
        raise ValueError("no route to 0700 111 222")
    except ValueError:
        logging.getLogger("ews.alerting").exception("send failed")

def test_prints_a_number():
    print("to 254722000111")

def test_writes_a_number_to_stderr():
    print("to 0733444555", file=sys.stderr)
"""


def test_the_leak_guard_fails_each_test_that_logs_or_prints_a_number(tmp_path: Path) -> None:
    # A pytest run of its own, with this suite's conftest as its only plugin, over tests that leak.
    (tmp_path / "test_guarded.py").write_text(_GUARDED)
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",  # noqa: S603
                          "-p", "no:randomly", "--rootdir", str(tmp_path), str(tmp_path / "test_guarded.py")],
                         cwd=root, capture_output=True, text=True, timeout=120, check=False)
    output = run.stdout + run.stderr
    assert "4 failed, 1 passed" in output, output
    assert "phone numbers or secrets in this test's logs or output" in output


async def _all_sent(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FILTER (WHERE status <> 'sent') = 0 AND count(*) > 0 "
                                    "FROM deliveries"))
