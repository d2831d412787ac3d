"""No phone number or secret in any table, any log line of the suite, or any API answer.

Named to run last, so the log check covers every line the whole suite logged before it.
"""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from tests.conftest import (
    CONTACT_KEY,
    REPORTER_PHONES,
    RESPONDER_PHONES,
    SENDER_KEY,
    SUITE_LOGS,
    TWILIO_TOKEN,
)
from tests.helpers import add_responders, eventually, send_report
from tests.loopback import FakeTwilioApi
from tests.test_end_to_end import RESPONDERS

SECRETS = (TWILIO_TOKEN, SENDER_KEY, CONTACT_KEY)


def phone_forms(phone: str) -> list[str]:
    """The ways a Kenyan number is written: +254712345678, 254712345678, 0712345678, 0712 345 678."""
    national = phone[4:]
    return [phone, phone[1:], "0" + national, national, f"0{national[:3]} {national[3:6]} {national[6:]}"]


FORBIDDEN = [form for phone in REPORTER_PHONES + RESPONDER_PHONES for form in phone_forms(phone)]


def leaks(text: str) -> list[str]:
    """The phone numbers and secrets found in `text`."""
    return [item for item in (*FORBIDDEN, *SECRETS) if item in text]


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


def test_no_phone_number_or_secret_in_any_log_line_of_the_suite() -> None:
    assert len(SUITE_LOGS.lines) > 50, "the suite's logs were not captured"
    leaking = [line for line in SUITE_LOGS.lines if leaks(line)]
    assert leaking == []


async def _all_sent(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FILTER (WHERE status <> 'sent') = 0 AND count(*) > 0 "
                                    "FROM deliveries"))
