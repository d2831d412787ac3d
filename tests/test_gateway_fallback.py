"""A responder's SMS that one gateway cannot deliver goes by the next configured gateway (Africa's Talking out
of credit, Twilio still sending) before it is a dead letter; a reporter's never does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from ews.alerting.directory import SMS_GATEWAYS, DirectoryError, parse_directory
from ews.alerting.dispatch import FALLBACK_AFTER, Dispatcher, retry_delay
from ews.alerting.expand import expand_outbox
from ews.core.clock import utcnow
from ews.core.settings import Settings
from notifiers.africastalking_sms import AfricasTalkingSmsNotifier
from notifiers.twilio_sms import TwilioSmsNotifier
from tests.conftest import AT_API_KEY, AT_USERNAME, RESPONDER_PHONES, quiet_client
from tests.helpers import add_responders, eventually, open_and_plan
from tests.loopback import FakeAfricasTalkingApi, FakeTwilioApi
from tests.test_africastalking import DELIVERY, post_at
from tests.test_dispatch_invariants import CIPHER, PER_ALERT, Clock, status_count, twilio
from tests.test_end_to_end import RESPONDERS

AT_FIRST = {"africastalking_sms": ("sms",), "twilio_sms": ("sms",)}  # EWS_NOTIFIERS=africastalking_sms,twilio_sms
KISUMU = 42


@pytest.fixture
async def gateways(fake_at: FakeAfricasTalkingApi,
                   fake_twilio: FakeTwilioApi) -> AsyncIterator[tuple[AfricasTalkingSmsNotifier, TwilioSmsNotifier]]:
    """The real AT and Twilio notifiers aimed at their loopback APIs, AT first."""
    at = AfricasTalkingSmsNotifier(username=AT_USERNAME, api_key=AT_API_KEY, sender="40123", api_base=fake_at.url,
                                   timeout=5)
    tw = twilio(fake_twilio, timeout=5)
    yield at, tw
    await at.close()
    await tw.close()


async def kisumu_alert(pool: asyncpg.Pool, clock: Clock) -> int:
    """One Kisumu alert planned to Kisumu's and the national responders, expanded for AT first; how many
    deliveries it made."""
    await add_responders(pool, RESPONDERS)
    await open_and_plan(pool, 1, county=KISUMU, routes=PER_ALERT)
    await expand_outbox(pool, served=AT_FIRST, now=utcnow())
    clock.now = utcnow()
    count: int = await pool.fetchval("SELECT count(*) FROM deliveries WHERE notifier = 'africastalking_sms'")
    assert count == 2
    return count


async def test_a_gateway_that_refuses_an_alert_hands_it_to_the_next_at_once(
        pool: asyncpg.Pool, gateways: tuple[AfricasTalkingSmsNotifier, TwilioSmsNotifier],
        fake_at: FakeAfricasTalkingApi, fake_twilio: FakeTwilioApi) -> None:
    clock = Clock()
    count = await kisumu_alert(pool, clock)
    fake_at.codes = [402] * count  # InvalidSenderId: AT will never send these
    dead: list[None] = []
    dispatcher = Dispatcher(pool, list(gateways), CIPHER, retry_for=timedelta(minutes=30), send_timeout=5,
                            clock=clock, on_dead=lambda: dead.append(None))
    await dispatcher.drain()
    assert fake_at.messages == []
    assert sorted(m.form["To"] for m in fake_twilio.messages) == sorted([RESPONDER_PHONES[0], RESPONDER_PHONES[2]])
    rows = await pool.fetch("SELECT status, notifier, tried_notifiers, attempts FROM deliveries")
    assert [(r["status"], r["notifier"], r["tried_notifiers"], r["attempts"]) for r in rows] == \
        [("sent", "twilio_sms", ["africastalking_sms"], 1)] * count
    audited = await pool.fetch("SELECT detail FROM audit_log WHERE action = 'delivery.handed_over'")
    assert len(audited) == count
    assert all('"from": "africastalking_sms"' in r["detail"] and '"to": "twilio_sms"' in r["detail"]
               and "402 InvalidSenderId" in r["detail"] for r in audited)
    assert dead == [], "a message another gateway delivered is no dead letter and escalates nothing"


async def test_an_alert_retried_on_a_gateway_out_of_credit_moves_on_after_a_few_attempts(
        pool: asyncpg.Pool, gateways: tuple[AfricasTalkingSmsNotifier, TwilioSmsNotifier],
        fake_at: FakeAfricasTalkingApi, fake_twilio: FakeTwilioApi) -> None:
    clock = Clock()
    count = await kisumu_alert(pool, clock)
    fake_at.codes = [405] * (count * FALLBACK_AFTER)  # InsufficientBalance: retryable, but not soon
    dispatcher = Dispatcher(pool, list(gateways), CIPHER, retry_for=timedelta(minutes=30), send_timeout=5, clock=clock)
    for attempt in range(1, FALLBACK_AFTER):
        await dispatcher.drain()
        assert fake_twilio.messages == [], f"attempt {attempt} through AT is retried on AT"
        assert await status_count(pool, "pending") == count
        clock.now += retry_delay(attempt) + timedelta(seconds=1)
    await dispatcher.drain()  # the last attempt through AT fails, and Twilio sends at once
    assert len(fake_twilio.messages) == count and fake_at.codes == []
    assert await status_count(pool, "sent") == count


async def test_an_alert_no_gateway_can_send_is_a_dead_letter_after_each_tried_once(
        pool: asyncpg.Pool, gateways: tuple[AfricasTalkingSmsNotifier, TwilioSmsNotifier],
        fake_at: FakeAfricasTalkingApi, fake_twilio: FakeTwilioApi) -> None:
    clock = Clock()
    count = await kisumu_alert(pool, clock)
    fake_at.codes = [403] * count  # InvalidPhoneNumber
    fake_twilio.failures = [(400, 21211)] * count  # invalid 'To'
    dead: list[None] = []
    dispatcher = Dispatcher(pool, list(gateways), CIPHER, retry_for=timedelta(minutes=30), send_timeout=5,
                            clock=clock, on_dead=lambda: dead.append(None))
    await dispatcher.drain()
    rows = await pool.fetch("SELECT status, notifier, tried_notifiers, last_error FROM deliveries")
    assert [(r["status"], r["notifier"], r["tried_notifiers"]) for r in rows] == \
        [("dead", "twilio_sms", ["africastalking_sms"])] * count
    assert all(r["last_error"] == "twilio http 400 code 21211" for r in rows)
    assert len(dead) == count, "the alert escalates at once, as for any dead letter"


def test_the_next_gateway_is_the_first_configured_one_not_tried_and_never_for_a_reporter(
        gateways: tuple[AfricasTalkingSmsNotifier, TwilioSmsNotifier]) -> None:
    dispatcher = Dispatcher(None, list(gateways), CIPHER, retry_for=timedelta(minutes=30),  # type: ignore[arg-type]
                            send_timeout=5)
    assert dispatcher._next_gateway("sms", ["africastalking_sms"], to_responder=True) == "twilio_sms"
    assert dispatcher._next_gateway("sms", ["twilio_sms"], to_responder=True) == "africastalking_sms"
    assert dispatcher._next_gateway("sms", ["africastalking_sms", "twilio_sms"], to_responder=True) is None
    assert dispatcher._next_gateway("email", [], to_responder=True) is None
    # A reporter's receipt comes from the number they wrote to, or not at all.
    assert dispatcher._next_gateway("sms", ["africastalking_sms"], to_responder=False) is None
    alone = Dispatcher(None, [gateways[0]], CIPHER, retry_for=timedelta(minutes=30),  # type: ignore[arg-type]
                       send_timeout=5)
    assert alone._next_gateway("sms", ["africastalking_sms"], to_responder=True) is None


def test_the_sms_gateways_a_responder_may_prefer_are_the_notifiers_that_send_sms() -> None:
    from notifiers.registry import NOTIFIERS

    assert set(SMS_GATEWAYS) == {AfricasTalkingSmsNotifier.kind, TwilioSmsNotifier.kind}
    assert "sms" in AfricasTalkingSmsNotifier.channels and "sms" in TwilioSmsNotifier.channels
    # A new SMS notifier registered must be added to SMS_GATEWAYS (the others send no SMS, or only print).
    assert set(NOTIFIERS.names()) - {"console", "email", "webhook"} == set(SMS_GATEWAYS)


def test_a_responder_file_names_an_sms_gateway_or_says_which_it_may_name() -> None:
    text = (f"name,phone,county,role,language,sms_notifier\nA,{RESPONDER_PHONES[0]},Kisumu,csic,en,Twilio_SMS\n"
            f"B,{RESPONDER_PHONES[1]},Nakuru,csic,en,\n")
    first, second = parse_directory(text, fmt="csv")
    assert (first.sms_notifier, second.sms_notifier) == ("twilio_sms", None)
    with pytest.raises(DirectoryError, match="sms_notifier must be one of africastalking_sms, twilio_sms"):
        parse_directory(f"name,phone,county,role,language,sms_notifier\nA,{RESPONDER_PHONES[0]},Kisumu,csic,en,"
                        "safaricom\n", fmt="csv")


async def test_a_preferred_gateway_sends_first_and_the_others_stay_the_fallback(
        pool: asyncpg.Pool, gateways: tuple[AfricasTalkingSmsNotifier, TwilioSmsNotifier],
        fake_at: FakeAfricasTalkingApi, fake_twilio: FakeTwilioApi) -> None:
    # Achieng's number is reached better through Twilio; the situation room keeps EWS_NOTIFIERS order (AT).
    await add_responders(pool, RESPONDERS.replace("Kisumu,csic,sw", "Kisumu,csic,sw,twilio_sms").replace(
        "name,phone,county,role,language", "name,phone,county,role,language,sms_notifier"))
    await open_and_plan(pool, 1, county=KISUMU, routes=PER_ALERT)
    await expand_outbox(pool, served=AT_FIRST, now=utcnow())
    fake_twilio.failures = [(500, 20500)]  # Twilio fails Achieng's message once for good measure: retried there
    dispatcher = Dispatcher(pool, list(gateways), CIPHER, retry_for=timedelta(minutes=30), send_timeout=5)
    await dispatcher.drain()
    assert [m["to"] for m in fake_at.messages] == [RESPONDER_PHONES[2]]
    assert await pool.fetchval("SELECT notifier FROM deliveries WHERE status = 'pending'") == "twilio_sms"

    # A new file without the column: back to EWS_NOTIFIERS order.
    await add_responders(pool, RESPONDERS)
    assert await pool.fetchval("SELECT count(*) FROM responder_contacts WHERE notifier IS NOT NULL") == 0


async def test_an_alert_the_gateway_accepted_and_then_reported_undelivered_goes_by_the_next(
        pool: asyncpg.Pool, at_settings: Settings, fake_at: FakeAfricasTalkingApi,
        fake_twilio: FakeTwilioApi) -> None:
    await add_responders(pool, RESPONDERS)
    async with quiet_client(at_settings.replace(notifiers="africastalking_sms,twilio_sms")) as client:
        await open_and_plan(pool, 1, county=KISUMU, routes=PER_ALERT)
        sent = {m["to"]: m["messageId"] for m in await fake_at.wait_for(2)}
        await eventually(lambda: _sent_through(pool, "africastalking_sms", 2))
        # Achieng's number is on AT's blacklist for this sender (Kenya's do-not-disturb): AT says so later.
        assert await post_at(client, DELIVERY, {"id": sent[RESPONDER_PHONES[0]], "status": "Failed",
                                                "failureReason": "UserInBlackList",
                                                "phoneNumber": RESPONDER_PHONES[0]}) == 200
        await fake_twilio.wait_for(1)
        await eventually(lambda: _sent_through(pool, "twilio_sms", 1))
    assert [m.form["To"] for m in fake_twilio.messages] == [RESPONDER_PHONES[0]]
    row = await pool.fetchrow("SELECT status, tried_notifiers FROM deliveries WHERE notifier = 'twilio_sms'")
    assert (row["status"], row["tried_notifiers"]) == ("sent", ["africastalking_sms"])
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'delivery.handed_over'") == 1


async def _sent_through(pool: asyncpg.Pool, notifier: str, count: int) -> bool:
    found: int = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent' AND notifier = $1",
                                     notifier)
    return found >= count
