"""Per-sender send rate: the token bucket with an injected clock, and the dispatcher spreading a burst to many
recipients over the loopback Twilio and AT at the configured rate, none refused, none sent twice."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ews.alerting.dispatch import Dispatcher
from ews.alerting.rate import SenderLimits, TokenBucket
from ews.core.clock import utcnow
from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from ews.db.repo.outbox import enqueue_message, keep_reporter_contact
from ews.web.app import check_settings, send_rates
from notifiers.africastalking_sms import AfricasTalkingSmsNotifier
from notifiers.twilio_sms import TwilioSmsNotifier
from tests.conftest import (
    AT_API_KEY,
    AT_USERNAME,
    CONTACT_KEY,
    REPORTER_PHONES,
    SENDER_KEY,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
)
from tests.loopback import FakeAfricasTalkingApi, FakeTwilioApi

CIPHER = ContactCipher(CONTACT_KEY)


def test_a_bucket_lets_a_burst_through_then_spreads_at_its_rate() -> None:
    bucket = TokenBucket(rate=1.0, burst=1.0)
    assert bucket.take(100.0) == 0.0  # a quiet sender sends at once
    assert bucket.take(100.0) == pytest.approx(1.0)  # each reservation queues behind the last
    assert bucket.take(100.0) == pytest.approx(2.0)
    assert bucket.wait(101.5) == pytest.approx(1.5)  # wait() reserves nothing
    assert bucket.wait(101.5) == pytest.approx(1.5)
    assert bucket.take(110.0) == 0.0  # refilled after a pause, never beyond the burst
    assert bucket.take(110.0) == pytest.approx(1.0)


def test_a_two_segment_sms_costs_two() -> None:
    bucket = TokenBucket(rate=10.0, burst=10.0)
    for _ in range(5):
        assert bucket.take(0.0, cost=2) == 0.0
    assert bucket.take(0.0, cost=2) == pytest.approx(0.2)
    # A message costing more than the burst goes once the bucket is full, not never.
    assert TokenBucket(rate=1.0, burst=1.0).take(0.0, cost=5) == 0.0


def test_a_clock_that_goes_back_does_not_mint_tokens() -> None:
    bucket = TokenBucket(rate=1.0, burst=1.0)
    bucket.take(50.0)
    assert bucket.wait(10.0) == pytest.approx(1.0)
    assert bucket.wait(50.5) == pytest.approx(0.5)


@given(st.floats(min_value=0.1, max_value=100), st.integers(min_value=1, max_value=200),
       st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=60))
def test_sends_never_beat_the_rate(rate: float, burst: int, gaps: list[float]) -> None:
    # Whatever the arrival pattern, the n-th send goes no earlier than (n - burst) / rate after the first.
    bucket = TokenBucket(rate=rate, burst=float(burst))
    now, sent = 0.0, []
    for gap in gaps:
        now += gap
        sent.append(now + bucket.take(now))
    for n, at in enumerate(sent):
        assert at - sent[0] >= (n + 1 - burst) / rate - 1e-6
    assert sent == sorted(sent)


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="rate must be above 0"):
        TokenBucket(rate=0, burst=1)
    limits = SenderLimits({"twilio_sms": 2.0, "email": 0})
    assert limits.limited("twilio_sms") and not limits.limited("email") and limits.take("email", 0.0) == 0.0


def test_the_rates_come_from_settings_split_between_workers(settings: Settings) -> None:
    assert send_rates(settings) == {"twilio_sms": 10.0, "africastalking_sms": 10.0}
    assert send_rates(settings.replace(twilio_rate=30.0, at_rate=0.0, workers=3)) == {"twilio_sms": 10.0}
    with pytest.raises(ValueError, match=r"EWS_AT_RATE \(-1\) must be 0"):
        check_settings(settings.replace(at_rate=-1.0))


async def _queue(pool: asyncpg.Pool, count: int, body: str = "EWS: test message") -> None:
    now = utcnow()
    async with pool.acquire() as conn, conn.transaction():
        for i in range(count):
            address = f"+2547000{i:05d}"
            contact = await keep_reporter_contact(conn, hash_key=SENDER_KEY, cipher=CIPHER, address=address,
                                                  channel="sms", language="en", now=now)
            await enqueue_message(conn, kind="receipt", body=body, language="en", now=now,
                                  reporter_contact_id=contact)


async def _send_all(pool: asyncpg.Pool, dispatcher: Dispatcher, count: int) -> None:
    dispatcher.start()
    dispatcher.wake()
    try:
        for _ in range(600):
            if await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'") >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("not all sent in time")
    finally:
        await dispatcher.stop()


async def test_a_burst_through_twilio_is_spread_at_the_senders_rate(pool: asyncpg.Pool,
                                                                    fake_twilio: FakeTwilioApi) -> None:
    notifier = TwilioSmsNotifier(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, sender=TWILIO_FROM,
                                 api_base=fake_twilio.url, timeout=5)
    await _queue(pool, 24)
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5,
                            rates={"twilio_sms": 10.0})
    try:
        await _send_all(pool, dispatcher, 24)
    finally:
        await notifier.close()
    times = sorted(m.received_at for m in fake_twilio.messages)
    assert len(times) == 24 and len({m.form["To"] for m in fake_twilio.messages}) == 24  # none twice
    # 10 at once (a second's worth), then 10 a second: any 21 sends span at least (21 - 10) / 10 s. The first
    # is left out: it also opened the connection, so it arrived late against its reservation.
    for n in range(21, 24):
        assert times[n] - times[n - 20] >= 1.0 - 0.05, n
    assert times[-1] - times[0] >= 1.4 - 0.2
    assert times[-1] - times[0] < 4.0  # spread, not stalled
    rows = await pool.fetch("SELECT status, attempts, last_error FROM deliveries")
    assert {(r["status"], r["attempts"], r["last_error"]) for r in rows} == {("sent", 1, None)}


async def test_without_a_rate_the_same_burst_goes_at_once(pool: asyncpg.Pool, fake_twilio: FakeTwilioApi) -> None:
    notifier = TwilioSmsNotifier(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, sender=TWILIO_FROM,
                                 api_base=fake_twilio.url, timeout=5)
    await _queue(pool, 24)
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5)
    try:
        await _send_all(pool, dispatcher, 24)
    finally:
        await notifier.close()
    times = sorted(m.received_at for m in fake_twilio.messages)
    assert times[-1] - times[0] < 1.0


async def test_a_burst_through_africas_talking_counts_segments(pool: asyncpg.Pool,
                                                               fake_at: FakeAfricasTalkingApi) -> None:
    notifier = AfricasTalkingSmsNotifier(username=AT_USERNAME, api_key=AT_API_KEY, sender=None,
                                         api_base=fake_at.url, timeout=5)
    await _queue(pool, 6, body="x" * 200)  # two segments each
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5,
                            rates={"africastalking_sms": 4.0})
    started = time.monotonic()
    try:
        await _send_all(pool, dispatcher, 6)
    finally:
        await notifier.close()
    # 12 segments at 4 a second with 4 saved up: at least 2 s from the first to the last.
    assert time.monotonic() - started >= 2.0 - 0.05
    assert len({m["to"] for m in fake_at.messages}) == 6
    assert set(REPORTER_PHONES).isdisjoint(m["to"] for m in fake_at.messages)


async def test_a_send_that_would_wait_long_goes_back_to_the_table_and_is_sent_once(
        pool: asyncpg.Pool, fake_twilio: FakeTwilioApi) -> None:
    # At 1 a second the 4th of 5 would wait 3 s (over MAX_RATE_WAIT): it is handed back, due later, its slot
    # freed, and sent when the sender has room; the hand-back is no attempt.
    notifier = TwilioSmsNotifier(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, sender=TWILIO_FROM,
                                 api_base=fake_twilio.url, timeout=5)
    await _queue(pool, 5)
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5,
                            rates={"twilio_sms": 1.0})
    try:
        await _send_all(pool, dispatcher, 5)
    finally:
        await notifier.close()
    times = sorted(m.received_at for m in fake_twilio.messages)
    assert len({m.form["To"] for m in fake_twilio.messages}) == 5
    for n in range(2, 5):
        assert times[n] - times[n - 1] >= 1.0 - 0.05, n
    rows = await pool.fetch("SELECT status, attempts FROM deliveries")
    assert {(r["status"], r["attempts"]) for r in rows} == {("sent", 1)}


def test_sends_handed_back_come_back_in_turn() -> None:
    limits = SenderLimits({"twilio_sms": 1.0})
    assert limits.take("twilio_sms", 0.0) == 0.0
    for _ in range(3):
        limits.take("twilio_sms", 0.0)  # three reserved: room again at 4 s
    assert [limits.later("twilio_sms", 0.0) for _ in range(3)] == pytest.approx([4.0, 5.0, 6.0])
    assert limits.later("twilio_sms", 0.0, cost=2) == pytest.approx(7.0)  # capped at the burst, as take() does
    assert limits.later("twilio_sms", 20.0) == 0.0  # long after: room at once, the old turns forgotten
    assert SenderLimits({}).later("email", 5.0) == 0.0
