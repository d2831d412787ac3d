"""Helpers shared by tests: signed Twilio webhooks, responders, waiting for background work."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from ews.alerting.directory import parse_directory
from ews.alerting.planner import plan_once
from ews.cli.simulate import sign, twilio_form
from ews.core.privacy import ContactCipher
from ews.db.repo.notifications import planner_lock
from ews.db.repo.responders import import_responders
from tests.conftest import (
    CONTACT_KEY,
    PUBLIC_URL,
    REPORTER_PHONES,
    SENDER_KEY,
    TEST_ROUTES,
    TWILIO_TOKEN,
    random_sid,
    with_database,
)

SMS_PATH = "/ingest/twilio/sms"
_NEXT_REPORTER = itertools.cycle(REPORTER_PHONES)


def sms_form(body: str, *, sender: str = REPORTER_PHONES[0], sid: str | None = None) -> dict[str, str]:
    """The form Twilio posts for an inbound SMS."""
    form = twilio_form(body, sender=sender)
    if sid:
        form.update(MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
    return form


async def post_signed(client: TestClient, form: dict[str, str], *, token: str = TWILIO_TOKEN,
                      headers: dict[str, str] | None = None) -> ClientResponse:
    """POST the form with a valid X-Twilio-Signature over the public URL."""
    signed = sign(token, PUBLIC_URL + SMS_PATH, form)
    return await client.post(SMS_PATH, data=form, headers={**signed, **(headers or {})})


async def send_report(client: TestClient, body: str, *, sender: str | None = None) -> str:
    """Post a signed report (from the next of the test reporters unless given) and return the TwiML reply."""
    response = await post_signed(client, sms_form(body, sid=random_sid(), sender=sender or next(_NEXT_REPORTER)))
    text = await response.text()
    assert response.status == 200, text
    return text


async def add_responders(pool: asyncpg.Pool, csv_text: str) -> None:
    """Import responders through the real repository."""
    await import_responders(pool, parse_directory(csv_text, fmt="csv"), hash_key=SENDER_KEY,
                            cipher=ContactCipher(CONTACT_KEY))


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until `check()` is true (background workers run after the reply)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def placed(pool: asyncpg.Pool) -> None:
    """Wait until the placing stage has read every stored report's text (it runs after the acknowledgement;
    until then a report has no place from its text, no severity, and is hidden as sensitive)."""
    await eventually(lambda: pool.fetchval("SELECT NOT EXISTS (SELECT 1 FROM reports WHERE NOT understood)"))


async def count_rows(pool: asyncpg.Pool, table: str) -> int:
    """Rows in a table."""
    value: int = await pool.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - test-only, fixed names
    return value


class ScratchDatabase:
    """An empty database of its own on the test server, dropped on exit; `drop()` pulls it away early."""

    def __init__(self, server_url: str, name: str) -> None:
        self.name = name
        self.url = with_database(server_url, name)
        self._server_url = server_url
        self._admin: asyncpg.Connection | None = None

    async def __aenter__(self) -> ScratchDatabase:
        self._admin = await asyncpg.connect(self._server_url)
        await self._admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        await self._admin.execute(f'CREATE DATABASE "{self.name}"')
        return self

    async def drop(self) -> None:
        """Drop the database now, cutting every connection to it (an outage, as the app sees it)."""
        assert self._admin is not None
        await self._admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    async def __aexit__(self, *_exc: object) -> None:
        await self.drop()
        assert self._admin is not None
        await self._admin.close()


async def plan(pool: asyncpg.Pool, now: datetime | None = None, routes: str = TEST_ROUTES) -> int:
    """One notification planning pass at `now` (the service's planner does this when woken); messages queued."""
    async with pool.acquire() as conn:
        return (await plan_once(conn, fallback=routes, now=now or datetime.now(UTC))).messages


async def open_alert(pool: asyncpg.Pool, *, county: int = 42, level: int = 1, rule: str = "reports_10m",
                     group: str = "all", why: tuple[str, str] = ("3 reports of incidents in 1 h",
                                                               "ripoti 3 za matukio ndani ya saa 1"),
                     opened_at: datetime | None = None) -> int:
    """An open alert as the engine writes one (its explanation carries the why line); its id."""
    async with pool.acquire() as conn:
        return await insert_alert(conn, county=county, level=level, rule=rule, group=group, why=why,
                                  opened_at=opened_at)


async def insert_alert(conn: asyncpg.Connection, *, county: int = 42, level: int = 1, rule: str = "reports_10m",
                       group: str = "all", why: tuple[str, str] = ("3 reports of incidents in 1 h",
                                                                 "ripoti 3 za matukio ndani ya saa 1"),
                       opened_at: datetime | None = None) -> int:
    """`open_alert` on one connection (in its transaction)."""
    explanation = json.dumps({"rule": rule, "why": {"en": why[0], "sw": why[1]}})
    alert_id: int = await conn.fetchval(
        "INSERT INTO alerts (rule, county_code, grp, level, peak_level, trigger_count, opened_at, updated_at, "
        "explanation) VALUES ($1, $2, $3, $4, $4, 3, $5, $5, $6::jsonb) RETURNING id",
        rule, county, group, level, opened_at or datetime.now(UTC), explanation)
    return alert_id


async def open_and_plan(pool: asyncpg.Pool, count: int = 1, *, routes: str = TEST_ROUTES,
                        now: datetime | None = None, **alert: Any) -> list[int]:
    """`count` open alerts (rules r1, r2 ... unless `rule` is given) planned in the transaction that writes
    them, under the planner's lock: a running app's own planner cannot plan them first, so a test knows who
    plans (and sends) what."""
    async with pool.acquire() as conn, conn.transaction():
        await planner_lock(conn)
        ids = [await insert_alert(conn, **{"rule": f"r{i}", **alert}) for i in range(1, count + 1)]
        await plan_once(conn, fallback=routes, now=now or datetime.now(UTC))
    return ids
