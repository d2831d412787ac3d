"""Helpers shared by tests: signed Twilio webhooks, responders, waiting for background work."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from ews.alerting.directory import parse_directory
from ews.cli.simulate import sign, twilio_form
from ews.core.privacy import ContactCipher
from ews.db.repo.responders import import_responders
from tests.conftest import (
    CONTACT_KEY,
    PUBLIC_URL,
    REPORTER_PHONES,
    SENDER_KEY,
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
