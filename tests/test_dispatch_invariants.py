"""Dispatch promises: deadlines on every send, no stuck batch, one send per message under racing
dispatchers, leases, capped backoff, durable commits, and dead letters that can be seen and sent again."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from typing import ClassVar

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.alerting.dispatch import RETRY_CAP, SEND_LEASE, Dispatcher, retry_delay
from ews.alerting.expand import expand_outbox
from ews.core.clock import utcnow
from ews.core.models import Delivery, Outgoing
from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from ews.db.pool import create_pool
from ews.db.repo.deliveries import claim_due
from ews.web.app import create_app
from notifiers.twilio_sms import TwilioSmsNotifier
from tests.conftest import CONTACT_KEY, RESPONDER_PHONES, SENDER_KEY, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN
from tests.helpers import ScratchDatabase, add_responders, eventually, open_and_plan, send_report
from tests.loopback import FakeTwilioApi
from tests.test_end_to_end import RESPONDERS

CIPHER = ContactCipher(CONTACT_KEY)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def twilio(fake: FakeTwilioApi, *, timeout: float = 15.0) -> TwilioSmsNotifier:
    """The real Twilio notifier aimed at the loopback API."""
    return TwilioSmsNotifier(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, sender=TWILIO_FROM,
                             api_base=fake.url, timeout=timeout)


@pytest.fixture
async def notifier(fake_twilio: FakeTwilioApi) -> AsyncIterator[TwilioSmsNotifier]:
    """Twilio notifier with a short deadline."""
    sender = twilio(fake_twilio, timeout=1.0)
    yield sender
    await sender.close()


async def queue_alerts(pool: asyncpg.Pool, county: int, count: int, routes: str | None = None) -> None:
    """`count` raised alerts for `county` (one rule each), planned with `routes` (by default each alert told in
    its own message, one group per rule), expanded into deliveries."""
    await open_and_plan(pool, count, county=county, routes=routes or PER_ALERT)
    await expand_outbox(pool, served={"twilio_sms": ("sms",)}, now=utcnow())


# Each alert its own group, to the county's and the national responders: the race tests need many messages.
PER_ALERT = """
[[receiver]]
name = "county-sms"
channel = "sms"
[[receiver]]
name = "national-sms"
channel = "sms"
county = "national"
[route]
receiver = "county-sms"
group_by = ["rule"]
group_wait = "0s"
[[route.routes]]
receiver = "county-sms"
continue = true
[[route.routes]]
receiver = "national-sms"
"""


async def status_count(pool: asyncpg.Pool, status: str) -> int:
    """Deliveries in a status."""
    count: int = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = $1", status)
    return count


async def test_twilio_notifier_gives_up_on_a_gateway_that_never_answers(fake_twilio: FakeTwilioApi) -> None:
    fake_twilio.stalled = {RESPONDER_PHONES[0]}
    sender = twilio(fake_twilio, timeout=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        outcome = await asyncio.wait_for(
            sender.send(Outgoing(to=RESPONDER_PHONES[0], body="x", recipient_label="t", language="en",
                                 reference="A-1")), 10)
    finally:
        await sender.close()
    assert outcome.status.value == "retryable" and "Timeout" in outcome.reason
    assert loop.time() - started < 3, "the constructor's timeout must bound each request"
    assert fake_twilio.stalled_requests == 1


class Unresponsive:
    """A broken notifier that ignores every deadline (hangs until cancelled)."""

    kind: ClassVar[str] = "unresponsive"
    channels: ClassVar[tuple[str, ...]] = ("sms",)

    async def send(self, message: Outgoing) -> Delivery:
        """Never return."""
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    def secrets(self) -> Sequence[str]:
        """None."""
        return ()

    async def close(self) -> None:
        """Nothing."""


async def test_the_dispatcher_bounds_a_notifier_that_ignores_its_deadline(pool: asyncpg.Pool) -> None:
    await add_responders(pool, RESPONDERS)
    await queue_alerts(pool, 42, 1)
    dispatcher = Dispatcher(pool, [Unresponsive()], CIPHER, retry_for=timedelta(minutes=30), send_timeout=0.3)
    assert await asyncio.wait_for(dispatcher.drain(), 10) == 2
    rows = await pool.fetch("SELECT status, last_error, lease_until FROM deliveries")
    assert [(r["status"], r["last_error"], r["lease_until"]) for r in rows] == \
        [("pending", "notifier unresponsive timed out", None)] * 2


def test_a_send_timeout_not_shorter_than_the_lease_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="EWS_SEND_TIMEOUT"):
        create_app(settings.replace(send_timeout=SEND_LEASE.total_seconds()))
    with pytest.raises(ValueError, match="EWS_SEND_TIMEOUT"):
        create_app(settings.replace(send_timeout=0))
    create_app(settings.replace(send_timeout=SEND_LEASE.total_seconds() - 1))


async def test_a_stalled_recipient_holds_up_no_other_alert_and_is_retried(
        pool: asyncpg.Pool, settings: Settings, fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    national = RESPONDER_PHONES[2]  # receives every county's alerts; its gateway route hangs
    fake_twilio.stalled = {national}
    timeout = 3.0
    async with TestClient(TestServer(create_app(settings.replace(send_timeout=timeout)))) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for text in ("Fujo Kisumu", "Mapigano Kisumu sokoni"):
            await send_report(client, text)
        await fake_twilio.wait_for(1, timeout=timeout)  # Kisumu's own responder, while the national one hangs
        # A new alert while that send is stuck: it is claimed and sent at once, not after the stuck one.
        for text in ("Attack in Nakuru town", "Fighting in Nakuru town"):
            await send_report(client, text)
        messages = await fake_twilio.wait_for(2, timeout=timeout)
        assert loop.time() - started < timeout, "a new alert waited for the stuck send"
        assert {m.form["To"] for m in messages} == {RESPONDER_PHONES[0], RESPONDER_PHONES[1]}
        # Each stuck send ends at its deadline as a retryable failure, not a lease held for good.
        await eventually(lambda: _stuck_rows_released(pool, 2), timeout=timeout + 5)
        rows = await pool.fetch("SELECT attempts, last_error, next_attempt_at FROM deliveries "
                                "WHERE status = 'pending'")
        assert all(r["attempts"] == 1 and r["last_error"] == "network: TimeoutError" for r in rows)

    # The gateway recovers; once the backoff has passed, the retry delivers both.
    fake_twilio.recover()
    clock = Clock()
    clock.now += retry_delay(1) + timedelta(seconds=1)
    sender = twilio(fake_twilio)
    try:
        dispatcher = Dispatcher(pool, [sender], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5, clock=clock)
        assert await dispatcher.drain() == 2
    finally:
        await sender.close()
    assert [m.form["To"] for m in fake_twilio.messages].count(national) == 2
    assert await status_count(pool, "sent") == 4


async def _stuck_rows_released(pool: asyncpg.Pool, count: int) -> bool:
    return await status_count(pool, "pending") >= count


async def test_two_dispatchers_racing_over_one_outbox_send_each_message_once(
        pool: asyncpg.Pool, database_url: str, fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    await queue_alerts(pool, 42, 8)  # 16 deliveries: Kisumu's responder and the national one, 8 alerts each
    fake_twilio.delay = 0.05  # slow answers, so both dispatchers claim again and again while sends overlap
    pools = [await create_pool(database_url, max_size=3) for _ in range(2)]
    senders = [twilio(fake_twilio) for _ in range(2)]
    dispatchers = [Dispatcher(p, [s], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5, max_in_flight=2)
                   for p, s in zip(pools, senders, strict=True)]
    blocker = await pool.acquire()
    try:
        # Someone holds the first due row (an operator's query, a third dispatcher mid-claim): both claims
        # meet it at the same moment. A claim that skips it moves on; one that waits for it claims
        # whatever the other just claimed too.
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM deliveries WHERE id = (SELECT min(id) FROM deliveries) FOR UPDATE")
        drains = [asyncio.ensure_future(d.drain()) for d in dispatchers]
        await asyncio.sleep(0.5)
        await transaction.rollback()
        attempted = await asyncio.wait_for(asyncio.gather(*drains), 30)
        # A dispatcher that skipped the held row finished without it; the next passes take it.
        attempted += await asyncio.wait_for(asyncio.gather(*(d.drain() for d in dispatchers)), 30)
    finally:
        await pool.release(blocker)
        for sender in senders:
            await sender.close()
        for p in pools:
            await p.close()
    sent = Counter((m.form["To"], m.form["Body"]) for m in fake_twilio.messages)
    assert len(sent) == 16 and set(sent.values()) == {1}, "a message went out twice"
    assert sum(attempted) == 16
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent' AND attempts = 1") == 16


async def test_an_expired_lease_is_claimed_again_and_a_live_one_is_not(pool: asyncpg.Pool) -> None:
    await add_responders(pool, RESPONDERS)
    await queue_alerts(pool, 42, 1)
    now = utcnow()
    # As after a kill -9 mid-send: both rows say 'sending'; one lease has run out, the other has not.
    expired, live = [r["id"] for r in await pool.fetch("SELECT id FROM deliveries ORDER BY id")]
    await pool.execute("UPDATE deliveries SET status = 'sending', attempts = 1, lease_until = $2 WHERE id = $1",
                       expired, now - timedelta(seconds=1))
    await pool.execute("UPDATE deliveries SET status = 'sending', attempts = 1, lease_until = $2 WHERE id = $1",
                       live, now + timedelta(seconds=30))
    claimed = await claim_due(pool, now=now, lease=SEND_LEASE)
    assert [d.id for d in claimed] == [expired]
    assert claimed[0].attempts == 2
    assert await claim_due(pool, now=now, lease=SEND_LEASE) == [], "a fresh lease is not claimed twice"


@pytest.mark.parametrize("attempts", [7, 8, 20, 64, 1000, 10**6])
def test_backoff_stays_at_the_cap(attempts: int) -> None:
    assert retry_delay(attempts) == RETRY_CAP


def test_backoff_grows_up_to_the_cap() -> None:
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[:3] == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]
    assert delays == sorted(delays) and max(delays) == RETRY_CAP


async def test_the_next_attempt_written_after_many_failures_is_at_most_the_cap_away(
        pool: asyncpg.Pool, fake_twilio: FakeTwilioApi, notifier: TwilioSmsNotifier) -> None:
    await add_responders(pool, RESPONDERS)
    await queue_alerts(pool, 42, 1)
    await pool.execute("UPDATE deliveries SET attempts = 40")
    fake_twilio.failures = [(503, 0)] * 2
    clock = Clock()
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5, clock=clock)
    assert await dispatcher.drain() == 2
    for row in await pool.fetch("SELECT status, next_attempt_at FROM deliveries"):
        assert row["status"] == "pending"
        assert clock.now < row["next_attempt_at"] <= clock.now + RETRY_CAP


async def test_pool_sessions_commit_synchronously_even_where_the_database_is_set_otherwise(
        server_url: str) -> None:
    async with ScratchDatabase(server_url, "ews_test_sync_commit") as scratch:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'ALTER DATABASE "{scratch.name}" SET synchronous_commit = off')
        finally:
            await admin.close()
        bare = await asyncpg.connect(scratch.url)
        try:
            assert await bare.fetchval("SHOW synchronous_commit") == "off"  # the trap is set
        finally:
            await bare.close()
        pool = await create_pool(scratch.url, max_size=2)
        try:
            async with pool.acquire() as conn:
                assert await conn.fetchval("SHOW synchronous_commit") == "on"
        finally:
            await pool.close()


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The CLI configures the root logger; give the suite's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_a_dead_letter_is_logged_counted_listed_and_can_be_sent_again(
        client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi, notifier: TwilioSmsNotifier,
        database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        keep_logging: None) -> None:
    await add_responders(pool, RESPONDERS)
    fake_twilio.failures = [(400, 21211), (400, 21211)]  # invalid 'To': permanent
    with caplog.at_level(logging.ERROR, logger="ews.alerting.dispatch"):
        for text in ("Fujo Kisumu", "Mapigano Kisumu sokoni"):
            await send_report(client, text)
        await eventually(lambda: _dead(pool, 2))
    dead = [r["id"] for r in await pool.fetch("SELECT id FROM deliveries ORDER BY id")]
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    for delivery_id in dead:
        assert any(f"dead letter: delivery={delivery_id} kind=alert alert=1 " in line and "code 21211" in line
                   for line in lines), lines

    health = await (await client.get("/healthz")).json()
    assert health["dead_letters"] == 2
    listed = (await (await client.get("/api/v1/deliveries?status=dead")).json())["deliveries"]
    assert [d["id"] for d in listed] == dead[::-1]
    assert listed[0]["alert"] == "A-1" and listed[0]["last_error"] == "twilio http 400 code 21211"
    assert {d["recipient"] for d in listed} == {"Achieng (CSIC Kisumu) #1", "Situation room #3"}
    assert (await (await client.get("/api/v1/deliveries?status=sent")).json())["deliveries"] == []
    assert len((await (await client.get("/api/v1/deliveries?status=all&limit=1")).json())["deliveries"]) == 1
    for bad in ("status=lost", "limit=0", "limit=x"):
        assert (await client.get(f"/api/v1/deliveries?{bad}")).status == 400

    from ews.cli.main import main

    for name, value in (("EWS_DATABASE_URL", database_url), ("EWS_SENDER_KEY", SENDER_KEY),
                        ("EWS_CONTACT_KEY", CONTACT_KEY)):
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["deliveries", "retry", str(dead[0])]) == 0
    assert await asyncio.to_thread(main, ["deliveries", "retry", str(dead[0])]) == 1, "no longer dead"
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'delivery.requeue' "
                               "AND subject = $1", f"delivery:{dead[0]}") == 1
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5)
    assert await dispatcher.drain() == 1
    assert await pool.fetchval("SELECT status FROM deliveries WHERE id = $1", dead[0]) == "sent"
    assert (await (await client.get("/healthz")).json())["dead_letters"] == 1


async def _dead(pool: asyncpg.Pool, count: int) -> bool:
    return await status_count(pool, "dead") >= count
